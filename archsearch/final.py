"""Final training: the last step of a search. The best architecture is trained again from
scratch on train+validation — several times on small data, as one ensemble — scored once on
the test split, and saved. Its reports: the training curves (final_curves.png) and, for
classification, the test confusion matrix (confusion.png), made as `archsearch train` makes
them (`test_report`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archsearch.data.dataset import Dataset
from archsearch.evaluation.trainer import TrainConfig, predict, train
from archsearch.models.ensemble import Ensemble
from archsearch.predictions import prediction_table, write_table
from archsearch.reporting.plots import plot_confusion, plot_final_curves, plot_predictions
from archsearch.spaces import Architecture, Space

#: Data of at most this many train+validation rows gets `SMALL_DATA_MODELS` final networks.
SMALL_DATA_ROWS = 5_000
SMALL_DATA_MODELS = 5
TEST_PREDICTIONS = "test_predictions.csv"  # the test examples' true answers and predictions


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
    the network, or the ensemble of them, once on the test split (`test_report`: the scores,
    and for classification the confusion matrix; its raw test outputs are `outputs`, for
    `write_test_predictions`). `on_epoch` gets the member's index and each epoch's point of
    its training curve."""
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
    outputs = predict(model, data.x_test, config, norm=data.norm)
    metrics: dict[str, Any] = test_report(outputs, data)
    metrics.update(
        params=sum(p.numel() for p in members[0].parameters()),
        models=models,
        epochs=config.epochs,
        train_seconds=time.perf_counter() - start,
        curves=curves,
        outputs=outputs,  # on the test split
    )
    return model, metrics


def score_on_test(model: nn.Module, data: Dataset, config: TrainConfig) -> dict[str, float]:
    """The task's scores of `model` on the test split (`test_<metric>`)."""
    outputs = predict(model, data.x_test, config, norm=data.norm)
    return data.task.test_scores(outputs, data.test_targets())


def test_report(outputs: torch.Tensor, data: Dataset) -> dict[str, Any]:
    """The task's test scores (`test_<metric>`) of a network's `outputs` on the test split,
    and for classification the confusion matrix (`confusion_matrix`, rows true classes) and
    `class_names`: what both a search's final training and `archsearch train` report."""
    results: dict[str, Any] = data.task.test_scores(outputs, data.test_targets())
    if data.task.name == "classification":
        matrix = confusion_matrix(data.y_test, outputs.argmax(1), data.num_classes)
        results.update(confusion_matrix=matrix.tolist(), class_names=data.class_names)
    return results


def write_test_predictions(
    out: Path, outputs: torch.Tensor, data: Dataset, title: str = ""
) -> list[Path]:
    """In `out`: test_predictions.csv, each test example's id, true answer and prediction
    from a network's `outputs` on the test split (`prediction_table`, in the data's order),
    and for regression predictions.png drawing predictions against true values; the paths
    written (none for reconstruction or data without a test split)."""
    if data.task.name not in ("classification", "regression") or not data.has_test():
        return []
    truth = data.test_targets()
    ids = data.test_ids or [str(i) for i in range(1, len(truth) + 1)]
    regression = data.task.name == "regression"
    if regression:
        truth, outputs = data.task.unscale(truth), data.task.unscale(outputs)
    names = data.task.names if regression else []
    write_table(
        out / TEST_PREDICTIONS, *prediction_table(ids, outputs, data.class_names, names, truth)
    )
    if not regression:
        return [out / TEST_PREDICTIONS]
    plot_predictions(truth.numpy(), outputs.numpy(), names, out / "predictions.png", title)
    return [out / TEST_PREDICTIONS, out / "predictions.png"]


def confusion_matrix(truth: torch.Tensor, predicted: torch.Tensor, classes: int) -> torch.Tensor:
    """Counts of (true class, predicted class)."""
    flat = truth.long() * classes + predicted.long()
    return torch.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def plot_test_confusion(results: dict[str, Any], path: Path, title: str = "") -> bool:
    """confusion.png of a `test_report` that has a confusion matrix; False (no file) if not."""
    if "confusion_matrix" not in results:
        return False
    title = title or "Test confusion matrix"
    plot_confusion(results["confusion_matrix"], results["class_names"], path, title)
    return True


def write_final_plots(
    out: Path,
    curves: Sequence[Sequence[dict[str, float]]],
    results: dict[str, Any],
    data: Dataset,
    trial: int,
) -> list[Path]:
    """final_curves.png (every network of the final training of trial `trial`) and, for
    classification, confusion.png of its test predictions, in `out`; the paths written."""
    networks = f"{len(curves)} networks" if len(curves) > 1 else "one network"
    title = f"Final training of trial {trial} on {data.name} ({networks}, train+validation data)"
    paths = [out / "final_curves.png"]
    plot_final_curves(curves, paths[0], data.task.score, title)
    confusion = out / "confusion.png"
    model = "ensemble" if len(curves) > 1 else "network"
    if plot_test_confusion(results, confusion, f"Test confusion matrix of trial {trial}'s {model}"):
        paths.append(confusion)
    return paths
