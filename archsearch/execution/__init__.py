"""Executors: where evaluations run. Each module defining an `Executor` with a `name`
registers it in `EXECUTORS`."""

from __future__ import annotations

from typing import Any

from archsearch.execution.base import Executor
from archsearch.registry import Registry

__all__ = ["EXECUTORS", "Executor", "get_executor"]

EXECUTORS: Registry[Executor] = Registry("executor", __name__, Executor)


def get_executor(name: str, **options: Any) -> Executor:
    """The executor `name`; `ValueError` for unknown names or options."""
    return EXECUTORS.get(name)(**options)
