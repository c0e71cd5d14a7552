"""The default search against scikit-learn's default MLP on small tables, as a newcomer runs it:

    archsearch search --dataset NAME --space mlp --strategy reinforce --trials 30 --epochs 10
        --final-epochs 60 --seed S

for digits (as 64 columns), iris, wine, breast_cancer and diabetes (regression), seeds 0-4 by
default. Prints, per dataset, the retrained best network's test score (accuracy, or R² for
regression) and the baseline's on the same split and rows, mean ± std over the seeds, and the
wall time of a run; writes the JSON behind the table. Never asserts.

The defaults were tuned on seeds 100-109; report other seeds.

    python benchmarks/tabular.py [--seeds 0-4] [--datasets digits,iris,...] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from archsearch.benchmark import seed_range
from archsearch.cli import main as archsearch

DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")
COMMAND = ["--space", "mlp", "--strategy", "reinforce", "--trials", "30", "--epochs", "10",
           "--final-epochs", "60"]  # fmt: skip
RESULTS = Path(__file__).resolve().parent / "results" / "tabular.json"


def one_run(
    data: list[str], seed: int, flags: list[str], keep: Callable[[Path], Any] | None = None
) -> dict:
    """The summary of one default search, run through the command line's own code; with
    `keep`, what it returns for the run directory is the summary's "predictions"."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        args = ["search", *data, *COMMAND, *flags, "--seed", str(seed), "--out", str(out)]
        start = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):
            code = archsearch(args)
        if code != 0:
            raise SystemExit(f"archsearch {' '.join(args)} exited {code}")
        summary = json.loads((out / "summary.json").read_text())
        if keep is not None:
            summary["predictions"] = keep(out)
    summary["wall_seconds"] = time.perf_counter() - start
    return summary


def reference_chosen(best: dict) -> bool:
    """Whether re-ranking chose the space's reference architecture over the search's best."""
    reference = best.get("rerank", {}).get("reference")
    return reference is not None and best["trial"] == reference


def mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {spread:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0-4", help="a seed or a range FIRST-LAST")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--flags", default="", help="more archsearch flags, e.g. '--final-models 1' (ablations)"
    )
    args = parser.parse_args()
    flags = args.flags.split()
    torch.set_num_threads(1)
    rows = {}
    print("dataset        metric    archsearch        scikit-learn      wins  wall (s)")
    for name in args.datasets.split(","):
        runs = [one_run(["--dataset", name], seed, flags) for seed in seed_range(args.seeds)]
        metric = "test_r2" if runs[0]["task"] == "regression" else "test_accuracy"
        ours = [r["best"][metric] for r in runs]
        base = [r["baseline"][metric] for r in runs]
        walls = [r["wall_seconds"] for r in runs]
        rows[name] = {"metric": metric, "archsearch": ours, "sklearn": base, "wall": walls,
                      "best_archs": [r["best"]["arch"] for r in runs],
                      "reference_chosen": [reference_chosen(r["best"]) for r in runs]}  # fmt: skip
        wins = sum(o > b for o, b in zip(ours, base))
        print(
            f"{name:14s} {metric[5:]:8s}  {mean_std(ours)}  {mean_std(base)}  "
            f"{wins}/{len(runs)}   {statistics.mean(walls):6.1f}",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "command": COMMAND + flags,
        "seeds": args.seeds,
        "threads": 1,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),  # at the end: the machine is shared; walls inflate
    }
    args.out.write_text(json.dumps({**report, "datasets": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
