"""Executors: where evaluations run (inline now; process pools and Ray plug in here)."""

from archsearch.execution.base import Executor
from archsearch.execution.inline import InlineExecutor

__all__ = ["Executor", "InlineExecutor"]
