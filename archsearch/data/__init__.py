"""Datasets as in-memory tensors with seeded, stratified train/val/test splits."""

from __future__ import annotations

from pathlib import Path

from archsearch.data.bundled import LOADERS, bundled_images, bundled_table
from archsearch.data.dataset import (
    DataError,
    Dataset,
    Normalization,
    split_rows,
    split_train_test,
    stratified_subset,
)
from archsearch.data.images import check_download, load_image_dataset
from archsearch.data.table import read_table
from archsearch.data.tabular import TASK_CHOICES, table_dataset

__all__ = [
    "BUNDLED",
    "TASK_CHOICES",
    "DataError",
    "Dataset",
    "Normalization",
    "check_download",
    "load_dataset",
    "load_image_dataset",
    "split_rows",
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
    task: str = "auto",
    scaling: str = "auto",
    cache_dir: str | Path | None = None,
    image_size: tuple[int, int] | None = None,
) -> Dataset:
    """A bundled dataset by `name`, a CSV file with its `target` column, or the image dataset
    in `data_dir` (CIFAR, MNIST or class folders; see `load_image_dataset`), split and
    preprocessed. `images` asks for (C, H, W) inputs (for convolutional spaces); image data
    always has them. `train_subset` / `test_subset` cap the training pool and the test split
    (seeded, stratified). `task` is "auto" (from the target column), "classification",
    "regression" or "reconstruction". `scaling` is how table columns are scaled ("auto":
    robust for columns with extreme outliers, see `TablePreprocessor`); `cache_dir` is where
    decoded image folders are cached (default: next to the data, else ~/.cache/archsearch);
    `image_size` (width, height) resizes every image of an image folder to it."""
    if task not in TASK_CHOICES:
        raise DataError(f"unknown task {task!r}; choose one of: {', '.join(TASK_CHOICES)}")
    split = dict(
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        train_subset=train_subset,
        test_subset=test_subset,
    )
    if data_dir is not None:
        if csv is not None:
            raise DataError("give either --data-dir (images) or --data (a CSV file), not both")
        return load_image_dataset(
            data_dir,
            download=download,
            task=task,
            cache_dir=cache_dir,
            image_size=image_size,
            **split,
        )
    if image_size is not None:
        raise DataError("--image-size resizes the images of --data-dir; leave it out for tables")
    if csv is not None:
        if target is None:
            raise DataError("--data needs --target COLUMN (a column name or 0-based index)")
        if images:
            raise DataError("CSV data is tabular; use an MLP space (--space mlp) with --data")
        table = read_table(csv, target)
        return table_dataset(
            table, Path(csv).name, task, source=f"CSV file {csv}", scaling=scaling, **split
        )
    if name not in LOADERS:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(BUNDLED)}")
    if images:
        try:
            x, y, classes = bundled_images(name)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        return split_train_test(
            name, (x, y), None, classes, source=f"bundled dataset {name}", task=task, **split
        )
    table = bundled_table(name)
    return table_dataset(table, name, task, source=table.source, scaling=scaling, **split)
