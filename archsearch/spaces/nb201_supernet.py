"""The NAS-Bench-201 supernet: the benchmark's skeleton with every operation on every edge.

`NB201Supernet(x, arch)` runs one cell design (the operations `arch` picks; the others are
skipped) and gives exactly what `NB201Network` of that design gives when it holds the same
weights (`extract` makes that network). `NB201Supernet(x, weights)` runs on every edge the
mixture sum_k weights[e, k] * op_k (DARTS's continuous relaxation); a weight of exactly 0 skips
its operation, and `none` is never computed (it adds zeros).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from archsearch.spaces.base import Architecture
from archsearch.spaces.cell import EDGES, NODES, NB201Network, ResidualBlock, edge_name, make_op
from archsearch.spaces.mixture import Running, running, weighted_sum

__all__ = ["MixedCell", "NB201Supernet"]

Choice = Architecture | torch.Tensor


class MixedCell(nn.Module):
    """A cell holding every operation of `ops` on each of the six edges."""

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        self.ops = tuple(ops)
        self.edges = nn.ModuleDict(
            {edge_name(*edge): nn.ModuleList(make_op(op, channels) for op in ops) for edge in EDGES}
        )

    def forward(self, x: torch.Tensor, choice: Choice, run: Running | None = None) -> torch.Tensor:
        """The cell on `x`: the operations an architecture picks, or the mixture `choice`
        weights, computing operation k of edge e only where `run[e][k]` (default:
        `running(choice)`)."""
        if not isinstance(choice, Architecture) and run is None:
            run = running(choice)
        nodes = [x]
        for to in range(1, NODES + 1):
            parts = [self._edge(EDGES.index((to, j)), nodes[j], choice, run) for j in range(to)]
            nodes.append(sum(parts[1:], parts[0]))
        return nodes[-1]

    def _edge(
        self, index: int, x: torch.Tensor, choice: Choice, run: Running | None
    ) -> torch.Tensor:
        ops = self.edges[edge_name(*EDGES[index])]
        if isinstance(choice, Architecture):
            return ops[self.ops.index(choice[edge_name(*EDGES[index])])](x)
        assert run is not None
        picked = [k for k, name in enumerate(self.ops) if name != "none" and run[index][k]]
        if not picked:
            return x.mul(0.0)
        return weighted_sum(choice[index], picked, [ops[k](x) for k in picked])


class NB201Supernet(nn.Module):
    """`NB201Network`'s stem, residual blocks and head around `MixedCell`s; the parameter
    names match the stand-alone network's but for each edge's operation index."""

    def __init__(
        self,
        ops: Sequence[str],
        in_channels: int,
        outputs: int,
        channels: int = 16,
        cells_per_stage: int = 5,
    ) -> None:
        super().__init__()
        self.ops = tuple(ops)
        self.shape = (in_channels, outputs, channels, cells_per_stage)
        # Borrow the fixed parts from a stand-alone network: one definition of the skeleton.
        fixed = NB201Network({e: "none" for e in EDGES}, *self.shape)
        self.stem, self.head = fixed.stem, fixed.head
        blocks: list[nn.Module] = []
        width = channels
        for block in fixed.cells:
            if isinstance(block, ResidualBlock):
                width *= 2
                blocks.append(block)
            else:
                blocks.append(MixedCell(self.ops, width))
        self.cells = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor, choice: Choice) -> torch.Tensor:
        run = None if isinstance(choice, Architecture) else running(choice)  # once, for all cells
        x = self.stem(x)
        for block in self.cells:
            x = block(x, choice, run) if isinstance(block, MixedCell) else block(x)
        return self.head(x)

    def extract(self, arch: Architecture) -> NB201Network:
        """The stand-alone network of `arch` holding this supernet's weights (a copy)."""
        ops = {edge: arch[edge_name(*edge)] for edge in EDGES}
        net = NB201Network(ops, *self.shape)
        state = {}
        for key, value in self.state_dict().items():
            parts = key.split(".")
            if parts[0] == "cells" and len(parts) > 4 and parts[2] == "edges":
                edge, index = parts[3], int(parts[4])
                if self.ops[index] != arch[edge]:
                    continue
                key = ".".join(parts[:4] + parts[5:])
            state[key] = value
        net.load_state_dict(state)
        return net
