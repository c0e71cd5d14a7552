"""Random sampling with parameter sharing (RSPS; Li & Talwalkar, 2019).

The simplest one-shot search and the baseline every other is measured against: each weight
step trains one architecture sampled uniformly from the space (its path through the
supernet); `derive` samples `derive_samples` architectures and keeps the one with the best
validation score on the shared weights (NAS-Bench-201 scored 100 samples). The same trained
supernet scores any strategy's proposals through the shared-weights evaluator
(`archsearch.evaluation.shared_weights`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from archsearch.oneshot.base import OneShot
from archsearch.oneshot.guards import free_count
from archsearch.oneshot.weights import WEIGHT_LIMITS, WeightOptions, WeightTrainer
from archsearch.spaces.base import Architecture

__all__ = ["RandomSharing", "RandomSharingOptions"]


@dataclass
class RandomSharingOptions(WeightOptions):
    """The weights' optimiser (`WeightOptions`); `derive_samples` architectures scored by
    `derive` on `derive_rows` validation rows (None: all); `max_free`: derive samples only
    architectures with at most that many parameter-free operations (P-DARTS's cap, the
    control for ENAS's and DARTS's; None: any)."""

    derive_samples: int = 100
    derive_rows: int | None = None
    max_free: int | None = None
    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        **WEIGHT_LIMITS,
        "derive_samples": (1, 1_000_000, True),
        "derive_rows": (1, 10**12, True),
        "max_free": (0, 1_000_000, True),
    }


class RandomSharing(OneShot):
    """Uniform path sampling on a shared supernet; the best of many samples derived."""

    name = "rsps"
    Options = RandomSharingOptions

    def setup(self) -> None:
        """The supernet, the weights' trainer."""
        self.supernet = self.make_supernet()
        self.w_train = WeightTrainer(self.supernet, self.options, self.train.epochs)
        self.notice = self.fit_memory(self.supernet, self.space.sample(random.Random(self.seed)))

    def epoch(self) -> dict[str, float]:
        """One pass over the training split, one uniformly sampled architecture per batch."""
        self.supernet.train()
        losses = [self.train_step(x, y) for x, y in self.batches("train")]
        self.w_train.end_epoch()
        self.epochs_done += 1
        return {"train_loss": float(sum(losses)) / max(len(losses), 1), "lr": self.w_train.lr}

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One weight step of a uniformly sampled architecture."""
        arch = self.space.sample(self.rng)
        return self.w_train.step(self.loss(self.supernet(x, arch), y))

    def derive(self) -> Architecture:
        """The best of `derive_samples` sampled architectures by validation score (drawn from
        a generator of their own, so that deriving does not change the search's course)."""
        rng = random.Random(f"{self.seed}-derive-{self.epochs_done}")
        candidates = [self.candidate(rng) for _ in range(self.options.derive_samples)]
        rows = self.options.derive_rows
        scores = [
            self.score(self.supernet, arch, rows=rows)[self.task.score] for arch in candidates
        ]
        return candidates[max(range(len(candidates)), key=scores.__getitem__)]

    def candidate(self, rng: random.Random) -> Architecture:
        """A uniform sample of the space, or with `max_free` of its part with at most that
        many parameter-free operations (by rejection, so uniform there too)."""
        limit = self.options.max_free
        for _ in range(100_000):
            arch = self.space.sample(rng)
            if limit is None or free_count(arch) <= limit:
                return arch
        raise ValueError(
            f"rsps: no sampled architecture has at most max_free={limit} parameter-free "
            "operations; raise max_free"
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "supernet": self.supernet.state_dict(),
            "weights": self.w_train.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.supernet.load_state_dict(state["supernet"])
        self.w_train.load_state_dict(state["weights"])
