"""`archsearch train`: one architecture (a run's best, a JSON file or a reference network)
trained with early stopping on a validation split, a checkpoint every epoch that a killed
training resumes from, and one test score of the best epoch's weights.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TextIO

import torch

from archsearch.checkpoint import load_model, save_model
from archsearch.config import SearchConfig, TrainJob, load_json
from archsearch.data.dataset import Dataset
from archsearch.errors import UsageError
from archsearch.evaluation.importance import column_importance
from archsearch.evaluation.trainer import TrainingFailed, predict, train
from archsearch.evaluation.training import too_large
from archsearch.final import plot_test_confusion, test_report, write_test_predictions
from archsearch.models import REFERENCE_MODELS
from archsearch.reporting.console import importance_line
from archsearch.reporting.drawing import write_drawing
from archsearch.reporting.plots import plot_training_curves
from archsearch.rundir import RunLock, save_atomic, write_text_atomic
from archsearch.spaces import Architecture, Space, get_space

#: The data flags that name where the data comes from; a `--run` job given none of them trains
#: on its run's data.
SOURCE_FLAGS = ("dataset", "csv", "data_dir")


def with_run_data(job: TrainJob, given: dict[str, Any], seed_given: bool) -> TrainJob:
    """`job` with the data flags in `given`; when it trains a run's best (`--run`) and no data
    source is given, the run's data as the search saw it (source, task, scaling, test share),
    its `--flip` (whether mirrored images are the same class) and, unless given, its seed: the
    same test split, which the search never saw. The validation share stays the training's
    own; the caller applies the training flags given after this."""
    data = replace(job.data, **given)
    if job.run is None or any(given.get(flag) is not None for flag in SOURCE_FLAGS):
        return replace(job, data=data)
    config_path = Path(job.run) / "config.json"
    if not config_path.is_file():
        raise UsageError(
            f"{job.run} has no config.json; is it a search run? (or give --dataset, --data or "
            "--data-dir)"
        )
    run = load_json(SearchConfig, config_path)
    data = replace(run.data, **{"val_fraction": job.data.val_fraction, **given})
    train = replace(job.train, flip=run.train.flip)  # a mirrored digit is another symbol
    return replace(job, data=data, train=train, seed=job.seed if seed_given else run.seed)


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
        if not isinstance(data, dict):
            raise ValueError(
                f"it holds a JSON {type(data).__name__}, not an object like a run's best_arch.json"
            )
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
    curve plots (and a confusion matrix for classification), and the test scores of the best
    epoch's weights."""
    log = log or sys.stderr
    job.validate()
    if not resume and out.exists() and any(out.iterdir()):
        raise UsageError(
            f"--out {out} is not empty; continue a killed training with "
            f"`archsearch train --resume {out}` or choose another --out"
        )
    space, arch = resolve_architecture(job)
    data = job.data.load(images=space.needs_images, seed=job.seed)
    reason = too_large(space, arch, data.input_shape, data.task.output_spec(), job.train)
    if reason:
        raise UsageError(f"this network cannot be trained here: {reason}")
    state = _checkpoint(out / "checkpoint.pt") if resume else None
    print(
        f"archsearch: training {job.model or arch.hash} ({space.name} space) on {data.describe()}",
        file=log,
    )
    print(f"archsearch: {job.train.describe_augmentation(data.input_shape)}", file=log)
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):
        write_text_atomic(out / "config.json", json.dumps(asdict(job), indent=2) + "\n")
        arch_file = {**arch.to_json(), "space_options": space.options()}
        write_text_atomic(out / "arch.json", json.dumps(arch_file, indent=2) + "\n")
        write_drawing(space, arch, out / "arch", name=job.model)
        curve = _train_with_checkpoints(job, space, arch, data, out, state, log)
        return _score_best(job, data, curve, out, log)


def _checkpoint(path: Path) -> dict[str, Any] | None:
    """The saved training state of a killed training, or None if it saved none yet;
    `UsageError` if the file cannot be read back."""
    if not path.exists():
        return None
    try:
        with warnings.catch_warnings():  # a damaged file's warnings are not the user's news
            warnings.simplefilter("ignore")
            return torch.load(path, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file raises
        raise UsageError(
            f"{path} is damaged ({type(exc).__name__}); delete it to start the training over"
        ) from None


def _score_best(
    job: TrainJob, data: Dataset, curve: list[dict[str, float]], out: Path, log: TextIO
) -> dict:
    """Score the best epoch's weights on the test split; write results and plots."""
    model, _, _ = load_model(out / "best_model.pt")
    outputs = predict(model, data.x_test, job.train, norm=data.norm)
    results = test_report(outputs, data)
    score = f"val_{data.task.score}"
    best = max(curve, key=lambda p: p[score])
    results.update(
        best_epoch=best["epoch"],
        epochs_run=len(curve),
        **{score: best[score]},
        params=sum(p.numel() for p in model.parameters()),
        data=data.sizes(),  # rows or images per split, as summary.json's "data"
    )
    if (importance := column_importance(model, data, job.train, job.seed)) is not None:
        results["importance"] = importance
    plot_training_curves(curve, out / "curves.png", data.task.score)
    plot_test_confusion(results, out / "confusion.png")
    write_test_predictions(out, outputs, data, "Test predictions of the best epoch")
    write_text_atomic(out / "results.json", json.dumps(results, indent=2) + "\n")
    test = f"test_{data.task.score}"
    print(
        f"archsearch: best epoch {best['epoch']} ({score} {best[score]:.4f}): {test} "
        f"{results[test]:.4f}",
        file=log,
    )
    if importance is not None:
        print(f"archsearch: {importance_line(importance, data.task.score)}", file=log)
    return results


def _train_with_checkpoints(
    job: TrainJob,
    space: Space,
    arch: Architecture,
    data: Dataset,
    out: Path,
    state: dict[str, Any] | None,
    log: TextIO,
) -> list[dict[str, float]]:
    """Train with a checkpoint after every epoch (resumed from `state`, if any) and the
    best-validation weights in best_model.pt; return the curve."""
    checkpoint_path = out / "checkpoint.pt"
    if state is not None:
        print(f"archsearch: resuming after epoch {len(state['curve'])}", file=log)
    torch.manual_seed(job.seed)
    model = space.build(arch, data.input_shape, data.task.output_spec())
    score = f"val_{data.task.score}"
    best = max((p[score] for p in state["curve"]), default=-math.inf) if state else -math.inf

    def on_epoch(point: dict[str, float]) -> None:
        nonlocal best
        if point[score] > best:
            best = point[score]
            save_atomic(out / "best_model.pt", lambda p: save_model(p, model, space, arch, data))
        print(
            f"epoch {point['epoch']}/{job.train.epochs}  loss {point['train_loss']:.4f}  "
            f"{score} {point[score]:.4f}  best {best:.4f}  {point['seconds']:.1f}s",
            file=log,
            flush=True,
        )

    def on_checkpoint(checkpoint: dict) -> None:
        save_atomic(checkpoint_path, lambda path: torch.save(checkpoint, path))
        write_text_atomic(out / "metrics.json", json.dumps(checkpoint["curve"], indent=2) + "\n")

    try:
        return train(
            model,
            data.task,
            (data.x_train, data.y_train),
            (data.x_val, data.y_val),
            job.train,
            job.seed,
            norm=data.norm,
            on_epoch=on_epoch,
            resume=state,
            on_checkpoint=on_checkpoint,
            patience=job.patience,
        )
    except (TrainingFailed, RuntimeError) as exc:
        raise UsageError(f"training failed: {str(exc).splitlines()[0]}") from None
