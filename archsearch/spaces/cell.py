"""The NAS-Bench-201 cell space (Dong & Yang, 2020).

A cell is a 4-node DAG: node 0 is the cell's input, node i (1..3) sums one operation applied to
each earlier node, and node 3 is the output. The six edges are the decisions, named
`edge_<to>_<from>` and ordered as in the NAS-Bench-201 string
`|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`: edge_1_0, edge_2_0, edge_2_1, edge_3_0, edge_3_1,
edge_3_2. Each takes one of five operations, so the space holds 5^6 = 15,625 cells — exactly the
architectures of the NAS-Bench-201 / NATS-Bench topology tables, which is what lets a tabular
evaluator answer a search instantly.

`build` makes the benchmark's network: a 3x3 convolution stem with BatchNorm, three stages of
`cells_per_stage` cells at `channels`, 2x and 4x channels, a residual block halving the
resolution between stages, and a BN-ReLU-global-average-pool-linear head.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from archsearch.options import check_number
from archsearch.spaces.base import (
    MAX_LAYERS,
    MAX_WIDTH,
    ArchGraph,
    Architecture,
    Categorical,
    GraphEdge,
    GraphNode,
    Space,
    check_image_classifier,
    consecutive,
    listed,
)
from archsearch.tasks.base import OutputSpec

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), in string order
NODES = 3


def edge_name(to: int, source: int) -> str:
    return f"edge_{to}_{source}"


class NB201Space(Space):
    """NAS-Bench-201's six-edge, five-operation cell inside its fixed skeleton."""

    name = "nb201"
    needs_images = True

    def __init__(
        self, ops: Sequence[str] = OPS, channels: int = 16, cells_per_stage: int = 5
    ) -> None:
        ops = listed(ops)
        unknown = sorted(set(map(str, ops)) - set(OPS))
        if unknown or not ops:
            raise ValueError(f"unknown or no operation(s) {unknown}; choose from {list(OPS)}")
        check_number("channels", channels, 1, MAX_WIDTH, whole=True)
        check_number("cells_per_stage", cells_per_stage, 0, MAX_LAYERS, whole=True)
        self.ops = tuple(ops)
        self.channels, self.cells_per_stage = channels, cells_per_stage
        self.decisions = tuple(Categorical(edge_name(*edge), self.ops) for edge in EDGES)

    def options(self) -> dict[str, Any]:
        return {
            "ops": list(self.ops),
            "channels": self.channels,
            "cells_per_stage": self.cells_per_stage,
        }

    # -- the NAS-Bench-201 string ----------------------------------------------------------------
    def to_string(self, arch: Architecture) -> str:
        """`arch` as `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, the benchmark's key."""
        nodes = [
            "|" + "|".join(f"{arch[edge_name(to, j)]}~{j}" for j in range(to)) + "|"
            for to in range(1, NODES + 1)
        ]
        return "+".join(nodes)

    def from_string(self, text: str) -> Architecture:
        """Inverse of `to_string`; `ValueError` names what is malformed."""
        nodes = text.strip().split("+")
        if len(nodes) != NODES:
            raise ValueError(f"{text!r} is not a NAS-Bench-201 string: expected {NODES} nodes")
        values: dict[str, str] = {}
        for to, node in enumerate(nodes, start=1):
            edges = node.strip("|").split("|")
            if len(edges) != to:
                raise ValueError(f"{text!r}: node {to} needs {to} edges, got {len(edges)}")
            for j, edge in enumerate(edges):
                op, _, source = edge.partition("~")
                if source != str(j):
                    raise ValueError(f"{text!r}: edge {edge!r} of node {to} must come from {j}")
                values[edge_name(to, j)] = op
        return self.make(values)

    # -- networks ------------------------------------------------------------------------------
    def build(
        self, arch: Architecture, input_shape: Sequence[int], output: OutputSpec
    ) -> nn.Module:
        check_image_classifier("nb201", input_shape, output)
        return NB201Network(
            self.cell_ops(arch), input_shape[0], output.size, self.channels, self.cells_per_stage
        )

    def supernet(self, input_shape: Sequence[int], output: OutputSpec) -> nn.Module:
        """Every operation on every edge of every cell (`NB201Supernet`): runs one cell design
        or a weighted mixture of operations."""
        from archsearch.spaces.nb201_supernet import NB201Supernet  # it builds on this module

        with torch.device("meta"):  # the same input checks as `build`, allocating nothing
            self.build(
                self.make({d.name: self.ops[0] for d in self.decisions}), input_shape, output
            )
        return NB201Supernet(
            self.ops, input_shape[0], output.size, self.channels, self.cells_per_stage
        )

    def cell_ops(self, arch: Architecture) -> dict[tuple[int, int], str]:
        """The operation on each (to, from) edge."""
        return {edge: arch[edge_name(*edge)] for edge in EDGES}

    # -- drawings ------------------------------------------------------------------------------
    def graph(self, arch: Architecture) -> ArchGraph:
        """The searched cell: nodes 0..3 with the operation on each of the six edges (a
        `none` edge inactive), and the fixed skeleton it is repeated in as `context`."""
        names = {0: "node 0: cell input", NODES: f"node {NODES}: cell output"}
        nodes = tuple(
            GraphNode(f"n{i}", names.get(i, f"node {i} (sum)"), _node_kind(i))
            for i in range(NODES + 1)
        )
        edges = tuple(
            GraphEdge(f"n{source}", f"n{to}", op, inactive=op == "none")
            for (to, source), op in sorted(self.cell_ops(arch).items(), key=lambda e: e[0][::-1])
        )
        note = "Each node sums the operations on its incoming edges; none: no connection."
        return ArchGraph("nb201 cell", nodes, edges, note, self.skeleton())

    def skeleton(self) -> ArchGraph:
        """The fixed network the cell is repeated in (NB201Network): stem, three stages of
        cells with a residual block halving the resolution between them, head."""
        nodes = [
            GraphNode("input", "input image", "input"),
            GraphNode("stem", f"stem: conv 3×3, {self.channels} filters, BN", "fixed"),
        ]
        for stage in range(3):
            width = self.channels * 2**stage
            if stage:
                label = f"residual block: stride 2, {width} channels"
                nodes.append(GraphNode(f"reduce{stage}", label, "fixed"))
            if self.cells_per_stage:
                label = f"cell × {self.cells_per_stage}, {width} channels"
                nodes.append(GraphNode(f"stage{stage}", label, "layer"))
        nodes.append(GraphNode("output", "BN, ReLU, global average pool, linear", "output"))
        return ArchGraph("network (cell repeated)", tuple(nodes), consecutive(nodes))


def _node_kind(node: int) -> str:
    """Cell node 0 is the cell's input, the last its output."""
    return {0: "input", NODES: "output"}.get(node, "layer")


class ReLUConvBN(nn.Sequential):
    """ReLU, bias-free convolution, BatchNorm: NAS-Bench-201's convolution operation."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The `none` operation: a zero map of the input's shape (keeps a node defined)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int) -> nn.Module:
    """One edge operation at stride 1 and constant width."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown operation {name!r}; choose from {list(OPS)}")


class Cell(nn.Module):
    """Node i = sum over j < i of op_ij(node j); the last node is the output."""

    def __init__(self, ops: dict[tuple[int, int], str], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleDict(
            {edge_name(*edge): make_op(op, channels) for edge, op in ops.items()}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for to in range(1, NODES + 1):
            nodes.append(sum(self.edges[edge_name(to, j)](nodes[j]) for j in range(to)))
        return nodes[-1]


class ResidualBlock(nn.Module):
    """Halves the resolution and changes the width: two ReLU-Conv-BN 3x3 (the first with
    stride 2) plus a 2x2 average-pool and 1x1 convolution shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NAS-Bench-201 skeleton around one cell design."""

    def __init__(
        self,
        ops: dict[tuple[int, int], str],
        in_channels: int,
        outputs: int,
        channels: int = 16,
        cells_per_stage: int = 5,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
        )
        blocks: list[nn.Module] = []
        for stage in range(3):
            width = channels * 2**stage
            if stage:
                blocks.append(ResidualBlock(width // 2, width))
            blocks.extend(Cell(ops, width) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*blocks)
        width = channels * 4
        self.head = nn.Sequential(
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(width, outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.cells(self.stem(x)))
