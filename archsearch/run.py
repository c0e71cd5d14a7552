"""A search run from start to artifacts: the run directory, the search, final training.

`runs/<name>/` holds config.json, ledger.sqlite, trials.csv, rewards.png, entropy.png,
best_arch.json, best_model.pt and summary.json. Everything is checked before the directory is
created, and an existing run is never overwritten: it can only be resumed.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from archsearch.config import SearchConfig, load_json, save_json
from archsearch.data import Dataset
from archsearch.errors import UsageError
from archsearch.evaluation.baseline import sklearn_mlp_accuracy
from archsearch.evaluation.training import TrainingEvaluator
from archsearch.final import save_model, train_final
from archsearch.ledger import Ledger, Trial
from archsearch.reporting.plots import plot_entropy, plot_rewards
from archsearch.search import Budget, Progress, run_search
from archsearch.spaces import Space, get_space
from archsearch.strategies import Strategy, get_strategy

CONFIG, LEDGER, SUMMARY = "config.json", "ledger.sqlite", "summary.json"


@dataclass
class Setup:
    """The live objects a run is made of."""

    data: Dataset
    space: Space
    strategy: Strategy


def is_run(path: Path) -> bool:
    return (path / CONFIG).is_file() and (path / LEDGER).is_file()


def start_run(config: SearchConfig, out: Path, log: TextIO | None = None) -> dict[str, Any]:
    """Check everything, create `out`, search and finish; return the summary."""
    log = log or sys.stderr
    config.validate()
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a directory for the run")
    if is_run(out):
        raise UsageError(
            f"{out} already holds a run; continue it with `archsearch search --resume {out}` "
            "or choose another --out"
        )
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"--out {out} is a non-empty directory; choose a new or empty one")
    setup = _setup(config)
    out.mkdir(parents=True, exist_ok=True)
    save_json(config, out / CONFIG)
    Ledger(out / LEDGER).close()
    return _execute(config, setup, out, log)


def resume_run(
    out: Path,
    trials: int | None = None,
    time_limit: float | None = None,
    log: TextIO | None = None,
) -> dict[str, Any]:
    """Continue the run in `out` where it stopped; `trials`/`time_limit` may extend it."""
    log = log or sys.stderr
    if not is_run(out):
        raise UsageError(
            f"{out} is not an archsearch run (it needs {CONFIG} and {LEDGER}); start one with "
            f"`archsearch search ... --out {out}`"
        )
    config = load_json(SearchConfig, out / CONFIG)
    if trials is not None:
        config.trials = trials
    if time_limit is not None:
        config.time_limit = time_limit
    config.validate()
    setup = _setup(config)
    save_json(config, out / CONFIG)
    return _execute(config, setup, out, log)


def _setup(config: SearchConfig) -> Setup:
    try:
        space = get_space(config.space, **config.space_options)
    except ValueError as exc:
        raise UsageError(f"{exc} (check --space-option)") from None
    try:
        strategy = get_strategy(config.strategy, space, config.seed, **config.strategy_options)
    except ValueError as exc:
        raise UsageError(f"{exc} (check --strategy-option)") from None
    data = config.data.load(images=space.needs_images, seed=config.seed)
    return Setup(data, space, strategy)


def _execute(config: SearchConfig, setup: Setup, out: Path, log: TextIO) -> dict[str, Any]:
    data, space, strategy = setup.data, setup.space, setup.strategy
    evaluator = TrainingEvaluator(space, data, config.train, config.reward)
    print(
        f"archsearch: {config.strategy} search of the {config.space} space on "
        f"{data.describe()} -> {out}",
        file=log,
    )
    with Ledger(out / LEDGER) as ledger:
        already = len(ledger)
        if already:
            print(f"archsearch: resuming after {already} finished trials", file=log)
        started = time.perf_counter()
        stopped = run_search(
            strategy,
            evaluator,
            ledger,
            Budget(config.trials, config.time_limit),
            seed=config.seed,
            reevaluate=config.reevaluate,
            on_trial=lambda progress: _show(progress, log),
        )
        search_seconds = time.perf_counter() - started
        trials = list(ledger)
        best = ledger.best()
    _write_trials_csv(trials, out / "trials.csv")
    plot_rewards(trials, out / "rewards.png")
    plot_entropy(trials, out / "entropy.png")
    summary: dict[str, Any] = {
        "dataset": data.name,
        "space": config.space,
        "strategy": config.strategy,
        "seed": config.seed,
        "trials": len(trials),
        "failed": sum(not t.result.ok for t in trials),
        "stopped": stopped,
        "search_seconds": search_seconds,
        "data": data.sizes(),
        "best": None,
    }
    if best is not None:
        summary["best"] = _finish(config, setup, best, out, log)
    summary["sklearn_mlp_test_accuracy"] = sklearn_mlp_accuracy(data, config.seed)
    if best is not None and summary["best"].get("test_accuracy") is not None:
        summary["beats_sklearn_mlp"] = (
            summary["best"]["test_accuracy"] > summary["sklearn_mlp_test_accuracy"]
        )
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    _report(summary, log)
    return summary


def _finish(
    config: SearchConfig, setup: Setup, best: Trial, out: Path, log: TextIO
) -> dict[str, Any]:
    """Retrain the best architecture, test it once, save it."""
    space, data = setup.space, setup.data
    arch_file = {**best.arch.to_json(), "space_options": space.options()}
    (out / "best_arch.json").write_text(json.dumps(arch_file, indent=2) + "\n")
    entry: dict[str, Any] = {
        "arch": best.arch.to_json(),
        "trial": best.number,
        "reward": best.result.reward,
        "val_accuracy": best.result.metrics.get("val_accuracy"),
        "params": best.result.metrics.get("params"),
        "test_accuracy": None,
    }
    if config.final_epochs > 0:
        print(
            f"archsearch: final training of trial {best.number} for {config.final_epochs} "
            "epochs on train+val",
            file=log,
        )

        def show(point: dict[str, float]) -> None:
            print(
                f"final epoch {point['epoch']}/{config.final_epochs}  loss "
                f"{point['train_loss']:.4f}  train {point['train_accuracy']:.4f}  "
                f"{point['seconds']:.1f}s",
                file=log,
                flush=True,
            )

        model, metrics = train_final(
            space, best.arch, data, config.final_train_config(), config.seed, show
        )
        save_model(out / "best_model.pt", model, space, best.arch, data)
        curve = metrics.pop("curve")
        (out / "final_curve.json").write_text(json.dumps(curve, indent=2) + "\n")
        entry.update(metrics)
    return entry


def _show(progress: Progress, log: TextIO) -> None:
    trial, result = progress.trial, progress.trial.result
    total = progress.budget.trials or "?"
    best = f"{progress.best.result.reward:.4f}" if progress.best else "-"
    state = f"reward {result.reward:.4f}" if result.ok else f"FAILED ({result.reason})"
    eta = progress.eta
    print(
        f"trial {progress.done}/{total}  {state}  best {best}  "
        f"elapsed {_clock(progress.elapsed)}  eta {_clock(eta) if eta is not None else '?'}"
        f"  #{trial.number} {trial.arch.hash}",
        file=log,
        flush=True,
    )


def _report(summary: dict[str, Any], log: TextIO) -> None:
    best = summary["best"]
    if best is None:
        print("archsearch: no trial succeeded; see trials.csv for the reasons", file=log)
        return
    test = best.get("test_accuracy")
    test_text = f"test accuracy {test:.4f}" if test is not None else "not retrained"
    print(
        f"archsearch: best trial {best['trial']}: val accuracy {best['val_accuracy']:.4f}, "
        f"{test_text}, {best['params']:,} params; scikit-learn MLPClassifier "
        f"{summary['sklearn_mlp_test_accuracy']:.4f}",
        file=log,
    )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def _write_trials_csv(trials: list[Trial], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "trial",
                "status",
                "reason",
                "reward",
                "val_accuracy",
                "params",
                "train_seconds",
                "seed",
                "arch_hash",
                "arch",
            ]
        )
        for t in trials:
            m = t.result.metrics
            writer.writerow(
                [
                    t.number,
                    t.result.status,
                    t.result.reason,
                    t.result.reward,
                    m.get("val_accuracy", ""),
                    m.get("params", ""),
                    m.get("train_seconds", ""),
                    t.seed,
                    t.arch.hash,
                    t.arch.canonical,
                ]
            )
