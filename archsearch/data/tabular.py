"""Tabular datasets: a `RawTable` (a CSV file, or a bundled dataset) split into train/val/test,
preprocessed with what the train rows teach (`TablePreprocessor`), and held as tensors.

The task comes from the target column (`detect_task`) unless the caller names one; the rule
that decided it is one of the dataset's notes. Regression targets are standardised with the
train rows' mean and standard deviation, which the `Regression` task keeps to report errors in
the target's own units.
"""

from __future__ import annotations

import numpy as np
import torch

from archsearch.data.dataset import DataError, Dataset, split_rows
from archsearch.data.table import (
    RawTable,
    TablePreprocessor,
    detect_task,
    drop_missing_targets,
    encode_classes,
    numeric_target,
)
from archsearch.tasks.base import Task
from archsearch.tasks.classification import Classification
from archsearch.tasks.reconstruction import Reconstruction
from archsearch.tasks.regression import Regression
from archsearch.tasks.vae import TASK_LOSSES

TASK_CHOICES = ("auto", "classification", "regression", "reconstruction", *TASK_LOSSES)
BINS = 5  # quantile bins of a numeric target, for stratified splits


def table_dataset(
    table: RawTable,
    name: str,
    task: str = "auto",
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    train_subset: int | None = None,
    test_subset: int | None = None,
    source: str = "",
    scaling: str = "auto",
) -> Dataset:
    """The dataset of `table`: rows split (seeded, stratified by class or by target range),
    features preprocessed with train statistics, targets encoded for the task."""
    read = len(table)
    table, kept = drop_missing_targets(table)
    notes = list(table.notes)
    if len(kept) < read:
        notes.append(f"dropped {read - len(kept)} row(s) with no target value")
    kind, rule = detect_task(table) if task == "auto" else (task, f"task {task} (as asked)")
    if kind not in TASK_CHOICES[1:]:
        raise DataError(f"unknown task {task!r}; choose one of: {', '.join(TASK_CHOICES)}")
    if kind in TASK_LOSSES:
        raise DataError(
            f"{name}: the {kind} task needs images, and this data was read as a table; give "
            "--space vae (it reads --dataset digits or --data-dir DIR as images)"
        )
    notes.append(rule)
    if kind == "regression":
        values = numeric_target(table.target, table.source, table.target_name)
        strata, labels, class_names = target_bins(values), None, []
    else:
        strata, class_names = encode_classes(table.target, table.source)
        labels = class_names
    rows = split_rows(
        strata, seed, val_fraction, test_fraction, train_subset, test_subset, None, name, labels
    )
    pre = TablePreprocessor.fit(table.take(rows[0]), scaling)
    notes += pre.notes()
    x = [torch.from_numpy(pre.transform(table.take(r))) for r in rows]
    if kind == "regression":
        made, y = _regression(values, rows, table.target_name)
    else:
        y = [torch.from_numpy(strata[r]).long() for r in rows]
        made = Classification(len(class_names)) if kind == "classification" else None
    if made is None:
        made = Reconstruction(x[0].shape[1:])
    return Dataset(
        name,
        made,
        x[0],
        y[0],
        x[1],
        y[1],
        x[2],
        y[2],
        class_names=class_names,
        source=source,
        preprocessing=pre.to_json(),
        notes=notes,
        warnings=pre.warnings,
        test_ids=[str(row + 1) for row in kept[rows[2]]],
    )


def target_bins(values: np.ndarray) -> np.ndarray:
    """Quantile bins of a numeric target (about ten rows or more each), for stratifying."""
    bins = max(1, min(BINS, len(values) // 10))
    edges = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    ranks = np.searchsorted(edges, values, side="right")
    return np.unique(ranks, return_inverse=True)[1].astype(np.int64)  # no empty bins


def _regression(
    values: np.ndarray, rows: tuple[np.ndarray, ...], target: str
) -> tuple[Task, list[torch.Tensor]]:
    """The regression task with the train rows' target statistics, and standardised targets
    of each split, shaped (N, 1)."""
    train = values[rows[0]]
    mean, std = float(train.mean()), float(train.std())
    std = std if std > 1e-12 else 1.0
    y = [torch.from_numpy(((values[r] - mean) / std).astype(np.float32)[:, None]) for r in rows]
    return Regression([mean], [std], [target]), y
