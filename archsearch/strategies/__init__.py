"""Search strategies: each module of this package defines one `Strategy`."""

from __future__ import annotations

from typing import Any

from archsearch.registry import discover, lookup
from archsearch.spaces.base import Space
from archsearch.strategies.base import Strategy

__all__ = ["Strategy", "get_strategy", "strategies"]


def strategies() -> dict[str, type[Strategy]]:
    """All available strategies by name."""
    return discover(__name__, Strategy)


def get_strategy(name: str, space: Space, seed: int = 0, **options: Any) -> Strategy:
    """The strategy `name` over `space`; `ValueError` for unknown names or options."""
    return lookup("strategy", strategies(), name)(space, seed=seed, **options)
