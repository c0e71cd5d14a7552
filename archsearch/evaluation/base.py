"""The `Evaluator` interface: architecture in, `Result` out.

Evaluators are plug-ins (`EVALUATORS`), chosen by name in the run configuration and built from
a `Context`: the space, the task, and the train and validation splits only — the test split
never reaches an evaluator. Whatever an evaluator learns while a search runs (a pruner's
curves, a supernet's weights) is its `state_dict`, saved with the strategy's after every trial
so that a resumed search continues with it.

An evaluator learns from finished trials in `observe`, which the search loop calls in the
driver process once the trial is recorded. Parallel executors run copies of the evaluator in
worker processes and send each copy the driver's current `state_dict` with every trial, so a
small state (a pruner's curves) reaches the workers; an evaluator whose state is too big to
send (a supernet) sets `parallel_safe = False` and runs only in the driver (`--executor inline`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from archsearch.evaluation.result import Result
from archsearch.options import Options, parse_options
from archsearch.spaces.base import Architecture, Space
from archsearch.tasks.base import Task

if TYPE_CHECKING:
    from archsearch.data.dataset import Dataset
    from archsearch.evaluation.rewards import CostTargets
    from archsearch.evaluation.trainer import TrainConfig


@dataclass
class Context:
    """What an evaluator may use. `data` holds no test split (`x_test` is None); `train` is
    how children are trained and `reward` how a learning curve becomes a reward; `prune`
    names the pruner (`pruners.py`) that may stop a child's training early, with its
    `prune_options`."""

    space: Space
    task: Task
    data: Dataset | None = None
    train: TrainConfig | None = None
    reward: str = "val_score"
    prune: str = "none"
    prune_options: dict[str, Any] = field(default_factory=dict)
    #: The run's `--objectives` (`objectives.py`); with more than accuracy, every child's
    #: `accuracy`, `flops` and `latency_ms` are recorded too (`cost.py`).
    objectives: tuple[str, ...] = ("accuracy",)
    #: Cost targets that scale the reward (`rewards.CostTargets`), or None for none.
    costs: CostTargets | None = None

    @property
    def multiobjective(self) -> bool:
        """Whether the run has objectives beyond accuracy (children's costs are measured)."""
        return len(self.objectives) > 1 or bool(self.costs and self.costs.targets)


class TimeUp(Exception):
    """Raised by an evaluator that stopped because the search's time limit (`deadline`)
    passed: the trial is not a result and is tried again if the search is resumed."""


class Evaluator(ABC):
    """Turns an architecture into a `Result`. Must never raise for a bad architecture: a
    network that cannot be built or trained is a failed `Result` with its reason. An
    evaluator that can stop part-way should raise `TimeUp` once `time.monotonic()` passes
    `deadline` (set by the search loop when the search has a time limit)."""

    name: ClassVar[str]
    Options: ClassVar[type] = Options
    #: Whether copies in worker processes may evaluate (its state is small enough to send
    #: with every trial); False keeps it in the driver, with the inline executor.
    parallel_safe: ClassVar[bool] = True
    #: Whether scoring an architecture again may give another result because the evaluator
    #: changed meanwhile (a supernet still training): the loop then never answers a repeat
    #: proposal from the ledger, it scores it again.
    rescores: bool = False
    deadline: float | None = None

    def __init__(self, context: Context, **options: Any) -> None:
        if context.data is not None and context.data.x_test is not None:
            raise ValueError("an evaluator must not hold the test split: pass data.without_test()")
        self.context = context
        self.task = context.task
        self.options = parse_options(f"evaluator {self.name}", self.Options, options)

    @abstractmethod
    def evaluate(self, arch: Architecture, seed: int) -> Result:
        """Evaluate `arch`; `seed` fixes every random choice of the evaluation."""

    def observe(self, arch: Architecture, result: Result) -> None:
        """Learn from a recorded trial (in the driver process; default: nothing)."""

    def failed(self, reason: str, **metrics: float) -> Result:
        """A failed result with the task's failed reward."""
        return Result.failed(reason, self.task.failed_reward, **metrics)

    def state_dict(self) -> dict[str, Any]:
        """What the evaluator learned so far (tensors and plain data, as for strategies)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a `state_dict`."""
