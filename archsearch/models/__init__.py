"""Reference networks from the literature, expressed as architectures of our spaces, and the
ensemble a final training may produce."""

from __future__ import annotations

from dataclasses import dataclass

from archsearch.models.ensemble import Ensemble
from archsearch.models.nascnn15 import nascnn15, nascnn15_arch, nascnn15_space
from archsearch.spaces.base import Architecture, Space

__all__ = [
    "REFERENCE_MODELS",
    "Ensemble",
    "ReferenceModel",
    "nascnn15",
    "nascnn15_arch",
    "nascnn15_space",
]


@dataclass(frozen=True)
class ReferenceModel:
    """A published network: the space it belongs to and its architecture there, so it is
    built, trained and exported like any searched architecture
    (`space.build(arch, input_shape, output)`)."""

    space: Space
    arch: Architecture
    description: str


#: The networks the command line's `--model NAME` trains.
REFERENCE_MODELS: dict[str, ReferenceModel] = {
    "nascnn15": ReferenceModel(
        nascnn15_space(),
        nascnn15_arch(),
        "Zoph & Le (2016) 15-layer CIFAR-10 network: 4.2M parameters, 5.50% test error",
    ),
}
