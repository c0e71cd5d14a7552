"""ENAS (Pham et al. 2018): one-shot search with a REINFORCE controller over a supernet.

Each search epoch alternates ENAS's two phases:

1. **shared weights** — for each training mini-batch, the controller samples one architecture
   and the supernet takes one optimiser step on the task's loss of that architecture (the
   run's optimiser, learning rate and schedule, gradient norm clipped to 5 as in the paper);
2. **controller** — the controller samples architectures; each one's reward is the task's
   score (accuracy) of the supernet running it on one validation mini-batch, the shared
   weights fixed (BatchNorm normalising by the batch's statistics, as ENAS's code did); every
   `batch_size` rewards the controller takes one REINFORCE step.

The controller is the `reinforce` strategy's LSTM controller itself (`Reinforce.propose` and
`learn`), with ENAS's settings: one LSTM layer of 100 units, logits divided by temperature 5
and squashed to 2.5 tanh, entropy bonus 1e-4, the KL penalty (weight 0.8) that pulls each
skip connection's probability towards 0.4, Adam 3.5e-4. `derive` samples `derive_samples`
architectures from the controller and keeps the one with the best score on one validation
mini-batch, as the paper does before retraining it from scratch.

The collapse guard, on by default (`guard="cap"`): each derive sample keeps at most `max_free`
(2) parameter-free operations, P-DARTS's cap as in DARTS's `cap` guard. NAS-Bench-201's ENAS
derived the all-skip cell; measured on nb201 (docs/oneshot.md), the cap is what keeps ENAS's
cells out of that region. `guard="none"` derives as the paper does. `derive_batches` (off by
default) scores every sample on the same N mini-batches instead of one each, which makes the
pick less of a batch-noise lottery.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from itertools import islice
from typing import Any, ClassVar

import torch
from torch import nn

from archsearch.evaluation.result import Result
from archsearch.evaluation.trainer import _optimizer, lr_factor
from archsearch.oneshot.base import OneShot, batch_statistics
from archsearch.oneshot.guards import PARAMETER_FREE, check_guard
from archsearch.options import Options as BaseOptions
from archsearch.spaces.base import Architecture, Categorical
from archsearch.strategies.reinforce import Options as ReinforceOptions
from archsearch.strategies.reinforce import Reinforce

__all__ = ["ENAS", "Options"]

#: ENAS's collapse guards: P-DARTS's cap at derive, or none
GUARDS = ("cap", "none")

#: Options passed on to the controller (the `reinforce` strategy), by name.
CONTROLLER = (
    "lstm_layers",
    "hidden",
    "lr",
    "batch_size",
    "baseline_decay",
    "entropy_weight",
    "temperature",
    "tanh_constant",
    "skip_target",
    "skip_weight",
)


@dataclasses.dataclass
class Options(BaseOptions):
    """ENAS's knobs: the controller's (the paper's values; see `reinforce` for each), how
    many steps each phase takes per epoch, and how many samples `derive` scores."""

    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        **{key: ReinforceOptions.limits[key] for key in CONTROLLER},
        "weight_steps": (1, 10**9, True),
        "controller_steps": (0, 10**9, True),
        "derive_samples": (1, 10**6, True),
        "derive_batches": (1, 10**6, True),
        "max_free": (0, 10**6, True),
        "weight_grad_clip": ((0.0,), 1e9, False),
    }
    lstm_layers: int = 1  # the paper: one LSTM layer
    hidden: int = 100  # of 100 units
    lr: float = 3.5e-4  # Adam learning rate of the controller
    batch_size: int = 20  # architectures per controller step (ENAS's code aggregated 20)
    baseline_decay: float = 0.95  # EMA decay of the reward baseline, per reward
    entropy_weight: float = 1e-4  # entropy bonus
    temperature: float | None = 5.0  # sampling logits divided by this
    tanh_constant: float | None = 2.5  # then squashed to 2.5 * tanh
    skip_target: float | None = 0.4  # prior probability of a skip connection
    skip_weight: float = 0.8  # weight of the KL penalty towards it
    weight_steps: int | None = None  # shared-weight steps per epoch; None: one pass of train
    controller_steps: int = 50  # controller steps per epoch (ENAS's code: 50)
    derive_samples: int = 100  # architectures `derive` samples and scores
    # None: each derive sample scored on its own next validation mini-batch (the paper's);
    # N: every sample scored on the same N mini-batches (a fair comparison, less noise)
    derive_batches: int | None = None
    # the collapse guard: "cap" (P-DARTS's: derive keeps at most `max_free` parameter-free
    # operations, pooling, skip or none, per sample, the rest replaced by operations with
    # weights) or "none" (the paper's derive)
    guard: str = "cap"
    max_free: int = 2
    weight_grad_clip: float | None = 5.0  # clip the shared weights' gradient norm


class ENAS(OneShot):
    """ENAS: a supernet trained on controller samples, a controller trained on its rewards."""

    name = "enas"
    Options = Options

    def setup(self) -> None:
        """The supernet, the controller and the weights' optimiser."""
        o = self.options
        check_guard(o.guard, GUARDS)
        given = {key: getattr(o, key) for key in CONTROLLER}
        self.controller = Reinforce(self.space, self.seed, **given)
        self.supernet = self.make_supernet()
        #: the shared weights, listed once (walking the supernet every step costs ~ms)
        self.params = list(self.supernet.parameters())
        self.optimizer = _optimizer(self.supernet, self.train)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self.lr_factor)

    def lr_factor(self, step: int) -> float:
        """The run's schedule at weight step `step`, for the steps an epoch takes at the
        current batch size (the driver may lower it to fit memory after construction)."""
        steps = self.options.weight_steps or math.ceil(len(self.data.y_train) / self.batch_size)
        return lr_factor(self.train, int(steps))(step)

    # -- the two phases --------------------------------------------------------------------------
    def epoch(self) -> dict[str, float]:
        """One epoch: shared-weight steps, then controller steps. Returns the mean training
        loss, the mean controller reward, the controller's entropy and baseline, seconds."""
        start = time.perf_counter()
        loss = self.train_weights()
        rewards = self.train_controller()
        self.epochs_done += 1
        stats = {"train_loss": loss, "seconds": time.perf_counter() - start}
        if rewards:
            stats["reward"] = sum(rewards) / len(rewards)
        return stats | self.controller.stats()

    def train_weights(self) -> float:
        """Shared-weight steps, one controller sample per mini-batch; the mean loss."""
        self.supernet.train()
        total, steps = torch.zeros((), device=self.device), 0
        limit = self.options.weight_steps
        while limit is None or steps < limit:
            for xb, yb in self.batches("train"):
                arch = self.sample()
                loss = self.loss(self.supernet(xb, arch), yb)
                self.optimizer.zero_grad()
                loss.backward()
                if self.options.weight_grad_clip is not None:
                    nn.utils.clip_grad_norm_(self.params, self.options.weight_grad_clip)
                self.optimizer.step()
                self.scheduler.step()
                total, steps = total + loss.detach(), steps + 1  # read once, at the end
                if limit is not None and steps >= limit:
                    break
            if limit is None:
                break
        return float(total) / max(steps, 1)

    def train_controller(self) -> list[float]:
        """`controller_steps` REINFORCE steps, each on `batch_size` sampled architectures
        rewarded on one validation mini-batch each; the rewards."""
        rewards: list[float] = []
        count = self.options.controller_steps * self.options.batch_size
        batches = self.val_batches()
        with batch_statistics(self.supernet):
            for _ in range(count):
                arch = self.sample()
                reward = self.reward(arch, next(batches))
                self.controller.learn(arch, Result(reward))
                rewards.append(reward)
        return rewards

    @torch.no_grad()
    def reward(self, arch: Architecture, batch: tuple[torch.Tensor, torch.Tensor]) -> float:
        """The task's score of the supernet running `arch` on one mini-batch (BatchNorm with
        the batch's statistics, running ones untouched). Tests replace it with a known
        function."""
        xb, yb = batch
        with batch_statistics(self.supernet):
            sums = self.task.batch_sums(self.supernet(xb, arch).float(), yb)
        return float(self.task.metrics(sums, len(yb))[self.task.score])

    def val_batches(self) -> Any:
        """Validation mini-batches in a seeded order, endlessly (a new order per pass)."""
        while True:
            yield from self.batches("val")

    def sample(self) -> Architecture:
        """One architecture from the controller (its seeded generator)."""
        return self.controller.propose()

    # -- the answer ------------------------------------------------------------------------------
    def derive(self) -> Architecture:
        """The best of `derive_samples` controller samples (each capped to `max_free`
        parameter-free operations by the default guard), scored on one validation mini-batch each
        as in the paper, or all on the same `derive_batches` mini-batches. Derive does not
        move the search's random state: the same batches and samples after every call."""
        generator_state = self.generator.get_state()
        controller_state = self.controller.generator.get_state()
        try:
            return self._best_sample()
        finally:
            self.generator.set_state(generator_state)
            self.controller.generator.set_state(controller_state)

    def _best_sample(self) -> Architecture:
        o = self.options
        batches = self.val_batches()
        shared = None if o.derive_batches is None else list(islice(batches, int(o.derive_batches)))
        best: tuple[float, Architecture] | None = None
        with batch_statistics(self.supernet):
            for _ in range(o.derive_samples):
                arch = self.capped(self.sample())
                chosen = shared or [next(batches)]
                score = sum(self.reward(arch, batch) for batch in chosen) / len(chosen)
                if best is None or score > best[0]:
                    best = (score, arch)
        assert best is not None
        return best[1]

    def capped(self, arch: Architecture) -> Architecture:
        """`arch` with at most `max_free` parameter-free operations (P-DARTS's cap, as DARTS's
        `cap` guard): the free picks the controller finds most probable are kept, every other
        one takes the operation with weights the controller finds most probable there.
        Unchanged with `guard="none"`."""
        limit = self.options.max_free
        free = [
            d
            for d in self.space.decisions
            if isinstance(d, Categorical) and str(arch.get(d.name)) in PARAMETER_FREE
        ]
        if self.options.guard == "none" or len(free) <= limit:
            return arch
        probs = self.controller.probabilities(arch)

        def prob(decision: Categorical, choice: Any) -> float:
            return probs[decision.name][decision.choices.index(choice)]

        kept = sorted(free, key=lambda d: prob(d, arch[d.name]), reverse=True)[: int(limit)]
        values = arch.as_dict()
        for decision in free:
            weighted = [c for c in decision.choices if str(c) not in PARAMETER_FREE]
            if decision not in kept and weighted:
                values[decision.name] = max(weighted, key=lambda c: prob(decision, c))
        return Architecture(arch.space, tuple(values.items()))

    # -- resume ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "controller": self.controller.state_dict(),
            "supernet": self.supernet.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.controller.load_state_dict(state["controller"])
        self.supernet.load_state_dict(state["supernet"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
