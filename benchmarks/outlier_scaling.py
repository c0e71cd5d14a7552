"""Tables with lost decimal points: the default search with standard, robust and auto column
scaling (`--scaling`), against scikit-learn's default MLP on the same preprocessed split.

A real public CSV carried such values: a column near 1 with a few values near 1000, a column
near 10 with a few near 1e14. This script breaks bundled tables the same way, in a fixed 3% of
rows (train, validation and test alike): the column with the median nearest 1 gets x1000, the
one nearest 10 gets x1e13. Each run is the README's default search:

    archsearch search --data BROKEN.csv --target target --space mlp --strategy reinforce
        --trials 30 --epochs 10 --final-epochs 60 --seed S --scaling MODE

Prints mean ± std test accuracy per dataset and mode, and wins against the baseline; writes
the JSON behind the table. Never asserts.

    python benchmarks/outlier_scaling.py [--seeds 0-4] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from archsearch.benchmark import seed_range
from archsearch.data.bundled import LOADERS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tabular import mean_std, one_run  # noqa: E402

DATASETS = ("wine", "breast_cancer")
MODES = ("standard", "robust", "auto")
SHARE = 0.03  # of the rows broken
RESULTS = Path(__file__).resolve().parent / "results" / "outlier_scaling.json"


def broken_csv(name: str, folder: Path) -> tuple[Path, dict[str, str]]:
    """`name` as a CSV with lost decimal points in two columns; the CSV and what was broken."""
    data = LOADERS[name]()
    x = np.asarray(data.data, dtype=np.float64).copy()
    names = [str(n).replace(",", " ") for n in data.feature_names]
    rows = np.random.default_rng(12345).choice(len(x), max(2, int(SHARE * len(x))), False)
    medians = np.median(x, axis=0)
    broken = {}
    for near, factor in ((1.0, 1e3), (10.0, 1e13)):
        column = int(np.argmin(np.abs(np.log10(np.abs(medians) + 1e-12) - np.log10(near))))
        x[rows, column] *= factor
        broken[names[column]] = f"x{factor:g} in {len(rows)} rows (median {medians[column]:.3g})"
    target = [str(data.target_names[i]) for i in data.target]
    path = folder / f"{name}_broken.csv"
    lines = [",".join([*names, "target"])]
    lines += [",".join([*(repr(float(v)) for v in row), t]) for row, t in zip(x, target)]
    path.write_text("\n".join(lines) + "\n")
    return path, broken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-4", help="a seed or a range FIRST-LAST")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = seed_range(args.seeds)
    results: dict[str, dict] = {}
    print("dataset        scaling   archsearch        scikit-learn      wins  warnings")
    with tempfile.TemporaryDirectory() as tmp:
        for name in DATASETS:
            csv, broken = broken_csv(name, Path(tmp))
            results[name] = {"broken": broken}
            for mode in MODES:
                started = time.perf_counter()
                data = ["--data", str(csv), "--target", "target"]
                runs = [one_run(data, seed, ["--scaling", mode]) for seed in seeds]
                ours = [r["best"]["test_accuracy"] for r in runs]
                base = [r["baseline"]["test_accuracy"] for r in runs]
                warned = len(runs[0]["warnings"])
                results[name][mode] = {"archsearch": ours, "sklearn": base, "warnings": warned,
                                       "seconds": time.perf_counter() - started}  # fmt: skip
                wins = sum(o > b for o, b in zip(ours, base))
                print(
                    f"{name:14s} {mode:9s} {mean_std(ours)}  {mean_std(base)}  "
                    f"{wins}/{len(runs)}   {warned}",
                    flush=True,
                )
    report = {"seeds": args.seeds, "share_broken": SHARE, "threads": 1, "cores": os.cpu_count()}
    args.out.write_text(json.dumps({**report, "datasets": results}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
