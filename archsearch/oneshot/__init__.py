"""One-shot searches (ENAS, DARTS, random sampling with shared weights): each module of this
package defines one `OneShot` method; `ONESHOTS` finds them by name and the driver runs them
(`archsearch.oneshot.driver`). `--strategy` names a strategy or a one-shot method: `METHODS`."""

from __future__ import annotations

from archsearch.oneshot.base import OneShot
from archsearch.registry import Registry
from archsearch.strategies import STRATEGIES

__all__ = ["METHODS", "ONESHOTS", "OneShot"]

ONESHOTS: Registry[OneShot] = Registry("one-shot method", __name__, OneShot)


class _Methods:
    """What `--strategy` may name: the ask/tell strategies and the one-shot methods."""

    def names(self) -> list[str]:
        return sorted({*STRATEGIES.names(), *ONESHOTS.names()})

    def __contains__(self, name: object) -> bool:
        return name in STRATEGIES or name in ONESHOTS


METHODS = _Methods()
