"""MetaQNN's Q-learning state on NAS-Bench-201: the whole prefix against MetaQNN's per-layer
state (`qlearning` option `state`), on CIFAR-10, CIFAR-100 and ImageNet16-120. Prints tables
and writes a JSON summary; never asserts.

    .venv/bin/python benchmarks/qlearning_state.py --seed-start 100 --seeds 20 \\
        --out benchmarks/results/qlearning_state_seeds100-119.json

Each search runs through the real search loop (`archsearch.benchmark.compare`): a query is one
distinct architecture evaluated. Both states see the same seeds, so the per-seed difference
(layer - prefix) is reported beside the means.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archsearch.benchmark import compare
from archsearch.evaluation.tabular import COLUMNS, tabular_evaluator
from archsearch.spaces import get_space

BUDGETS = (50, 100, 200)
STATES = ("prefix", "layer")


def parse_args() -> argparse.Namespace:
    """The command line: table, datasets, seed range, budget, output file, q_init."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="/work/shared/data/nats_bench.csv")
    parser.add_argument("--datasets", default=",".join(COLUMNS))
    parser.add_argument("--seed-start", type=int, default=100, help="first seed")
    parser.add_argument("--seeds", type=int, default=20, help="searches per state and dataset")
    parser.add_argument("--budget", type=int, default=max(BUDGETS), help="distinct queries")
    parser.add_argument("--q-init", type=float, default=None, help="qlearning q_init override")
    parser.add_argument("--out", default="benchmarks/results/qlearning_state.json")
    return parser.parse_args()


def describe(curves: list[list[float]], budgets: tuple[int, ...]) -> dict[str, Any]:
    """Mean and std over seeds of the best accuracy (%) at each budget."""
    best = 100 * np.asarray(curves, dtype=float)
    return {
        f"@{b}": {
            "mean": round(float(best[:, b - 1].mean()), 3),
            "std": round(float(best[:, b - 1].std()), 3),
        }
        for b in budgets
    }


def paired(layer: list[list[float]], prefix: list[list[float]], budgets: tuple[int, ...]) -> dict:
    """Per-seed difference layer - prefix (%) at each budget: mean and standard error."""
    diff = 100 * (np.asarray(layer, dtype=float) - np.asarray(prefix, dtype=float))
    n = diff.shape[0]
    return {
        f"@{b}": {
            "mean": round(float(diff[:, b - 1].mean()), 3),
            "se": round(float(diff[:, b - 1].std(ddof=1) / math.sqrt(n)), 3) if n > 1 else None,
        }
        for b in budgets
    }


def run_dataset(args: argparse.Namespace, dataset: str, budgets: tuple[int, ...]) -> dict:
    """Both states on one dataset: summaries, paired differences and wall seconds."""
    evaluator = tabular_evaluator(args.table, dataset)
    space = get_space("nb201")
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    curves: dict[str, list[list[float]]] = {}
    seconds: dict[str, float] = {}
    for state in STATES:
        options: dict[str, Any] = {"state": state}
        if args.q_init is not None:
            options["q_init"] = args.q_init
        found, took = compare(
            ["qlearning"], space, evaluator, args.budget, seeds, {"qlearning": options}
        )
        curves[state], seconds[state] = found["qlearning"], took["qlearning"]
        print(f"  {state}: {took['qlearning']:.1f} s", flush=True)
    return {
        "optimum": round(100 * evaluator.optimum(), 3),
        "states": {
            s: {**describe(curves[s], budgets), "seconds": round(seconds[s], 1)} for s in STATES
        },
        "layer_minus_prefix": paired(curves["layer"], curves["prefix"], budgets),
    }


def table(result: dict, budgets: tuple[int, ...]) -> str:
    """A markdown table of one dataset's result."""
    lines = [
        "| state | " + " | ".join(f"@{b}" for b in budgets) + " | seconds |",
        "|---" * (len(budgets) + 2) + "|",
    ]
    for state, s in result["states"].items():
        cells = [f"{s[f'@{b}']['mean']:.2f} ± {s[f'@{b}']['std']:.2f}" for b in budgets]
        lines.append(f"| {state} | " + " | ".join(cells) + f" | {s['seconds']:.0f} |")
    d = result["layer_minus_prefix"]
    cells = [f"{d[f'@{b}']['mean']:+.2f} (se {d[f'@{b}']['se']})" for b in budgets]
    lines.append("| layer - prefix | " + " | ".join(cells) + " | |")
    return "\n".join(lines) + f"\n\noptimum {result['optimum']:.2f}; accuracies in percent"


def main() -> None:
    """Run every dataset, print its table, write the JSON summary to `--out`."""
    args = parse_args()
    torch.set_num_threads(1)  # thousands of tiny tensor operations: threads only contend
    budgets = tuple(b for b in BUDGETS if b <= args.budget) or (args.budget,)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    for dataset in args.datasets.split(","):
        print(
            f"\n## {dataset}: seeds {args.seed_start}..{args.seed_start + args.seeds - 1}, "
            f"{args.budget} queries",
            flush=True,
        )
        results[dataset] = run_dataset(args, dataset, budgets)
        print(table(results[dataset], budgets), flush=True)
    total = time.perf_counter() - started
    summary = {
        "config": {
            "seed_start": args.seed_start,
            "seeds": args.seeds,
            "budget": args.budget,
            "q_init": args.q_init,
            "strategy": "qlearning",
            "space": "nb201",
        },
        "datasets": results,
        "seconds": round(total, 1),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"\ntotal wall time {total:.0f} s; wrote {out}")


if __name__ == "__main__":
    main()
