"""Final training: the last step of a search. The best architecture is trained again from
scratch, scored once on the test split, and saved."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from archsearch.data.dataset import Dataset
from archsearch.evaluation.trainer import TrainConfig, predict, train
from archsearch.spaces import Architecture, Space


def train_final(
    space: Space,
    arch: Architecture,
    data: Dataset,
    config: TrainConfig,
    seed: int,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train `arch` on train+validation for `config.epochs` (the search is over, so validation
    data is training data now), then score it once on the test split. `on_epoch` gets each
    epoch's point of the training curve."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = space.build(arch, data.input_shape, data.task.output_spec())
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val])
    curve = train(model, data.task, (x, y), None, config, seed, norm=data.norm, on_epoch=on_epoch)
    metrics: dict[str, Any] = test_scores(model, data, config)
    metrics.update(
        params=sum(p.numel() for p in model.parameters()),
        epochs=config.epochs,
        train_seconds=time.perf_counter() - start,
        curve=curve,
    )
    return model, metrics


def test_scores(model: nn.Module, data: Dataset, config: TrainConfig) -> dict[str, float]:
    """The task's scores of `model` on the test split (`test_<metric>`)."""
    targets = data.test_targets()
    outputs = predict(model, data.x_test, config, norm=data.norm)
    return data.task.test_scores(outputs, targets)
