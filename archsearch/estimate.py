"""Cost estimates before anything is trained: FLOPs per sample from a meta-device forward
pass (no memory, any size), and the time a search will take from one sampled child timed on
the real device.

A newcomer's first search must not silently run for hours: `estimate_search` gives the line
the command prints before the search starts.
"""

from __future__ import annotations

import math
import os
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from archsearch.data.dataset import Dataset
from archsearch.evaluation.trainer import TrainConfig, seconds_per_sample
from archsearch.spaces.base import Architecture, Space, Value
from archsearch.tasks.base import OutputSpec

#: Architectures sampled for a child's mean FLOPs: costs are skewed (a few deep, wide
#: children cost many times the median), so the mean needs many; each is a meta-device build.
SAMPLES = 50
GIB = 2**30
#: Of the machine's memory (or the GPU's), the share a child's training may take by default.
MEMORY_SHARE = 0.75
#: Bytes kept per parameter while training: weights, gradients and two optimiser moments.
BYTES_PER_PARAM = 16
TIMED_STEPS = 3  # training steps timed, after as many untimed (first-use costs)
TIP_SECONDS = 600  # a run estimated to take longer gets the smaller-images tip, if it applies
TIP_SIDE = 32  # the shorter image side the tip suggests: CIFAR's


def flops_per_sample(
    space: Space, arch: Architecture, input_shape: Sequence[int], output: OutputSpec
) -> int:
    """Floating-point operations of one sample's forward pass (multiply-adds count two)."""
    with torch.device("meta"):
        model = space.build(arch, input_shape, output).eval()
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, *input_shape))
    return int(counter.get_total_flops())


def training_memory(
    space: Space, arch: Architecture, input_shape: Sequence[int], output: OutputSpec, batch: int
) -> int:
    """Bytes a training step of `arch` needs, estimated without allocating anything: the
    parameters with their gradients and optimiser state, and twice the float32 outputs of
    every layer for a batch (what autograd keeps for the backward pass, and the gradients
    flowing back through it)."""
    sizes: list[int] = []

    def keep(module: torch.nn.Module, inputs: object, out: object) -> None:
        if isinstance(out, torch.Tensor):
            sizes.append(out.numel())

    with torch.device("meta"):
        model = space.build(arch, input_shape, output).eval()
        hooks = [m.register_forward_hook(keep) for m in model.modules() if not list(m.children())]
        model(torch.empty(1, *input_shape))
        for hook in hooks:
            hook.remove()
    params = sum(p.numel() for p in model.parameters())
    inputs = math.prod(input_shape)
    return BYTES_PER_PARAM * params + 4 * batch * (inputs + 2 * sum(sizes))


def memory_limit(max_memory: float | None, device: torch.device) -> int:
    """The bytes a child's training may take: `max_memory` GiB if given, else
    `MEMORY_SHARE` of the GPU's memory, or of this machine's (cgroup-limited) memory."""
    if max_memory is not None:
        return int(max_memory * GIB)
    if device.type == "cuda":
        return int(MEMORY_SHARE * torch.cuda.get_device_properties(device).total_memory)
    return int(MEMORY_SHARE * machine_memory())


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its container's limit."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


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
    fixed: Callable[[int], Mapping[str, Value]] = lambda child: {},
    first: int = 0,
) -> Estimate:
    """The cost of a search of `trials` children trained with `child`, then a final training
    of `final_models` networks with `final`: a child of median FLOPs among a few samples is
    timed for a few steps, and scaled to the samples' mean FLOPs (a few costly children weigh
    more than the median says). The samples are spread over children `first` to `first +
    trials`, each with the decisions the strategy fixes for it (`fixed`, e.g. a depth
    schedule), the rest uniform."""
    rng = random.Random(seed)
    output = data.task.output_spec()
    spread = [first + i * (trials or 1) // SAMPLES for i in range(SAMPLES)]
    archs = [space.complete(fixed(child), rng) for child in spread]
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


def smaller_images_tip(input_shape: Sequence[int], estimate: Estimate) -> str | None:
    """For images larger than `TIP_SIDE` pixels on their shorter side, when the run is
    estimated to take more than `TIP_SECONDS`: the `--image-size` that brings the shorter side
    to `TIP_SIDE` (keeping the aspect ratio), and how many times fewer pixels that is, about
    what a convolutional child's cost falls by. None otherwise."""
    if len(input_shape) != 3 or estimate.search_seconds + estimate.final_seconds < TIP_SECONDS:
        return None
    height, width = input_shape[1:]
    if min(height, width) <= TIP_SIDE:
        return None
    scale = TIP_SIDE / min(height, width)
    size = (max(round(width * scale), 1), max(round(height * scale), 1))
    fewer = width * height / (size[0] * size[1])
    return (
        f"the images are {width}x{height} pixels; --image-size {size[0]}x{size[1]} has "
        f"{fewer:.0f} times fewer, and a convolutional child costs about that many times less"
    )


def _time_training(space: Space, arch: Architecture, data: Dataset, config: TrainConfig) -> float:
    """Seconds per sample of `arch`'s training steps as a child trains, at the child's batch
    size and precision: a smaller batch times kernel launches on a GPU, and on a CPU it can
    run faster per sample than the child's batch will (README, "On a GPU", the preset end to
    end)."""
    torch.manual_seed(0)
    model = space.build(arch, data.input_shape, data.task.output_spec())
    return seconds_per_sample(
        model, data.task, config, data.norm, data.x_train, data.y_train, TIMED_STEPS
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"~{max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"~{seconds / 60:.0f} min"
    return f"~{seconds / 3600:.1f} h"
