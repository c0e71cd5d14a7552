"""`InlineExecutor`: evaluate in the calling process, one at a time."""

from __future__ import annotations

from concurrent.futures import Future

from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.execution.base import Executor
from archsearch.spaces.base import Architecture


class InlineExecutor(Executor):
    """Evaluates each architecture as it is submitted, in this process."""

    name = "inline"
    in_process = True
    capacity = 1

    def submit(self, evaluator: Evaluator, arch: Architecture, seed: int) -> Future[Result]:
        future: Future[Result] = Future()
        try:
            future.set_result(evaluator.evaluate(arch, seed))
        except Exception as exc:  # noqa: BLE001 - the loop records it as a failed trial
            future.set_exception(exc)
        return future
