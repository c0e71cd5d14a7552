"""Search strategies: each module of this package defines one `Strategy`."""

from __future__ import annotations

from typing import Any

from archsearch.registry import Registry
from archsearch.spaces.base import Space
from archsearch.strategies.base import Strategy

__all__ = ["STRATEGIES", "Strategy", "get_strategy"]

STRATEGIES: Registry[Strategy] = Registry("strategy", __name__, Strategy)


def get_strategy(name: str, space: Space, seed: int = 0, **options: Any) -> Strategy:
    """The strategy `name` over `space`; `ValueError` for unknown names or options."""
    return STRATEGIES.get(name)(space, seed=seed, **options)
