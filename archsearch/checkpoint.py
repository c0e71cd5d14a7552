"""Model checkpoints: a found network's weights with everything needed to use it again.

A checkpoint holds only tensors and plain data (loads with `torch.load(path,
weights_only=True)`): the weights, the architecture and its space's options, the input shape,
the task (class names, a regression target's scale), the input normalisation of raw images, and
the fitted table preprocessing that new rows of a CSV file need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from archsearch.data.dataset import Dataset
from archsearch.models.ensemble import Ensemble
from archsearch.spaces import Architecture, Space, get_space
from archsearch.tasks import task_from_json


def save_model(
    path: Path, model: nn.Module, space: Space, arch: Architecture, data: Dataset
) -> None:
    """A self-describing checkpoint of `model` (an `arch` of `space` trained on `data`, or
    an `Ensemble` of such trainings)."""
    members = len(model.members) if isinstance(model, Ensemble) else 1
    torch.save(
        {
            "state_dict": model.state_dict(),
            "members": members,
            "arch": arch.to_json(),
            "space_options": space.options(),
            "input_shape": list(data.input_shape),
            "task": data.task.to_json(),
            "class_names": list(data.class_names),
            "norm": None if data.norm is None else {"mean": data.norm.mean, "std": data.norm.std},
            "preprocessing": data.preprocessing,
        },
        path,
    )


def load_model(path: Path) -> tuple[nn.Module, Architecture, dict[str, Any]]:
    """(model with weights — an `Ensemble` if the file holds several trainings —,
    architecture, checkpoint metadata) from `save_model`'s file."""
    checkpoint = torch.load(path, weights_only=True, map_location="cpu")
    arch_json = checkpoint["arch"]
    space = get_space(arch_json["space"], **checkpoint["space_options"])
    arch = space.from_json(arch_json)
    task = task_from_json(checkpoint["task"])
    members = [
        space.build(arch, checkpoint["input_shape"], task.output_spec())
        for _ in range(checkpoint.get("members", 1))
    ]
    model = members[0] if len(members) == 1 else Ensemble(members, task.ensemble_average)
    model.load_state_dict(checkpoint["state_dict"])
    return model, arch, checkpoint
