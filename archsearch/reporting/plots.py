"""PNG plots of a search (rewards with best-so-far and baseline, controller entropy) and of a
training (loss and score per epoch, test confusion matrix).

Every function draws on its own `matplotlib.figure.Figure` (no pyplot state is shared or
leaked), saves it and returns it, so tests can check what was drawn. Trial numbers are those
of the ledger, 0-based, as in the log, the summary and trials.csv.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from archsearch.ledger import Trial

#: How a task's score is written on an axis.
SCORE_NAMES = {"accuracy": "accuracy", "r2": "R²", "mse": "MSE", "mae": "MAE"}
#: What each reward (archsearch.evaluation.rewards) is, with `{score}` the task's score.
REWARD_NAMES = {
    "val_score": "validation {score}, last epoch",
    "best_val_score": "best validation {score} over the epochs",
    "zoph": "(best validation accuracy of the last 5 epochs)³",
    "inverse_loss": "1 / lowest validation loss",
    "inverse_kl": "1 / validation KL at the lowest validation loss",
    "elbo": "2^-(lowest validation negative ELBO, bits/dim)",
}
DPI = 110


def score_name(score: str) -> str:
    """`score` as an axis shows it: "R²" for "r2"."""
    return SCORE_NAMES.get(score, score)


@dataclass(frozen=True)
class SearchLabels:
    """What a search's plots say they show; an empty field is left out of the labels."""

    dataset: str = ""
    strategy: str = ""
    space: str = ""
    reward: str = ""  # the reward's name (config.reward)
    score: str = ""  # the task's score the reward is made from (task.score)

    def search(self) -> str:
        """The search as words: "the reinforce search of the mlp space on iris"."""
        text = f"the {self.strategy} search" if self.strategy else "the search"
        text += f" of the {self.space} space" if self.space else ""
        return text + (f" on {self.dataset}" if self.dataset else "")

    def reward_label(self) -> str:
        """What the reward axis measures: "reward: validation accuracy, last epoch
        (val_score)"; a reward this module does not know is named as it is."""
        template = REWARD_NAMES.get(self.reward)
        if template is None:
            return f"reward ({self.reward})" if self.reward else "reward"
        what = template.format(score=score_name(self.score) if self.score else "score")
        return f"reward: {what} ({self.reward})"


def _save(figure: Figure, path: Path) -> Figure:
    figure.savefig(path, dpi=DPI)
    return figure


def _dashed(
    axes: Axes,
    numbers: Sequence[int],
    values: Sequence[float],
    label: str,
    color: str = "black",
    **style: str,
) -> None:
    """A dashed line of a stat over trials, on top of the others; nothing if no trial has it
    (its values are all NaN)."""
    if any(v == v for v in values):
        axes.plot(numbers, values, color=color, linestyle="--", label=label, zorder=4, **style)


def _trial_axis(axes: Axes) -> None:
    """x axis of trial numbers: integers, as the ledger numbers them."""
    axes.set_xlabel("trial number (as in the ledger and trials.csv)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)


def plot_rewards(trials: Sequence[Trial], path: Path, labels: SearchLabels | None = None) -> Figure:
    """Reward of each trial (failed ones marked at their reward), the best so far as a step
    line (it changes only at a trial), and the strategy's baseline when it reports one. The
    legend sits below the axes so that it covers no point."""
    labels = labels or SearchLabels()
    figure = Figure(figsize=(7.5, 4.6), layout="constrained")
    axes = figure.subplots()
    numbers = [t.number for t in trials]
    ok = [t for t in trials if t.result.ok]
    failed = [t for t in trials if not t.result.ok]
    axes.scatter([t.number for t in ok], [t.result.reward for t in ok], s=16, label="trial")
    if failed:
        axes.scatter(
            [t.number for t in failed],
            [t.result.reward for t in failed],
            marker="x",
            color="tab:red",
            label="failed trial",
        )
    best, running = [], -math.inf
    for t in trials:
        running = max(running, t.result.reward if t.result.ok else -math.inf)
        best.append(running if running > -math.inf else math.nan)
    axes.plot(numbers, best, color="tab:green", drawstyle="steps-post", label="best so far")
    baseline = [t.stats.get("baseline", math.nan) for t in trials]
    _dashed(axes, numbers, baseline, "strategy's baseline", "tab:orange", drawstyle="steps-post")
    axes.set_ylabel(labels.reward_label())
    axes.set_title(f"Reward of each trial in {labels.search()}")
    _trial_axis(axes)
    figure.legend(loc="outside lower center", ncols=4, frameon=False)
    return _save(figure, path)


def plot_entropy(
    trials: Sequence[Trial], path: Path, labels: SearchLabels | None = None
) -> Figure | None:
    """The controller's policy entropy per trial against its most, the entropy of a uniform
    policy over the same decisions (the strategy's `entropy_max` stat), on an axis from 0:
    a policy that has learnt little stays near the dashed line. None (no file) if the
    strategy reports no entropy."""
    points = [t for t in trials if "entropy" in t.stats]
    if not points:
        return None
    labels = labels or SearchLabels()
    figure = Figure(figsize=(7.5, 4.2), layout="constrained")
    axes = figure.subplots()
    numbers = [t.number for t in points]
    entropy = [t.stats["entropy"] for t in points]
    uniform = [t.stats.get("entropy_max", math.nan) for t in points]
    policy = "controller's policy"
    if uniform[-1] == uniform[-1] and uniform[-1] > 0:
        policy += f" (last trial: {100 * entropy[-1] / uniform[-1]:.2f}% of the maximum)"
    axes.plot(numbers, entropy, color="tab:purple", marker=".", lw=2.5, label=policy, zorder=3)
    _dashed(axes, numbers, uniform, "uniform policy over the same decisions (the maximum)")
    top = max(v for v in entropy + uniform if v == v)
    axes.set_ylim(0, 1.12 * top if top > 0 else 1.0)
    axes.set_ylabel("entropy per decision sampled (nats)")
    axes.set_title(f"Controller entropy in {labels.search()}")
    _trial_axis(axes)
    figure.legend(loc="outside lower center", ncols=1, frameon=False)
    return _save(figure, path)


def _score_of(curve: Sequence[dict[str, float]]) -> str:
    """The task's score in a training curve: accuracy or R² if there, else its last metric."""
    names = [k[len("train_") :] for k in curve[0] if k.startswith("train_")]
    return next((n for n in ("accuracy", "r2") if n in names), names[-1])


def _curves_figure(
    series: Sequence[tuple[str, Sequence[dict[str, float]], str]], score: str, title: str
) -> Figure:
    """Loss and `score` against epochs (integer ticks), one line per (label, curve, prefix)
    whose curve has `<prefix>_<metric>` at every epoch."""
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    for axes, metric in zip(figure.subplots(1, 2), ("loss", score)):
        for label, curve, prefix in series:
            key = f"{prefix}_{metric}"
            if curve and all(key in p for p in curve):
                marker = "o" if len(curve) == 1 else None  # one epoch: a point, not a line
                # a curve without epochs (a one-shot trial's one score): its points in order
                xs = [p.get("epoch", i) for i, p in enumerate(curve, start=1)]
                ys = [p[key] for p in curve]
                axes.plot(xs, ys, marker=marker, label=label)
        axes.set(xlabel="epoch", ylabel=score_name(metric))
        low, high = axes.get_xlim()
        if high - low < 2:  # a single epoch: room for whole-number ticks around it
            middle = round((low + high) / 2)
            axes.set_xlim(middle - 1, middle + 1)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    return figure


def plot_training_curves(
    curve: Sequence[dict[str, float]], path: Path, score: str = "", title: str = ""
) -> Figure:
    """Loss and the task's score (accuracy, R², ...; found in the curve if not given) per
    epoch of one training, train and validation."""
    score = score or _score_of(curve)
    series = [("train", curve, "train"), ("validation", curve, "val")]
    return _save(_curves_figure(series, score, title), path)


def plot_final_curves(
    curves: Sequence[Sequence[dict[str, float]]], path: Path, score: str = "", title: str = ""
) -> Figure:
    """Loss and score per epoch of a search's final training, one line per network of the
    ensemble (all of them: their spread shows how much a network's random start matters).
    The final training has no validation split (it trains on train+validation), so these are
    training figures."""
    score = score or _score_of(curves[0])
    if len(curves) == 1:
        series = [("train+validation data", curves[0], "train")]
    else:
        series = [(f"network {i + 1}", curve, "train") for i, curve in enumerate(curves)]
    return _save(_curves_figure(series, score, title), path)


def plot_confusion(
    matrix: Sequence[Sequence[int]] | np.ndarray,
    class_names: Sequence[str],
    path: Path,
    title: str = "Test confusion matrix",
) -> Figure:
    """The test confusion matrix, rows true classes, columns predictions; each count (up to
    20 classes) in white on a dark cell and black on a light one."""
    counts = np.asarray(matrix)
    size = min(max(4.5, 0.5 * len(class_names) + 2.5), 16.0)
    figure = Figure(figsize=(size + 1, size), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(counts, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=axes, shrink=0.8, label="test samples")
    ticks = range(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right", rotation_mode="anchor")
    axes.set_yticks(ticks, class_names)
    if len(class_names) <= 20:
        for (i, j), count in np.ndenumerate(counts):
            red, green, blue, _ = image.cmap(image.norm(count))
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            color = "white" if dark else "black"
            axes.text(j, i, str(count), ha="center", va="center", color=color, fontsize=10)
    axes.set(xlabel="predicted class", ylabel="true class", title=title)
    return _save(figure, path)


#: Targets drawn side by side in predictions.png; test_predictions.csv has them all.
MAX_TARGET_PLOTS = 4


def plot_predictions(
    truth: np.ndarray, predicted: np.ndarray, names: Sequence[str], path: Path, title: str = ""
) -> Figure:
    """Predicted against true values of the test rows, one panel per target (N, k), with the
    line of perfect predictions and each panel's R²."""
    shown = min(truth.shape[1], MAX_TARGET_PLOTS)
    figure = Figure(figsize=(4.2 * shown + 0.6, 4.4), layout="constrained")
    for index, axes in enumerate(np.atleast_1d(figure.subplots(1, shown))):
        true, guess = truth[:, index], predicted[:, index]
        axes.scatter(true, guess, s=12, alpha=0.6, color="tab:blue", edgecolors="none")
        low, high = float(min(true.min(), guess.min())), float(max(true.max(), guess.max()))
        axes.plot([low, high], [low, high], "--", color="black", linewidth=1, label="perfect")
        spread = float(((true - true.mean()) ** 2).sum())
        r2 = 1.0 - float(((true - guess) ** 2).sum()) / spread if spread > 0 else 0.0
        axes.set(xlabel=f"true {names[index]}", ylabel=f"predicted {names[index]}")
        axes.set_title(f"R² {r2:.4f} on {len(true)} test rows", fontsize=10)
        axes.legend(loc="upper left")
    if title:
        figure.suptitle(title)
    return _save(figure, path)
