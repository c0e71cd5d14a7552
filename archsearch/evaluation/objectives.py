"""The objectives of a multi-objective search and the metric each is read from.

`accuracy` is the name of the task's primary score whatever the task (`Task.score`: accuracy
for classification, R² for regression): every evaluator of a run with several objectives
records it as the metric `accuracy`, the child's reward *before* the cost factor (the
validation score of `--reward`, the table's accuracy for the tabular evaluator). It is
maximised; the costs are minimised:

- `params`: trainable parameters;
- `flops`: multiply-accumulates of one forward pass of one sample (`evaluation/cost.py`);
- `latency`: median milliseconds of one forward pass of one sample on the search device,
  recorded as the metric `latency_ms`.

Example:
    >>> parse_objectives("accuracy, flops")
    ('accuracy', 'flops')
    >>> objective_values(Result(0.5, {"accuracy": 0.9, "flops": 2e6}), ("accuracy", "flops"))
    (0.9, 2000000.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TypeVar

from archsearch.evaluation.result import Result
from archsearch.pareto import pareto_indices

T = TypeVar("T")

__all__ = [
    "COSTS",
    "DIRECTIONS",
    "METRICS",
    "OBJECTIVES",
    "objective_values",
    "pareto_trials",
    "parse_objectives",
]

#: Every objective, in the order the command line lists them.
OBJECTIVES = ("accuracy", "params", "flops", "latency")
#: The objectives that are costs (minimised), as opposed to the task's score.
COSTS = OBJECTIVES[1:]
#: The metric each objective is read from.
METRICS = {"accuracy": "accuracy", "params": "params", "flops": "flops", "latency": "latency_ms"}
#: Whether each objective is maximised ("max") or minimised ("min").
DIRECTIONS = {name: "min" if name in COSTS else "max" for name in OBJECTIVES}


def parse_objectives(text: str | Sequence[str]) -> tuple[str, ...]:
    """The objectives named in `text` (comma-separated, or a list), in the order given;
    `ValueError` in one line for an unknown or repeated name, or none."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown:
        raise ValueError(
            f"unknown objective(s) {', '.join(unknown)}; choose from: {', '.join(OBJECTIVES)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"objectives {', '.join(names)} name one twice; give each once")
    if not names:
        raise ValueError(f"give at least one objective of: {', '.join(OBJECTIVES)}")
    return tuple(names)


def objective_values(result: Result, names: Sequence[str]) -> tuple[float, ...]:
    """The value of each objective of `result`, read from its metrics. A result without the
    `accuracy` metric (an evaluator outside a multi-objective run) counts its reward; a missing
    cost counts as infinite, so that a child of unknown cost never dominates a measured one."""
    values = []
    for name in names:
        value = result.metrics.get(METRICS[name])
        if value is None:
            value = result.reward if name == "accuracy" else math.inf
        values.append(float(value))
    return tuple(values)


def pareto_trials(trials: Iterable[T], names: Sequence[str]) -> list[T]:
    """The working trials (anything with a `.result`) no other working trial dominates on the
    objectives `names`, in their given order; failed and pruned trials are never on it."""
    working = [t for t in trials if t.result.ok]  # type: ignore[attr-defined]
    values = [objective_values(t.result, names) for t in working]  # type: ignore[attr-defined]
    directions = [DIRECTIONS[name] for name in names]
    return [working[i] for i in pareto_indices(values, directions)]
