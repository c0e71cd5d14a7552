"""`TabularEvaluator`: NAS-Bench-201 accuracies looked up instead of trained.

Every cell of the `nb201` space was trained by the benchmark's authors, so a search strategy can
be compared over many seeds in seconds. The table is a CSV file in the layout of
`shared/data/nats_bench.csv`: one row per cell, the cell's NAS-Bench-201 string in
`ArchitectureString` and the 200-epoch test accuracy in percent (mean over training seeds) in
`CIFAR10TestAccuracy200Epochs`, `CIFAR100TestAccuracy200Epochs` and
`ImageNetTestAccuracy200Epochs`.

The official NATS-Bench files are pickles, and unpickling a file can run code, so they are not
read here: export the table to CSV once, with the official API, where you trust the file.

The reward is the accuracy as a **fraction** in [0, 1], like `val_accuracy` everywhere else in
archsearch; `metrics["table_test_accuracy"]` holds the same fraction, named for the table
(the test accuracy its authors measured), not for the run's own held-out test split. In a
run with several `--objectives` the cell's network is built on the CPU for its FLOPs and
latency (`cost.py`), and the reward is scaled by the cost targets, if any. These tables only
hold test accuracies, so on them a search is a benchmark of the search strategy, not model
selection.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsearch.errors import UsageError
from archsearch.evaluation.base import Context, Evaluator
from archsearch.evaluation.cost import add_costs
from archsearch.evaluation.result import Result
from archsearch.options import Options
from archsearch.spaces.base import Architecture
from archsearch.spaces.cell import NB201Space
from archsearch.tasks.base import OutputSpec
from archsearch.tasks.classification import Classification

ARCH_COLUMN = "ArchitectureString"
COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "ImageNet16-120": "ImageNetTestAccuracy200Epochs",
}
INPUTS = {"cifar10": (3, 32, 32), "cifar100": (3, 32, 32), "ImageNet16-120": (3, 16, 16)}
CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}


@dataclass
class TabularOptions(Options):
    """`table`: the CSV file; `dataset`: whose accuracies reward (cifar10, cifar100 or
    ImageNet16-120)."""

    table: str = ""
    dataset: str = "cifar10"


class TabularEvaluator(Evaluator):
    """Rewards `nb201` architectures with their tabulated test accuracy (a fraction) on
    `dataset` (cifar10, cifar100 or ImageNet16-120)."""

    name = "tabular"
    Options = TabularOptions

    def __init__(self, context: Context, **options: Any) -> None:
        super().__init__(context, **options)
        o = self.options
        if context.space.name != "nb201":
            raise UsageError(
                f"the tabular evaluator answers for the nb201 space, not "
                f"{context.space.name!r}; give --space nb201, or another --evaluator"
            )
        if o.dataset not in COLUMNS:
            raise ValueError(f"unknown dataset {o.dataset!r}; choose one of: {', '.join(COLUMNS)}")
        if not o.table:
            raise ValueError("the tabular evaluator needs table=PATH of a NAS-Bench-201 CSV")
        self.dataset = o.dataset
        self.space = NB201Space()
        self.table = read_csv(Path(o.table), o.dataset)
        self.output = OutputSpec((CLASSES[o.dataset],))

    def evaluate(self, arch: Architecture, seed: int) -> Result:
        try:
            key = self.space.to_string(arch)
        except KeyError as exc:
            return self.failed(f"not an nb201 architecture: decision {exc} is missing")
        accuracy = self.table.get(key)
        if accuracy is None:
            return self.failed(f"{key} is not in the table")
        shape = INPUTS[self.dataset]
        params = self.space.count_params(arch, shape, self.output)
        result = Result(
            reward=accuracy, metrics={"table_test_accuracy": accuracy, "params": params}
        )
        return add_costs(result, self.context, arch, shape, self.output)

    def optimum(self) -> float:
        """The best reward of the table: what a perfect search finds."""
        return max(self.table.values())


def tabular_evaluator(table: str | Path, dataset: str = "cifar10") -> TabularEvaluator:
    """A tabular evaluator for the standard nb201 space, for benchmarks outside a run."""
    context = Context(NB201Space(), Classification(CLASSES.get(dataset, 10)))
    return TabularEvaluator(context, table=str(table), dataset=dataset)


def read_csv(path: Path, dataset: str) -> dict[str, float]:
    """{NAS-Bench-201 string: accuracy fraction} from a CSV table; `ValueError` in one line."""
    if path.suffix != ".csv":
        raise ValueError(
            f"{path}: only CSV tables are read; the official NATS-Bench files are pickles, "
            "which can run code when loaded — export the table to CSV where you trust the file"
        )
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
