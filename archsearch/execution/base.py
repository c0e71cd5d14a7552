"""The `Executor` interface: where evaluations run. The search loop only submits and waits."""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import Future

from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.spaces.base import Architecture


class Executor(ABC):
    """Runs up to `capacity` evaluations at once."""

    capacity: int = 1

    @abstractmethod
    def submit(self, evaluator: Evaluator, arch: Architecture, seed: int) -> Future[Result]:
        """Start evaluating `arch`; the future's result is its `Result`."""

    def close(self) -> None:
        """Release workers."""
