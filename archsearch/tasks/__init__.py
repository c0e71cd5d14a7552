"""Tasks: classification, regression, reconstruction; each module defines one `Task`.

Example:
    >>> from archsearch.tasks import task_from_json
    >>> task = task_from_json({"name": "classification", "num_classes": 3})
    >>> task.output_spec().shape, task.score
    ((3,), 'accuracy')
"""

from __future__ import annotations

from typing import Any

from archsearch.registry import Registry
from archsearch.tasks.base import MAX, MIN, OutputSpec, Task

__all__ = ["MAX", "MIN", "TASKS", "OutputSpec", "Task", "task_from_json"]

TASKS: Registry[Task] = Registry("task", __name__, Task)


def task_from_json(data: dict[str, Any]) -> Task:
    """The task `Task.to_json` described; `ValueError` for an unknown one."""
    options = {k: v for k, v in data.items() if k != "name"}
    return TASKS.get(str(data.get("name")))(**options)
