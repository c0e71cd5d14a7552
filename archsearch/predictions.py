"""Predictions as a CSV table: what `archsearch predict` writes for new inputs, and what a
run's test_predictions.csv writes for its test split, with the true answer beside each.

One row per input: its id (a table's data row number, 1-based without the header; an image's
file path within its folder), the true answer when it is known (`true` for a class, `true
<name>` for each regression target), the prediction (a class name, or the values in the
target's own units: `prediction`, or one column per target when there are several) and, for
classification, each class's probability (`probability_<class>`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from archsearch.rundir import write_text_atomic

__all__ = [
    "Mistakes",
    "prediction_table",
    "read_mistakes",
    "read_true_and_predicted",
    "write_table",
]


def prediction_table(
    ids: Sequence[str],
    outputs: torch.Tensor,
    class_names: Sequence[str] = (),
    target_names: Sequence[str] = (),
    truth: torch.Tensor | None = None,
) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the predictions `outputs`: logits when `class_names` are given
    (classification), else values in the target's units, one column per `target_names`.
    `truth`, when known, is class indices or values in the target's units.

    Example:
        >>> header, rows = prediction_table(["1", "2"], torch.tensor([[2.0, 0.0], [0.0, 1.0]]),
        ...                                 class_names=["no", "yes"], truth=torch.tensor([0, 0]))
        >>> header
        ['id', 'true', 'prediction', 'probability_no', 'probability_yes']
        >>> rows[1][:3]
        ['2', 'no', 'yes']
    """
    if class_names:
        probabilities = outputs.float().softmax(1).tolist()
        best = outputs.argmax(1).tolist()  # as a run scores its test split
        true = None if truth is None else [[class_names[c]] for c in truth.tolist()]
        header = ["id", *(["true"] if true is not None else []), "prediction"]
        header += [f"probability_{name}" for name in class_names]
        predicted = [
            [class_names[b], *(f"{p:.6g}" for p in row)] for b, row in zip(best, probabilities)
        ]
    else:
        true = None if truth is None else _numbers(truth)
        header = ["id", *(f"true {name}" for name in target_names if true is not None)]
        header += ["prediction"] if len(target_names) == 1 else list(target_names)
        predicted = _numbers(outputs)
    known = true if true is not None else [[] for _ in ids]
    return header, [[i, *t, *p] for i, t, p in zip(ids, known, predicted)]


def write_table(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Write the CSV file at `path` (atomically: a reader never sees half of it)."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    write_text_atomic(path, text.getvalue())


def read_true_and_predicted(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """(true values, predictions, target names) of a regression's `prediction_table` with
    its truth, as (rows, targets) arrays; None if the file is missing, unreadable or not one."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header, *rows = list(csv.reader(handle))
        names = [name.removeprefix("true ") for name in header if name.startswith("true ")]
        columns = slice(1, 1 + 2 * len(names))
        values = np.array([row[columns] for row in rows], dtype=np.float64)
    except (OSError, ValueError):
        return None
    if not names:  # classification
        return None
    values = values.reshape(len(rows), 2 * len(names))
    return values[:, : len(names)], values[:, len(names) :], names


@dataclass
class Mistakes:
    """A classification's misclassified test examples (id, true class, predicted class, the
    predicted class's probability), the most confident first, and how many there were of
    how many examples."""

    rows: list[tuple[str, str, str, float]]
    wrong: int
    total: int


def read_mistakes(path: Path, limit: int = 20) -> Mistakes | None:
    """The `limit` most confident mistakes of a classification's `prediction_table` with its
    truth; None if the file is missing, unreadable or not one."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        wrong = [
            (
                row["id"],
                row["true"],
                row["prediction"],
                float(row[f"probability_{row['prediction']}"]),
            )
            for row in rows
            if row["true"] != row["prediction"]
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    wrong.sort(key=lambda mistake: -mistake[3])
    return Mistakes(wrong[:limit], len(wrong), len(rows))


def _numbers(values: torch.Tensor) -> list[list[str]]:
    return [[f"{v:.8g}" for v in row] for row in values.double().reshape(len(values), -1).tolist()]
