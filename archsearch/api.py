"""The Python API, for notebooks and scripts: run a search, open a run, extend the toolkit.

`search(...)` takes the command line's settings as keywords, named as its flags with `_` for
`-` (`dataset=`, `data=` and `target=`, `data_dir=`, `space=`, `strategy=`, `trials=`,
`epochs=`, `final_epochs=`, `seed=`, `batch_size=`, `child_subset=`, ...; the plug-ins'
options as dicts: `space_options={"max_layers": 2}`; child training also as a dict:
`train={"batch_size": 32}`), and checks them through the same `SearchConfig` as `archsearch
search`, so a bad value raises the same `UsageError` with the same message. `load(path)` opens
a run, finished or not, as the same `RunResult`; `resume(path)` continues one.

Spaces and strategies are plug-ins found by name in `SPACES` and `STRATEGIES`; one of your own
is added with `register` and is then usable by name, in `search` too:

    >>> import tempfile
    >>> from torch import nn
    >>> import archsearch
    >>> class Width(archsearch.Space):
    ...     '''One hidden layer; its width is the only decision.'''
    ...     name = "width"
    ...     decisions = (archsearch.Categorical("width", (4, 8, 16)),)
    ...     def options(self):
    ...         return {}
    ...     def build(self, arch, input_shape, output):
    ...         inputs, width = input_shape[-1], arch["width"]
    ...         return nn.Sequential(nn.Flatten(), nn.Linear(inputs, width), nn.ReLU(),
    ...                              nn.Linear(width, output.shape[0]))
    >>> class Climb(archsearch.Strategy):
    ...     '''Hill climbing: a mutation of the best architecture so far (a real strategy also
    ...     saves `best` in `state_dict`, so that a resumed search continues exactly).'''
    ...     name = "climb"
    ...     best = None
    ...     def ask(self):
    ...         if self.best is None:
    ...             return self.space.sample(self.rng)
    ...         return self.space.mutate(self.best[0], self.rng)
    ...     def tell(self, arch, result):
    ...         if result.ok and (self.best is None or result.reward > self.best[1]):
    ...             self.best = (arch, result.reward)
    >>> _ = archsearch.SPACES.register(Width), archsearch.STRATEGIES.register(Climb)
    >>> archsearch.get_strategy("climb", archsearch.get_space("width")).ask()["width"] in (4, 8, 16)
    True
    >>> run = archsearch.search(dataset="iris", space="width", strategy="climb", trials=2,
    ...                         epochs=1, final_epochs=1, final_models=1, quiet=True,
    ...                         out=f"{tempfile.mkdtemp()}/climb")
    >>> run.status, len(run.trials), run.best.arch.space
    ('finished', 2, 'width')
    >>> archsearch.SPACES.unregister("width"), archsearch.STRATEGIES.unregister("climb")
    (None, None)
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

from torch import nn

from archsearch.commands import flag_name
from archsearch.config import DataSpec, SearchConfig, from_json, load_json
from archsearch.errors import UsageError
from archsearch.evaluation.trainer import TrainConfig
from archsearch.export import load_run
from archsearch.ledger import Ledger, Trial
from archsearch.predict import predict_source
from archsearch.presets import apply_preset
from archsearch.run import CONFIG, LEDGER, is_run, resume_run, retrained_trial, start_run
from archsearch.runs import current_summary, run_status
from archsearch.spaces import Architecture
from archsearch.tasks import task_score

__all__ = ["Best", "RunResult", "load", "resume", "search", "search_config"]

#: Where `search` puts a run when no `out=` is given: `runs/<space>-<strategy>-<n>` under the
#: current folder, with the first n from 1 that is free (so `archsearch runs` lists it).
DEFAULT_ROOT = Path("runs")


@dataclass(frozen=True)
class Best:
    """The best trial of a run: its architecture, and its scores under the task's score name
    `score` (accuracy or r2): `val` from the search, `test` from the final training (None
    until the best is retrained and tested). `entry` is all that is recorded about it: the
    summary's `best` entry or, before the summary is written, the trial's metrics."""

    arch: Architecture
    trial: int
    score: str | None
    val: float | None
    test: float | None
    params: int | None
    entry: dict[str, Any] = field(hash=False)

    @classmethod
    def of(cls, trial: Trial, entry: dict[str, Any], task: str | None = None) -> Best:
        """The best `trial` with what is recorded about it, `entry` (of a run of `task`)."""
        score = task_score(entry, task)
        val, test = entry.get(f"val_{score}"), entry.get(f"test_{score}")
        return cls(trial.arch, trial.number, score, val, test, entry.get("params"), entry)

    @property
    def importance(self) -> list[dict[str, Any]] | None:
        """For a table, each column's importance to the retrained network, most important
        first ({"column", "drop", "std"}: the test score lost when it is shuffled; see
        `archsearch.evaluation.importance`); None before the final training, or for images."""
        return self.entry.get("importance")


class RunResult:
    """A run directory opened for reading. `trials`, `summary`, `best` and `status` are read
    from its files on each access (a running run changes); `model` is loaded once.

    `best` comes from `summary` once the search has ended, else from the ledger.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        best, text = self.best, ""
        if best is not None:
            val, test = (f"{v:.4f}" if v is not None else "-" for v in (best.val, best.test))
            text = f", best trial {best.trial}: val {best.score} {val}, test {test}"
        return f"RunResult('{self.path}', {self.status}{text})"

    @property
    def config(self) -> SearchConfig:
        """The run's configuration (config.json)."""
        return load_json(SearchConfig, self.path / CONFIG)

    @property
    def trials(self) -> list[Trial]:
        """Every finished trial in the ledger, by number (from 0)."""
        with Ledger.open(self.path / LEDGER, readonly=True) as ledger:
            return list(ledger)

    @property
    def summary(self) -> dict[str, Any] | None:
        """summary.json, if written when the search ended at the ledger's trials (a finished
        run's, or one whose final training failed); None before."""
        return current_summary(self.path, len(self.trials))

    @property
    def status(self) -> str:
        """`finished`, `running`, `interrupted` or `final failed` (see `archsearch.runs`)."""
        return run_status(self.path, len(self.trials))

    @property
    def best(self) -> Best | None:
        """The best trial (the highest validation reward, or once the search has ended the
        trial retrained: `--final-rerank` may choose another candidate; None if no trial
        succeeded)."""
        with Ledger.open(self.path / LEDGER, readonly=True) as ledger:
            summary = current_summary(self.path, len(ledger))
            trial = retrained_trial(summary, ledger.best(), ledger)
        if trial is None:
            return None
        if summary is None or summary.get("best") is None:
            entry = {"trial": trial.number, "reward": trial.result.reward}
            return Best.of(trial, {**entry, **trial.result.metrics})
        return Best.of(trial, summary["best"], summary.get("task"))

    @cached_property
    def model(self) -> nn.Module:
        """The retrained best network (an ensemble if it was trained several times) as
        `archsearch export` writes it, in eval mode: image runs take raw pixel values (0-255,
        channels first) and table runs the preprocessed feature vector (`predict` takes raw
        rows); regression answers in the target's own units, classification with logits.
        `UsageError` if the run has none yet."""
        return load_run(self.path).model

    def predict(self, source: str | os.PathLike[str]) -> list[dict[str, str]]:
        """What `archsearch predict` writes for `source` (a CSV file of new rows, or a folder
        of images), one dict per input: `id`, `prediction` (a class name, or the value in the
        target's units) and for classification each `probability_<class>`."""
        path = Path(source)
        header, rows = predict_source(self.path, path, images=path.is_dir())
        return [dict(zip(header, row)) for row in rows]


def search_config(settings: dict[str, Any]) -> SearchConfig:
    """The `SearchConfig` that keyword `settings` (as `search` takes them) describe, over a
    `preset` if one is named; `UsageError` for an unknown keyword or a bad value."""
    places = _keyword_places()
    given = {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in settings.items()}
    unknown = sorted(set(given) - set(places) - {"train", "preset"})
    if unknown:
        raise UsageError(
            f"unknown setting(s) {unknown} for archsearch.search; known: {', '.join(places)}"
        )
    nested: dict[str, Any] = {"data": {}, "train": dict(given.pop("train", None) or {})}
    preset = given.pop("preset", None)
    top: dict[str, Any] = {}
    for keyword, value in given.items():
        section, name = places[keyword]
        (nested[section] if section else top)[name] = value
    data = {**top, **nested}
    config = from_json(SearchConfig, apply_preset(preset, data) if preset else data)
    config.validate()
    return config


def _keyword_places() -> dict[str, tuple[str | None, str]]:
    """Each keyword of `search`: (the nested config it sets, or None for the top level; the
    field). Data and training keywords are their flags' names (`data=` is `--data CSV`)."""
    places: dict[str, tuple[str | None, str]] = {}
    for section, cls in (("train", TrainConfig), ("data", DataSpec)):
        for f in dataclasses.fields(cls):
            places[flag_name(cls, f.name).replace("-", "_")] = (section, f.name)
    for f in dataclasses.fields(SearchConfig):
        if f.name not in ("data", "train", "run_id"):
            places[f.name] = (None, f.name)
    return places


def search(
    dataset: str | None = None,
    *,
    data: str | os.PathLike[str] | None = None,
    target: str | int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    space: str | None = None,
    strategy: str | None = None,
    trials: int | None = None,
    epochs: int | None = None,
    final_epochs: int | None = None,
    seed: int | None = None,
    out: str | os.PathLike[str] | None = None,
    log: TextIO | None = None,
    quiet: bool = False,
    **settings: Any,
) -> RunResult:
    """Search as `archsearch search` does with these settings (None: the command's default),
    then retrain and test the best; the run as a `RunResult`.

    `out`: the run directory, new or empty (default: a fresh `runs/<space>-<strategy>-<n>`
    under the current folder). The log goes to stderr as the command's does, or to `log`;
    `quiet=True` drops it. Anything else the command takes is a keyword too (see the module's
    doc), and is checked before any file is written. Ctrl-C leaves a run that `resume`
    continues; a final training that fails raises `RunFailed` with the search's results kept.

        >>> import archsearch
        >>> archsearch.search(dataset="iris", trials=0)
        Traceback (most recent call last):
        ...
        archsearch.errors.UsageError: --trials must be >= 1, got 0
    """
    if isinstance(target, int) and not isinstance(target, bool):
        target = str(target)  # a 0-based column index, as typed on the command line
    named = {"dataset": dataset, "data": data, "target": target, "data_dir": data_dir}
    named |= {"space": space, "strategy": strategy, "trials": trials, "epochs": epochs}
    named |= {"final_epochs": final_epochs, "seed": seed}
    given = {key: value for key, value in named.items() if value is not None}
    config = search_config({**given, **settings})
    with _log_stream(log, quiet) as stream:
        if out is not None:
            start_run(config, Path(out), stream)
            return RunResult(out)
        path = _fresh_directory(DEFAULT_ROOT / f"{config.space}-{config.strategy}")
        try:
            start_run(config, path, stream)
        except BaseException:
            with contextlib.suppress(OSError):  # not empty: a run started there, resumable
                path.rmdir()  # a refused start leaves no empty folder behind
            raise
        return RunResult(path)


def load(run_dir: str | os.PathLike[str]) -> RunResult:
    """The run in `run_dir` (finished, interrupted or running); `UsageError` if it is none.

    >>> import archsearch
    >>> archsearch.load("no/such/run")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    archsearch.errors.UsageError: no/such/run is not an archsearch run (it needs ...)
    """
    path = Path(run_dir)
    if not is_run(path):
        raise UsageError(f"{path} is not an archsearch run (it needs {CONFIG} and {LEDGER})")
    return RunResult(path)


def resume(
    run_dir: str | os.PathLike[str],
    trials: int | None = None,
    time_limit: float | None = None,
    log: TextIO | None = None,
    quiet: bool = False,
) -> RunResult:
    """Continue the run in `run_dir` as `archsearch search --resume` does (a larger `trials`
    or a `time_limit` extends it); the run as a `RunResult`."""
    with _log_stream(log, quiet) as stream:
        resume_run(Path(run_dir), trials, time_limit, stream)
    return RunResult(run_dir)


@contextmanager
def _log_stream(log: TextIO | None, quiet: bool) -> Iterator[TextIO]:
    """Where a run's log goes: `log`, nowhere if `quiet`, else the current stderr (a
    notebook's, when run in one)."""
    if quiet and log is not None:
        raise UsageError("give log= or quiet=True, not both")
    if not quiet:
        yield log or sys.stderr
        return
    with open(os.devnull, "w") as devnull:
        yield devnull


def _fresh_directory(stem: Path) -> Path:
    """Create and return the first of `stem-1`, `stem-2`, ... that does not exist yet
    (creating it claims it: two searches started at once get two folders)."""
    number = 1
    while True:
        path = stem.with_name(f"{stem.name}-{number}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            number += 1
