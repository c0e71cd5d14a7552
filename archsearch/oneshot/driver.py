"""The one-shot driver: runs a `OneShot` method's search epochs on a run's ledger.

After every epoch it records one trial — the architecture the method derives then, scored on
the shared weights on the validation split, with the epoch's statistics (losses, alpha or the
controller's entropy and reward) as the trial's `stats` — and, in the same transaction, the
method's whole state. A search killed at any instant therefore resumes from its last finished
epoch (`--resume`), and the ledger holds the search's history for the plots. The last trial is
the search's answer: what `archsearch.run` retrains from scratch and tests.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from archsearch.data.dataset import Dataset
from archsearch.evaluation.result import Result
from archsearch.evaluation.trainer import TrainConfig
from archsearch.ledger import Ledger, Trial
from archsearch.oneshot import ONESHOTS
from archsearch.oneshot.base import OneShot
from archsearch.options import parse_options
from archsearch.spaces.base import Architecture, Space

__all__ = [
    "check_options",
    "drive",
    "make_method",
    "plot_alpha",
    "record_epoch",
    "run_oneshot",
    "scored",
    "summarise",
]


def make_method(
    name: str, space: Space, data: Dataset, train: TrainConfig, seed: int, options: dict
) -> OneShot:
    """The one-shot method `name` for a run (`data` without its test split)."""
    return ONESHOTS.get(name)(space, data.task, data.without_test(), train, seed, **options)


def check_options(name: str, options: dict) -> None:
    """`ValueError` unless `options` are valid options of the one-shot method `name`."""
    cls = ONESHOTS.get(name)
    parse_options(f"one-shot method {name}", cls.Options, options)


def run_oneshot(
    method: OneShot,
    ledger: Ledger,
    seconds: float | None = None,
    on_epoch: Callable[[Trial], None] | None = None,
) -> tuple[str, Trial | None]:
    """Run `method` for its `train.epochs` search epochs, continuing from the ledger's saved
    state; record each epoch's derived architecture. Returns why it stopped ("budget": all
    epochs done, or "time") and the last recorded trial (the derived architecture)."""
    state = ledger.load_state()
    elapsed = 0.0
    if state is not None:
        method.load_state_dict(state["oneshot"])
        elapsed = float(state.get("elapsed", 0.0))
    started = time.monotonic()
    while method.epochs_done < method.train.epochs:
        if seconds is not None and elapsed + time.monotonic() - started >= seconds:
            return "time", _last(ledger)
        trial = record_epoch(method, ledger, elapsed + time.monotonic() - started)
        if on_epoch is not None:
            on_epoch(trial)
    return "budget", _last(ledger)


def record_epoch(method: OneShot, ledger: Ledger, elapsed: float) -> Trial:
    """One search epoch, then its derived architecture scored and recorded with the state
    (`elapsed`: seconds of search before this epoch, saved for a time limit on resume)."""
    begin = time.perf_counter()
    stats = method.epoch()
    arch = method.derive()
    result = scored(method, arch)
    result.metrics["epoch"] = method.epochs_done
    result.metrics["epoch_seconds"] = time.perf_counter() - begin
    trial = Trial(len(ledger), arch, result, method.seed, stats, time.time())
    now = elapsed + time.perf_counter() - begin
    ledger.record(trial, {"oneshot": method.state_dict(), "elapsed": now})
    return trial


def scored(method: OneShot, arch: Architecture) -> Result:
    """`arch`'s validation metrics on the method's shared weights as a result; its reward is
    the task's validation score (clipped to the task's floor)."""
    metrics = method.score(method.supernet, arch)
    score = metrics[method.task.score]
    values = {f"val_{k}": v for k, v in metrics.items()}
    params = method.space.count_params(arch, method.data.input_shape, method.task.output_spec())
    reward = max(score, method.task.reward_floor)
    return Result(reward=reward, metrics={**values, "params": params}, curve=[values])


def drive(
    method: OneShot, path: Path, seconds: float | None, log: TextIO
) -> tuple[str, float, list[Trial], Trial | None]:
    """A run's one-shot search on its ledger at `path`, saying what it does on `log`:
    (why it stopped, seconds of search over every session, every trial, the derived
    architecture's trial)."""
    with Ledger(path) as ledger:
        if len(ledger):
            print(f"archsearch: resuming after {len(ledger)} finished search epochs", file=log)
        if method.memory_need is None:  # a method that did not check: one path's step
            arch = method.space.sample(random.Random(method.seed))
            method.notice = method.fit_memory(method.supernet, arch)
        if method.notice:
            print(f"archsearch: {method.notice}", file=log)
        params = sum(p.numel() for p in method.supernet.parameters())
        print(
            f"archsearch: {method.name}: {method.train.epochs} search epochs of a supernet of "
            f"{params:,} parameters, batch {method.batch_size}, about "
            f"{(method.memory_need or 0) / 2**20:,.0f} MiB per step (estimated)",
            file=log,
        )
        before, started = ledger.searched_seconds(), time.perf_counter()
        stopped, last = run_oneshot(method, ledger, seconds, lambda t: _show(method, t, log))
        return stopped, before + time.perf_counter() - started, list(ledger), last


def _show(method: OneShot, trial: Trial, log: TextIO) -> None:
    score = f"val_{method.task.score}"
    print(
        f"search epoch {trial.result.metrics['epoch']}/{method.train.epochs}  derived "
        f"{score} {trial.result.metrics.get(score, float('nan')):.4f} (shared weights)  "
        f"{trial.result.metrics['epoch_seconds']:.1f}s",
        file=log,
        flush=True,
    )


def summarise(
    method: OneShot, trials: list[Trial], derived: Trial | None, out: Path, table: Any = None
) -> dict[str, Any]:
    """The summary's `oneshot` entry (and alpha.png for DARTS): the method, its epochs, the
    derived architecture's validation figure on the shared weights and, given a tabular
    evaluator `table` (nb201 with `--evaluator tabular`), the table's test accuracy of the
    derived cell (never used by the search)."""
    entry: dict[str, Any] = {"method": method.name, "epochs": method.epochs_done}
    entry["batch_size"] = method.batch_size
    if derived is not None:
        score = f"val_{method.task.score}"
        entry["derived"] = derived.arch.to_json()
        entry[f"search_{score}"] = derived.result.metrics.get(score)
        if table is not None:
            looked_up = table.evaluate(derived.arch, 0)
            entry["table_test_accuracy"] = looked_up.metrics.get("table_test_accuracy")
    if plot_alpha(trials, out / "alpha.png", f"{method.name}: softmax(alpha) per edge"):
        entry["alpha_plot"] = "alpha.png"
    return entry


def _last(ledger: Ledger) -> Trial | None:
    trials = list(ledger)
    return trials[-1] if trials else None


def plot_alpha(trials: list[Trial], path: Path, title: str = "") -> Any:
    """DARTS's architecture weights per edge over the epochs: one panel per decision, one
    line per operation (the trials' `alpha/<decision>/<choice>` stats); one shared legend,
    or one per panel when decisions have different choices. None (no file) when the trials
    hold no alpha."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    series: dict[str, dict[str, list[float]]] = {}
    for trial in trials:
        for key, value in trial.stats.items():
            if key.startswith("alpha/"):
                _, decision, choice = key.split("/", 2)
                series.setdefault(decision, {}).setdefault(choice, []).append(value)
    if not series:
        return None
    columns = min(3, len(series))
    rows = -(-len(series) // columns)
    figure = Figure(figsize=(4.2 * columns, 3.0 * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    epochs = [t.result.metrics.get("epoch", i + 1) for i, t in enumerate(trials)]
    for ax, (decision, choices) in zip(axes, series.items()):
        for choice, values in choices.items():
            ax.plot(epochs[: len(values)], values, marker=".", label=choice)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(decision)
        ax.set_ylim(0, 1)
        ax.set_xlabel("search epoch")
        ax.set_ylabel("softmax(alpha)")
    for ax in axes[len(series) :]:
        ax.set_visible(False)
    if len({tuple(choices) for choices in series.values()}) > 1:  # darts: pairs and ops
        for ax in axes[: len(series)]:
            ax.legend(fontsize="x-small", ncols=2, loc="upper right")
    else:
        handles, names = axes[0].get_legend_handles_labels()
        figure.legend(handles, names, loc="outside lower center", ncols=min(len(names), 5))
    figure.suptitle(title or "Architecture weights per edge")
    figure.savefig(path, dpi=110)
    return figure
