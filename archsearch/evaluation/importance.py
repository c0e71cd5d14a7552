"""Which table columns a trained network relies on: permutation importance on the test split.

A column's importance is how much the task's score (accuracy, R²) falls when that column is
shuffled across the test rows, all the inputs it became together (a one-hot block, a missing
indicator, a date's cycles), so that the column's link to the target is cut while its values
stay what they were. The mean over a few shuffles is reported with its spread; a value near
zero, or below the spread, means the network does as well without the column. It measures
the network's use of a column, not the column's worth: of two columns that say the same,
shuffling one may cost nothing because the other remains.

    >>> import torch
    >>> from archsearch.data import load_dataset
    >>> from archsearch.evaluation.trainer import TrainConfig
    >>> data = load_dataset("iris", seed=0)
    >>> model = torch.nn.Linear(4, 3)  # reads only the last input, petal width
    >>> _ = model.weight.data[:, :3].zero_()
    >>> rows = column_importance(model, data, TrainConfig())
    >>> [row["drop"] for row in rows if row["column"] != "petal width (cm)"]
    [0.0, 0.0, 0.0]
"""

from __future__ import annotations

import statistics
from typing import Any

import torch
from torch import nn

from archsearch.data.dataset import Dataset
from archsearch.data.table import TablePreprocessor
from archsearch.evaluation.trainer import TrainConfig, predict

__all__ = ["MAX_ROWS", "REPEATS", "column_importance"]

MAX_ROWS = 5_000  # test rows used (a seeded sample of larger test splits): seconds, not minutes
REPEATS = 5  # shuffles per column


def column_importance(
    model: nn.Module, data: Dataset, config: TrainConfig, seed: int = 0, repeats: int = REPEATS
) -> list[dict[str, Any]] | None:
    """Per table column, most important first: {"column", "drop", "std"}, the mean and the
    standard deviation over `repeats` seeded shuffles of the fall in the task's test score.
    None for data without a table's preprocessing or a test split, and for tasks whose
    targets are the inputs (shuffling them would change the targets too)."""
    if data.preprocessing is None or not data.has_test() or data.task.targets_are_inputs:
        return None
    columns = TablePreprocessor.from_json(data.preprocessing).columns
    generator = torch.Generator().manual_seed(seed)
    x, targets = data.x_test, data.test_targets()
    if len(x) > MAX_ROWS:
        rows = torch.randperm(len(x), generator=generator)[:MAX_ROWS]
        x, targets = x[rows], targets[rows]
    key = f"test_{data.task.score}"

    def score(inputs: torch.Tensor) -> float:
        outputs = predict(model, inputs, config, norm=data.norm)
        return data.task.test_scores(outputs, targets)[key]

    base, start, found = score(x), 0, []
    for spec in columns:
        block = slice(start, start + spec.width)
        drops = []
        for _ in range(repeats):
            shuffled = x.clone()
            shuffled[:, block] = x[torch.randperm(len(x), generator=generator)][:, block]
            drops.append(base - score(shuffled))
        spread = statistics.stdev(drops) if repeats > 1 else 0.0
        found.append({"column": spec.name, "drop": statistics.mean(drops), "std": spread})
        start += spec.width
    return sorted(found, key=lambda row: -row["drop"])
