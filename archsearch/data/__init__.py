"""Datasets as in-memory tensors with seeded, stratified train/val/test splits."""

from __future__ import annotations

from archsearch.data.bundled import LOADERS, load_bundled
from archsearch.data.csv import load_csv
from archsearch.data.dataset import DataError, Dataset, split_dataset

__all__ = ["BUNDLED", "DataError", "Dataset", "load_dataset", "split_dataset"]

BUNDLED = tuple(LOADERS)


def load_dataset(
    name: str | None = None,
    csv: str | None = None,
    target: str | None = None,
    images: bool = False,
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
) -> Dataset:
    """A bundled dataset by `name`, or a CSV file with its `target` column, split and
    normalised. `images` asks for (C, H, W) inputs (for convolutional spaces)."""
    if csv is not None:
        if target is None:
            raise DataError("--data needs --target COLUMN (a column name or 0-based index)")
        if images:
            raise DataError("CSV data is tabular; use an MLP space (--space mlp) with --data")
        x, y, classes = load_csv(csv, target)
        label = csv
    elif name in LOADERS:
        try:
            x, y, classes = load_bundled(name, images)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        label = name
    else:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(BUNDLED)}")
    return split_dataset(label, x, y, classes, seed, test_fraction, val_fraction)
