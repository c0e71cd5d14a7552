"""Rewards: how a learning curve becomes the number a strategy maximises."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def val_accuracy(curve: Sequence[dict[str, float]]) -> float:
    """Validation accuracy after the last epoch."""
    return float(curve[-1]["val_accuracy"])


def zoph(curve: Sequence[dict[str, float]]) -> float:
    """Zoph & Le (2016): the maximum validation accuracy of the last 5 epochs, cubed."""
    return float(max(point["val_accuracy"] for point in curve[-5:]) ** 3)


REWARDS: dict[str, Callable[[Sequence[dict[str, float]]], float]] = {
    "val_accuracy": val_accuracy,
    "zoph": zoph,
}
