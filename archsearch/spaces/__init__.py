"""Search spaces: each module of this package defines one `Space`; `get_space` finds it."""

from __future__ import annotations

import inspect
from typing import Any

from archsearch.registry import Registry
from archsearch.spaces.base import Architecture, Categorical, Decision, Inputs, Space

__all__ = ["SPACES", "Architecture", "Categorical", "Decision", "Inputs", "Space", "get_space"]

SPACES: Registry[Space] = Registry("space", __name__, Space)


def get_space(name: str, **options: Any) -> Space:
    """The space called `name`, built with `options`; `ValueError` for unknown names/options."""
    cls = SPACES.get(name)
    known = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for space {name!r}; known options: {', '.join(known)}"
        )
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(f"bad option for space {name!r}: {exc}") from None
