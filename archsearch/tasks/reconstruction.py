"""Reconstruction: a network that outputs its (normalised) input, as an autoencoder does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archsearch.tasks.base import OutputSpec
from archsearch.tasks.regression import SquaredErrorTask


class Reconstruction(SquaredErrorTask):
    """Outputs of the input's shape, compared with the normalised input by squared error; R²
    is the share of the inputs' variance (about the mean input) the reconstruction explains.
    Labels, if the data has any, are ignored."""

    name = "reconstruction"
    targets_are_inputs = True

    def __init__(self, input_shape: Sequence[int]) -> None:
        self.input_shape = tuple(int(s) for s in input_shape)

    def output_spec(self) -> OutputSpec:
        return OutputSpec(self.input_shape)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "input_shape": list(self.input_shape)}
