"""The DARTS cell space (Liu, Simonyan & Yang, 2019): a normal and a reduction cell.

Each cell has `nodes` intermediate nodes (DARTS: 4), numbered as DARTS's genotypes number
states: 0 and 1 are the cell's inputs (the outputs of the two cells before it), 2 .. nodes + 1
the intermediate nodes. Node s sums two operations applied to two *distinct* earlier states,
and the cell's output concatenates every intermediate node. Per cell type and node, three
decisions in this order:

- `<type>_n<s>_inputs`: the pair of earlier states "a,b" (a < b): node 2 has the one pair "0,1",
  node 3 three, node 4 six, node 5 ten. One decision for both inputs makes the two inputs
  distinct by construction, so that every strategy (sampling, mutation, crossover, encodings,
  the controllers) proposes only valid cells, and each cell has one architecture, not two
  (swapping the slots gives the same network);
- `<type>_n<s>_op1`: the operation applied to state a; `<type>_n<s>_op2`: the one applied to b,
  each one of DARTS's seven non-`none` operations (`ops`).

These are exactly the cells DARTS derives (two strongest non-`none` edges per node, from two
distinct states): `to_genotype` / `from_genotype` convert to and from DARTS's genotype format,
so that a published cell (DARTS_V2) can be built and trained. The network (`darts_network`):
a 3x3 stem to 3 x `channels`, `cells` cells with reduction cells at 1/3 and 2/3 of the depth,
global average pool and a linear head. The paper searches with channels=16, cells=8 and
evaluates with channels=36, cells=20 (3.3M parameters, plus an auxiliary head and drop-path
that this space leaves out); the defaults here are small, for a CPU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from archsearch.spaces.darts_network import (
    CELL_TYPES,
    OPS,
    STEM_MULTIPLIER,
    DartsNetwork,
    Plan,
    decision_name,
    input_pairs,
    plan_of,
    reductions,
)
from archsearch.tasks.base import OutputSpec

__all__ = ["DartsSpace"]

MAX_NODES = 16
TITLES = {"normal": "normal cell", "reduce": "reduction cell"}


class DartsSpace(Space):
    """DARTS's normal and reduction cells inside its fixed skeleton."""

    name = "darts"
    needs_images = True

    def __init__(
        self, ops: Sequence[str] = OPS, channels: int = 8, cells: int = 5, nodes: int = 4
    ) -> None:
        ops = listed(ops)
        unknown = sorted(set(map(str, ops)) - set(OPS))
        if unknown or not ops:
            raise ValueError(f"unknown or no operation(s) {unknown}; choose from {list(OPS)}")
        check_number("channels", channels, 1, MAX_WIDTH, whole=True)
        check_number("cells", cells, 3, MAX_LAYERS, whole=True)  # a normal and two reductions
        check_number("nodes", nodes, 1, MAX_NODES, whole=True)
        self.ops = tuple(dict.fromkeys(ops))
        self.channels, self.cells, self.nodes = int(channels), int(cells), int(nodes)
        self.decisions = tuple(
            decision
            for cell_type in CELL_TYPES
            for state in range(2, self.nodes + 2)
            for decision in (
                Categorical(decision_name(cell_type, state, "inputs"), input_pairs(state)),
                Categorical(decision_name(cell_type, state, "op1"), self.ops),
                Categorical(decision_name(cell_type, state, "op2"), self.ops),
            )
        )

    def options(self) -> dict[str, Any]:
        return {
            "ops": list(self.ops),
            "channels": self.channels,
            "cells": self.cells,
            "nodes": self.nodes,
        }

    def layer(self, index: int) -> int:
        """A node's three decisions belong together (the controllers' and drawings' unit)."""
        return index // 3

    def plans(self, arch: Architecture) -> tuple[Plan, Plan]:
        """(normal plan, reduction plan): per node ((a, op on a), (b, op on b))."""
        values = arch.as_dict()
        normal, reduce = (plan_of(values, t, self.nodes) for t in CELL_TYPES)
        return normal, reduce

    # -- DARTS's genotype format ---------------------------------------------------------------
    def to_genotype(self, arch: Architecture) -> dict[str, list[Any]]:
        """`arch` as DARTS's genotype, as JSON: {"normal": [[op, state], ...] (two per node),
        "normal_concat": [2, ..], "reduce": ..., "reduce_concat": ...}."""
        concat = list(range(2, self.nodes + 2))
        genotype: dict[str, list[Any]] = {}
        for cell_type, plan in zip(CELL_TYPES, self.plans(arch)):
            genotype[cell_type] = [[op, state] for pair in plan for state, op in pair]
            genotype[f"{cell_type}_concat"] = concat
        return genotype

    def from_genotype(self, genotype: Mapping[str, Any]) -> Architecture:
        """Inverse of `to_genotype` (DARTS's `Genotype._asdict()` works too); `ValueError`
        says what this space cannot hold (a node fed twice from one state, other concats)."""
        values: dict[str, str] = {}
        for cell_type in CELL_TYPES:
            if cell_type not in genotype:
                raise ValueError(f"a genotype needs {cell_type!r}: a list of [op, state] edges")
            edges = [(str(op), int(state)) for op, state in genotype[cell_type]]
            if len(edges) != 2 * self.nodes:
                raise ValueError(f"{cell_type}: expected {2 * self.nodes} edges, got {len(edges)}")
            concat = list(genotype.get(f"{cell_type}_concat", range(2, self.nodes + 2)))
            if concat != list(range(2, self.nodes + 2)):
                raise ValueError(f"{cell_type}: this space concatenates every node, not {concat}")
            for state in range(2, self.nodes + 2):
                pair = sorted(edges[2 * state - 4 : 2 * state - 2], key=lambda e: e[1])
                if pair[0][1] == pair[1][1]:
                    raise ValueError(f"{cell_type}: node {state} takes state {pair[0][1]} twice")
                values[decision_name(cell_type, state, "inputs")] = f"{pair[0][1]},{pair[1][1]}"
                values[decision_name(cell_type, state, "op1")] = pair[0][0]
                values[decision_name(cell_type, state, "op2")] = pair[1][0]
        return self.make(values)

    # -- networks ------------------------------------------------------------------------------
    def build(
        self, arch: Architecture, input_shape: Sequence[int], output: OutputSpec
    ) -> nn.Module:
        check_image_classifier("darts", input_shape, output)
        return DartsNetwork(
            self.plans(arch), input_shape[0], output.size, self.channels, self.cells
        )

    def supernet(self, input_shape: Sequence[int], output: OutputSpec) -> nn.Module:
        """Every operation on every edge of every cell (`DartsSupernet`): runs one design or
        the weighted mixture of DARTS's relaxation."""
        from archsearch.spaces.darts_supernet import DartsSupernet  # it builds on the network

        with torch.device("meta"):  # the same input checks as `build`, allocating nothing
            self.build(self.make({d.name: d.choices[0] for d in self.decisions}), input_shape,
                       output)  # fmt: skip
        return DartsSupernet(
            self.ops, input_shape[0], output.size, self.channels, self.cells, self.nodes
        )

    # -- drawings ------------------------------------------------------------------------------
    def graph(self, arch: Architecture) -> ArchGraph:
        """The normal cell, beside it the reduction cell, beside that the skeleton."""
        normal, reduce = (self.cell_graph(plan, t) for t, plan in zip(CELL_TYPES, self.plans(arch)))
        return ArchGraph(
            normal.title, normal.nodes, normal.edges, normal.note,
            ArchGraph(reduce.title, reduce.nodes, reduce.edges, reduce.note, self.skeleton()),
        )  # fmt: skip

    def cell_graph(self, plan: Plan, cell_type: str) -> ArchGraph:
        """One cell: its two inputs, each node with its two operations, the concatenation."""
        last = self.nodes + 1
        nodes = (
            GraphNode("s0", "state 0: c[k-2], the cell before the last", "input"),
            GraphNode("s1", "state 1: c[k-1], the last cell", "input"),
            *(GraphNode(f"s{s}", f"node {s} (sum)") for s in range(2, last + 1)),
            GraphNode("out", f"concat(nodes 2–{last})" if last > 2 else "node 2", "output"),
        )
        edges = [
            GraphEdge(f"s{state}", f"s{node}", op)
            for node, pair in enumerate(plan, start=2)
            for state, op in pair
        ]
        edges += [GraphEdge(f"s{s}", "out") for s in range(2, last + 1)]
        note = "Each node sums its two operations; the cell outputs its nodes concatenated."
        if cell_type == "reduce":
            note += " Operations on states 0 and 1 have stride 2."
        return ArchGraph(f"darts {TITLES[cell_type]}", nodes, tuple(edges), note)

    def skeleton(self) -> ArchGraph:
        """The fixed network the cells are repeated in: stem, cells, head."""
        stem = STEM_MULTIPLIER * self.channels
        nodes = [
            GraphNode("input", "input image", "input"),
            GraphNode("stem", f"stem: conv 3×3, {stem} filters, BN", "fixed"),
        ]
        width, run = self.channels, 0
        for index in range(self.cells + 1):
            if index < self.cells and index not in reductions(self.cells):
                run += 1
                continue
            if run:
                label = f"normal cell × {run}, {width} channels per node"
                nodes.append(GraphNode(f"normal{index}", label, "layer"))
                run = 0
            if index < self.cells:
                width *= 2
                label = f"reduction cell: stride 2, {width} channels per node"
                nodes.append(GraphNode(f"reduce{index}", label, "layer"))
        nodes.append(GraphNode("output", "global average pool, linear", "output"))
        note = "Each cell takes the outputs of the two cells before it."
        return ArchGraph("network (cells repeated)", tuple(nodes), consecutive(nodes), note)
