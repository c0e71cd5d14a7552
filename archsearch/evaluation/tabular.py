"""`TabularEvaluator`: NAS-Bench-201 accuracies looked up instead of trained.

Every cell of the `nb201` space was trained by the benchmark's authors, so a search strategy can
be compared over many seeds in seconds. The table is either

- a CSV file in the layout of `shared/data/nats_bench.csv`: one row per cell, the cell's
  NAS-Bench-201 string in `ArchitectureString` and the 200-epoch test accuracy in percent (mean
  over training seeds) in `CIFAR10TestAccuracy200Epochs`, `CIFAR100TestAccuracy200Epochs` and
  `ImageNetTestAccuracy200Epochs`; or
- the official NATS-Bench topology file (any path that is not a `.csv`), read with the optional
  `nats_bench` package. That path reads every cell's record once (minutes) into the same table.

The reward is the accuracy as a **fraction** in [0, 1], like `val_accuracy` everywhere else in
archsearch; `metrics["test_accuracy"]` holds the same fraction. These tables only hold test
accuracies, so on them a search is a benchmark of the search strategy, not model selection.
"""

from __future__ import annotations

import csv
from pathlib import Path

from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.spaces.base import Architecture
from archsearch.spaces.cell import NB201Space

ARCH_COLUMN = "ArchitectureString"
COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "ImageNet16-120": "ImageNetTestAccuracy200Epochs",
}
INPUTS = {"cifar10": (3, 32, 32), "cifar100": (3, 32, 32), "ImageNet16-120": (3, 16, 16)}
CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}


class TabularEvaluator(Evaluator):
    """Rewards `nb201` architectures with their tabulated test accuracy (a fraction) on
    `dataset` (cifar10, cifar100 or ImageNet16-120)."""

    def __init__(self, path: str | Path, dataset: str = "cifar10") -> None:
        if dataset not in COLUMNS:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of: {', '.join(COLUMNS)}")
        path = Path(path)
        self.dataset = dataset
        self.space = NB201Space()
        self.table = read_csv(path, dataset) if path.suffix == ".csv" else read_nats(path, dataset)

    def evaluate(self, arch: Architecture, seed: int) -> Result:
        try:
            key = self.space.to_string(arch)
        except KeyError as exc:
            return Result.failed(f"not an nb201 architecture: decision {exc} is missing")
        accuracy = self.table.get(key)
        if accuracy is None:
            return Result.failed(f"{key} is not in the table")
        params = self.space.count_params(arch, INPUTS[self.dataset], CLASSES[self.dataset])
        return Result(reward=accuracy, metrics={"test_accuracy": accuracy, "params": params})

    def optimum(self) -> float:
        """The best reward of the table: what a perfect search finds."""
        return max(self.table.values())


def read_csv(path: Path, dataset: str) -> dict[str, float]:
    """{NAS-Bench-201 string: accuracy fraction} from a CSV table; `ValueError` in one line."""
    if not path.is_file():
        raise ValueError(f"{path}: no such table file; give the path of a NAS-Bench-201 CSV")
    column = COLUMNS[dataset]
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames or [], list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: not a readable CSV table ({exc})") from None
    missing = [c for c in (ARCH_COLUMN, column) if c not in fields]
    if missing:
        raise ValueError(f"{path}: no column(s) {missing}; is this a NAS-Bench-201 CSV table?")
    table: dict[str, float] = {}
    for line, row in enumerate(rows, start=2):
        try:
            table[row[ARCH_COLUMN].strip()] = float(row[column]) / 100
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"{path}: line {line}: {column} must be a number") from None
    if not table:
        raise ValueError(f"{path}: the table has no rows")
    return table


def read_nats(path: Path, dataset: str) -> dict[str, float]:
    """The same table from the official NATS-Bench topology file (`nats_bench` package)."""
    try:
        from nats_bench import create
    except ImportError:
        raise ValueError(
            f"{path}: not a .csv table, and reading the official NATS-Bench file needs "
            "`pip install nats_bench`"
        ) from None
    if not path.exists():
        raise ValueError(f"{path}: no such NATS-Bench file or folder")
    api = create(str(path), "tss", fast_mode=True, verbose=False)
    return {
        api.arch(i): api.get_more_info(i, dataset, hp="200", is_random=False)["test-accuracy"] / 100
        for i in range(len(api))
    }
