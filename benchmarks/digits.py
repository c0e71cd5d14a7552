"""REINFORCE on scikit-learn's digits: does the search beat the obvious baselines in minutes?

Prints (never asserts) the test accuracy of the retrained best architecture of a `cnn` search
(target >= 0.99 within 5 minutes on 2 CPU cores) and of an `mlp` search (target: beat
scikit-learn's default MLPClassifier on the same split).

    python benchmarks/digits.py [--minutes 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from archsearch.config import DataSpec, SearchConfig
from archsearch.evaluation.trainer import TrainConfig
from archsearch.run import start_run

#: Per space: child training and final epochs; the search gets 75% of the time budget. The
#: MLP children need regularisation (label smoothing, weight decay) to beat the baseline.
RUNS = {
    "cnn": (TrainConfig(epochs=4), 40),
    "mlp": (TrainConfig(epochs=30, batch_size=32, label_smoothing=0.1, weight_decay=1e-4), 100),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="wall-clock budget per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spaces", default="cnn,mlp", help="which searches to run")
    args = parser.parse_args()
    rows = []
    for space in args.spaces.split(","):
        train, final_epochs = RUNS[space]
        config = SearchConfig(
            data=DataSpec(dataset="digits"),
            space=space,
            strategy="reinforce",
            trials=None,
            time_limit=args.minutes * 60 * 0.75,
            final_epochs=final_epochs,
            seed=args.seed,
            train=train,
        )
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            summary = start_run(config, Path(tmp) / "run")
            wall = time.perf_counter() - start
        best = summary["best"]
        rows.append(
            (
                space,
                summary["trials"],
                wall,
                best["val_accuracy"],
                best["test_accuracy"],
                summary["sklearn_mlp_test_accuracy"],
                best["params"],
            )
        )
        print(json.dumps({"space": space, "wall_seconds": round(wall, 1), **summary}, default=str))
    print("\nspace  trials  wall(s)  best val  test acc  sklearn MLP  params")
    for space, trials, wall, val, test, sk, params in rows:
        print(
            f"{space:5}  {trials:6}  {wall:7.0f}  {val:8.4f}  {test:8.4f}  {sk:11.4f}  {params:,}"
        )


if __name__ == "__main__":
    main()
