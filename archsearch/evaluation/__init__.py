"""Evaluation: evaluators (train from scratch, tabular lookup), the child trainer, rewards.

Each module that defines an `Evaluator` subclass with a `name` registers it in `EVALUATORS`.
"""

from __future__ import annotations

from typing import Any

from archsearch.evaluation.base import Context, Evaluator
from archsearch.evaluation.result import Result
from archsearch.registry import Registry

__all__ = ["EVALUATORS", "Context", "Evaluator", "Result", "get_evaluator"]

EVALUATORS: Registry[Evaluator] = Registry("evaluator", __name__, Evaluator)


def get_evaluator(name: str, context: Context, **options: Any) -> Evaluator:
    """The evaluator `name` for `context`; `ValueError` for unknown names or options."""
    return EVALUATORS.get(name)(context, **options)
