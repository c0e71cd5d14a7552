"""A search run from start to artifacts: the run directory, the search, final training.

`runs/<name>/` holds config.json, ledger.sqlite, trials.csv, rewards.png, entropy.png,
best_arch.json, best_model.pt, final_curve.json and summary.json. Everything is checked before
the directory is created, and an existing run is never overwritten: it can only be resumed.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from archsearch.checkpoint import save_model
from archsearch.config import SearchConfig, load_json, save_json
from archsearch.data import Dataset
from archsearch.errors import UsageError
from archsearch.estimate import estimate_search
from archsearch.evaluation import Context, Evaluator, get_evaluator
from archsearch.evaluation.baseline import baseline_name, sklearn_baseline
from archsearch.evaluation.rewards import check_reward
from archsearch.execution import Executor, get_executor
from archsearch.final import final_models, train_final
from archsearch.ledger import Ledger, Trial
from archsearch.reporting.plots import plot_entropy, plot_rewards
from archsearch.search import Budget, Progress, run_search
from archsearch.spaces import SPACES, Space, get_space
from archsearch.strategies import Strategy, get_strategy

CONFIG, LEDGER, SUMMARY = "config.json", "ledger.sqlite", "summary.json"


@dataclass
class Setup:
    """The live objects a run is made of."""

    data: Dataset
    space: Space
    strategy: Strategy
    evaluator: Evaluator
    executor: Executor


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
    setup = make_setup(config)
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
    setup = make_setup(config)
    save_json(config, out / CONFIG)
    return _execute(config, setup, out, log)


def make_setup(config: SearchConfig) -> Setup:
    """Build every part of a run from its configuration; `UsageError` for anything that does
    not fit together (an option, the data, the task for the space or the reward)."""
    _plugin("space", lambda: get_space(config.space, **config.space_options))
    data = config.data.load(images=SPACES.get(config.space).needs_images, seed=config.seed)
    fitted = SPACES.get(config.space).fitted_options(data.input_shape)
    space = _plugin("space", lambda: get_space(config.space, **{**fitted, **config.space_options}))
    task = data.task
    if not space.supports(task.output_spec()):
        raise UsageError(
            f"the {space.name} space cannot output {task.output_spec().shape} for the "
            f"{task.name} task; use --space mlp"
        )
    if config.train.label_smoothing and task.name != "classification":
        raise UsageError(f"--label-smoothing applies to classification, not {task.name}")
    _plugin("reward", lambda: check_reward(config.reward, task))
    strategy = _plugin(
        "strategy",
        lambda: get_strategy(config.strategy, space, config.seed, **config.strategy_options),
    )
    context = Context(space, task, data.without_test(), config.train, config.reward)
    evaluator = _plugin(
        "evaluator", lambda: get_evaluator(config.evaluator, context, **config.evaluator_options)
    )
    executor = _plugin("executor", lambda: get_executor(config.executor, **config.executor_options))
    return Setup(data, space, strategy, evaluator, executor)


def _plugin(kind: str, make: Any) -> Any:
    try:
        return make()
    except ValueError as exc:
        flag = f" (check --{kind}-option)" if kind != "reward" else ""
        raise UsageError(f"{exc}{flag}") from None


def _execute(config: SearchConfig, setup: Setup, out: Path, log: TextIO) -> dict[str, Any]:
    data = setup.data
    print(
        f"archsearch: {config.strategy} search of the {config.space} space on "
        f"{data.describe()} -> {out}",
        file=log,
    )
    for note in data.notes:
        print(f"archsearch: {note}", file=log)
    with Ledger(out / LEDGER) as ledger:
        if len(ledger):
            print(f"archsearch: resuming after {len(ledger)} finished trials", file=log)
        _print_estimate(config, setup, len(ledger), log)
        started = time.perf_counter()
        stopped = run_search(
            setup.strategy,
            setup.evaluator,
            ledger,
            Budget(config.trials, config.time_limit),
            seed=config.seed,
            executor=setup.executor,
            reevaluate=config.reevaluate,
            on_trial=lambda progress: _show(progress, log),
        )
        search_seconds = time.perf_counter() - started
        trials = list(ledger)
        best = ledger.best()
    setup.executor.close()
    _write_trials_csv(trials, out / "trials.csv")
    plot_rewards(trials, out / "rewards.png")
    plot_entropy(trials, out / "entropy.png")
    summary: dict[str, Any] = {
        "dataset": data.name,
        "task": data.task.name,
        "space": config.space,
        "strategy": config.strategy,
        "evaluator": config.evaluator,
        "seed": config.seed,
        "trials": len(trials),
        "failed": sum(not t.result.ok for t in trials),
        "stopped": stopped,
        "search_seconds": search_seconds,
        "data": data.sizes(),
        "notes": data.notes,
        "best": None if best is None else _finish(config, setup, best, out, log),
    }
    summary.update(baseline_scores(config, data, summary["best"]))
    (out / SUMMARY).write_text(json.dumps(rounded(summary), indent=2) + "\n")
    _report(summary, data, log)
    return summary


def baseline_data(config: SearchConfig, data: Dataset) -> Dataset:
    """The data the scikit-learn baseline is fitted on: a table whenever the dataset can be
    read as one (bundled data, CSV files), so that its inputs do not depend on the space
    searched (digits as 64 columns for the cnn space too); image folders as they are."""
    if config.data.data_dir is not None or not SPACES.get(config.space).needs_images:
        return data
    return config.data.load(images=False, seed=config.seed)


def _print_estimate(config: SearchConfig, setup: Setup, done: int, log: TextIO) -> None:
    """Before children are trained: how long the rest of the run will take on this machine."""
    if config.evaluator != "train":
        return
    left = None if config.trials is None else max(config.trials - done, 0)
    models = final_models(setup.data, config.final_models)
    final = config.final_train_config()
    estimate = estimate_search(
        setup.space, setup.data, config.train, left, final, config.seed, models
    )
    print(f"archsearch: {estimate.describe(left)}", file=log)
    if config.time_limit is not None and estimate.search_seconds > config.time_limit:
        print(f"archsearch: the search will stop at --time-limit {config.time_limit:g} s", file=log)


def baseline_scores(
    config: SearchConfig, data: Dataset, best: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The scikit-learn baseline's test scores, and whether the found network beats it on
    the task's score."""
    scores = sklearn_baseline(baseline_data(config, data), config.seed)
    if scores is None:
        return {}
    out: dict[str, Any] = {"baseline": {"model": baseline_name(data.task.name), **scores}}
    test = f"test_{data.task.score}"
    if best is not None and best.get(test) is not None:
        out["beats_baseline"] = best[test] > scores[test]
    return out


def _finish(
    config: SearchConfig, setup: Setup, best: Trial, out: Path, log: TextIO
) -> dict[str, Any]:
    """Retrain the best architecture, test it once, save it."""
    space, data = setup.space, setup.data
    arch_file = {**best.arch.to_json(), "space_options": space.options()}
    (out / "best_arch.json").write_text(json.dumps(arch_file, indent=2) + "\n")
    score = f"val_{data.task.score}"
    entry: dict[str, Any] = {
        "arch": best.arch.to_json(),
        "trial": best.number,
        "reward": best.result.reward,
        score: best.result.metrics.get(score),
        "params": best.result.metrics.get("params"),
    }
    if config.final_epochs == 0 or not data.has_test():
        return entry
    models = final_models(data, config.final_models)
    times = f" x {models} networks" if models > 1 else ""
    print(
        f"archsearch: final training of trial {best.number} for {config.final_epochs} epochs"
        f"{times} on train+val",
        file=log,
    )

    def show(index: int, point: dict[str, float]) -> None:
        member = f"network {index + 1}/{models} " if models > 1 else ""
        print(
            f"final {member}epoch {point['epoch']}/{config.final_epochs}  loss "
            f"{point['train_loss']:.4f}  {point['seconds']:.1f}s",
            file=log,
            flush=True,
        )

    model, metrics = train_final(
        space, best.arch, data, config.final_train_config(), config.seed, models, show
    )
    save_model(out / "best_model.pt", model, space, best.arch, data)
    curves = metrics.pop("curves")
    (out / "final_curve.json").write_text(json.dumps(rounded(curves), indent=2) + "\n")
    entry.update(metrics)
    return entry


def rounded(value: Any, digits: int = 6) -> Any:
    """`value` with every float rounded to `digits` significant digits (no float32 noise
    such as 0.800000011920929 in files people read)."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


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


def _report(summary: dict[str, Any], data: Dataset, log: TextIO) -> None:
    best = summary["best"]
    if best is None:
        print("archsearch: no trial succeeded; see trials.csv for the reasons", file=log)
        return
    metric = data.task.score
    test = best.get(f"test_{metric}")
    test_text = f"test {metric} {test:.4f}" if test is not None else "not retrained"
    line = (
        f"archsearch: best trial {best['trial']}: val {metric} {best[f'val_{metric}']:.4f}, "
        f"{test_text}, {best['params']:,} params"
    )
    if "baseline" in summary:
        baseline = summary["baseline"]
        line += f"; scikit-learn {baseline['model']} {baseline[f'test_{metric}']:.4f}"
    print(line, file=log)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def _write_trials_csv(trials: list[Trial], path: Path) -> None:
    """One row per trial: number, status, reason, reward, every metric any trial has (in
    order of first appearance), seed, finish time, the architecture's hash and JSON."""
    metrics: dict[str, None] = {}
    for t in trials:
        metrics.update(dict.fromkeys(t.result.metrics))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "trial",
                "status",
                "reason",
                "reward",
                *metrics,
                "seed",
                "finished_at",
                "arch_hash",
                "arch",
            ]
        )
        for t in trials:
            m = t.result.metrics
            finished = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t.finished_at))
            writer.writerow(
                [t.number, t.result.status, t.result.reason, rounded(t.result.reward)]
                + [rounded(m.get(name, "")) for name in metrics]
                + [t.seed, finished, t.arch.hash, t.arch.canonical]
            )
