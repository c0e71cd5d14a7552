"""Search time with the inline executor against a local process pool and a local Ray, both
with 2 workers: one random mlp search (the same trials each time) on a bundled dataset.
The time is the search alone (ask, evaluate, record), from the first trial to the last,
including starting the pool's workers or Ray. Prints, never asserts.

    python benchmarks/parallel.py [--trials 12] [--dataset digits] [--epochs 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

from archsearch.config import SearchConfig, from_json
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.run import make_setup

__all__ = ["time_search"]

EXECUTORS = (("inline", {}), ("pool", {"workers": 2}), ("ray", {"workers": 2}))


def time_search(dataset: str, trials: int, epochs: int, executor: str, options: dict) -> dict:
    """Seconds one search takes with `executor`, and its rewards (equal across executors)."""
    config: SearchConfig = from_json(
        SearchConfig,
        {
            "data": {"dataset": dataset},
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
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    print(f"{args.trials} trials, mlp on {args.dataset}, {args.epochs} epochs, "
          f"{os.cpu_count()} CPUs (shared: other work may run)")  # fmt: skip
    rows: list[dict[str, Any]] = []
    for name, options in EXECUTORS:
        if name == "ray" and importlib.util.find_spec("ray") is None:
            print("ray: not installed (pip install 'archsearch[ray]'), skipped")
            continue
        row = time_search(args.dataset, args.trials, args.epochs, name, options)
        same = not rows or row["rewards"] == rows[0]["rewards"]
        print(f"{name:7s} workers={options.get('workers', 1)}  {row['seconds']:7.1f} s  "
              f"rewards {'identical to inline' if same else 'DIFFER from inline'}")  # fmt: skip
        rows.append(row)
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
