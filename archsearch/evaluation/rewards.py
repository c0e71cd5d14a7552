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
}


def check_reward(name: str, task: Task) -> None:
    """`ValueError` unless reward `name` exists and applies to `task`."""
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; choose one of: {', '.join(REWARDS)}")
    if name == "zoph" and task.name != "classification":
        raise ValueError(f"the zoph reward cubes an accuracy; the {task.name} task has none")
