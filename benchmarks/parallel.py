"""Search time with the inline executor against a local process pool and a local Ray, each
with 1 and 2 workers: one random search (the same trials each time) on a bundled dataset.
The time is the search alone (ask, evaluate, record), from the first trial to the last,
including starting the pool's workers or Ray. Inline runs with one PyTorch thread, as each
worker does, so that (executor with 1 worker - inline) / trials is the executor's overhead per
trial, and (1 worker / 2 workers) its speed-up. Prints, never asserts.

    python benchmarks/parallel.py [--trials 40] [--space cnn] [--dataset digits] [--epochs 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from archsearch.config import SearchConfig, from_json
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.run import make_setup

__all__ = ["time_search"]

EXECUTORS = (
    ("inline", {}),
    ("pool", {"workers": 1}),
    ("pool", {"workers": 2}),
    ("ray", {"workers": 1}),
    ("ray", {"workers": 2}),
)


def time_search(
    dataset: str, space: str, trials: int, epochs: int, executor: str, options: dict
) -> dict:
    """Seconds one search takes with `executor`, and its rewards (equal across executors)."""
    config: SearchConfig = from_json(
        SearchConfig,
        {
            "data": {"dataset": dataset},
            "space": space,
            "strategy": "random",
            "trials": trials,
            "executor": executor,
            "executor_options": options,
            "train": {"epochs": epochs, "device": "cpu"},
        },
    )
    setup = make_setup(config)
    start = time.perf_counter()
    with Ledger(":memory:") as ledger:
        try:
            run_search(setup.strategy, setup.evaluator, ledger, Budget(trials), 0, setup.executor)
        finally:
            setup.executor.close()
        rewards = [round(t.result.reward, 6) for t in ledger]
    return {"executor": executor, **options, "seconds": time.perf_counter() - start,
            "rewards": rewards}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--space", default="cnn")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)  # inline as one worker: the overhead is the difference
    print(f"{args.trials} trials, {args.space} on {args.dataset}, {args.epochs} epoch(s), "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    rows: list[dict[str, Any]] = []
    for name, options in EXECUTORS:
        if name == "ray" and importlib.util.find_spec("ray") is None:
            print("ray: not installed (pip install 'archsearch[ray]'), skipped")
            continue
        row = time_search(args.dataset, args.space, args.trials, args.epochs, name, options)
        row["load_before"] = os.getloadavg()[0]
        rows.append(row)
        _print(row, rows)
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


def _print(row: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """One line: time, overhead per trial against inline, speed-up over the same executor
    with one worker, and whether the rewards equal inline's."""
    inline = rows[0]
    line = f"{row['executor']:7s} workers={row.get('workers', 1)}  {row['seconds']:7.1f} s"
    if row.get("workers") == 1:
        overhead = (row["seconds"] - inline["seconds"]) / len(row["rewards"]) * 1000
        line += f"  overhead {overhead:+.0f} ms/trial"
    one = [r for r in rows if r["executor"] == row["executor"] and r.get("workers") == 1]
    if row.get("workers") == 2 and one:
        line += f"  speed-up {one[0]['seconds'] / row['seconds']:.2f}x over 1 worker"
    same = row["rewards"] == inline["rewards"]
    print(line + f"  rewards {'identical to inline' if same else 'DIFFER from inline'}")


if __name__ == "__main__":
    main()
