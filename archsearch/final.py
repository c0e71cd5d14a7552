"""Final training: retrain a found architecture, score it once on the test split, save it.

`train_final` is the last step of a search; `run_training` is `archsearch train`, which
trains one architecture with early stopping and a per-epoch checkpoint it resumes from after a
kill. Checkpoints hold only tensors and plain data, so they load with `weights_only=True`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import torch
from torch import nn

from archsearch.config import TrainJob, save_json
from archsearch.data.dataset import Dataset
from archsearch.errors import UsageError
from archsearch.evaluation.trainer import TrainConfig, TrainingFailed, predict, train
from archsearch.models import REFERENCE_MODELS
from archsearch.reporting.plots import plot_confusion, plot_training_curves
from archsearch.spaces import Architecture, Space, get_space


def train_final(
    space: Space,
    arch: Architecture,
    data: Dataset,
    config: TrainConfig,
    seed: int,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train `arch` on train+validation for `config.epochs` (the search is over, so validation
    data is training data now), then measure it once on the test split. `on_epoch` gets each
    epoch's point of the training curve."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = space.build(arch, data.input_shape, data.num_classes)
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val])
    curve = train(model, (x, y), None, config, seed, on_epoch, data.norm)
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


def resolve_architecture(job: TrainJob) -> tuple[Space, Architecture]:
    """The space and architecture a `TrainJob` names; `UsageError` saying what is wrong."""
    if job.model is not None:
        if job.model not in REFERENCE_MODELS:
            raise UsageError(
                f"unknown model {job.model!r}; choose one of: {', '.join(REFERENCE_MODELS)}"
            )
        reference = REFERENCE_MODELS[job.model]
        return reference.space, reference.arch
    path = Path(job.run) / "best_arch.json" if job.run is not None else Path(str(job.arch))
    if job.run is not None and not path.is_file():
        raise UsageError(f"{job.run} has no best_arch.json; is it a finished search run?")
    try:
        data = json.loads(path.read_text())
        space = get_space(data["space"], **data.get("space_options", {}))
        return space, space.from_json(data)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the architecture ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: not an architecture of archsearch ({exc})") from None


def run_training(job: TrainJob, out: Path, resume: bool = False, log: TextIO | None = None) -> dict:
    """Train `job`'s architecture into `out`: best-validation checkpoint, per-epoch metrics,
    curves and confusion-matrix plots, and test top-1/top-5 of the best epoch's weights."""
    log = log or sys.stderr
    job.validate()
    if not resume and out.exists() and any(out.iterdir()):
        raise UsageError(
            f"--out {out} is not empty; continue a killed training with "
            f"`archsearch train --resume {out}` or choose another --out"
        )
    space, arch = resolve_architecture(job)
    data = job.data.load(images=space.needs_images, seed=job.seed)
    name = job.model or arch.hash
    print(f"archsearch: training {name} ({space.name} space) on {data.describe()}", file=log)
    out.mkdir(parents=True, exist_ok=True)
    save_json(job, out / "config.json")
    (out / "arch.json").write_text(
        json.dumps({**arch.to_json(), "space_options": space.options()}, indent=2) + "\n"
    )
    checkpoint_path = out / "checkpoint.pt"
    state = torch.load(checkpoint_path, weights_only=True) if checkpoint_path.exists() else None
    if state is not None:
        print(f"archsearch: resuming after epoch {len(state['curve'])}", file=log)
    torch.manual_seed(job.seed)
    model = space.build(arch, data.input_shape, data.num_classes)
    best = max((p["val_accuracy"] for p in state["curve"]), default=-1.0) if state else -1.0

    def on_epoch(point: dict[str, float]) -> None:
        nonlocal best
        if point["val_accuracy"] > best:
            best = point["val_accuracy"]
            save_model(out / "best_model.pt", model, space, arch, data)
        print(
            f"epoch {point['epoch']}/{job.train.epochs}  loss {point['train_loss']:.4f}  "
            f"train {point['train_accuracy']:.4f}  val {point['val_accuracy']:.4f}  "
            f"best {best:.4f}  {point['seconds']:.1f}s",
            file=log,
            flush=True,
        )

    def on_checkpoint(checkpoint: dict) -> None:
        _atomic_write(checkpoint_path, lambda path: torch.save(checkpoint, path))
        metrics = json.dumps(checkpoint["curve"], indent=2) + "\n"
        _atomic_write(out / "metrics.json", lambda path: path.write_text(metrics))

    try:
        curve = train(
            model,
            (data.x_train, data.y_train),
            (data.x_val, data.y_val),
            job.train,
            job.seed,
            on_epoch,
            data.norm,
            state,
            on_checkpoint,
            job.patience,
        )
    except (TrainingFailed, RuntimeError) as exc:
        raise UsageError(f"training failed: {str(exc).splitlines()[0]}") from None
    model, _, _ = load_model(out / "best_model.pt")
    results = test_metrics(model, data, job.train)
    logits = predict(model, data.x_test, job.train, norm=data.norm)
    matrix = confusion_matrix(data.y_test, logits.argmax(1), data.num_classes)
    best_epoch = max(curve, key=lambda p: p["val_accuracy"])["epoch"]
    results.update(
        best_epoch=best_epoch,
        epochs_run=len(curve),
        val_accuracy=best,
        params=sum(p.numel() for p in model.parameters()),
        images={"train": len(data.y_train), "val": len(data.y_val), "test": len(data.y_test)},
        confusion_matrix=matrix.tolist(),
        class_names=data.class_names,
    )
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_training_curves(curve, out / "curves.png")
    plot_confusion(matrix.numpy(), data.class_names, out / "confusion.png")
    print(
        f"archsearch: best epoch {best_epoch} (val {best:.4f}): test top-1 "
        f"{results['test_accuracy']:.4f}, top-5 {results['test_top5_accuracy']:.4f}",
        file=log,
    )
    return results


def confusion_matrix(truth: torch.Tensor, predicted: torch.Tensor, classes: int) -> torch.Tensor:
    """Counts of (true class, predicted class)."""
    flat = truth.long() * classes + predicted.long()
    return torch.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write beside `path`, then rename: a kill mid-write leaves the previous file intact."""
    partial = path.with_name(path.name + ".partial")
    write(partial)
    os.replace(partial, path)
