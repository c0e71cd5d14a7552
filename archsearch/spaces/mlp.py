"""Multi-layer perceptrons: depth, and per layer width, activation and dropout."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from archsearch.options import check_number, check_numbers
from archsearch.spaces.base import (
    MAX_LAYERS,
    MAX_WIDTH,
    ArchGraph,
    Architecture,
    Categorical,
    Decision,
    Space,
    Value,
    chain_graph,
    listed,
)
from archsearch.tasks.base import OutputSpec

#: scikit-learn's default MLP's hidden units, the width of `MLPSpace.reference`.
REFERENCE_WIDTH = 100

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
}


class MLPSpace(Space):
    """`depth` first (1..max_layers), then `width_i`, `activation_i` and `dropout_i` of each
    layer i; the decisions of layers deeper than `depth` are inactive.

    The defaults (1-4 layers of 32-512 units, relu/elu/tanh) leave out what only loses on
    small tables within a few dozen children: deep sigmoid stacks and 8- or 16-unit
    bottlenecks (README, "Tables"); options bring them back."""

    name = "mlp"

    def __init__(
        self,
        max_layers: int = 4,
        widths: Sequence[int] = (32, 64, 128, 256, 512),
        activations: Sequence[str] = ("relu", "elu", "tanh"),
        dropouts: Sequence[float] = (0.0, 0.1, 0.25, 0.5),
    ) -> None:
        widths, activations, dropouts = listed(widths), listed(activations), listed(dropouts)
        check_number("max_layers", max_layers, 1, MAX_LAYERS, whole=True)
        check_numbers("widths", widths, 1, MAX_WIDTH, whole=True)
        check_numbers("dropouts", dropouts or [0.0], 0.0, (1.0,))
        unknown = sorted(set(map(str, activations)) - set(ACTIVATIONS))
        if unknown or not activations:
            raise ValueError(f"unknown activation(s) {unknown}; choose from {list(ACTIVATIONS)}")
        self.max_layers = int(max_layers)
        self.widths = tuple(int(w) for w in widths)
        self.activations = tuple(activations)
        self.dropouts = tuple(float(p) for p in dropouts) or (0.0,)
        decisions: list[Decision] = [Categorical("depth", tuple(range(1, max_layers + 1)))]
        for i in range(1, max_layers + 1):
            decisions.append(Categorical(f"width_{i}", self.widths))
            decisions.append(Categorical(f"activation_{i}", self.activations))
            if len(self.dropouts) > 1:
                decisions.append(Categorical(f"dropout_{i}", self.dropouts))
        self.decisions = tuple(decisions)

    def options(self) -> dict[str, Any]:
        return {
            "max_layers": self.max_layers,
            "widths": list(self.widths),
            "activations": list(self.activations),
            "dropouts": list(self.dropouts),
        }

    def is_active(self, index: int, chosen: Mapping[str, Value]) -> bool:
        return index == 0 or self.layer(index) <= chosen["depth"]

    def _later_depends_on(self, index: int) -> bool:
        return index == 0

    def layer(self, index: int) -> int:
        """0 for `depth`, i for the decisions of hidden layer i."""
        return 0 if index == 0 else int(self.decisions[index].name.rsplit("_", 1)[1])

    def layers(self, arch: Architecture) -> list[tuple[int, str, float]]:
        """(width, activation, dropout) of each hidden layer."""
        return [
            (
                arch[f"width_{i}"],
                arch[f"activation_{i}"],
                arch.get(f"dropout_{i}", self.dropouts[0]),
            )
            for i in range(1, arch["depth"] + 1)
        ]

    def graph(self, arch: Architecture) -> ArchGraph:
        """input → one node per hidden layer (units, activation, dropout when there is
        any) → the linear output layer."""
        labels = [
            f"dense {width} units, {activation}" + (f", dropout {dropout:g}" if dropout else "")
            for width, activation, dropout in self.layers(arch)
        ]
        depth = arch["depth"]
        title = f"mlp: {depth} hidden layer{'s' if depth > 1 else ''}"
        return chain_graph(title, labels, prefix="L", output="output: linear")

    def build(
        self, arch: Architecture, input_shape: Sequence[int], output: OutputSpec
    ) -> nn.Module:
        modules: list[nn.Module] = [nn.Flatten()]
        previous = math.prod(input_shape)
        for width, activation, dropout in self.layers(arch):
            modules += [nn.Linear(previous, width), ACTIVATIONS[activation]()]
            if dropout > 0:
                modules.append(nn.Dropout(dropout))
            previous = width
        modules.append(nn.Linear(previous, output.size))
        if not output.is_vector:
            modules.append(nn.Unflatten(1, output.shape))
        return nn.Sequential(*modules)

    def reference(self) -> Architecture:
        """The shape of scikit-learn's default MLP: one layer of `REFERENCE_WIDTH` relu units,
        no dropout, each to the nearest value this space offers."""
        values: dict[str, Value] = {
            "depth": 1,
            "width_1": min(self.widths, key=lambda w: (abs(w - REFERENCE_WIDTH), w)),
            "activation_1": "relu" if "relu" in self.activations else self.activations[0],
        }
        if len(self.dropouts) > 1:
            values["dropout_1"] = min(self.dropouts)
        return self.make(values)

    def supports(self, output: OutputSpec) -> bool:
        return not output.latent  # its last layer reshapes to any output; no VAE latent
