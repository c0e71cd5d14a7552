"""The `Executor` interface: where evaluations run. The search loop only submits and waits.

Executors are plug-ins (`EXECUTORS`), chosen by name in the run configuration. What an
executor must carry across a resume is its `state_dict`, saved with the strategy's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any, ClassVar

from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.options import Options, parse_options
from archsearch.spaces.base import Architecture


class Executor(ABC):
    """Runs up to `capacity` evaluations at once."""

    name: ClassVar[str]
    Options: ClassVar[type] = Options
    capacity: int = 1

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(f"executor {self.name}", self.Options, options)

    @abstractmethod
    def submit(self, evaluator: Evaluator, arch: Architecture, seed: int) -> Future[Result]:
        """Start evaluating `arch`; the future's result is its `Result`."""

    def close(self) -> None:
        """Release workers."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a `state_dict`."""
