"""The DARTS supernet: the DARTS skeleton with every operation on every edge of every cell.

An *edge* is (intermediate node, earlier state), as in DARTS: node s has an edge from each of
the states 0 .. s - 1, and each edge holds one module per operation, shared by the node's two
input slots and computed at most once per forward pass.

`DartsSupernet(x, arch)` runs one design: on each node exactly its two chosen operations, so
that it gives what the stand-alone network of that design (`extract`) gives with the same
weights. `DartsSupernet(x, weights)`, with weights of shape (len(decisions), n) in the space's
decision order (per cell type and node: inputs, op1, op2), runs the relaxation

    node s = sum_j sum_o (w_in1[j] * w_op1[o] + w_in2[j] * w_op2[o]) * op_{j,o}(state j)

where w_in1[j] (w_in2[j]) is the summed weight of the input pairs whose first (second) state is
j. A one-hot weight tensor therefore runs exactly the design it picks. An operation whose
coefficient is exactly 0 (and needs no gradient) is not computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import torch
from torch import nn

from archsearch.spaces.base import Architecture
from archsearch.spaces.darts_network import (
    CELL_TYPES,
    PARTS,
    CellBase,
    DartsNetwork,
    Plan,
    cell_layout,
    edge_key,
    make_head,
    make_op,
    make_stem,
    plan_of,
)
from archsearch.spaces.mixture import running, weighted_sum

__all__ = ["DartsSupernet", "MixedCell", "mixture_coefficients"]

Choice = Architecture | torch.Tensor


def mixture_coefficients(weights: torch.Tensor, row: int, state: int, n_ops: int) -> torch.Tensor:
    """The (state, n_ops) coefficients of every operation on every edge into node `state`,
    from the node's three rows of `weights` starting at `row` (inputs, op1, op2)."""
    pairs = list(combinations(range(state), 2))
    w_in = weights[row, : len(pairs)]
    first = torch.tensor([a for a, _ in pairs], device=weights.device)
    second = torch.tensor([b for _, b in pairs], device=weights.device)
    slot1 = w_in.new_zeros(state).index_add(0, first, w_in)
    slot2 = w_in.new_zeros(state).index_add(0, second, w_in)
    op1, op2 = weights[row + 1, :n_ops], weights[row + 2, :n_ops]
    return slot1[:, None] * op1[None, :] + slot2[:, None] * op2[None, :]


class MixedCell(CellBase):
    """A cell holding every operation of `ops` on every edge; `row` is the first row of this
    cell type's decisions in a weight tensor."""

    def __init__(self, ops: Sequence[str], nodes: int, cell_type: str, c_pp: int, c_p: int,
                 channels: int, reduction: bool, reduction_prev: bool) -> None:  # fmt: skip
        super().__init__(c_pp, c_p, channels, reduction, reduction_prev)
        self.ops, self.nodes, self.cell_type = tuple(ops), nodes, cell_type
        self.row = CELL_TYPES.index(cell_type) * nodes * len(PARTS)
        self.edges = nn.ModuleDict()
        for node in range(2, nodes + 2):
            for state in range(node):
                self.edges[edge_key(node, state)] = nn.ModuleList(
                    make_op(op, channels, self.stride(state)) for op in self.ops
                )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, choice: Choice) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        if isinstance(choice, Architecture):
            plan = plan_of(choice.as_dict(), self.cell_type, self.nodes)
            for node, pair in enumerate(plan, start=2):
                a, b = (self._op(node, state, op)(states[state]) for state, op in pair)
                states.append(a + b)
        else:
            for node in range(2, self.nodes + 2):
                row = self.row + (node - 2) * len(PARTS)
                coefficients = mixture_coefficients(choice, row, node, len(self.ops))
                states.append(self._mixture(node, states, coefficients))
        return torch.cat(states[2:], dim=1)

    def _op(self, node: int, state: int, op: str) -> nn.Module:
        return self.edges[edge_key(node, state)][self.ops.index(op)]

    def _mixture(
        self, node: int, states: list[torch.Tensor], coefficients: torch.Tensor
    ) -> torch.Tensor:
        """sum over edges and operations of coefficient * op(state), skipping exact zeros."""
        run = running(coefficients)  # read from the device once per node, not per operation
        width = coefficients.shape[1]
        picked, terms = [], []
        for state in range(node):
            for k, op in enumerate(self.edges[edge_key(node, state)]):
                if run[state][k]:
                    picked.append(state * width + k)
                    terms.append(op(states[state]))
        assert picked, "a weight row of the mixture is all zero"
        return weighted_sum(coefficients.reshape(-1), picked, terms)


class DartsSupernet(nn.Module):
    """`DartsNetwork`'s stem and head around `MixedCell`s; parameter names match the
    stand-alone network's but for each edge's operation index (see `extract`)."""

    def __init__(
        self, ops: Sequence[str], in_channels: int, outputs: int, channels: int, cells: int,
        nodes: int,
    ) -> None:  # fmt: skip
        super().__init__()
        self.ops, self.nodes = tuple(ops), nodes
        self.shape = (in_channels, outputs, channels, cells)
        shapes, width = cell_layout(channels, cells, nodes)
        self.stem = make_stem(in_channels, channels)
        self.cells = nn.ModuleList(
            MixedCell(self.ops, nodes, CELL_TYPES[int(shape.reduction)], *shape) for shape in shapes
        )
        self.head = make_head(width, outputs)

    def forward(self, x: torch.Tensor, choice: Choice) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, choice)
        return self.head(s1)

    def plans(self, arch: Architecture) -> tuple[Plan, Plan]:
        values = arch.as_dict()
        normal, reduce = (plan_of(values, t, self.nodes) for t in CELL_TYPES)
        return normal, reduce

    def extract(self, arch: Architecture) -> DartsNetwork:
        """The stand-alone network of `arch` holding this supernet's weights (a copy)."""
        plans = self.plans(arch)
        net = DartsNetwork(plans, *self.shape)
        chosen = {
            t: {edge_key(node, s): op for node, pair in enumerate(plan, 2) for s, op in pair}
            for t, plan in zip(CELL_TYPES, plans)
        }
        state = {}
        for key, value in self.state_dict().items():
            parts = key.split(".")
            if parts[0] == "cells" and len(parts) > 4 and parts[2] == "edges":
                cell = self.cells[int(parts[1])]
                op = chosen[cell.cell_type].get(parts[3])  # type: ignore[union-attr]
                if op is None or self.ops[int(parts[4])] != op:
                    continue
                key = ".".join(parts[:4] + parts[5:])
            state[key] = value
        net.load_state_dict(state)
        return net
