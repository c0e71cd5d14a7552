"""The darts cell space's sizes and what one DARTS search step costs on a CPU: the published
DARTS cells' parameter counts and FLOPs in the paper's evaluation network, the supernet's
parameters and estimated step memory at the paper's search size and at the space's defaults,
and the seconds of one first-order DARTS step (an architecture step and a weight step) on one
CPU thread. Random images stand in for data: the timing does not depend on their content.
Prints the JSON and writes it; never asserts.

    .venv/bin/python benchmarks/darts_space.py --out benchmarks/results/darts_space.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from archsearch.data.dataset import Dataset, Normalization
from archsearch.evaluation.cost import count_flops
from archsearch.evaluation.trainer import TrainConfig
from archsearch.oneshot import ONESHOTS
from archsearch.oneshot.base import supernet_memory
from archsearch.spaces.darts import DartsSpace
from archsearch.tasks.base import OutputSpec
from archsearch.tasks.classification import Classification

#: The two cells the DARTS paper published (first and second order), in its genotype format.
GENOTYPES = {
    "DARTS_V1": {
        "normal": [("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0),
                   ("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1),
                   ("sep_conv_3x3", 0), ("skip_connect", 2)],
        "reduce": [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2),
                   ("max_pool_3x3", 0), ("max_pool_3x3", 0), ("skip_connect", 2),
                   ("skip_connect", 2), ("avg_pool_3x3", 0)],
    },
    "DARTS_V2": {
        "normal": [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0),
                   ("sep_conv_3x3", 1), ("sep_conv_3x3", 1), ("skip_connect", 0),
                   ("skip_connect", 0), ("dil_conv_3x3", 2)],
        "reduce": [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2),
                   ("max_pool_3x3", 1), ("max_pool_3x3", 0), ("skip_connect", 2),
                   ("skip_connect", 2), ("max_pool_3x3", 1)],
    },
}  # fmt: skip
CIFAR, CLASSES = (3, 32, 32), OutputSpec((10,))


def published_cells() -> dict[str, Any]:
    """Parameters and multiply-accumulates of each published cell in the paper's evaluation
    network (36 channels, 20 cells, CIFAR-10; no auxiliary head)."""
    space = DartsSpace(channels=36, cells=20)
    out = {}
    for name, genotype in GENOTYPES.items():
        arch = space.from_genotype(genotype)
        model = space.build(arch, CIFAR, CLASSES).eval()
        out[name] = {
            "params": space.count_params(arch, CIFAR, CLASSES),
            "flops": count_flops(model, CIFAR),
        }
    return out


def random_data(rows: int, size: int) -> Dataset:
    g = torch.Generator().manual_seed(0)

    def part() -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randint(0, 256, (rows, 3, size, size), generator=g, dtype=torch.uint8)
        return x, torch.randint(0, 10, (rows,), generator=g)

    (xt, yt), (xv, yv) = part(), part()
    norm = Normalization((127.0,) * 3, (70.0,) * 3)
    names = [str(c) for c in range(10)]
    return Dataset("random", Classification(10), xt, yt, xv, yv, None, None, names, norm=norm)


def search_step(channels: int, cells: int, size: int, batch: int, steps: int) -> dict[str, Any]:
    """The supernet's parameters, the estimated memory of a step at batch 64, and the median
    seconds of `steps` first-order DARTS steps at `batch` (after one warm-up step)."""
    data = random_data(batch, size)
    train = TrainConfig(epochs=1, batch_size=batch, device="cpu")
    space = DartsSpace(channels=channels, cells=cells)
    darts = ONESHOTS.get("darts")(space, data.task, data, train, 0, guard="none")
    params = sum(p.numel() for p in darts.supernet.parameters())
    memory = supernet_memory(darts.supernet, darts.weights().detach(), (3, size, size), 64)
    (xt, yt), (xv, yv) = next(darts.batches("train")), next(darts.batches("val"))
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        darts.arch_step(xt, yt, xv, yv)
        darts.weight_step(xt, yt)
        times.append(time.perf_counter() - start)
    return {
        "channels": channels,
        "cells": cells,
        "image_size": size,
        "batch": batch,
        "supernet_params": params,
        "step_memory_mib_at_batch_64": round(memory / 2**20, 1),
        "step_seconds_median": round(statistics.median(times[1:]), 3),
        "step_seconds": [round(t, 3) for t in times[1:]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/darts_space.json"))
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start, load_before = time.perf_counter(), os.getloadavg()
    result: dict[str, Any] = {
        "what": "darts space: published cells' size; supernet size and DARTS step cost on CPU",
        "machine": f"{platform.machine()} CPU shared with other jobs, torch 1 thread",
        "torch": torch.__version__,
        "published_cells_eval_network": published_cells(),
        "search_steps": [
            search_step(2, 3, 8, 16, args.steps),  # the tests' size
            search_step(8, 5, 32, 16, args.steps),  # the space's defaults, CIFAR-sized images
            search_step(16, 8, 32, 16, args.steps),  # the paper's search network
        ],
    }
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["loadavg_before_after"] = [list(load_before), list(os.getloadavg())]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
