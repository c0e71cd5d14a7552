"""`Dataset`: one task's data held as in-memory tensors, with its splits.

The test split is never seen by a search; normalisation statistics come from the train split.
Two kinds of inputs are held:

- float features (tabular data, scikit-learn's 8x8 digits), standardised here once;
- raw uint8 images (N, C, H, W) from image files, kept as bytes (a quarter of the memory, and
  what a GPU copy should carry) with the per-channel `Normalization` of the train split; the
  trainer normalises each batch on its device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from archsearch.errors import DataError
from archsearch.tasks.base import Task
from archsearch.tasks.classification import Classification
from archsearch.tasks.reconstruction import Reconstruction
from archsearch.tasks.vae import TASK_LOSSES, VAE


@dataclass(frozen=True)
class Normalization:
    """Per-channel mean and standard deviation of raw images, in pixel units (0..255)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def affine(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, shift) of shape (1, C, 1, 1) on `device`: normalised = x * scale + shift.
        Made once per training, so that each batch costs one multiply and one add."""
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, -1, 1, 1)
        return (1.0 / std).to(device), (-mean / std).to(device)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """`x` (uint8 or float pixels, N x C x H x W) as normalised float32."""
        scale, shift = self.affine(x.device)
        return (x * scale).add_(shift)

    @classmethod
    def of(cls, images: np.ndarray) -> Normalization:
        """Exact statistics of uint8 `images` (N, C, H, W) from one 256-bin histogram per
        channel: no float copy of the whole array is made."""
        values = np.arange(256, dtype=np.float64)
        mean, std = [], []
        for channel in range(images.shape[1]):
            pixels = torch.from_numpy(np.ascontiguousarray(images[:, channel])).view(-1)
            counts = torch.bincount(pixels, minlength=256).double().numpy()
            m = counts @ values / counts.sum()
            var = counts @ (values - m) ** 2 / counts.sum()
            mean.append(float(m))
            std.append(float(max(np.sqrt(var), 1e-3)))
        return cls(tuple(mean), tuple(std))


@dataclass
class Dataset:
    """Train/val/test tensors of one task. `x` is float32 features, or uint8 images
    (N, C, H, W) with `norm` set; `y` is int64 class indices (classification), float32
    standardised targets of shape (N, k) (regression; `task` converts back), or, for
    reconstruction, the labels if the data has any. `x_test`/`y_test` are None in the view a
    search gets (`without_test`). `source` says where and in which layout the data was found;
    `preprocessing` is the fitted table preprocessing (JSON) that new rows need; `notes` are
    what the loader decided for the user (dropped columns, the task rule); `warnings` what it
    found suspicious in the data (a column with impossible values). `test_ids` name each test
    example where it came from, as `archsearch predict` names inputs: a table's data row
    number (1-based, without the header), an image file's path within the data folder, else
    the 1-based position in the data's test set (or its pool, when the split is made here)."""

    name: str
    task: Task
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor | None
    y_test: torch.Tensor | None
    class_names: list[str] = field(default_factory=list)
    norm: Normalization | None = None
    source: str = ""
    preprocessing: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    test_ids: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def sizes(self) -> dict[str, int]:
        sizes = {"train": len(self.x_train), "val": len(self.x_val)}
        if self.x_test is not None:
            sizes["test"] = len(self.x_test)
        return sizes

    def describe(self) -> str:
        """One line for logs: name, task, split sizes and where the data came from."""
        sizes = ", ".join(f"{split} {count}" for split, count in self.sizes().items())
        text = f"{self.name} ({self.task.name}; {sizes})"
        return text + (f"; {self.source}" if self.source else "")

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """`x` as the float network input: normalised if it holds raw images, else as is."""
        return self.norm.apply(x) if self.norm is not None else x

    def without_test(self) -> Dataset:
        """The same data without its test split: what a search may see."""
        return replace(self, x_test=None, y_test=None, test_ids=[])

    def has_test(self) -> bool:
        return self.x_test is not None and len(self.x_test) > 0

    def test_targets(self) -> torch.Tensor:
        """What test outputs are scored against: the labels or targets, or (reconstruction)
        the normalised test inputs."""
        if self.x_test is None or self.y_test is None:
            raise ValueError(f"{self.name}: this view of the data has no test split")
        return self.prepare(self.x_test).float() if self.task.targets_are_inputs else self.y_test


def split_rows(
    strata: np.ndarray,
    seed: int,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    train_subset: int | None = None,
    test_subset: int | None = None,
    test_strata: np.ndarray | None = None,
    name: str = "data",
    labels: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted row indices (train, val, test). Without an official test split
    (`test_strata` None) `test_fraction` of the rows becomes it and the test indices point
    into the same rows; with one they point into it. Then `train_subset` and `test_subset`
    cap the pool and the test split (cheap CPU runs), and `val_fraction` of the pool becomes
    the validation split. Every split and subset is stratified by `strata` (class indices,
    or bins of a numeric target) and seeded by `seed`. `labels` names the classes, for
    messages; without them the strata are bins and only row counts are checked."""
    for label, fraction in (("test", test_fraction), ("val", val_fraction)):
        if not 0.0 < fraction < 1.0:
            raise DataError(f"{label} fraction must lie in (0, 1), got {fraction}")
    for label, size in (("train", train_subset), ("test", test_subset)):
        if size is not None and size < 1:
            raise DataError(f"{label} subset must be a positive number of rows, got {size}")
    pool = np.arange(len(strata))
    if test_strata is None:
        _check_counts(name, strata, labels, 3, "a train/val/test split")
        pool, test = _stratified(pool, strata, test_fraction, seed)
        test_strata = strata
    else:
        test = np.arange(len(test_strata))
    if train_subset is not None:
        pool = pool[stratified_subset(strata[pool], train_subset, seed)]
    if test_subset is not None:
        test = test[stratified_subset(test_strata[test], test_subset, seed)]
    _check_counts(name, strata[pool], labels, 2, "a train/val split")
    train, val = _stratified(pool, strata[pool], val_fraction, seed + 1)
    return train, val, test


def split_train_test(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None,
    class_names: list[str],
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    train_subset: int | None = None,
    test_subset: int | None = None,
    source: str = "",
    task: str = "auto",
    ids: tuple[Sequence[str], Sequence[str] | None] | None = None,
) -> Dataset:
    """Train/val/test splits of a labelled pool `train` and an official `test` split, which
    stays the test split (None: `test_fraction` of the pool becomes it); see `split_rows`.
    `ids` name the examples of the pool and of the test split (default: their 1-based
    positions), for `Dataset.test_ids`.
    Float features are standardised with train statistics (per feature for flat data, per
    channel for images); uint8 images stay raw with their train `Normalization`. `task` is
    "auto"/"classification", or "reconstruction" or a VAE's ("vae", "vae-bce", "vae-mse":
    the loss) (the labels are kept, unused)."""
    x, y = train
    rows = split_rows(
        y,
        seed,
        val_fraction,
        test_fraction,
        train_subset,
        test_subset,
        None if test is None else test[1],
        name,
        class_names,
    )
    held = (x, y) if test is None else test
    parts = [
        (x[rows[0]], y[rows[0]]),
        (x[rows[1]], y[rows[1]]),
        (held[0][rows[2]], held[1][rows[2]]),
    ]
    named = (ids or (None, None))[0 if test is None else 1]
    test_ids = [str(i + 1) if named is None else named[i] for i in rows[2]]
    return replace(_assemble(name, task, class_names, parts, source), test_ids=test_ids)


def stratified_subset(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of `size` rows of `y`, each class in proportion to its share.

    Rows are shuffled (seeded), ranked within their class, and taken in the order of
    rank / class size, so every prefix is as stratified as it can be and a smaller subset is
    part of a larger one with the same seed (budgets nest)."""
    if size >= len(y):
        return np.arange(len(y))
    order = np.random.default_rng(seed).permutation(len(y))
    shuffled = y[order]
    counts = np.bincount(shuffled)
    by_class = np.argsort(shuffled, kind="stable")
    rank = np.empty(len(y), dtype=np.float64)
    rank[by_class] = np.arange(len(y)) - np.repeat(np.cumsum(counts) - counts, counts)
    position = (rank + 0.5) / counts[shuffled]
    return np.sort(order[np.argsort(position, kind="stable")[:size]])


def _assemble(
    name: str,
    task: str,
    class_names: Sequence[str],
    parts: list[tuple[np.ndarray, np.ndarray]],
    source: str,
) -> Dataset:
    """A labelled dataset of (train, val, test) arrays, standardised (floats) or with their
    `Normalization` (uint8)."""
    train = parts[0][0]
    norm = Normalization.of(train) if train.dtype == np.uint8 else None
    prepare = np.ascontiguousarray if norm is not None else _standardiser(train)
    tensors = [
        tensor
        for features, labels in parts
        for tensor in (torch.from_numpy(prepare(features)), torch.from_numpy(labels).long())
    ]
    if task in ("auto", "classification"):
        made: Task = Classification(len(class_names))
    elif task == "reconstruction":
        made = Reconstruction(tensors[0].shape[1:])
    elif task in TASK_LOSSES:
        stats = None if norm is None else (norm.mean, norm.std)
        made = VAE.fit(tensors[0], stats, TASK_LOSSES[task])
    else:
        raise DataError(
            f"{name}: its labels are classes, so the task is classification or "
            f"reconstruction, not {task!r}"
        )
    return Dataset(name, made, *tensors, class_names=list(class_names), norm=norm, source=source)


def _standardiser(x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Standardise float features with the statistics of `x`: per feature for flat data, per
    channel for images (N, C, H, W)."""
    x = x.astype(np.float32)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    mean = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True)
    std[std < 1e-8] = 1.0
    return lambda features: np.ascontiguousarray((features.astype(np.float32) - mean) / std)


def _check_counts(
    name: str, y: np.ndarray, labels: Sequence[str] | None, least: int, purpose: str
) -> None:
    """`DataError` unless every class (or bin of a numeric target) has `least` rows."""
    groups = max(int(y.max()) + 1 if len(y) else 0, len(labels or ()))
    counts = np.bincount(y, minlength=groups)
    if len(y) < least * groups:
        what = f"{len(labels)} classes" if labels else f"{groups} target range(s)"
        raise DataError(
            f"{name}: {len(y)} rows for {what}; {purpose} needs at least {least} rows per "
            f"{'class' if labels else 'range'} — add rows" + (" or merge classes" if labels else "")
        )
    if counts.min() < least:
        rare = labels[int(counts.argmin())] if labels else f"range {int(counts.argmin())}"
        raise DataError(
            f"{name}: class {rare!r} has {int(counts.min())} row(s); each class needs at least "
            f"{least} for {purpose} — add rows or drop the class"
        )


def _stratified(
    index: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    n_classes = len(np.unique(y))
    n_out = max(int(round(fraction * len(index))), n_classes)
    if n_out >= len(index) - n_classes + 1:
        raise DataError(f"{len(index)} rows are too few to split off {fraction:.0%} per class")
    keep, out = train_test_split(index, test_size=n_out, random_state=seed, stratify=y)
    return np.sort(keep), np.sort(out)
