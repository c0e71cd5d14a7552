"""Warnings about data and budgets that would make a search meaningless without failing it:
columns with impossible values, classes with a handful of rows, children trained for only a
handful of optimiser steps. Each is one line for the log and an entry of summary.json."""

from __future__ import annotations

import math

import torch

from archsearch.data import Dataset
from archsearch.evaluation.trainer import TrainConfig
from archsearch.reporting.console import plural

__all__ = [
    "IMBALANCED",
    "MIN_CLASS_ROWS",
    "MIN_STEPS",
    "class_warnings",
    "data_warnings",
    "step_warnings",
]

#: A class with fewer training rows than this is learnt, and scored, by chance.
MIN_CLASS_ROWS = 10
#: A largest class of at least this share of the rows makes accuracy a poor yardstick.
IMBALANCED = 0.8
#: Children trained for fewer optimiser steps than this scored far below what longer training
#: gives them (benchmarks/few_steps.py on small tables), so a search ranks them by how fast
#: they start to learn rather than by how well they can.
MIN_STEPS = 20


def data_warnings(data: Dataset, train: TrainConfig | None) -> list[str]:
    """Every warning for searching `data` with children trained by `train` (None: children
    are not trained): the loader's own (extreme column values), rare classes, too few
    optimiser steps per child."""
    steps = step_warnings(len(data.x_train), train) if train is not None else []
    return [*data.warnings, *class_warnings(data), *steps]


def class_warnings(data: Dataset, minimum: int = MIN_CLASS_ROWS) -> list[str]:
    """One line per class with fewer than `minimum` training rows, per set of class names
    that differ only in case or spacing, and one when the largest class is `IMBALANCED` or
    more of them (classification only)."""
    if data.task.name != "classification" or not data.class_names:
        return []
    counts = torch.bincount(data.y_train, minlength=data.num_classes).tolist()
    rare = [
        f"class {name!r} has only {count} training row(s): its accuracy is mostly chance; "
        "collect more rows or merge it with a similar class"
        for name, count in zip(data.class_names, counts)
        if count < minimum
    ]
    rare += spelling_warnings(data.class_names)
    share = max(counts) / sum(counts)
    if share < IMBALANCED:
        return rare
    largest = data.class_names[counts.index(max(counts))]
    return rare + [
        f"class {largest!r} is {share:.0%} of the training rows: always predicting it scores "
        f"{share:.2f} accuracy; judge the model by test_balanced_accuracy in summary.json "
        "(the mean per-class recall, 1/classes for such a model)"
    ]


def spelling_warnings(class_names: list[str]) -> list[str]:
    """One line per set of class names that differ only in letter case or spacing ("Yes",
    "yes", "YES "): they are learnt as different classes, which is seldom what was meant.

    >>> spelling_warnings(["no", "Yes", "yes"])[0].split(":")[0]
    "classes 'Yes', 'yes' differ only in letter case or spacing"
    """
    groups: dict[str, list[str]] = {}
    for name in class_names:
        groups.setdefault(" ".join(str(name).split()).casefold(), []).append(str(name))
    return [
        f"classes {', '.join(map(repr, names))} differ only in letter case or spacing: they "
        "are learnt as different classes; if they mean one class, write it one way in the "
        "target column"
        for names in groups.values()
        if len(names) > 1
    ]


def step_warnings(rows: int, train: TrainConfig, minimum: int = MIN_STEPS) -> list[str]:
    """A warning when a child of `train` on `rows` training rows (fewer with its
    `train_subset`) takes fewer than `minimum` optimiser steps."""
    rows = min(rows, train.train_subset or rows)
    steps = child_steps(rows, train.batch_size, train.epochs)
    if steps >= minimum:
        return []
    epochs = math.ceil(minimum * train.epochs / steps)
    return [
        f"each child trains for only {plural(steps, 'optimiser step')} ({rows} rows in "
        f"batches of {train.batch_size}, {plural(train.epochs, 'epoch')}), "
        f"so children are ranked by how fast they start to learn: use --epochs {epochs} or "
        "more, or a smaller --batch-size"
    ]


def child_steps(rows: int, batch_size: int, epochs: int) -> int:
    """Optimiser steps of one training: batches per epoch (a last single row joins the batch
    before it, see `trainer.batch_rows`) times epochs."""
    batches = math.ceil(rows / batch_size)
    if batches > 1 and rows % batch_size == 1:
        batches -= 1
    return max(batches, 1) * epochs
