"""`Dataset`: a classification task held as in-memory tensors, with its splits.

The test split is never seen by a search; normalisation statistics come from the train split.
Two kinds of inputs are held:

- float features (tabular data, scikit-learn's 8x8 digits), standardised here once;
- raw uint8 images (N, C, H, W) from image files, kept as bytes (a quarter of the memory, and
  what a GPU copy should carry) with the per-channel `Normalization` of the train split; the
  trainer normalises each batch on its device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from archsearch.errors import UsageError


class DataError(UsageError):
    """Input data that cannot be used; the message says what is wrong and how to fix it."""


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
    """Train/val/test tensors of one classification task: `y` int64; `x` float32 features, or
    uint8 images (N, C, H, W) with `norm` set. `source` says where and in which layout the
    data was found (the command line prints it)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: list[str]
    norm: Normalization | None = None
    source: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def describe(self) -> str:
        """One line for logs: name, split sizes and where the data came from."""
        sizes = ", ".join(f"{split} {count}" for split, count in self.sizes().items())
        return f"{self.name} ({sizes})" + (f"; {self.source}" if self.source else "")

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """`x` as the float network input: normalised if it holds raw images, else as is."""
        return self.norm.apply(x) if self.norm is not None else x


def split_dataset(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    class_names: list[str],
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    source: str = "",
) -> Dataset:
    """Seeded, stratified train/val/test split; `val_fraction` is of what the test split
    leaves. Float features are standardised with train statistics (per feature for flat data,
    per channel for images); uint8 images stay raw with their train `Normalization`."""
    return split_train_test(
        name, (x, y), None, class_names, seed, val_fraction, test_fraction, source=source
    )


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
) -> Dataset:
    """Train/val/test splits of a training pool `train` and an official `test` split, which
    stays the test split; without one (None), `test_fraction` of the pool becomes it. Then
    `train_subset` and `test_subset` cap the pool and the test split (cheap CPU runs), and
    `val_fraction` of the pool becomes the validation split. Every split and subset is
    stratified and seeded by `seed`."""
    for label, fraction in (("test", test_fraction), ("val", val_fraction)):
        if not 0.0 < fraction < 1.0:
            raise DataError(f"{label} fraction must lie in (0, 1), got {fraction}")
    for label, size in (("train", train_subset), ("test", test_subset)):
        if size is not None and size < 1:
            raise DataError(f"{label} subset must be a positive number of rows, got {size}")
    x, y = train
    if test is None:
        _check_counts(name, y, class_names, 3, "a train/val/test split")
        rest, held = _stratified(np.arange(len(y)), y, test_fraction, seed)
        test = (x[held], y[held])
        x, y = x[rest], y[rest]
    if train_subset is not None:
        rows = stratified_subset(y, train_subset, seed)
        x, y = x[rows], y[rows]
    if test_subset is not None:
        rows = stratified_subset(test[1], test_subset, seed)
        test = (test[0][rows], test[1][rows])
    _check_counts(name, y, class_names, 2, "a train/val split")
    keep, val = _stratified(np.arange(len(y)), y, val_fraction, seed + 1)
    return _assemble(name, class_names, (x[keep], y[keep]), (x[val], y[val]), test, source=source)


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
    class_names: Sequence[str],
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    source: str,
) -> Dataset:
    """Tensors of the three splits, standardised (floats) or with their `Normalization` (uint8)."""
    norm = Normalization.of(train[0]) if train[0].dtype == np.uint8 else None
    prepare = np.ascontiguousarray if norm is not None else _standardiser(train[0])
    tensors = [
        tensor
        for features, labels in (train, val, test)
        for tensor in (torch.from_numpy(prepare(features)), torch.from_numpy(labels).long())
    ]
    return Dataset(name, *tensors, class_names=list(class_names), norm=norm, source=source)


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
    name: str, y: np.ndarray, class_names: Sequence[str], least: int, purpose: str
) -> None:
    """`DataError` unless every class has at least `least` rows."""
    counts = np.bincount(y, minlength=len(class_names))
    if len(y) < least * len(class_names):
        raise DataError(
            f"{name}: {len(y)} rows for {len(class_names)} classes; {purpose} needs at least "
            f"{least} rows per class — add rows or merge classes"
        )
    if counts.min() < least:
        rare = class_names[int(counts.argmin())]
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
