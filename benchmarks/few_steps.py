"""How many optimiser steps a child needs before its score means something: random MLP
children of the default search on small tables, trained for more and more epochs at the
default batch size, and the share of them left at chance (validation accuracy no better than
always answering the most common class). Prints a table and writes a JSON summary; never
asserts. It sets `archsearch.sanity.MIN_STEPS`.

    .venv/bin/python benchmarks/few_steps.py --out benchmarks/results/few_steps.json

Seeds 100.. are the tuning seeds (never the ones README results are reported on).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import torch

from archsearch.data import load_dataset
from archsearch.evaluation import Context, get_evaluator
from archsearch.evaluation.trainer import TrainConfig
from archsearch.sanity import child_steps
from archsearch.spaces import get_space

DATASETS = ("iris", "wine", "breast_cancer")
EPOCHS = (1, 2, 3, 5, 10, 20, 40, 80)


def at_chance(dataset: str, epochs: int, seeds: range, children: int) -> dict[str, Any]:
    """Share of `children` random architectures per seed whose validation accuracy is at most
    the majority class's share, and their mean accuracy."""
    scores, chance, steps = [], 0, 0
    for seed in seeds:
        data = load_dataset(dataset, seed=seed)
        majority = torch.bincount(data.y_val).max().item() / len(data.y_val)
        space = get_space("mlp")
        train = TrainConfig(epochs=epochs)
        steps = child_steps(len(data.x_train), train.batch_size, epochs)
        context = Context(space, data.task, data.without_test(), train, "val_score")
        evaluator = get_evaluator("train", context)
        rng = random.Random(seed)
        for child in range(children):
            result = evaluator.evaluate(space.sample(rng), seed * 1000 + child)
            accuracy = result.metrics["val_accuracy"]
            scores.append(accuracy)
            chance += accuracy <= majority + 1e-9
    return {
        "dataset": dataset,
        "epochs": epochs,
        "steps": steps,
        "children": len(scores),
        "at_chance": chance / len(scores),
        "mean_val_accuracy": sum(scores) / len(scores),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-start", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--children", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    started, rows = time.perf_counter(), []
    print(f"{'dataset':<14}{'epochs':>7}{'steps':>7}{'at chance':>11}{'mean val acc':>14}")
    for dataset in DATASETS:
        for epochs in EPOCHS:
            row = at_chance(dataset, epochs, seeds, args.children)
            rows.append(row)
            print(
                f"{dataset:<14}{epochs:>7}{row['steps']:>7}{row['at_chance']:>11.2f}"
                f"{row['mean_val_accuracy']:>14.4f}",
                flush=True,
            )
    result = {
        "what": "random mlp children (default space and training, batch 64) per epoch count",
        "seeds": list(seeds),
        "children_per_seed": args.children,
        "machine": "2-core CPU, torch 1 thread",
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
