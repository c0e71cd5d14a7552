"""The `Task` interface: what a network learns, how it is scored, what a failure is worth.

A task owns everything that differs between classification, regression and reconstruction:
the output a space builds for (`OutputSpec`), the training loss, the metrics accumulated over
batches and their direction, the primary score rewards are made from, the reward of a failed
child (always below every working one), and the final scores on the test split.

Every task's primary score is higher-is-better (accuracy, R²), so rewards, early stopping and
"best" mean the same thing for all of them.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

MAX, MIN = "max", "min"


@dataclass(frozen=True)
class OutputSpec:
    """The output a network must produce per sample: a vector of `shape[0]` numbers
    (class logits, regression targets) or an array of the input's shape (reconstruction).
    `latent`: the network also outputs a latent Gaussian's mean and log-variance, as the
    tuple (output, mu, logvar) of a VAE."""

    shape: tuple[int, ...]
    latent: bool = False

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def is_vector(self) -> bool:
        return len(self.shape) == 1


class Task(ABC):
    """What is learned and how it is scored. Subclasses set the class attributes and
    implement the methods; an instance holds what it needs of one dataset."""

    name: ClassVar[str]
    #: The primary validation metric (higher is better); rewards are made from it.
    score: ClassVar[str]
    #: Every metric the task reports, with whether higher ("max") or lower ("min") is better.
    directions: ClassVar[dict[str, str]]
    #: The lowest reward a working child can get; scores below it are clipped to it.
    reward_floor: ClassVar[float]
    #: Whether the targets are the inputs themselves (an autoencoder's).
    targets_are_inputs: ClassVar[bool] = False
    #: What an ensemble of networks averages: "outputs", or "probabilities" (of classes).
    ensemble_average: ClassVar[str] = "outputs"

    @property
    def failed_reward(self) -> float:
        """The reward of a child that could not be built or trained: below every working
        child's (the floor), by a tenth of the reward range (working rewards lie in
        [floor, 1]), so one failure does not dominate a policy-gradient batch."""
        return self.reward_floor - 0.1 * (1.0 - self.reward_floor)

    @abstractmethod
    def output_spec(self) -> OutputSpec:
        """What a network for this task outputs per sample."""

    @abstractmethod
    def loss(
        self, outputs: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0
    ) -> torch.Tensor:
        """The mean training loss of a batch."""

    @abstractmethod
    def batch_sums(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Sums over one batch that `metrics` turns into metrics; they stay on the device and
        are added across batches (reading them every step would stall a GPU)."""

    @abstractmethod
    def metrics(self, sums: dict[str, torch.Tensor], count: int) -> dict[str, float]:
        """The metrics (keys of `directions`) of `count` samples from their summed
        `batch_sums`."""

    def test_scores(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """The final scores on the test split, each named `test_<metric>`."""
        sums = self.batch_sums(outputs, targets)
        return {f"test_{k}": v for k, v in self.metrics(sums, len(targets)).items()}

    def to_json(self) -> dict[str, Any]:
        """What recreates this task (saved with models)."""
        return {"name": self.name}
