"""The ENAS macro space (Pham et al. 2018, "Efficient Neural Architecture Search via Parameter
Sharing", section 2.3).

A network is a stem (3x3 convolution, BatchNorm), `layers` searched layers and a classifier
(ReLU, global average pooling, one linear layer on the last layer's output). Layer k decides

- `op_k`: its operation, one of conv 3x3, conv 5x5, separable conv 3x3, separable conv 5x5,
  max-pool 3x3, avg-pool 3x3, applied to the output of layer k-1 (the stem for layer 1);
- `skips_k`: any subset of the layers 1..k-1 (its anchor point, an `Inputs` decision). As in
  the paper's released code, their outputs are *summed* with the operation's output, and the
  sum goes through BatchNorm: choosing layer k-1 makes layer k residual.

Every layer keeps `channels` channels and the resolution of the layer before it; after layers
`layers // 3` and `2 * (layers // 3)` (the paper's fixed pooling points) every earlier output
that a later layer still reads is halved in resolution by a factorized reduction (two
stride-2 1x1 convolutions on offset pixel grids, concatenated, BatchNorm). Convolutions are
ReLU-conv-BatchNorm; a separable one is a depthwise kxk then a pointwise 1x1 convolution.

`supernet` holds one set of weights per (layer, operation) and a reduction per (pooling point,
earlier layer); `net(x, arch)` runs one architecture. A stand-alone network (`build`) is the
same module with only its architecture's parts, so its `state_dict` keys are a subset of the
supernet's: `child_state(arch)` gives the weights that make it compute the same function.
The paper searched with 36 channels (`channels=36`); the default 16 is sized for a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.errors import UsageError
from archsearch.options import check_number
from archsearch.spaces.base import (
    MAX_LAYERS,
    MAX_WIDTH,
    ArchGraph,
    Architecture,
    Categorical,
    Decision,
    GraphEdge,
    GraphNode,
    Inputs,
    Space,
    chain_nodes,
    check_image_classifier,
    listed,
)
from archsearch.tasks.base import OutputSpec

__all__ = ["ENASSpace", "MacroNet", "OPS", "reduction_points"]

OPS = ("conv3x3", "conv5x5", "sepconv3x3", "sepconv5x5", "maxpool3x3", "avgpool3x3")
LayerSpec = tuple[str, tuple[int, ...]]  # (operation, skip inputs)


def reduction_points(layers: int) -> tuple[int, ...]:
    """The layers (1-based) after which the resolution halves: `layers // 3` and twice that,
    as in the paper's code; none for fewer than 3 layers."""
    distance = layers // 3
    return (distance, 2 * distance) if distance else ()


class ENASSpace(Space):
    """ENAS's macro space: per layer an operation and a set of skip connections."""

    name = "enas"
    needs_images = True

    def __init__(self, layers: int = 12, channels: int = 16, ops: Sequence[str] = OPS) -> None:
        ops = listed(ops)
        unknown = sorted(set(map(str, ops)) - set(OPS))
        if unknown or not ops:
            raise ValueError(f"unknown or no operation(s) {unknown}; choose from {list(OPS)}")
        check_number("layers", layers, 1, MAX_LAYERS, whole=True)
        check_number("channels", channels, 2, MAX_WIDTH, whole=True)
        self.layers, self.channels, self.ops = int(layers), int(channels), tuple(ops)
        decisions: list[Decision] = []
        for i in range(1, self.layers + 1):
            decisions.append(Categorical(f"op_{i}", self.ops))
            decisions.append(Inputs(f"skips_{i}", tuple(range(1, i))))
        self.decisions = tuple(decisions)

    def options(self) -> dict[str, Any]:
        return {"layers": self.layers, "channels": self.channels, "ops": list(self.ops)}

    def layer(self, index: int) -> int:
        return index // 2 + 1

    def specs(self, arch: Architecture) -> list[LayerSpec]:
        """(operation, skip inputs) of each layer of `arch`."""
        return [(arch[f"op_{i}"], arch[f"skips_{i}"]) for i in range(1, self.layers + 1)]

    # -- networks ------------------------------------------------------------------------------
    def build(
        self, arch: Architecture, input_shape: Sequence[int], output: OutputSpec
    ) -> nn.Module:
        specs = self.specs(arch)
        return MacroNet(self._shape(input_shape, output), [(op,) for op, _ in specs], specs)

    def supernet(self, input_shape: Sequence[int], output: OutputSpec) -> nn.Module:
        """Every (layer, operation) and every reduction once; `net(x, arch)` runs `arch`."""
        shape = self._shape(input_shape, output)
        return MacroNet(shape, [self.ops] * self.layers, None, self)

    def child_state(self, supernet: nn.Module, arch: Architecture) -> dict[str, torch.Tensor]:
        """The supernet's weights that `build(arch, ...)` holds: load them into the
        stand-alone network and it computes what `supernet(x, arch)` computes."""
        keys = self.build(arch, supernet.input_shape, OutputSpec((supernet.outputs,)))
        state = supernet.state_dict()
        return {key: state[key] for key in keys.state_dict()}

    def _shape(self, input_shape: Sequence[int], output: OutputSpec) -> tuple[Any, ...]:
        check_image_classifier("enas", input_shape, output)
        return tuple(input_shape), output.size, self.channels

    # -- drawings ------------------------------------------------------------------------------
    def graph(self, arch: Architecture) -> ArchGraph:
        """Stem, layers L1..Ln with their operation (and the reductions after them), the
        classifier; an edge from each layer to the next and one per skip connection."""
        specs = self.specs(arch)
        points = reduction_points(self.layers)
        labels = [
            f"L{i}: {op}" + (", then halve resolution" if i in points else "")
            for i, (op, _) in enumerate(specs, 1)
        ]
        nodes = chain_nodes(labels, "L", "classifier: global average pool, linear")
        nodes = (GraphNode("input", "image, stem conv 3x3", "input"), *nodes[1:])
        edges = [
            GraphEdge(f"L{i - 1}" if i > 1 else "input", f"L{i}") for i in range(1, 1 + len(specs))
        ]
        edges += [
            GraphEdge(f"L{j}", f"L{i}", "skip") for i, (_, s) in enumerate(specs, 1) for j in s
        ]
        edges.append(GraphEdge(f"L{len(specs)}", "output"))
        note = "A layer sums its operation's output and its skip inputs, then BatchNorm."
        return ArchGraph(
            f"enas: {len(specs)} layers, {self.channels} channels", nodes, tuple(edges), note
        )


def make_op(op: str, channels: int) -> nn.Module:
    """One of `OPS` mapping `channels` to `channels` at the same resolution."""
    if op.endswith("pool3x3"):
        if op == "maxpool3x3":
            return nn.MaxPool2d(3, stride=1, padding=1)
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    k = int(op[-1])
    if op.startswith("sepconv"):
        convs: list[nn.Module] = [
            nn.Conv2d(channels, channels, k, padding=k // 2, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
        ]
    else:
        convs = [nn.Conv2d(channels, channels, k, padding=k // 2, bias=False)]
    return nn.Sequential(nn.ReLU(), *convs, nn.BatchNorm2d(channels))


class FactorizedReduction(nn.Module):
    """Halve the resolution (ceil) with two stride-2 1x1 convolutions, the second on the grid
    shifted by one pixel, concatenated along channels, then BatchNorm."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = channels // 2
        self.a = nn.Conv2d(channels, half, 1, stride=2, bias=False)
        self.b = nn.Conv2d(channels, channels - half, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.a(x), self.b(shifted)], dim=1))


class MacroLayer(nn.Module):
    """One layer: its operation(s) on the previous output, plus skip inputs, then BatchNorm."""

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        self.ops = nn.ModuleDict({op: make_op(op, channels) for op in ops})
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, prev: torch.Tensor, skips: list[torch.Tensor], op: str) -> torch.Tensor:
        out = self.ops[op](prev)
        for skip in skips:
            out = out + skip
        return self.bn(out)


class MacroNet(nn.Module):
    """A network of the `enas` space. With `fixed` (one LayerSpec per layer) it is the
    stand-alone network of that architecture and `forward(x)` runs it; without, it is the
    supernet (`ops` lists every operation per layer) and `forward(x, arch)` runs `arch`."""

    def __init__(
        self,
        shape: tuple[Any, ...],
        ops: Sequence[Sequence[str]],
        fixed: list[LayerSpec] | None,
        space: ENASSpace | None = None,
    ) -> None:
        super().__init__()
        (self.input_shape, self.outputs, channels) = shape
        self.fixed, self.space = fixed, space
        self.points = reduction_points(len(ops))
        self.stem = nn.Sequential(
            nn.Conv2d(self.input_shape[0], channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.layers = nn.ModuleList(MacroLayer(o, channels) for o in ops)
        kept = _kept(fixed, self.points) if fixed is not None else _every(len(ops), self.points)
        self.reductions = nn.ModuleDict(
            {f"{r}_{j}": FactorizedReduction(channels) for r, j in kept}
        )
        self.classifier = nn.Linear(channels, self.outputs)

    def forward(self, x: torch.Tensor, arch: Architecture | None = None) -> torch.Tensor:
        specs = self._specs(arch)
        kept = set(_kept(specs, self.points))
        prev, outputs = self.stem(x), {}
        for i, (layer, (op, skips)) in enumerate(zip(self.layers, specs), 1):
            prev = outputs[i] = layer(prev, [outputs[j] for j in skips], op)
            if i in self.points:
                outputs = {
                    j: self.reductions[f"{i}_{j}"](h) for j, h in outputs.items() if (i, j) in kept
                }
                prev = outputs[i]
        return self.classifier(F.relu(prev).mean(dim=(2, 3)))

    def _specs(self, arch: Architecture | None) -> list[LayerSpec]:
        if self.fixed is not None:
            return self.fixed
        if not isinstance(arch, Architecture) or self.space is None:
            raise UsageError(
                "the enas supernet runs one architecture at a time (net(x, arch)); it cannot "
                "mix operations with weights (DARTS): use the nb201 or darts space for DARTS"
            )
        return self.space.specs(arch)


def _kept(specs: Sequence[LayerSpec], points: Sequence[int]) -> list[tuple[int, int]]:
    """(point r, layer j) of each output that is still read after reduction point r: layer
    r itself (the next layer's input) and every j <= r that a layer after r skips from."""
    kept = []
    for r in points:
        later = {j for _, skips in specs[r:] for j in skips}
        kept += [(r, j) for j in range(1, r + 1) if j == r or j in later]
    return kept


def _every(layers: int, points: Sequence[int]) -> list[tuple[int, int]]:
    """(point, layer) for every layer up to each reduction point: the supernet's reductions."""
    return [(r, j) for r in points for j in range(1, r + 1)]
