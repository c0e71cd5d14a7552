"""Cost estimates before anything is trained: FLOPs per sample from a meta-device forward
pass (no memory, any size), and the time a search will take from one sampled child timed on
the real device.

A newcomer's first search must not silently run for hours: `estimate_search` gives the line
the command prints before the search starts.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from archsearch.data.dataset import Dataset
from archsearch.evaluation.trainer import TrainConfig, resolve_device
from archsearch.spaces.base import Architecture, Space
from archsearch.tasks.base import OutputSpec, Task

SAMPLES = 9  # architectures sampled to find a typical child
WARMUP_STEPS, TIMED_STEPS = 2, 3  # training steps run untimed (first-use costs), then timed
TIMED_BATCH = 32  # at most this many samples per timed step: cheap even for large children


def flops_per_sample(
    space: Space, arch: Architecture, input_shape: Sequence[int], output: OutputSpec
) -> int:
    """Floating-point operations of one sample's forward pass (multiply-adds count two)."""
    with torch.device("meta"):
        model = space.build(arch, input_shape, output).eval()
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, *input_shape))
    return int(counter.get_total_flops())


@dataclass
class Estimate:
    """What a search will cost: a child's mean forward FLOPs per sample, seconds per
    training sample on this machine, and the seconds of the search and of the final
    training."""

    flops: int
    seconds_per_sample: float
    search_seconds: float
    final_seconds: float

    def describe(self, trials: int | None) -> str:
        children = f"{trials} children" if trials else "each child"
        return (
            f"estimated time: search {_duration(self.search_seconds)} ({children} of about "
            f"{self.flops / 1e6:,.1f} MFLOPs per sample on average), final training "
            f"{_duration(self.final_seconds)}, measured on this machine"
        )


def estimate_search(
    space: Space,
    data: Dataset,
    child: TrainConfig,
    trials: int | None,
    final: TrainConfig,
    seed: int = 0,
    final_models: int = 1,
) -> Estimate:
    """The cost of a search of `trials` children trained with `child`, then a final training
    of `final_models` networks with `final`: a child of median FLOPs among a few samples is
    timed for a few steps, and scaled to the samples' mean FLOPs (a few costly children weigh
    more than the median says)."""
    rng = random.Random(seed)
    output = data.task.output_spec()
    archs = [space.sample(rng) for _ in range(SAMPLES)]
    costs = [flops_per_sample(space, a, data.input_shape, output) for a in archs]
    median = statistics.median_low(costs)
    arch = archs[costs.index(median)]
    per_sample = _time_training(space, arch, data, child) * statistics.mean(costs) / max(median, 1)
    rows = len(data.x_train)
    child_rows = min(rows, child.train_subset or rows)
    val_rows = len(data.x_val)
    child_seconds = per_sample * child.epochs * (child_rows + val_rows / 3)
    final_seconds = per_sample * final.epochs * (rows + val_rows) * final_models
    flops = int(statistics.mean(costs))
    return Estimate(flops, per_sample, child_seconds * (trials or 1), final_seconds)


def _time_training(space: Space, arch: Architecture, data: Dataset, config: TrainConfig) -> float:
    """Seconds per sample of a training step of `arch` on the configured device."""
    device = resolve_device(config.device)
    task: Task = data.task
    torch.manual_seed(0)
    model = space.build(arch, data.input_shape, task.output_spec()).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    batch = min(config.batch_size, TIMED_BATCH, len(data.x_train))
    x = data.prepare(data.x_train[:batch]).to(device)
    y = x if task.targets_are_inputs else data.y_train[:batch].to(device)
    seconds = []
    for _ in range(WARMUP_STEPS + TIMED_STEPS):
        start = time.perf_counter()
        optimizer.zero_grad()
        task.loss(model(x), y).backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds[WARMUP_STEPS:]) / batch


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"~{max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"~{seconds / 60:.0f} min"
    return f"~{seconds / 3600:.1f} h"
