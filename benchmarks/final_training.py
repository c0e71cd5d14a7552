"""How the final network is trained, compared on small tables: after the default search
(reinforce, 30 children of 10 epochs, `mlp` space), the best architecture is trained

- `fixed`: 60 epochs on train+validation (one network);
- `early-stop`: up to 60 epochs on the train split, keeping the epoch of best validation score;
- `refit`: as early-stop to find the best epoch count, then that many epochs on train+val;
- `ensemble-K`: `fixed` K times with seeds seed..seed+K-1, class probabilities (or
  predictions) averaged — what archsearch does on data of at most 5,000 rows (K = 5);

and each is scored on the test split beside scikit-learn's default MLP. Prints means over
the seeds and writes the JSON behind them; never asserts. Run on the tuning seeds (100-109):
this is how the final-training defaults were chosen.

    python benchmarks/final_training.py [--seeds 100-109] [--datasets wine,iris,...]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import statistics
from pathlib import Path

import torch
from torch import nn

from archsearch.benchmark import seed_range
from archsearch.config import DataSpec, SearchConfig
from archsearch.evaluation.trainer import TrainConfig, train
from archsearch.final import score_on_test, train_final
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.run import Setup, baseline_scores, make_setup
from archsearch.spaces import Architecture

DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")
METHODS = ("fixed", "early-stop", "refit", "ensemble-3", "ensemble-5")
RESULTS = Path(__file__).resolve().parent / "results" / "final_training.json"


def early_stopped(setup: Setup, arch: Architecture, config: TrainConfig, seed: int):
    """(network at its best validation epoch, that epoch) trained on the train split."""
    data, task = setup.data, setup.data.task
    torch.manual_seed(seed)
    model = setup.space.build(arch, data.input_shape, task.output_spec())
    score, best = f"val_{task.score}", {"value": -float("inf"), "epoch": 1, "state": None}

    def keep(point: dict[str, float]) -> None:
        if point[score] > best["value"]:
            best.update(value=point[score], epoch=point["epoch"])
            best["state"] = copy.deepcopy(model.state_dict())

    splits = (data.x_train, data.y_train), (data.x_val, data.y_val)
    train(model, task, *splits, config, seed, norm=data.norm, on_epoch=keep)
    model.load_state_dict(best["state"])
    return model, best["epoch"]


def final_network(method: str, setup: Setup, arch: Architecture, config: SearchConfig) -> nn.Module:
    final, seed = config.final_train_config(), config.seed
    if method == "early-stop":
        return early_stopped(setup, arch, final, seed)[0]
    if method == "refit":
        epochs = early_stopped(setup, arch, final, seed)[1]
        final = dataclasses.replace(final, epochs=epochs)
    models = int(method.split("-")[1]) if method.startswith("ensemble") else 1
    return train_final(setup.space, arch, setup.data, final, seed, models)[0]


def compare(dataset: str, seed: int) -> dict[str, float]:
    config = SearchConfig(
        data=DataSpec(dataset=dataset),
        trials=30,
        final_epochs=60,
        seed=seed,
        train=TrainConfig(epochs=10),
    )
    setup = make_setup(config)
    with Ledger(":memory:") as ledger:
        run_search(setup.strategy, setup.evaluator, ledger, Budget(30), seed, setup.executor)
        arch = ledger.best().arch
    test = f"test_{setup.data.task.score}"
    scores = {"sklearn": baseline_scores(config, setup.data)["baseline"][test]}
    for method in METHODS:
        model = final_network(method, setup, arch, config).eval()
        scores[method] = score_on_test(model, setup.data, config.train)[test]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="100-109", help="FIRST-LAST")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = seed_range(args.seeds)
    results = {}
    print("dataset        " + "  ".join(f"{m:>10s}" for m in ("sklearn", *METHODS)))
    for dataset in args.datasets.split(","):
        runs = [compare(dataset, seed) for seed in seeds]
        results[dataset] = {key: [run[key] for run in runs] for key in runs[0]}
        means = [statistics.mean(results[dataset][k]) for k in ("sklearn", *METHODS)]
        print(f"{dataset:14s} " + "  ".join(f"{m:10.4f}" for m in means), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"seeds": [seeds[0], seeds[-1]], "methods": METHODS, "results": results}
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
