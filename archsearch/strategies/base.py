"""The `Strategy` interface: propose architectures, learn from their results.

Strategies see decisions and rewards only, never `torch.nn`. Each keeps all its randomness in
its own seeded generators so that `state_dict()` / `load_state_dict()` resume a search exactly
where it stopped.
"""

from __future__ import annotations

import dataclasses
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from archsearch.evaluation.result import Result
from archsearch.spaces.base import Architecture, Space


@dataclasses.dataclass
class Options:
    """A strategy's tunable knobs. Subclasses add fields with defaults."""


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


def parse_options(owner: str, cls: type, given: Mapping[str, Any]) -> Any:
    """Build the `cls` options dataclass from `given`, converting strings (from the command
    line) to each field's type; unknown names and unparsable values raise `ValueError`."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        known = ", ".join(fields) or "none"
        raise ValueError(f"unknown option(s) {unknown} for {owner}; known options: {known}")
    values = {}
    for key, value in given.items():
        default = getattr(cls(), key)
        values[key] = _convert(f"{owner} option {key}", value, default)
    return cls(**values)


def _convert(label: str, value: Any, default: Any) -> Any:
    if default is None and isinstance(value, str):  # an optional number, off by default
        if value.lower() in ("", "none", "off"):
            return None
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{label}={value!r} is not a number") from None
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if isinstance(default, (tuple, list)):
            return tuple(float(v) if "." in v else int(v) for v in value.split(",") if v)
        return type(default)(value)
    except ValueError:
        raise ValueError(f"{label}={value!r} is not a valid {type(default).__name__}") from None


def _as_tuple(state: Any) -> Any:
    """`random.Random.setstate` needs tuples back where serialisation may give lists."""
    if isinstance(state, list):
        return tuple(_as_tuple(s) for s in state)
    if isinstance(state, tuple):
        return tuple(_as_tuple(s) for s in state)
    return state
