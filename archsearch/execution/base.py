"""The `Executor` interface: where evaluations run. The search loop only submits and waits.

Executors are plug-ins (`EXECUTORS`), chosen by name in the run configuration. What an
executor must carry across a resume is its `state_dict`, saved with the strategy's.
"""

from __future__ import annotations

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

__all__ = ["Executor", "Resources", "WorkerDied"]


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
