"""What a child network costs: parameters, FLOPs and latency, counted one way everywhere.

**FLOPs** are counted per sample (batch 1) by forward hooks on the layer types the spaces use,
as multiply-accumulates for the weighted layers, the convention of NAS-Bench-201 and MnasNet:

- `Conv1d/2d/3d`: output elements x (input channels / groups) x kernel size;
- `Linear`: output elements x input features;
- `BatchNorm1d/2d/3d`: 2 per output element (scale and shift, folded at inference);
- `MaxPool`/`AvgPool` 1d/2d/3d: kernel size per output element (padding counted as read);
- `AdaptiveAvgPool`/`AdaptiveMaxPool`: one per input element.

Biases, activations, dropout, element-wise sums of branches and concatenations are not counted:
they are a small share of every network of the spaces, and counting them would only add noise
to a comparison between architectures.

**Latency** is the median wall time of one forward pass of a single sample on the search
device, after warm-up passes (so that lazy initialisation and caches are not measured), in
milliseconds; on CUDA the device is synchronised around each pass. It measures the machine as
much as the network: compare latencies only within one run.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from archsearch.evaluation.base import Context
from archsearch.evaluation.result import FAILED, Result
from archsearch.evaluation.rewards import objective_reward
from archsearch.spaces.base import Architecture, Space
from archsearch.tasks.base import OutputSpec

__all__ = [
    "REPEATS",
    "add_costs",
    "WARMUP",
    "count_flops",
    "count_params",
    "measure_costs",
    "measure_latency",
    "model_costs",
]

#: Forward passes before latency is timed, and timed passes (their median is the latency).
WARMUP, REPEATS = 3, 10

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
ADAPTIVE = (
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)


def layer_flops(module: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """FLOPs of one call of a layer on a batch of one sample (0 for uncounted layer types)."""
    if isinstance(module, CONVS):
        kernel = math.prod(module.kernel_size)
        return output.numel() * (module.in_channels // module.groups) * kernel
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, NORMS):
        return 2 * output.numel()
    if isinstance(module, POOLS):
        size = module.kernel_size
        dims = output.dim() - 2 if isinstance(size, int) else 0
        kernel = size**dims if isinstance(size, int) else math.prod(size)
        return output.numel() * kernel
    if isinstance(module, ADAPTIVE):
        return inputs.numel()
    return 0


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs of one forward pass of `model` on one sample of `input_shape` (see the module
    docstring for what is counted). The model runs once in eval mode, on its own device, on
    zeros; its training mode is restored."""
    total = 0

    def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        nonlocal total
        if args and isinstance(args[0], torch.Tensor) and isinstance(output, torch.Tensor):
            total += layer_flops(module, args[0], output)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        _run_once(model, input_shape)
    finally:
        for handle in handles:
            handle.remove()
    return total


def count_params(model: nn.Module) -> int:
    """Trainable parameters of `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _device_of(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _run_once(model: nn.Module, input_shape: Sequence[int]) -> None:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=_device_of(model)))
    finally:
        model.train(was_training)


def measure_latency(
    model: nn.Module, input_shape: Sequence[int], warmup: int = WARMUP, repeats: int = REPEATS
) -> float:
    """Median milliseconds of one forward pass of one sample, on the model's device, after
    `warmup` untimed passes."""
    synchronise = torch.cuda.synchronize if _device_of(model).type == "cuda" else lambda: None
    for _ in range(warmup):
        _run_once(model, input_shape)
    times = []
    for _ in range(repeats):
        synchronise()
        start = time.perf_counter()
        _run_once(model, input_shape)
        synchronise()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def model_costs(model: nn.Module, input_shape: Sequence[int], latency: bool = True) -> dict:
    """`params`, `flops` and (if `latency`) `latency_ms` of a built network, the latency on
    the device it is on."""
    costs: dict[str, float] = {
        "params": count_params(model),
        "flops": count_flops(model, input_shape),
    }
    if latency:
        costs["latency_ms"] = measure_latency(model, input_shape)
    return costs


def measure_costs(
    space: Space,
    arch: Architecture,
    input_shape: Sequence[int],
    output: OutputSpec,
    device: torch.device | str = "cpu",
    latency: bool = True,
) -> dict[str, float]:
    """`model_costs` of `arch` built by `space` for `input_shape` and `output`, on `device`
    (the search's). Builds the network once, leaving the torch seed as it was."""
    with torch.random.fork_rng(devices=[]):
        model = space.build(arch, input_shape, output).to(device)
    return model_costs(model, input_shape, latency)


def add_costs(
    result: Result,
    context: Context,
    arch: Architecture,
    input_shape: Sequence[int],
    output: OutputSpec,
    device: torch.device | str = "cpu",
) -> Result:
    """`result` (of a working or pruned child) with, in a multi-objective run, its
    `accuracy`, `params`, `flops` and `latency_ms` (on `device`) recorded and its reward scaled
    by the run's cost targets (`arch` built for `input_shape` and `output`); unchanged
    otherwise, and for a failed child."""
    if not context.multiobjective or result.status == FAILED:
        return result
    result.metrics.update(measure_costs(context.space, arch, input_shape, output, device))
    result.reward = objective_reward(result.reward, result.metrics, context.task, context.costs)
    return result
