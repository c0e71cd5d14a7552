"""The Pareto front of a multi-objective search: `pareto.png` and the summary's `pareto` list.

`pareto.png` has one panel per objective after the first, each plotting it (x) against the
first (y, usually accuracy): every working trial in grey, the trials on the Pareto front of
*all* the objectives in colour, and the staircase of the front of that pair of objectives. Costs
that span more than a factor of 30 are drawn on a log axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from archsearch.evaluation.objectives import (
    DIRECTIONS,
    METRICS,
    objective_values,
    pareto_trials,
)
from archsearch.ledger import Trial
from archsearch.pareto import pareto_indices
from archsearch.reporting.plots import DPI, SearchLabels

__all__ = ["front_entries", "plot_pareto"]

#: Axis labels of the objectives.
AXES = {
    "accuracy": "accuracy (task score)",
    "params": "parameters",
    "flops": "FLOPs (multiply-adds per sample)",
    "latency": "latency (ms per sample)",
}


def front_entries(trials: Sequence[Trial], objectives: Sequence[str]) -> list[dict[str, Any]]:
    """The trials on the Pareto front of `objectives`, each as {trial, reward, <metric>: value}
    for the summary, ordered by the first objective, best first."""
    front = pareto_trials(trials, objectives)
    entries = [
        {
            "trial": t.number,
            "reward": t.result.reward,
            **{METRICS[n]: v for n, v in zip(objectives, objective_values(t.result, objectives))},
        }
        for t in front
    ]
    first = METRICS[objectives[0]]
    entries.sort(key=lambda e: -e[first] if DIRECTIONS[objectives[0]] == "max" else e[first])
    return entries


def plot_pareto(
    trials: Sequence[Trial],
    objectives: Sequence[str],
    path: Path,
    labels: SearchLabels | None = None,
) -> Figure:
    """Draw `pareto.png` (see the module docstring) of `trials` over two or more `objectives`
    and save it to `path`."""
    if len(objectives) < 2:
        raise ValueError("a Pareto plot needs two or more objectives")
    working = [t for t in trials if t.result.ok]
    front = {t.number for t in pareto_trials(working, objectives)}
    values = [objective_values(t.result, objectives) for t in working]
    panels = len(objectives) - 1
    figure = Figure(figsize=(5.2 * panels, 4.2))
    for k, axes in enumerate(figure.subplots(1, panels, squeeze=False)[0], start=1):
        shown = [(t.number, (v[k], v[0])) for t, v in zip(working, values) if _finite(v, k)]
        pair = [p for _, p in shown]
        on_front = [p for number, p in shown if number in front]
        if pair:
            axes.scatter(*zip(*pair), s=12, color="0.7", label="trials")
        if on_front:
            axes.scatter(*zip(*on_front), s=22, color="tab:red", label="Pareto front (all)")
        _staircase(axes, pair, (DIRECTIONS[objectives[k]], DIRECTIONS[objectives[0]]))
        xs = [x for x, _ in pair]
        if xs and min(xs) > 0 and max(xs) > 30 * min(xs):
            axes.set_xscale("log")
        axes.set_xlabel(AXES[objectives[k]])
        axes.set_ylabel(AXES[objectives[0]])
        axes.grid(alpha=0.3)
        if pair:
            axes.legend(loc="best", fontsize="small")
    title = f"Pareto front of {(labels or SearchLabels()).search()}"
    figure.suptitle(f"{title}: {len(front)} of {len(working)} working trials")
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return figure


def _finite(values: Sequence[float], k: int) -> bool:
    """Whether objectives 0 and `k` of `values` are both finite (a missing cost is not)."""
    return all(math.isfinite(values[i]) for i in (0, k))


def _staircase(axes: Any, pair: list[tuple[float, float]], directions: Sequence[str]) -> None:
    """The front of the two plotted objectives as a step line."""
    if not pair:
        return
    best = sorted(pair[i] for i in pareto_indices(pair, directions))
    axes.step(*zip(*best), where="post", color="tab:red", alpha=0.6, linewidth=1)
