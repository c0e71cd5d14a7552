"""Final training: the last step of a search. The best architecture is trained again from
scratch on train+validation — several times on small data, as one ensemble — scored once on
the test split, and saved."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from archsearch.data.dataset import Dataset
from archsearch.evaluation.trainer import TrainConfig, predict, train
from archsearch.models.ensemble import Ensemble
from archsearch.spaces import Architecture, Space

#: Data of at most this many train+validation rows gets `SMALL_DATA_MODELS` final networks.
SMALL_DATA_ROWS = 5_000
SMALL_DATA_MODELS = 5


def final_models(data: Dataset, models: int | None) -> int:
    """How many networks the final training makes: `models`, or when unset 5 for data of
    at most 5,000 train+validation rows (one training's test score there depends on its
    random start by as much as the gaps between good architectures) and 1 otherwise."""
    if models is not None:
        return models
    rows = data.sizes()["train"] + data.sizes()["val"]
    return SMALL_DATA_MODELS if rows <= SMALL_DATA_ROWS else 1


def train_final(
    space: Space,
    arch: Architecture,
    data: Dataset,
    config: TrainConfig,
    seed: int,
    models: int = 1,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train `arch` `models` times (seeds `seed`, `seed + 1`, ...) on train+validation for
    `config.epochs` (the search is over, so validation data is training data now), then score
    the network, or the ensemble of them, once on the test split. `on_epoch` gets the member's
    index and each epoch's point of its training curve."""
    start = time.perf_counter()
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val])
    members, curves = [], []
    for index in range(models):
        torch.manual_seed(seed + index)
        member = space.build(arch, data.input_shape, data.task.output_spec())
        show = None if on_epoch is None else (lambda point, i=index: on_epoch(i, point))
        curves.append(
            train(
                member, data.task, (x, y), None, config, seed + index, norm=data.norm, on_epoch=show
            )
        )
        members.append(member)
    model = members[0] if models == 1 else Ensemble(members, data.task.ensemble_average)
    metrics: dict[str, Any] = score_on_test(model, data, config)
    metrics.update(
        params=sum(p.numel() for p in members[0].parameters()),
        models=models,
        epochs=config.epochs,
        train_seconds=time.perf_counter() - start,
        curves=curves,
    )
    return model, metrics


def score_on_test(model: nn.Module, data: Dataset, config: TrainConfig) -> dict[str, float]:
    """The task's scores of `model` on the test split (`test_<metric>`)."""
    targets = data.test_targets()
    outputs = predict(model, data.x_test, config, norm=data.norm)
    return data.task.test_scores(outputs, targets)
