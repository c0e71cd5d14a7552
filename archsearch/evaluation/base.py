"""The `Evaluator` interface: architecture in, `Result` out.

Evaluators are plug-ins (`EVALUATORS`), chosen by name in the run configuration and built from
a `Context`: the space, the task, and the train and validation splits only — the test split
never reaches an evaluator. Whatever an evaluator learns while a search runs (a pruner's
curves, a supernet's weights) is its `state_dict`, saved with the strategy's after every trial
so that a resumed search continues with it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from archsearch.evaluation.result import Result
from archsearch.options import Options, parse_options
from archsearch.spaces.base import Architecture, Space
from archsearch.tasks.base import Task

if TYPE_CHECKING:
    from archsearch.data.dataset import Dataset
    from archsearch.evaluation.trainer import TrainConfig


@dataclass
class Context:
    """What an evaluator may use. `data` holds no test split (`x_test` is None); `train` is
    how children are trained and `reward` how a learning curve becomes a reward."""

    space: Space
    task: Task
    data: Dataset | None = None
    train: TrainConfig | None = None
    reward: str = "val_score"


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

    def failed(self, reason: str, **metrics: float) -> Result:
        """A failed result with the task's failed reward."""
        return Result.failed(reason, self.task.failed_reward, **metrics)

    def state_dict(self) -> dict[str, Any]:
        """What the evaluator learned so far (tensors and plain data, as for strategies)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a `state_dict`."""
