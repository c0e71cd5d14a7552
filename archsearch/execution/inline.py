"""`InlineExecutor`: evaluate in the calling process, one at a time."""

from __future__ import annotations

from concurrent.futures import Future

from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.execution.base import Executor
from archsearch.spaces.base import Architecture


class InlineExecutor(Executor):
    """Evaluates each architecture as it is submitted, in this process."""

    capacity = 1

    def submit(self, evaluator: Evaluator, arch: Architecture, seed: int) -> Future[Result]:
        future: Future[Result] = Future()
        future.set_result(evaluator.evaluate(arch, seed))
        return future
