"""The DARTS cell network (Liu, Simonyan & Yang, 2019): its operations, cells and skeleton.

A cell takes the outputs of the two cells before it; states 0 and 1 are those two inputs after
preprocessing (ReLU-conv 1x1-BN to the cell's width; a `FactorizedReduce` for state 0 when the
cell before was a reduction cell, so that both inputs share one resolution). Intermediate node
s (states 2 .. nodes + 1) sums two operations applied to two distinct earlier states; the cell's
output concatenates every intermediate node. In a reduction cell, the operations applied to
states 0 and 1 have stride 2 and the width doubles. The network is a 3x3 convolution stem to
3 x channels with BatchNorm, `cells` cells (reduction cells at 1/3 and 2/3 of the depth), and a
global-average-pool-linear head.

A *plan* is one cell design as data: per intermediate node, ((a, op_a), (b, op_b)) with a < b.
The operations are DARTS's seven weighted and parameter-free ones; its eighth, `none`, is no
member of a derived cell (DARTS keeps the two strongest non-`none` edges of each node), so that
it is no choice here: choosing the node's two inputs is the decision that `none` stood for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from archsearch.spaces.cell import ReLUConvBN

__all__ = [
    "CELL_TYPES",
    "OPS",
    "PARTS",
    "STEM_MULTIPLIER",
    "Cell",
    "CellBase",
    "CellShape",
    "DartsNetwork",
    "FactorizedReduce",
    "Plan",
    "decision_name",
    "cell_layout",
    "edge_key",
    "input_pairs",
    "make_head",
    "make_op",
    "make_stem",
    "plan_of",
    "reductions",
]

OPS = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
CELL_TYPES = ("normal", "reduce")
#: The parts of one node's decisions, in decision order: its two inputs, then their operations.
PARTS = ("inputs", "op1", "op2")
#: Per intermediate node: ((a, op applied to state a), (b, op applied to state b)), a < b.
Plan = tuple[tuple[tuple[int, str], tuple[int, str]], ...]
STEM_MULTIPLIER = 3  # the stem's width: 3 x channels, as in DARTS


def decision_name(cell_type: str, state: int, part: str) -> str:
    """`normal_n2_inputs`, `reduce_n5_op2`: decisions are named by cell type, the node's state
    number (2 .. nodes + 1; 0 and 1 are the cell's inputs) and the part."""
    return f"{cell_type}_n{state}_{part}"


def input_pairs(state: int) -> tuple[str, ...]:
    """The choices of node `state`'s inputs: every pair "a,b" of earlier states, a < b."""
    return tuple(f"{a},{b}" for a, b in combinations(range(state), 2))


def reductions(cells: int) -> frozenset[int]:
    """The indices of the reduction cells: at 1/3 and 2/3 of the depth (DARTS's rule)."""
    return frozenset({cells // 3, 2 * cells // 3})


def plan_of(values: Mapping[str, str], cell_type: str, nodes: int) -> Plan:
    """The plan of one cell type from an architecture's values (any mapping of names)."""
    plan = []
    for state in range(2, nodes + 2):
        inputs = values[decision_name(cell_type, state, "inputs")]
        first, second = (int(s) for s in inputs.split(","))
        op1 = values[decision_name(cell_type, state, "op1")]
        op2 = values[decision_name(cell_type, state, "op2")]
        plan.append(((first, op1), (second, op2)))
    return tuple(plan)


# -- operations ----------------------------------------------------------------------------------
class FactorizedReduce(nn.Module):
    """Halves the resolution without losing a pixel column: ReLU, then two 1x1 convolutions of
    stride 2, one on the input and one on it shifted by one pixel, concatenated, then BN. An
    odd-sized input is padded after the shift, so that both halves have ceil(size / 2) rows
    (for even sizes this is DARTS's operation exactly)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def dil_conv(c: int, kernel: int, stride: int, dilation: int) -> nn.Sequential:
    """ReLU, a depthwise (dilated) convolution, a pointwise one, BN: DARTS's `dil_conv`."""
    padding = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c),
    )


def sep_conv(c: int, kernel: int, stride: int) -> nn.Sequential:
    """DARTS's `sep_conv`: a separable convolution twice (the first with the stride)."""
    return nn.Sequential(*dil_conv(c, kernel, stride, 1), *dil_conv(c, kernel, 1, 1))


def make_op(name: str, channels: int, stride: int) -> nn.Module:
    """One operation at constant width; stride 2 on a reduction cell's inputs."""
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels)
    kind, _, size = name.rpartition("_")
    kernel = {"3x3": 3, "5x5": 5}.get(size)
    if kind == "sep_conv" and kernel:
        return sep_conv(channels, kernel, stride)
    if kind == "dil_conv" and kernel:
        return dil_conv(channels, kernel, stride, 2)
    raise ValueError(f"unknown operation {name!r}; choose from {list(OPS)}")


# -- cells and the network -----------------------------------------------------------------------
class CellBase(nn.Module):
    """What every cell has: the preprocessing of its two inputs to `channels`."""

    def __init__(
        self, c_pp: int, c_p: int, channels: int, reduction: bool, reduction_prev: bool
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre0 = (
            FactorizedReduce(c_pp, channels) if reduction_prev else ReLUConvBN(c_pp, channels, 1)
        )
        self.pre1 = ReLUConvBN(c_p, channels, 1)

    def stride(self, state: int) -> int:
        """The stride of operations applied to `state`: 2 on a reduction cell's inputs."""
        return 2 if self.reduction and state < 2 else 1


def edge_key(node: int, state: int) -> str:
    """The module key of the edge from `state` into intermediate node `node`."""
    return f"n{node}_s{state}"


class Cell(CellBase):
    """One cell design: each node's two chosen operations on its two chosen inputs."""

    def __init__(self, plan: Plan, c_pp: int, c_p: int, channels: int, reduction: bool,
                 reduction_prev: bool) -> None:  # fmt: skip
        super().__init__(c_pp, c_p, channels, reduction, reduction_prev)
        self.plan = plan
        self.edges = nn.ModuleDict()
        for node, pair in enumerate(plan, start=2):
            for state, op in pair:
                self.edges[edge_key(node, state)] = make_op(op, channels, self.stride(state))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for node, ((a, _), (b, _)) in enumerate(self.plan, start=2):
            key_a, key_b = edge_key(node, a), edge_key(node, b)
            states.append(self.edges[key_a](states[a]) + self.edges[key_b](states[b]))
        return torch.cat(states[2:], dim=1)


class CellShape(NamedTuple):
    """One cell of the skeleton: its inputs' widths, its own width, whether it reduces and
    whether the cell before it did (the arguments of `Cell` and `MixedCell` after their
    design)."""

    c_pp: int
    c_p: int
    channels: int
    reduction: bool
    reduction_prev: bool


def cell_layout(channels: int, cells: int, nodes: int) -> tuple[list[CellShape], int]:
    """The shape of every cell of the skeleton, and the width of the last cell's output:
    reduction cells double the width; each cell outputs `nodes` x its width."""
    stem = STEM_MULTIPLIER * channels
    c_pp, c_p, width, reduction_prev = stem, stem, channels, False
    shapes = []
    for index in range(cells):
        reduction = index in reductions(cells)
        width *= 2 if reduction else 1
        shapes.append(CellShape(c_pp, c_p, width, reduction, reduction_prev))
        c_pp, c_p, reduction_prev = c_p, nodes * width, reduction
    return shapes, c_p


def make_stem(in_channels: int, channels: int) -> nn.Sequential:
    """DARTS's stem: a 3x3 convolution to 3 x channels, BatchNorm."""
    stem = STEM_MULTIPLIER * channels
    return nn.Sequential(
        nn.Conv2d(in_channels, stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem)
    )


def make_head(width: int, outputs: int) -> nn.Sequential:
    """Global average pool, linear."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, outputs))


class DartsNetwork(nn.Module):
    """One design in the DARTS skeleton: `plans` = (normal plan, reduction plan)."""

    def __init__(
        self, plans: Sequence[Plan], in_channels: int, outputs: int, channels: int, cells: int
    ) -> None:
        super().__init__()
        normal, reduce = plans
        shapes, width = cell_layout(channels, cells, len(normal))
        self.stem = make_stem(in_channels, channels)
        self.cells = nn.ModuleList(
            Cell(reduce if shape.reduction else normal, *shape) for shape in shapes
        )
        self.head = make_head(width, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.head(s1)
