"""Final training: the last step of a search. The best architecture is trained again from
scratch on train+validation — several times on small data, as one ensemble — scored once on
the test split, and saved. Its reports: the training curves (final_curves.png) and, for
classification, the test confusion matrix (confusion.png), made as `archsearch train` makes
them (`test_report`)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from archsearch.data.dataset import Dataset
from archsearch.evaluation.trainer import TrainConfig, predict, train
from archsearch.models.ensemble import Ensemble
from archsearch.reporting.plots import plot_confusion, plot_final_curves, plot_predictions
from archsearch.rundir import write_text_atomic
from archsearch.spaces import Architecture, Space

#: Data of at most this many train+validation rows gets `SMALL_DATA_MODELS` final networks.
SMALL_DATA_ROWS = 5_000
SMALL_DATA_MODELS = 5
TEST_PREDICTIONS = "test_predictions.csv"  # a regression run's test rows, true and predicted


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
    and for classification the confusion matrix). `on_epoch` gets the member's index and each
    epoch's point of its training curve."""
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
    out: Path, model: nn.Module, data: Dataset, config: TrainConfig, title: str = ""
) -> list[Path]:
    """For regression, in `out`: test_predictions.csv, each test row's true and predicted
    values in the target's own units (rows in the order of the data's), and predictions.png
    drawing them; the paths written (none for other tasks or data without a test split)."""
    if data.task.name != "regression" or not data.has_test():
        return []
    outputs = predict(model, data.x_test, config, norm=data.norm)
    truth, predicted = (data.task.unscale(t).numpy() for t in (data.y_test, outputs))
    names = data.task.names
    header = [f"{kind} {name}" for name in names for kind in ("true", "predicted")]
    rows = [[f"{v:.6g}" for pair in zip(t, p) for v in pair] for t, p in zip(truth, predicted)]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    write_text_atomic(out / TEST_PREDICTIONS, text.getvalue())
    plot_predictions(truth, predicted, names, out / "predictions.png", title)
    return [out / TEST_PREDICTIONS, out / "predictions.png"]


def read_test_predictions(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """(true values, predictions, target names) of a `write_test_predictions` CSV; None if
    it is missing or unreadable."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header, *rows = list(csv.reader(handle))
        values = np.array(rows, dtype=np.float64).reshape(len(rows), -1)
    except (OSError, ValueError):
        return None
    names = [name.removeprefix("true ") for name in header[::2]]
    return values[:, ::2], values[:, 1::2], names


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
