"""The `Strategy` interface: propose architectures, learn from their results.

Strategies see decisions and rewards only, never `torch.nn`. Each keeps all its randomness in
its own seeded generators so that `state_dict()` / `load_state_dict()` resume a search exactly
where it stopped.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from archsearch.evaluation.result import Result
from archsearch.options import Options, parse_options
from archsearch.spaces.base import Architecture, Space


class Strategy(ABC):
    """Proposes architectures (`ask`) and learns from their results (`tell`)."""

    name: ClassVar[str]
    Options: ClassVar[type] = Options

    def __init__(self, space: Space, seed: int = 0, **options: Any) -> None:
        self.space = space
        self.seed = seed
        self.options = parse_options(self.name, self.Options, options)
        self.rng = random.Random(seed)

    @abstractmethod
    def ask(self) -> Architecture:
        """The next architecture to evaluate."""

    @abstractmethod
    def tell(self, arch: Architecture, result: Result) -> None:
        """Learn from the result of an architecture this strategy proposed."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly as an uninterrupted run would. Values must be
        tensors, numbers, strings, bools, None, or lists/tuples/dicts of them (saved with
        `torch.save`, loaded with `weights_only=True`). Subclasses extend this dict."""
        return {"rng": self.rng.getstate()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rng.setstate(_as_tuple(state["rng"]))

    def stats(self) -> dict[str, float]:
        """Diagnostics recorded with each trial (e.g. the controller's entropy)."""
        return {}


def _as_tuple(state: Any) -> Any:
    """`random.Random.setstate` needs tuples back where serialisation may give lists."""
    if isinstance(state, list):
        return tuple(_as_tuple(s) for s in state)
    if isinstance(state, tuple):
        return tuple(_as_tuple(s) for s in state)
    return state
