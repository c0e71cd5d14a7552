"""Search spaces: each module of this package defines one `Space`; `get_space` finds it."""

from __future__ import annotations

from typing import Any

from archsearch.registry import discover, lookup
from archsearch.spaces.base import Architecture, Categorical, Decision, Inputs, Space

__all__ = ["Architecture", "Categorical", "Decision", "Inputs", "Space", "get_space", "spaces"]


def spaces() -> dict[str, type[Space]]:
    """All available spaces by name."""
    return discover(__name__, Space)


def get_space(name: str, **options: Any) -> Space:
    """The space called `name`, built with `options`; `ValueError` for unknown names/options."""
    cls = lookup("space", spaces(), name)
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(f"bad option for space {name!r}: {exc}") from None
