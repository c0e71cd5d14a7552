"""The `Executor` interface: where evaluations run. The search loop only submits and waits.

Executors are plug-ins (`EXECUTORS`), chosen by name in the run configuration. What an
executor must carry across a resume is its `state_dict`, saved with the strategy's.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, ClassVar

from archsearch.commands import setting
from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.options import Options, parse_options
from archsearch.spaces.base import Architecture

__all__ = ["Executor", "Resources", "Shipment", "WorkerDied", "unfit"]


class WorkerDied(RuntimeError):
    """The worker process evaluating a trial died (killed, out of memory) more often than
    the executor retries it; the loop records the trial as failed."""


@dataclass
class Resources(Options):
    """What a parallel executor may use: its options, and the `search` flags that set them
    (`--workers`, `--cpus-per-trial`, ...), each stored in `executor_options` so that a
    resumed run keeps them. `address` is for Ray only."""

    workers: int = setting(2, "trials evaluated at once (pool and ray executors)")
    cpus_per_trial: int = setting(1, "CPU threads each trial may use (pool and ray executors)")
    gpus_per_trial: float = setting(
        0.0, "GPUs each trial may use, e.g. 0.25 to share one GPU by four (pool and ray executors)"
    )
    limits = {
        "workers": (1, 1024, True),
        "cpus_per_trial": (1, 1024, True),
        "gpus_per_trial": (0, 64, False),
    }


@dataclass(frozen=True)
class Shipment:
    """What travels with each trial to a worker's copy of the evaluator: the driver's
    evaluator state (None: it keeps none) and the seconds left before the search's time
    limit (None: no limit). A deadline travels as time left because the monotonic clocks of
    two machines cannot be compared."""

    state: dict[str, Any] | None
    seconds_left: float | None

    @classmethod
    def of(cls, evaluator: Evaluator) -> Shipment:
        """The shipment of `evaluator` (the driver's) now."""
        deadline = evaluator.deadline
        left = None if deadline is None else deadline - time.monotonic()
        return cls(evaluator.state_dict() or None, left)

    def apply(self, evaluator: Evaluator) -> None:
        """Bring a worker's copy of the evaluator up to the driver's."""
        if self.state is not None:
            evaluator.load_state_dict(self.state)
        left = self.seconds_left
        evaluator.deadline = None if left is None else time.monotonic() + left


class Executor(ABC):
    """Runs up to `capacity` evaluations at once."""

    name: ClassVar[str]
    Options: ClassVar[type] = Options
    #: Whether evaluations run in the calling process, where any evaluator can run.
    in_process: ClassVar[bool] = False
    capacity: int = 1

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(f"executor {self.name}", self.Options, options)

    @abstractmethod
    def submit(self, evaluator: Evaluator, arch: Architecture, seed: int) -> Future[Result]:
        """Start evaluating `arch`; the future's result is its `Result`."""

    def where(self, future: Future[Result]) -> str:
        """Which worker runs the evaluation behind `future` (a submitted one), as the
        ledger's `running` table shows it; may become more precise once it has started."""
        return self.name

    def close(self) -> None:
        """Release workers."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a `state_dict`."""


def unfit(executor: type[Executor], evaluator: type[Evaluator]) -> str | None:
    """Why `evaluator` cannot run on `executor` (one line with the fix), or None."""
    if executor.in_process or evaluator.parallel_safe:
        return None
    return (
        f"the {evaluator.name} evaluator keeps a state too big to send to worker processes; "
        f"run it with --executor inline, not {executor.name}"
    )
