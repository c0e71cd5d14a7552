"""Datasets as in-memory tensors with seeded, stratified train/val/test splits."""

from __future__ import annotations

from pathlib import Path

from archsearch.data.bundled import LOADERS, load_bundled
from archsearch.data.csv import load_csv
from archsearch.data.dataset import (
    DataError,
    Dataset,
    Normalization,
    split_dataset,
    split_train_test,
    stratified_subset,
)
from archsearch.data.images import check_download, load_image_dataset

__all__ = [
    "BUNDLED",
    "DataError",
    "Dataset",
    "Normalization",
    "check_download",
    "load_dataset",
    "load_image_dataset",
    "split_dataset",
    "split_train_test",
    "stratified_subset",
]

BUNDLED = tuple(LOADERS)


def load_dataset(
    name: str | None = None,
    csv: str | None = None,
    target: str | None = None,
    images: bool = False,
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    data_dir: str | Path | None = None,
    train_subset: int | None = None,
    test_subset: int | None = None,
    download: str | None = None,
) -> Dataset:
    """A bundled dataset by `name`, a CSV file with its `target` column, or the image dataset
    in `data_dir` (CIFAR, MNIST or class folders; see `load_image_dataset`), split and
    normalised. `images` asks for (C, H, W) inputs (for convolutional spaces); image data
    always has them. `train_subset` / `test_subset` cap the training pool and the test split
    (seeded, stratified)."""
    if data_dir is not None:
        if csv is not None:
            raise DataError("give either --data-dir (images) or --data (a CSV file), not both")
        return load_image_dataset(
            data_dir,
            seed=seed,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            train_subset=train_subset,
            test_subset=test_subset,
            download=download,
        )
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
    return split_train_test(
        label,
        (x, y),
        None,
        classes,
        seed,
        val_fraction,
        test_fraction,
        train_subset,
        test_subset,
        source=f"{'CSV file' if csv else 'bundled dataset'} {label}",
    )
