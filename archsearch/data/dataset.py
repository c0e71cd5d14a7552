"""`Dataset`: a classification task held as in-memory tensors, with its splits.

The test split is never seen by a search; normalisation statistics come from the train split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split


class DataError(ValueError):
    """Input data that cannot be used; the message says what is wrong and how to fix it."""


@dataclass
class Dataset:
    """Train/val/test tensors (`x` float32, `y` int64) of one classification task."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def split_dataset(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    class_names: list[str],
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
) -> Dataset:
    """Seeded, stratified train/val/test split; `val_fraction` is of what the test split
    leaves. Features are standardised with train statistics: per feature for flat data,
    per channel for images (N, C, H, W)."""
    for label, fraction in (("test", test_fraction), ("val", val_fraction)):
        if not 0.0 < fraction < 1.0:
            raise DataError(f"{label} fraction must lie in (0, 1), got {fraction}")
    counts = np.bincount(y, minlength=len(class_names))
    if len(y) < 3 * len(class_names):
        raise DataError(
            f"{name}: {len(y)} rows for {len(class_names)} classes; a train/val/test split "
            "needs at least 3 rows per class — add rows or merge classes"
        )
    if counts.min() < 3:
        rare = class_names[int(counts.argmin())]
        raise DataError(
            f"{name}: class {rare!r} has {int(counts.min())} row(s); each class needs at least 3 "
            "for a stratified train/val/test split — add rows or drop the class"
        )
    index = np.arange(len(y))
    rest, test = _stratified(index, y, test_fraction, seed)
    train, val = _stratified(rest, y[rest], val_fraction, seed + 1)
    x = x.astype(np.float32)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    mean = x[train].mean(axis=axes, keepdims=True)
    std = x[train].std(axis=axes, keepdims=True)
    std[std < 1e-8] = 1.0
    x = (x - mean) / std

    def tensors(rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(np.ascontiguousarray(x[rows])), torch.from_numpy(y[rows]).long()

    (xtr, ytr), (xva, yva), (xte, yte) = tensors(train), tensors(val), tensors(test)
    return Dataset(name, xtr, ytr, xva, yva, xte, yte, list(class_names))


def _stratified(
    index: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    n_classes = len(np.unique(y))
    n_out = max(int(round(fraction * len(index))), n_classes)
    if n_out >= len(index) - n_classes + 1:
        raise DataError(f"{len(index)} rows are too few to split off {fraction:.0%} per class")
    keep, out = train_test_split(index, test_size=n_out, random_state=seed, stratify=y)
    return np.sort(keep), np.sort(out)
