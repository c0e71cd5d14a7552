"""Tasks: classification, regression, reconstruction; each module defines one `Task`.

Example:
    >>> from archsearch.tasks import task_from_json
    >>> task = task_from_json({"name": "classification", "num_classes": 3})
    >>> task.output_spec().shape, task.score
    ((3,), 'accuracy')
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from archsearch.registry import Registry
from archsearch.tasks.base import MAX, MIN, OutputSpec, Task

__all__ = ["MAX", "MIN", "TASKS", "OutputSpec", "Task", "task_from_json", "task_score"]

TASKS: Registry[Task] = Registry("task", __name__, Task)


def task_from_json(data: dict[str, Any]) -> Task:
    """The task `Task.to_json` described; `ValueError` for an unknown one."""
    options = {k: v for k, v in data.items() if k != "name"}
    return TASKS.get(str(data.get("name")))(**options)


def task_score(metrics: Collection[str], task: str | None = None) -> str | None:
    """The primary score's name (accuracy, r2) of the task named `task` if it is a known one,
    else of the task whose `val_` score is among `metrics` (metric names); None if neither."""
    scores = {name: cls.score for name, cls in TASKS.classes().items()}
    if task in scores:
        return scores[task]
    return next((s for s in scores.values() if f"val_{s}" in metrics), None)
