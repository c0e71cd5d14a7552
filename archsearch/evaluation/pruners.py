"""Pruners: stop a child's training at an epoch checkpoint when its learning curve compares
badly with the curves of earlier children (`--prune`, plug-ins like Optuna's pruners).

A pruner sees validation scores only (the task's score, higher is better: accuracy, R²). It
learns from every recorded trial in `observe` (called by the training evaluator's `observe`,
in the search's driver process) and keeps what it learned as `history`: one small entry of
plain floats per trial, which is the evaluator's `state_dict`, saved with the ledger's state
(so it survives resume) and sent to parallel workers with every trial.

After each epoch but the last the training evaluator asks `check(scores, features, cost)`; a
non-empty answer is the reason the child stops, and the child is recorded with status
`pruned` and its partial curve. `cost` is the child's forward FLOPs per sample, computed only
for a pruner that `needs_cost` (ASHA with `resource=flops`).

Reward of a pruned child (`cap`): the run's reward computed on its partial curve, but never
above the reward of any finished child that scored at least as well at the epoch where the
pruned child stopped. A pruned child therefore never ranks above a finished child that was
better when the two were compared, and a strategy still learns that it was poor. A pruned
child is never the search's best (the ledger's best is a finished trial).

Plug-ins: `none` (never stops), `median` (below the median of earlier finished children at
the same epoch), `asha` (asynchronous successive halving: outside the top 1/eta at a rung),
and `predictor` (Baker et al. 2017, in `predictors.py`). ASHA counts its rungs in epochs, or
with `resource=flops` in training compute, so that a costly child must earn its compute.
"""

from __future__ import annotations

import math
import statistics
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from archsearch.evaluation.result import OK
from archsearch.options import Options, parse_options
from archsearch.registry import Registry

__all__ = [
    "PRUNERS",
    "AshaPruner",
    "MedianPruner",
    "NoPruner",
    "Pruner",
    "get_pruner",
]

History = list[dict[str, Any]]


class Pruner(ABC):
    """Decides after each epoch whether a running child stops. `epochs` is a child's full
    training length; `history` holds one entry per earlier trial: its validation `scores`
    per epoch, `status` (ok or pruned), `reward`, (when `needs_features`) `features` and (when
    `needs_cost`) `cost`."""

    name: ClassVar[str]
    Options: ClassVar[type] = Options
    #: Whether `check` and `observe` need the architecture's features (encoding, params).
    needs_features: ClassVar[bool] = False
    #: Whether `check` and `observe` need the child's cost (forward FLOPs per sample).
    needs_cost: bool = False

    def __init__(self, epochs: int, **options: Any) -> None:
        self.epochs = epochs
        self.options = parse_options(f"pruner {self.name}", self.Options, options)
        self.history: History = []

    @abstractmethod
    def check(
        self, scores: Sequence[float], features: Sequence[float] = (), cost: float = 0.0
    ) -> str:
        """Why the child whose validation scores so far are `scores` (one per epoch) should
        stop now, or "" to let it train on."""

    def observe(
        self,
        scores: Sequence[float],
        status: str,
        reward: float,
        features: Sequence[float] = (),
        cost: float = 0.0,
    ) -> None:
        """Remember a recorded trial's curve (finished or pruned)."""
        entry: dict[str, Any] = {
            "scores": [float(s) for s in scores],
            "status": status,
            "reward": float(reward),
        }
        if self.needs_features:
            entry["features"] = [float(f) for f in features]
        if self.needs_cost:
            entry["cost"] = float(cost)
        self.history.append(entry)

    def finished(self) -> History:
        """The earlier trials that trained to the end."""
        return [h for h in self.history if h["status"] == OK]

    def cap(self, reward: float, scores: Sequence[float]) -> float:
        """The reward of a child pruned with validation `scores`: `reward` (from its partial
        curve), but no higher than any finished child's that scored at least as well at
        the epoch where it stopped."""
        epoch = len(scores)
        better = [
            h["reward"]
            for h in self.finished()
            if len(h["scores"]) >= epoch and h["scores"][epoch - 1] >= scores[-1]
        ]
        return min([reward, *better])

    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(h) for h in self.history]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.history = [dict(h) for h in state.get("history", [])]


class NoPruner(Pruner):
    """Never stops a child (the default); remembers nothing."""

    name = "none"

    def check(
        self, scores: Sequence[float], features: Sequence[float] = (), cost: float = 0.0
    ) -> str:
        return ""

    def observe(self, *args: Any, **kwargs: Any) -> None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {}


@dataclass
class MedianOptions(Options):
    """`warmup_epochs`: epochs a child always trains; `min_trials`: finished children that
    must have reached an epoch before a child is compared there."""

    warmup_epochs: int = 2
    min_trials: int = 5
    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        "warmup_epochs": (0, 1_000_000, True),
        "min_trials": (1, 1_000_000, True),
    }


class MedianPruner(Pruner):
    """Optuna's median rule: after epoch t (past the warm-up), stop a child whose best score
    up to t is below the median of the best scores up to t of the earlier finished children
    (at least `min_trials` of them). Stops about half of the children that would end below
    the median, at no risk to any child that leads at every epoch."""

    name = "median"
    Options = MedianOptions

    def check(
        self, scores: Sequence[float], features: Sequence[float] = (), cost: float = 0.0
    ) -> str:
        epoch = len(scores)
        if epoch <= self.options.warmup_epochs:
            return ""
        others = [max(h["scores"][:epoch]) for h in self.finished() if len(h["scores"]) >= epoch]
        if len(others) < self.options.min_trials:
            return ""
        median = statistics.median(others)
        if max(scores) < median:
            return (
                f"pruned at epoch {epoch}: best score {max(scores):.4f} below the median "
                f"{median:.4f} of {len(others)} earlier children"
            )
        return ""


@dataclass
class AshaOptions(Options):
    """`min_epochs`: the first rung; `eta`: the reduction factor (rungs at min_epochs x
    eta^k, the top 1/eta of each rung trains on); `min_trials`: earlier children that must
    have reached a rung before a child is compared there; `resource`: what the rungs count,
    `epochs` or `flops` (epochs of a child of the earlier children's median FLOPs)."""

    min_epochs: int = 1
    eta: int = 3
    min_trials: int = 3
    resource: str = "epochs"
    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        "min_epochs": (1, 1_000_000, True),
        "eta": (2, 1_000, True),
        "min_trials": (1, 1_000_000, True),
    }


RESOURCES = ("epochs", "flops")


class AshaPruner(Pruner):
    """Asynchronous successive halving (Li et al. 2018), in its stopping form: the rungs are
    min_epochs x eta^k units of training below a child's full training. At a rung, a child's
    score joins the scores there of every earlier child that reached the rung; it trains on
    only if it is among the best max(1, n // eta) of those n scores. Before `min_trials`
    earlier children reached a rung, every child passes it.

    With `resource=epochs` (the default) a unit is one epoch of any child. With
    `resource=flops` it is one epoch's compute of a child of the earlier children's median
    forward FLOPs (the resource of Hyperband counted in compute, not time, so that the same
    seed prunes the same children on any machine). A child 10x that cost passes rungs 1, 3
    and 9 in its first epoch, compared with what the others scored after that much compute
    (a finished child that needed less counts with its final score). A costly child must
    then lead on compute to go on: the search sees more children, biased to cheap ones."""

    name = "asha"
    Options = AshaOptions

    def __init__(self, epochs: int, **options: Any) -> None:
        super().__init__(epochs, **options)
        if self.options.resource not in RESOURCES:
            raise ValueError(
                f"pruner asha option resource={self.options.resource!r} is not one of "
                f"{', '.join(RESOURCES)}"
            )
        self.needs_cost = self.options.resource == "flops"

    def rungs(self, below: float | None = None) -> list[int]:
        """The rungs in units of training, in order, below `below` (the full training)."""
        below = self.epochs if below is None else below
        out, rung = [], self.options.min_epochs
        while rung < below:
            out.append(rung)
            rung *= self.options.eta
        return out

    def check(
        self, scores: Sequence[float], features: Sequence[float] = (), cost: float = 0.0
    ) -> str:
        if self.needs_cost:
            return self._check_compute(scores, cost)
        epoch = len(scores)
        if epoch not in self.rungs():
            return ""
        earlier = [h["scores"][epoch - 1] for h in self.history if len(h["scores"]) >= epoch]
        return self._judge(scores[-1], earlier, f"rung epoch {epoch}")

    def _check_compute(self, scores: Sequence[float], cost: float) -> str:
        """`check` with rungs counted in compute: every rung this epoch crossed."""
        costs = [h["cost"] for h in self.history if h.get("cost", 0.0) > 0]
        if not costs or cost <= 0:
            return ""
        unit, epoch = statistics.median(costs), len(scores)
        for rung in self.rungs(self.epochs * cost / unit):
            if (epoch - 1) * cost < rung * unit <= epoch * cost:
                earlier = [s for h in self.history if (s := _score_at(h, rung * unit)) is not None]
                reason = self._judge(scores[-1], earlier, f"rung {rung:g} (epoch {epoch})")
                if reason:
                    return reason
        return ""

    def _judge(self, score: float, earlier: list[float], where: str) -> str:
        """Why `score` is outside the top 1/eta of itself and `earlier` at a rung, or ""."""
        if len(earlier) < self.options.min_trials:
            return ""
        rung = sorted([*earlier, score], reverse=True)
        keep = max(1, len(rung) // self.options.eta)
        if score < rung[keep - 1]:
            return (
                f"pruned at {where}: score {score:.4f} not in the top {keep} of "
                f"{len(rung)} children there (>= {rung[keep - 1]:.4f})"
            )
        return ""


def _score_at(entry: Mapping[str, Any], compute: float) -> float | None:
    """An earlier child's score once it had trained `compute` (epochs x FLOPs): at the first
    epoch that reached it, its final score if it finished with less, None if it stopped
    short (pruned) or has no cost."""
    cost, scores = entry.get("cost", 0.0), entry["scores"]
    if cost <= 0:
        return None
    epoch = math.ceil(compute / cost - 1e-9)
    if epoch <= len(scores):
        return scores[max(epoch, 1) - 1]
    return scores[-1] if entry["status"] == OK else None


PRUNERS: Registry[Pruner] = Registry("pruner", "archsearch.evaluation", Pruner)


def get_pruner(name: str, epochs: int, options: Mapping[str, Any] | None = None) -> Pruner:
    """The pruner `name` for children trained `epochs` epochs; `ValueError` for unknown
    names or options."""
    return PRUNERS.get(name)(epochs, **dict(options or {}))
