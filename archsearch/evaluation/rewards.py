"""Rewards: how a child's learning curve and metrics become the number a strategy maximises.

A reward sees the curve (one dict per epoch with `val_<metric>` entries), the child's metrics
(params, seconds, ...) and the task, whose primary score (`task.score`: accuracy, R²) is
higher-is-better. The evaluator clips every reward to the task's floor, so a failed child's
reward stays below every working one.

Example:
    >>> from archsearch.tasks.classification import Classification
    >>> curve = [{"val_accuracy": 0.5}, {"val_accuracy": 0.9}, {"val_accuracy": 0.8}]
    >>> REWARDS["val_score"](curve, {}, Classification(10))
    0.8
    >>> REWARDS["best_val_score"](curve, {}, Classification(10))
    0.9
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from archsearch.evaluation.generative_rewards import GENERATIVE_REWARDS, NEEDS
from archsearch.evaluation.objectives import METRICS
from archsearch.tasks.base import Task

Curve = Sequence[Mapping[str, float]]
Reward = Callable[[Curve, Mapping[str, float], Task], float]


def val_score(curve: Curve, metrics: Mapping[str, float], task: Task) -> float:
    """The task's validation score after the last epoch."""
    return float(curve[-1][f"val_{task.score}"])


def best_val_score(curve: Curve, metrics: Mapping[str, float], task: Task) -> float:
    """The task's best validation score over the epochs."""
    return float(max(point[f"val_{task.score}"] for point in curve))


def zoph(curve: Curve, metrics: Mapping[str, float], task: Task) -> float:
    """Zoph & Le (2016): the maximum validation accuracy of the last 5 epochs, cubed."""
    if task.name != "classification":
        raise ValueError(f"the zoph reward cubes an accuracy; the {task.name} task has none")
    return float(max(point["val_accuracy"] for point in curve[-5:]) ** 3)


REWARDS: dict[str, Reward] = {
    "val_score": val_score,
    "best_val_score": best_val_score,
    "zoph": zoph,
    **GENERATIVE_REWARDS,
}


def check_reward(name: str, task: Task) -> None:
    """`ValueError` unless reward `name` exists and applies to `task`."""
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; choose one of: {', '.join(REWARDS)}")
    if name == "zoph" and task.name != "classification":
        raise ValueError(f"the zoph reward cubes an accuracy; the {task.name} task has none")
    if name in NEEDS and NEEDS[name] not in task.directions:
        raise ValueError(
            f"the {name} reward needs a VAE's {NEEDS[name]}; the {task.name} task has none "
            "(use --task vae with --space vae)"
        )


@dataclass(frozen=True)
class CostTargets:
    """A scalarised reward: one number that trades the score against the costs with a target
    (`params`, `flops`, `latency`), so that every strategy can search for it. `weight` is w
    (< 0: a dearer child scores less). `mode`:

    - `soft`: MnasNet (Tan et al., 2019), the score times (cost / target)^w for each cost,
      w on both sides of the target (the paper's -0.07: twice the cost costs about 5% of the
      score, half the cost earns about 5%);
    - `hard`: MnasNet's hard constraint, w = 0 below the target (no bonus for being cheaper)
      and w above it (the paper uses -1);
    - `linear`: MONAS-style (Hsu et al., 2018), the score plus w x (cost / target - 1) for
      each cost: a penalty linear in the cost, zero on target.

    The MnasNet factor scales the score's height above the task's floor, `floor + (score -
    floor) x factor`: exactly MnasNet's `accuracy x factor` for classification (floor 0), and
    a regression's R² (floor -1) stays ordered the same way. Every mode's result is clipped
    to the floor, so a failed child's reward stays below every working one.

    Example:
        >>> from archsearch.tasks.classification import Classification
        >>> costs = CostTargets({"params": 1000.0}, weight=-0.5)
        >>> costs.scalarise(0.8, {"params": 4000.0}, Classification(10))
        0.4
    """

    targets: Mapping[str, float] = field(default_factory=dict)
    weight: float = -0.07
    mode: str = "soft"

    def ratios(self, metrics: Mapping[str, float]) -> list[float]:
        """cost / target of each targeted cost (kept above 0 for the powers)."""
        return [
            max(float(metrics[METRICS[name]]) / target, 1e-12)
            for name, target in self.targets.items()
        ]

    def factor(self, metrics: Mapping[str, float]) -> float:
        """MnasNet's product over targeted costs of (cost / target)^w (w = 0 below the target
        when hard)."""
        product = 1.0
        for ratio in self.ratios(metrics):
            exponent = 0.0 if self.mode == "hard" and ratio <= 1 else self.weight
            product *= ratio**exponent
        return product

    def scalarise(self, score: float, metrics: Mapping[str, float], task: Task) -> float:
        """The reward of a working child whose cost-free reward is `score`."""
        floor = task.reward_floor
        if self.mode == "linear":
            reward = score + self.weight * sum(r - 1 for r in self.ratios(metrics))
        else:
            reward = floor + (score - floor) * self.factor(metrics)
        return max(reward, floor)


def objective_reward(
    score: float, metrics: dict[str, float], task: Task, costs: CostTargets | None
) -> float:
    """The reward of a working child of a multi-objective run whose cost-free reward is
    `score`: records `score` as its `accuracy` metric (the objective of that name) and scales
    it by `costs` when there are cost targets."""
    metrics["accuracy"] = score
    if costs is None or not costs.targets:
        return max(score, task.reward_floor)
    return costs.scalarise(score, metrics, task)


#: How a cost above or below its target scales the reward (see `CostTargets`).
CONSTRAINTS = ("soft", "hard", "linear")


def cost_targets(
    objectives: Sequence[str],
    targets: Mapping[str, float | None],
    weight: float = -0.07,
    constraint: str = "soft",
) -> CostTargets:
    """The `CostTargets` of a run: `targets` maps costs (params, flops, latency) to a target
    or None (no target); each cost with a target must be one of the run's `objectives`.
    `ValueError` in one line for a target that is not positive, a cost that is not an
    objective, a weight that is not negative, or an unknown constraint."""
    if constraint not in CONSTRAINTS:
        choices = ", ".join(CONSTRAINTS)
        raise ValueError(f"unknown cost constraint {constraint!r}; choose one of: {choices}")
    given = {name: float(t) for name, t in targets.items() if t is not None}
    for name, target in given.items():
        if not target > 0:
            raise ValueError(f"--target-{name} must be positive, got {target:g}")
        if name not in objectives:
            raise ValueError(
                f"--target-{name} needs {name} among the objectives: add it to --objectives"
            )
    if given and not weight < 0:
        raise ValueError(
            f"--cost-weight must be negative (a dearer child scores less), got {weight:g}"
        )
    return CostTargets(given, weight, constraint)
