"""Final training: retrain a found architecture, score it once on the test split, save it.

The checkpoint holds only tensors and plain data, so it loads with `weights_only=True`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archsearch.data.dataset import Dataset
from archsearch.evaluation.trainer import TrainConfig, predict, train
from archsearch.spaces import Architecture, Space, get_space


def train_final(
    space: Space, arch: Architecture, data: Dataset, config: TrainConfig, seed: int
) -> tuple[nn.Module, dict[str, Any]]:
    """Train `arch` on train+validation for `config.epochs` (the search is over, so validation
    data is training data now), then measure it once on the test split."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = space.build(arch, data.input_shape, data.num_classes)
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val])
    curve = train(model, (x, y), None, config, seed, norm=data.norm)
    metrics = test_metrics(model, data, config)
    metrics.update(
        params=sum(p.numel() for p in model.parameters()),
        epochs=config.epochs,
        train_seconds=time.perf_counter() - start,
        curve=curve,
    )
    return model, metrics


def test_metrics(model: nn.Module, data: Dataset, config: TrainConfig) -> dict[str, float]:
    """Top-1 and top-5 accuracy on the test split."""
    logits = predict(model, data.x_test, config, norm=data.norm)
    top = logits.topk(min(5, logits.shape[1]), dim=1).indices
    return {
        "test_accuracy": (top[:, 0] == data.y_test).float().mean().item(),
        "test_top5_accuracy": (top == data.y_test[:, None]).any(1).float().mean().item(),
    }


def save_model(
    path: Path, model: nn.Module, space: Space, arch: Architecture, data: Dataset
) -> None:
    """A self-describing checkpoint: weights, architecture, space, data shape and the input
    normalisation raw images need (None for data that was standardised when loaded)."""
    torch.save(
        {
            "state_dict": model.state_dict(),
            "arch": arch.to_json(),
            "space_options": space.options(),
            "input_shape": list(data.input_shape),
            "num_classes": data.num_classes,
            "class_names": list(data.class_names),
            "norm": None if data.norm is None else {"mean": data.norm.mean, "std": data.norm.std},
        },
        path,
    )


def load_model(path: Path) -> tuple[nn.Module, Architecture, dict[str, Any]]:
    """(model with weights, architecture, checkpoint metadata) from `save_model`'s file."""
    checkpoint = torch.load(path, weights_only=True, map_location="cpu")
    arch_json = checkpoint["arch"]
    space = get_space(arch_json["space"], **checkpoint["space_options"])
    arch = space.from_json(arch_json)
    model = space.build(arch, checkpoint["input_shape"], checkpoint["num_classes"])
    model.load_state_dict(checkpoint["state_dict"])
    return model, arch, checkpoint
