"""PNG plots of a search: rewards with best-so-far and baseline, controller entropy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from archsearch.ledger import Trial  # noqa: E402


def plot_rewards(trials: Sequence[Trial], path: Path) -> None:
    """Reward of each trial (failed ones marked at their reward), the best so far, and the
    strategy's baseline when it reports one."""
    fig, ax = plt.subplots(figsize=(7, 4))
    numbers = [t.number + 1 for t in trials]
    ok = [t for t in trials if t.result.ok]
    failed = [t for t in trials if not t.result.ok]
    ax.scatter([t.number + 1 for t in ok], [t.result.reward for t in ok], s=14, label="trial")
    if failed:
        ax.scatter(
            [t.number + 1 for t in failed],
            [t.result.reward for t in failed],
            marker="x",
            color="tab:red",
            label="failed",
        )
    best, running = [], float("-inf")
    for t in trials:
        running = max(running, t.result.reward if t.result.ok else float("-inf"))
        best.append(running if running > float("-inf") else float("nan"))
    ax.plot(numbers, best, color="tab:green", label="best so far")
    baseline = [t.stats.get("baseline", float("nan")) for t in trials]
    if any(b == b for b in baseline):
        ax.plot(numbers, baseline, color="tab:orange", linestyle="--", label="baseline")
    ax.set(xlabel="trial", ylabel="reward", title="Search progress")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_entropy(trials: Sequence[Trial], path: Path) -> bool:
    """The controller's policy entropy per trial; False (no file) if the strategy has none."""
    points = [(t.number + 1, t.stats["entropy"]) for t in trials if "entropy" in t.stats]
    if not points:
        return False
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(*zip(*points), color="tab:purple")
    ax.set(xlabel="trial", ylabel="mean entropy per decision (nats)", title="Controller entropy")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_training_curves(curve: Sequence[dict[str, float]], path: Path, score: str = "") -> None:
    """Loss and the task's score (accuracy, R², ...; found in the curve if not given) per
    epoch, train and validation."""
    epochs = [p["epoch"] for p in curve]
    if not score:
        names = [k[len("train_") :] for k in curve[0] if k.startswith("train_")]
        score = next((n for n in ("accuracy", "r2") if n in names), names[-1])
    fig, (loss, accuracy) = plt.subplots(1, 2, figsize=(10, 4))
    for axis, metric in ((loss, "loss"), (accuracy, score)):
        axis.plot(epochs, [p[f"train_{metric}"] for p in curve], label="train")
        if all(f"val_{metric}" in p for p in curve):
            axis.plot(epochs, [p[f"val_{metric}"] for p in curve], label="validation")
        axis.set(xlabel="epoch", ylabel=metric)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(matrix, class_names: Sequence[str], path: Path) -> None:
    """The test confusion matrix, rows true classes, columns predictions."""
    size = max(4.0, 0.5 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=90)
    ax.set_yticks(ticks, class_names)
    if len(class_names) <= 20:
        for (i, j), count in np.ndenumerate(np.asarray(matrix)):
            ax.text(j, i, str(count), ha="center", va="center", fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title="Test confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
