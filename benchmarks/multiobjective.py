"""Multi-objective search on NAS-Bench-201: how much of the true Pareto front a search finds.

Objectives: CIFAR-10 test accuracy (maximised, from /work/shared/data/nats_bench.csv through the
tabular evaluator), parameters and FLOPs (minimised) of the network `build()` makes of the cell
(`archsearch/evaluation/cost.py`). Each search runs the real loop (`run_search`, in-memory
ledger, so a query is one distinct cell); after 100 and 200 queries the hypervolume of the
cells found is divided by that of the true front of all 15,625 cells. The reference point is
the worst value of each objective over all cells (the nadir of the whole space), or with
`--reference-accuracy A` the worst costs and accuracy A: then only cells above A count, which
measures the part of the front a user picks from (the nadir's volume is dominated by the
huge box every decent cell spans, so even random search scores near 1 there). It also
counts how many cells of the true front each search found.

Costs of all 15,625 cells come from per-operation costs: the network's FLOPs and parameters are
a base (stem, reduction blocks, head) plus one term per edge and operation, measured by
building the all-`none` cell and the cell with every edge one operation; the script checks
that sum against `build()` on a random sample of cells, exactly, before it uses it.

Prints mean ± std over seeds for `nsga2` and `random` at both budgets; never asserts. Defaults
of `nsga2` were tuned with `--tune` on seeds 100-109; report seeds 0 and up.

    python benchmarks/multiobjective.py [--seeds 0-19] [--budgets 100,200] [--out FILE]
    python benchmarks/multiobjective.py --tune --seeds 100-109
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from archsearch.benchmark import seed_range
from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.cost import count_flops, count_params
from archsearch.evaluation.objectives import DIRECTIONS
from archsearch.evaluation.result import Result
from archsearch.evaluation.tabular import INPUTS, tabular_evaluator
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.pareto import hypervolume, pareto_indices
from archsearch.spaces.base import Architecture
from archsearch.spaces.cell import OPS, NB201Space
from archsearch.strategies import get_strategy
from archsearch.tasks.base import OutputSpec

TABLE = Path("/work/shared/data/nats_bench.csv")
RESULTS = Path(__file__).resolve().parent / "results"
OBJECTIVES = ("accuracy", "params", "flops")
DIRS = tuple(DIRECTIONS[name] for name in OBJECTIVES)
SPACE = NB201Space()
SHAPE, OUTPUT = INPUTS["cifar10"], OutputSpec((10,))
GRID = {"population": (10, 20, 30), "mutation": (0.5, 1.0), "crossover": (0.0, 0.5)}


def built_costs(arch: Architecture) -> tuple[int, int]:
    """(params, FLOPs) of the cell's network, counted on a real build."""
    model = SPACE.build(arch, SHAPE, OUTPUT)
    return count_params(model), count_flops(model, SHAPE)


def uniform(op: str) -> Architecture:
    """The cell with every edge `op`."""
    return SPACE.from_string(f"|{op}~0|+|{op}~0|{op}~1|+|{op}~0|{op}~1|{op}~2|")


class CostModel:
    """Per-operation costs: base + sum over the six edges of the operation's term."""

    def __init__(self) -> None:
        self.base = built_costs(uniform("none"))
        self.per_op = {}
        for op in OPS:
            params, flops = built_costs(uniform(op))
            self.per_op[op] = ((params - self.base[0]) / 6, (flops - self.base[1]) / 6)

    def __call__(self, arch: Architecture) -> tuple[int, int]:
        ops = SPACE.cell_ops(arch).values()
        return (
            round(self.base[0] + sum(self.per_op[op][0] for op in ops)),
            round(self.base[1] + sum(self.per_op[op][1] for op in ops)),
        )

    def check(self, samples: int, seed: int = 0) -> int:
        """How many of `samples` random cells the model gets exactly right."""
        rng = random.Random(seed)
        return sum(self(a) == built_costs(a) for a in (SPACE.sample(rng) for _ in range(samples)))


class CostedTabular(Evaluator):
    """The tabular evaluator's accuracy (its table, as a fraction) with the cost model's params
    and FLOPs as metrics: the tabular evaluator itself would count parameters on a fresh build
    for every query (about 60 ms), which the cost model gives exactly."""

    name = "costed_tabular"

    def __init__(self, costs: CostModel) -> None:
        self.tabular = tabular_evaluator(TABLE, "cifar10")
        super().__init__(self.tabular.context)
        self.costs = costs

    def evaluate(self, arch: Architecture, seed: int) -> Result:
        accuracy = self.tabular.table[SPACE.to_string(arch)]
        params, flops = self.costs(arch)
        return Result(accuracy, {"accuracy": accuracy, "params": params, "flops": flops})


def all_cells(evaluator: CostedTabular) -> list[tuple[float, int, int]]:
    """(accuracy, params, FLOPs) of every cell of the space: the table's accuracy (what the
    tabular evaluator answers) and the cost model's params and FLOPs."""
    points = []
    for ops in itertools.product(OPS, repeat=6):
        text = "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)
        points.append((evaluator.tabular.table[text], *evaluator.costs(SPACE.from_string(text))))
    return points


def one_search(name: str, evaluator: Evaluator, seed: int, budget: int, options: dict) -> list:
    """The (accuracy, params, FLOPs) of each distinct cell queried, in order."""
    strategy = get_strategy(name, SPACE, seed=seed, **options)
    with Ledger(":memory:") as ledger:
        run_search(strategy, evaluator, ledger, Budget(trials=budget), seed=seed)
        return [tuple(t.result.metrics[k] for k in OBJECTIVES) for t in ledger if t.result.ok]


def scores(found: list, budgets: list[int], truth: dict) -> tuple[list, list]:
    """Per budget: the hypervolume of the cells found as a fraction of the true front's, and
    how many cells of the true front were found."""
    hv = [hypervolume(found[:b], truth["reference"], DIRS) / truth["volume"] for b in budgets]
    on_front = [len(set(found[:b]) & truth["front"]) for b in budgets]
    return hv, on_front


def _stats(values: list[list[float]], budgets: list[int]) -> dict[str, list[float]]:
    columns = [[v[i] for v in values] for i in range(len(budgets))]
    return {"mean": [statistics.mean(c) for c in columns],
            "std": [statistics.pstdev(c) for c in columns]}  # fmt: skip


def compare(
    runs: dict[str, tuple], evaluator: Evaluator, seeds: list[int], budgets: list[int],
    truth: dict,
) -> dict[str, Any]:  # fmt: skip
    """Per strategy: hypervolume fractions and true-front cells found, per seed and budget,
    with mean ± std over seeds, and seconds."""
    out: dict[str, Any] = {}
    for label, (name, options) in runs.items():
        start = time.perf_counter()
        per_seed = [
            scores(one_search(name, evaluator, s, max(budgets), options), budgets, truth)
            for s in seeds
        ]
        hv, found = [p[0] for p in per_seed], [p[1] for p in per_seed]
        out[label] = {
            "strategy": name,
            "options": options,
            "hypervolume_fraction": {"per_seed": hv, **_stats(hv, budgets)},
            "true_front_cells_found": {"per_seed": found, **_stats(found, budgets)},
            "seconds": time.perf_counter() - start,
        }
        text = ", ".join(
            f"{b}: HV {m:.4f} ± {d:.4f}, front cells {fm:.1f} ± {fd:.1f}"
            for b, m, d, fm, fd in zip(
                budgets, *_stats(hv, budgets).values(), *_stats(found, budgets).values()
            )
        )
        print(f"{label:40s} {text}  ({out[label]['seconds']:.0f} s)", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-19")
    parser.add_argument("--budgets", default="100,200")
    parser.add_argument("--tune", action="store_true", help="grid over nsga2's options")
    parser.add_argument("--samples", type=int, default=40, help="cells checked against build()")
    parser.add_argument(
        "--reference-accuracy", type=float,
        help="accuracy of the reference point (default: the lowest of the table); e.g. 0.9 "
        "counts only cells above 90%%, the region a user picks from",
    )  # fmt: skip
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds, budgets = seed_range(args.seeds), [int(b) for b in args.budgets.split(",")]

    start = time.perf_counter()
    costs = CostModel()
    exact = costs.check(args.samples)
    print(f"cost model: {exact}/{args.samples} sampled cells exactly as build() counts them")
    evaluator = CostedTabular(costs)
    cells = all_cells(evaluator)
    lowest = args.reference_accuracy
    if lowest is None:
        lowest = min(p[0] for p in cells)
    reference = (lowest, max(p[1] for p in cells), max(p[2] for p in cells))
    front = [cells[i] for i in pareto_indices(cells, DIRS)]
    true_volume = hypervolume(front, reference, DIRS)
    print(f"true front: {len(front)} of {len(cells)} cells ({time.perf_counter() - start:.0f} s)")

    if args.tune:
        runs = {
            f"nsga2 {json.dumps(o)}": ("nsga2", o)
            for o in (dict(zip(GRID, values)) for values in itertools.product(*GRID.values()))
        }
    else:
        runs = {"nsga2": ("nsga2", {}), "random": ("random", {})}
    truth = {"reference": reference, "volume": true_volume, "front": set(front)}
    results = compare(runs, evaluator, seeds, budgets, truth)
    record = {
        "benchmark": "NAS-Bench-201 CIFAR-10, objectives accuracy (max), params, FLOPs (min)",
        "seeds": seeds,
        "budgets": budgets,
        "cost_model": {"base": costs.base, "per_op": costs.per_op, "exact": exact,
                       "checked": args.samples},
        "true_front": {"size": len(front), "cells": len(cells), "hypervolume": true_volume,
                       "reference": reference, "points": sorted(front)},
        "results": results,
        "loadavg": os.getloadavg(),
        "threads": torch.get_num_threads(),
        "seconds": time.perf_counter() - start,
    }  # fmt: skip
    name = "multiobjective_tune" if args.tune else "multiobjective"
    if args.reference_accuracy is not None:
        name += f"_ref{args.reference_accuracy:g}"
    out = args.out or RESULTS / f"{name}_seeds{args.seeds}.json"
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out} (load average {record['loadavg'][0]:.1f})")


if __name__ == "__main__":
    main()
