"""Which test rows the default search's network and scikit-learn's default MLP get wrong, row
by row, on a bundled classification table:

    archsearch search --dataset NAME --space mlp --strategy reinforce --trials 30 --epochs 10
        --final-epochs 60 --seed S

for each seed, then the baseline fitted as the run fits it. Prints, per seed, the rows (indices
into scikit-learn's copy of the table) each model misclassifies, and over all seeds how often
each row was in the test split and how often each model missed it; writes the JSON. It tells a
systematic weakness (rows one model keeps missing and the other gets right) from a handful of
borderline rows that both miss and that decide a small table's score by which split holds them;
for reference it names the rows a leave-one-out logistic regression misclassifies. Never
asserts.

    python benchmarks/missed_rows.py [--dataset wine] [--seeds 100-139] [--out FILE]
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import numpy as np
import torch
from sklearn import datasets as sk
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import LeaveOneOut, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tabular import COMMAND, one_run

from archsearch.benchmark import seed_range
from archsearch.data import load_dataset
from archsearch.data.dataset import Dataset, split_rows
from archsearch.evaluation.baseline import baseline_test_outputs
from archsearch.export import load_run

RESULTS = Path(__file__).resolve().parent / "results"


def wrong_rows(name: str, seed: int, flags: list[str]) -> dict:
    """The test rows (table indices) the found network and the baseline misclassify at `seed`."""
    labels = getattr(sk, f"load_{name}")().target
    test = split_rows(labels, seed)[2]
    data = load_dataset(name, seed=seed)
    if not np.array_equal(labels[test], data.y_test.numpy()):
        raise SystemExit(f"{name}: the split here is not the run's; the benchmark is out of date")
    summary = one_run(["--dataset", name], seed, flags, keep=lambda run: _predictions(run, data))
    ours, theirs = summary["predictions"], baseline_test_outputs(data, seed).argmax(1).numpy()
    truth = data.y_test.numpy()
    return {
        "test": test.tolist(),
        "archsearch": test[ours != truth].tolist(),
        "sklearn": test[theirs != truth].tolist(),
        "arch": summary["best"]["arch"],
    }


def _predictions(run: Path, data: Dataset) -> np.ndarray:
    with torch.no_grad():
        return load_run(run).model(data.x_test).argmax(1).numpy()


def hard_rows(name: str) -> list[int]:
    """The rows scikit-learn's logistic regression misclassifies when fitted on all the
    others (leave-one-out, standardised): rows the rest of the table places in another class."""
    table = getattr(sk, f"load_{name}")()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    predicted = cross_val_predict(model, table.data, table.target, cv=LeaveOneOut())
    return np.flatnonzero(predicted != table.target).tolist()


def tally(runs: dict[int, dict]) -> dict[str, dict[int, int]]:
    """How often each row was in the test split, and missed by each model, over the seeds."""
    counts = {key: collections.Counter() for key in ("test", "archsearch", "sklearn")}
    for run in runs.values():
        for key, counter in counts.items():
            counter.update(run[key])
    return {key: dict(counter.most_common()) for key, counter in counts.items()}


def print_counts(counts: dict[str, dict[int, int]], shared: int) -> None:
    """The error totals, then each missed row, most often missed first."""
    print(f"errors: archsearch {sum(counts['archsearch'].values())}, scikit-learn "
          f"{sum(counts['sklearn'].values())}, both on the same row {shared}")  # fmt: skip
    missed = set(counts["archsearch"]) | set(counts["sklearn"])
    print("row  in test  archsearch missed  scikit-learn missed")
    for row in sorted(
        missed, key=lambda r: -counts["archsearch"].get(r, 0) - counts["sklearn"].get(r, 0)
    ):
        print(f"{row:>3}  {counts['test'][row]:>7}  {counts['archsearch'].get(row, 0):>17}  "
              f"{counts['sklearn'].get(row, 0):>19}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="wine")
    parser.add_argument("--seeds", default="100-139", help="a seed or a range FIRST-LAST")
    parser.add_argument("--flags", default="", help="more archsearch flags")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = {}
    for seed in seed_range(args.seeds):
        runs[seed] = wrong_rows(args.dataset, seed, args.flags.split())
        print(f"seed {seed}: archsearch misses {runs[seed]['archsearch']}, "
              f"scikit-learn misses {runs[seed]['sklearn']}", flush=True)  # fmt: skip
    counts = tally(runs)
    shared = sum(len(set(r["archsearch"]) & set(r["sklearn"])) for r in runs.values())
    print_counts(counts, shared)
    hard = hard_rows(args.dataset)
    print(f"rows a leave-one-out logistic regression misclassifies: {hard}")
    out = args.out or RESULTS / f"missed_rows_{args.dataset}_seeds{args.seeds}.json"
    result = {"command": COMMAND + args.flags.split(), "dataset": args.dataset,
              "seeds": args.seeds, "runs": runs, "counts": counts,
              "shared_errors": shared, "leave_one_out_logistic_misses": hard}  # fmt: skip
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
