"""A search run from start to artifacts: the run directory, the search, final training.

`runs/<name>/` holds config.json, ledger.sqlite, trials.csv, rewards.png, entropy.png,
best_arch.json, best_arch.svg/.png, best_model.pt, final_curve.json, final_curves.png,
confusion.png (for classification), pareto.png (with several --objectives) and summary.json.
Everything is checked before the directory is created, and an existing run is never
overwritten: it can only be resumed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from archsearch.checkpoint import save_model
from archsearch.config import SearchConfig, load_json
from archsearch.data import Dataset
from archsearch.errors import RunFailed, UsageError
from archsearch.estimate import estimate_search, smaller_images_tip
from archsearch.evaluation import EVALUATORS, Context, Evaluator, get_evaluator
from archsearch.evaluation.baseline import baseline_name, sklearn_baseline
from archsearch.evaluation.importance import column_importance
from archsearch.evaluation.result import FAILED, PRUNED
from archsearch.evaluation.rewards import check_reward
from archsearch.evaluation.trainer import TrainingFailed, default_lr
from archsearch.evaluation.warm_start import warm_start_strategy
from archsearch.execution import EXECUTORS, Executor, get_executor
from archsearch.final import final_models, train_final, write_final_plots, write_test_predictions
from archsearch.ledger import Ledger, LedgerError, Trial
from archsearch.loop import Budget, Progress, next_trial_number, run_search, trial_seed
from archsearch.oneshot import ONESHOTS, OneShot
from archsearch.oneshot.driver import check_options as check_oneshot_options
from archsearch.oneshot.driver import drive, make_method, summarise
from archsearch.options import parse_options
from archsearch.reporting.console import plural, report, show_progress
from archsearch.reporting.files import write_json, write_trials_csv
from archsearch.reporting.generative import write_generative_figures
from archsearch.reporting.pareto import front_entries, plot_pareto
from archsearch.reporting.plots import SearchLabels, plot_entropy, plot_rewards
from archsearch.rerank import FOLDS, final_rerank, rerank, top_distinct
from archsearch.retrain_top import retrain_top
from archsearch.rundir import (
    LOCK,
    RunLock,
    changed_settings,
    fingerprint,
    new_run_id,
    save_atomic,
    write_text_atomic,
)
from archsearch.sanity import data_warnings
from archsearch.spaces import SPACES, Architecture, Space, get_space
from archsearch.strategies import Strategy, get_strategy

CONFIG, LEDGER, SUMMARY = "config.json", "ledger.sqlite", "summary.json"
SAFER_LR = 0.1  # a final training that fails is tried again at this fraction of its rate


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
    """Check everything, create `out`, take its lock, search and finish; return the
    summary. Nothing is written before the configuration and the data are known to be
    usable, and nothing is ever written into another run."""
    log = log or sys.stderr
    config.validate()
    _check_new(out)
    setup = make_setup(config)
    warm_start_strategy(
        setup.strategy,
        setup.data,
        config.warm_start,
        config.warm_start_pool,
        config.warm_start_proxy,
        config.seed,
        log,
    )
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):
        _check_new(out)  # again, now that no other process can be writing it
        config.run_id = new_run_id()
        data = config.to_json()
        write_text_atomic(out / CONFIG, json.dumps(data, indent=2) + "\n")
        meta = {
            "run_id": config.run_id,
            "fingerprint": fingerprint(data),
            "space_options": json.dumps(setup.space.options()),
        }
        Ledger(out / LEDGER, {**meta, "config": json.dumps(data)}).close()
        return _execute(config, setup, out, log)


def _check_new(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a directory for the run")
    if is_run(out):
        raise UsageError(
            f"{out} already holds a run; continue it with `archsearch search --resume {out}` "
            "or choose another --out"
        )
    if out.is_dir() and any(p.name != LOCK for p in out.iterdir()):
        raise UsageError(f"--out {out} is a non-empty directory; choose a new or empty one")


def resume_run(
    out: Path,
    trials: int | None = None,
    time_limit: float | None = None,
    log: TextIO | None = None,
) -> dict[str, Any]:
    """Continue the run in `out` where it stopped; `trials`/`time_limit` may extend it.
    Nothing is written until the configuration and the ledger are known to belong together
    and to be readable (a refused resume leaves every file as it was); then the run's lock is
    taken."""
    log = log or sys.stderr
    if not is_run(out):
        if (out / CONFIG).is_file():
            load_json(SearchConfig, out / CONFIG)  # says so if it is a training's
        raise UsageError(
            f"{out} is not an archsearch run (it needs {CONFIG} and {LEDGER}); start one with "
            f"`archsearch search ... --out {out}`"
        )
    config = load_json(SearchConfig, out / CONFIG)
    if trials is not None and config.strategy in ONESHOTS:
        raise UsageError(
            f"--trials: the one-shot search in {out} runs its --epochs search epochs, which a "
            "resume cannot change; start a new run with more --epochs"
        )
    with Ledger.open(out / LEDGER, readonly=True) as ledger:
        check_identity(config, ledger.meta(), out)
        done = len(ledger)
    config.trials = config.trials if trials is None else trials
    if time_limit is not None:
        config.time_limit = time_limit
    config.validate()
    setup = make_setup(config)
    with Ledger.open(out / LEDGER, readonly=True) as ledger:
        ledger.check(setup.space)
        _check_state(setup, ledger)
        searched = done - references(ledger)  # the trials the budget counts
        spent = ledger.searched_seconds()
    if trials is not None and trials < searched:
        raise UsageError(f"--trials {trials} is below the {searched} trials this run has searched")
    finished = finished_summary(out, done)
    new_budget = trials is not None or time_limit is not None
    if finished is not None and not (new_budget and _budget_left(config, searched, spent)):
        print(
            f"archsearch: {_nothing_to_do(out, config, finished, done, searched, spent)}", file=log
        )
        return finished
    with RunLock(out):
        if load_json(SearchConfig, out / CONFIG).run_id != config.run_id:
            raise UsageError(f"{out}/{CONFIG} was replaced while this resume started")
        write_text_atomic(out / CONFIG, json.dumps(config.to_json(), indent=2) + "\n")
        return _execute(config, setup, out, log)


def _budget_left(config: SearchConfig, searched: int, spent: float) -> bool:
    """Whether a search that has run `searched` trials (a one-shot search: epochs) in `spent`
    seconds has any of `config`'s budget left."""
    planned = config.train.epochs if config.strategy in ONESHOTS else config.trials
    trials_left = planned is None or searched < planned
    return trials_left and (config.time_limit is None or spent < config.time_limit)


def _nothing_to_do(
    out: Path, config: SearchConfig, finished: dict, done: int, searched: int, spent: float
) -> str:
    """What a resume of a finished run with no budget left says."""
    best = (finished["best"] or {}).get("trial", "-")
    if config.strategy in ONESHOTS:
        return (
            f"{out} is finished ({searched} search epochs in {spent:.0f} s, best trial {best}); "
            "nothing to do — a one-shot search ends after its --epochs (a --time-limit above "
            "the time searched continues one that stopped at its limit)"
        )
    extra = f" and {done - searched} reference" if done > searched else ""
    return (
        f"{out} is finished ({searched} trials searched{extra} in {spent:.0f} s, best trial "
        f"{best}); nothing to do — give --trials above {searched} or a --time-limit above "
        "the time searched to search on"
    )


def read_summary(out: Path) -> dict[str, Any] | None:
    """The run's last summary.json; None if there is none or it cannot be read as one (a run
    stopped before its first end, or a damaged file)."""
    try:
        summary = json.loads((out / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def finished_summary(out: Path, done: int | None = None) -> dict[str, Any] | None:
    """The run's last summary if the run reached its end then, with the best architecture
    retrained and tested (or nothing to retrain); and if `done` is given, only when that end
    was at `done` trials."""
    summary = read_summary(out)
    if summary is None or done not in (None, summary.get("trials")):
        return None
    best = summary.get("best") or {}
    if "final" not in best:  # nothing to retrain: no success, --final-epochs 0 or no test
        return summary
    trained = best["final"].get("status") == "ok" and (out / "best_model.pt").is_file()
    return summary if trained else None


def retrained_trial(
    summary: dict[str, Any] | None, best: Trial | None, trials: Iterable[Trial]
) -> Trial | None:
    """The trial the final training retrained, as `summary` names it (`--final-rerank` may
    choose another candidate than the search's `best`), else `best` (None: no success)."""
    chosen = ((summary or {}).get("best") or {}).get("trial")
    if best is None or chosen in (None, best.number):
        return best
    return next((t for t in trials if t.number == chosen), best)


def check_identity(config: SearchConfig, meta: dict[str, str], out: Path) -> None:
    """`UsageError` unless the ledger was started with this configuration: the same run id,
    and the same settings but the budget."""
    if meta.get("run_id") != config.run_id:
        raise UsageError(
            f"{out}/{LEDGER} belongs to another run (run id {meta.get('run_id')}, "
            f"{CONFIG} says {config.run_id or 'none'}); a ledger is resumed only with its own "
            "configuration"
        )
    data = config.to_json()
    if meta.get("fingerprint") != fingerprint(data):
        original = json.loads(meta.get("config", "{}"))
        changed = ", ".join(changed_settings(original, data)) or "unknown settings"
        raise UsageError(
            f"{out}/{CONFIG} was changed since the run started ({changed}); restore it, or "
            "start a new run with the new settings"
        )


def _check_state(setup: Setup, ledger: Ledger) -> None:
    """`LedgerError` unless the saved search state loads into this run's strategy,
    evaluator and executor."""
    state = ledger.load_state()
    if state is None:
        return
    try:
        oneshot = isinstance(setup.strategy, OneShot)
        setup.strategy.load_state_dict(state["oneshot" if oneshot else "strategy"])
        setup.evaluator.load_state_dict(state.get("evaluator", {}))
        setup.executor.load_state_dict(state.get("executor", {}))
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise LedgerError(
            f"{ledger.path}: the saved search state does not fit the {setup.strategy.name} "
            f"strategy ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
        ) from None


def make_setup(config: SearchConfig) -> Setup:
    """Build every part of a run from its configuration; `UsageError` for anything that does
    not fit together (an option, the data, the task for the space or the reward)."""
    _check_options(config)
    data = config.data.load(images=SPACES.get(config.space).needs_images, seed=config.seed)
    fitted = SPACES.get(config.space).fitted_options(data.input_shape)
    space = _plugin("space", lambda: get_space(config.space, **{**fitted, **config.space_options}))
    task = data.task
    if not space.supports(task.output_spec()):
        raise UsageError(
            f"the {space.name} space cannot output {task.output_spec().shape} for the "
            f"{task.name} task; use --space {_space_for(task.name)}"
        )
    if config.train.label_smoothing and task.name != "classification":
        raise UsageError(f"--label-smoothing applies to classification, not {task.name}")
    _plugin("reward", lambda: check_reward(config.reward, task))
    strategy = _plugin(
        "strategy",
        lambda: (
            make_method(
                config.strategy, space, data, config.train, config.seed, config.strategy_options
            )
            if config.strategy in ONESHOTS
            else get_strategy(config.strategy, space, config.seed, **config.strategy_settings())
        ),
    )
    context = Context(
        space,
        task,
        data.without_test(),
        config.train,
        config.reward,
        config.prune,
        config.prune_options,
        objectives=config.objective_names(),
        costs=config.cost_targets(),
    )
    evaluator = _plugin(
        "evaluator", lambda: get_evaluator(config.evaluator, context, **config.evaluator_options)
    )
    executor = _plugin("executor", lambda: get_executor(config.executor, **config.executor_options))
    return Setup(data, space, strategy, evaluator, executor)


def _check_options(config: SearchConfig) -> None:
    """The plug-ins' options, checked before any data is read (a data folder may be large,
    and reading it may write a cache)."""
    _check_oneshot(config)
    space = _plugin("space", lambda: get_space(config.space, **config.space_options))
    _plugin(
        "strategy",
        lambda: (
            check_oneshot_options(config.strategy, config.strategy_options)
            if config.strategy in ONESHOTS
            else get_strategy(config.strategy, space, 0, **config.strategy_settings())
        ),
    )
    for kind, registry, options in (
        ("evaluator", EVALUATORS, config.evaluator_options),
        ("executor", EXECUTORS, config.executor_options),
    ):
        cls = registry.get(getattr(config, kind))
        _plugin(
            kind,
            lambda cls=cls, kind=kind, options=options: parse_options(
                f"{kind} {cls.name}", cls.Options, options
            ),
        )


def _space_for(task: str) -> str:
    """The space to suggest for a task a space cannot output."""
    return {"vae": "vae", "reconstruction": "autoencoder or --space mlp"}.get(task, "mlp")


def _check_oneshot(config: SearchConfig) -> None:
    """`UsageError` for an executor or evaluator that a one-shot search would ignore."""
    if config.strategy not in ONESHOTS:
        return
    if config.executor != "inline":
        raise UsageError(
            f"--executor {config.executor}: a one-shot search trains one supernet in this "
            "process; leave --executor out"
        )
    if config.evaluator not in ("train", "tabular"):
        raise UsageError(
            f"--evaluator {config.evaluator}: a one-shot search scores architectures on its "
            "shared weights; leave --evaluator out (or give tabular, for nb201, to look the "
            "derived cells up in a table)"
        )


def _plugin(kind: str, make: Any) -> Any:
    """`make()`, a plug-in; its `ValueError` a `UsageError` pointing at its options (a
    `UsageError` already says what to do)."""
    try:
        return make()
    except UsageError:
        raise
    except ValueError as exc:
        flag = f" (check --{kind}-option)" if kind != "reward" else ""
        raise UsageError(f"{exc}{flag}") from None


def _announce(config: SearchConfig, data: Dataset, out: Path, log: TextIO) -> list[str]:
    """Say what is searched, what the loader decided, which augmentations are on and what
    looks wrong; return the warnings (for summary.json)."""
    print(
        f"archsearch: {config.strategy} search of the {config.space} space on "
        f"{data.describe()} -> {out}",
        file=log,
    )
    t = config.train
    for note in [*data.notes, t.describe_augmentation(data.input_shape)]:
        print(f"archsearch: {note}", file=log)
    children = config.evaluator == "train" and config.strategy not in ONESHOTS
    warnings = data_warnings(data, t if children else None)
    for warning in warnings:
        print(f"archsearch: warning: {warning}", file=log)
    return warnings


def _search(
    config: SearchConfig, setup: Setup, out: Path, log: TextIO
) -> tuple[str, float, list[Trial], Trial | None]:
    """Run the search on the run's ledger; (why it stopped, seconds, trials, best). The
    executor's workers are released however the search ends (Ctrl-C, an error)."""
    try:
        with Ledger(out / LEDGER) as ledger:
            if len(ledger):
                print(f"archsearch: resuming after {len(ledger)} finished trials", file=log)
            _print_estimate(config, setup, len(ledger), log)
            before, started = ledger.searched_seconds(), time.perf_counter()
            trials = None if config.trials is None else config.trials + references(ledger)
            stopped = run_search(
                setup.strategy,
                setup.evaluator,
                ledger,
                Budget(trials, config.time_limit, config.epoch_budget),
                seed=config.seed,
                executor=setup.executor,
                reevaluate=config.reevaluate,
                on_trial=_budget_progress(config.trials, references(ledger), log),
                retries=config.retries,
            )
            _train_reference(config, setup, ledger, log)
            seconds = before + time.perf_counter() - started  # every session's search
            return stopped, seconds, list(ledger), ledger.best()
    finally:
        setup.executor.close()


def _budget_progress(trials: int | None, uncounted: int, log: TextIO) -> Callable:
    """`show_progress` counting as the budget counts: the ledger's `uncounted` reference
    trials are neither done nor part of the total `--trials`."""

    def show(progress: Progress) -> None:
        budget = replace(progress.budget, trials=trials)
        show_progress(replace(progress, done=progress.done - uncounted, budget=budget), log)

    return show


#: The stats key that marks the trial of the space's reference architecture.
REFERENCE = "reference"


def references(ledger: Ledger) -> int:
    """How many of the ledger's trials are reference trials, which no budget counts."""
    return sum(REFERENCE in trial.stats for trial in ledger)


def _train_reference(config: SearchConfig, setup: Setup, ledger: Ledger, log: TextIO) -> None:
    """Train the reference architecture that re-ranking will weigh (`_reference`) as one more
    child, numbered after every trial of the search and marked `REFERENCE` in its stats (the
    search's budget does not count it), unless the search tried it. The search state is left
    as it was: a resumed search goes on where it stopped."""
    arch, state = _reference(config, setup), ledger.load_state()
    if arch is None or state is None or ledger.find(arch) is not None:
        return
    number = next_trial_number(ledger, [number for _, number, _ in state.get("in_flight", [])])
    seed = trial_seed(config.seed, number)
    print(f"archsearch: trial {number}: the space's reference architecture, to re-rank", file=log)
    setup.evaluator.deadline = None  # the search's time limit is for the search
    result = setup.evaluator.evaluate(arch, seed)
    ledger.record(Trial(number, arch, result, seed, {REFERENCE: 1.0}, time.time()), state)


def _execute(config: SearchConfig, setup: Setup, out: Path, log: TextIO) -> dict[str, Any]:
    data = setup.data
    warnings = _announce(config, data, out, log)
    oneshot = isinstance(setup.strategy, OneShot)
    if oneshot:  # a one-shot method: its own driver, the same ledger and run directory
        found = drive(setup.strategy, out / LEDGER, config.time_limit, log)
        stopped, search_seconds, trials, best = found
    else:
        stopped, search_seconds, trials, best = _search(config, setup, out, log)
    write_trials_csv(trials, out / "trials.csv")
    labels = SearchLabels(data.name, config.strategy, config.space, config.reward, data.task.score)
    plot_rewards(trials, out / "rewards.png", labels)
    plot_entropy(trials, out / "entropy.png", labels)
    objectives = config.objective_names()
    if len(objectives) > 1:
        plot_pareto(trials, objectives, out / "pareto.png", labels)
    summary: dict[str, Any] = {
        "dataset": data.name,
        "task": data.task.name,
        "space": config.space,
        "strategy": config.strategy,
        "evaluator": config.evaluator,
        "seed": config.seed,
        "trials": len(trials),
        "failed": sum(t.result.status == FAILED for t in trials),
        "pruned": sum(t.result.status == PRUNED for t in trials),
        "epochs": sum(len(t.result.curve) for t in trials),
        "stopped": stopped,
        "search_seconds": search_seconds,
        "data": data.sizes(),
        "notes": data.notes,
        "warnings": warnings,
        "best": None if best is None else _best_entry(config, setup, trials, best, out, log),
    }
    if oneshot:
        table = setup.evaluator if config.evaluator == "tabular" else None
        summary["evaluator"] = "shared weights"
        summary["oneshot"] = summarise(setup.strategy, trials, best, out, table)
    if len(objectives) > 1:
        summary["objectives"] = list(objectives)
        summary["pareto"] = front_entries(trials, objectives)
    summary.update(baseline_scores(config, data, summary["best"]))
    if config.retrain_top and not oneshot:
        summary["retrain_top"] = retrain_top(setup.evaluator, trials, config.retrain_top, log)
    write_json(out / SUMMARY, summary)
    report(summary, data.task.score, log)
    final = (summary["best"] or {}).get("final", {})
    if final.get("status") == "failed":
        raise RunFailed(
            f"the final training failed ({final['reason']}); the search's results are in "
            f"{out} — retrain with `archsearch train --run {out} --lr SMALLER`"
        )
    return summary


def baseline_data(config: SearchConfig, data: Dataset) -> Dataset:
    """The data the scikit-learn baseline is fitted on: a table whenever the dataset can be
    read as one (bundled data, CSV files), so that its inputs do not depend on the space
    searched (digits as 64 columns for the cnn space too); image folders, and data of a
    task without a baseline (reconstruction, vae), as they are."""
    if config.data.data_dir is not None or not SPACES.get(config.space).needs_images:
        return data
    if baseline_name(data.task.name) is None:
        return data
    return config.data.load(images=False, seed=config.seed)


def _print_estimate(config: SearchConfig, setup: Setup, done: int, log: TextIO) -> None:
    """Before children are trained: how long the rest of the run will take on this machine."""
    if config.evaluator != "train":
        return
    left = None if config.trials is None else max(config.trials - done, 0)
    if config.epoch_budget is not None:  # at most this many unpruned children
        by_epochs = max(-(-config.epoch_budget // config.train.epochs) - done, 0)
        left = by_epochs if left is None else min(left, by_epochs)
    models = final_models(setup.data, config.final_models)
    if _reranks(config, setup):  # each candidate's folds train on (FOLDS - 1) networks' rows
        candidates = final_rerank(setup.data, config.final_rerank)
        models += (candidates + (_reference(config, setup) is not None)) * (FOLDS - 1)
    final = config.final_train_config()
    estimate = estimate_search(
        setup.space,
        setup.data,
        config.train,
        left,
        final,
        config.seed,
        models,
        fixed=setup.strategy.fixed_values,
        first=done,
    )
    print(f"archsearch: {estimate.describe(left)}", file=log)
    tip = smaller_images_tip(setup.data.input_shape, estimate)
    if tip is not None and config.data.data_dir is not None and config.data.image_size is None:
        print(f"archsearch: {tip}", file=log)
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


def _best_entry(
    config: SearchConfig,
    setup: Setup,
    trials: list[Trial],
    best: Trial,
    out: Path,
    log: TextIO,
) -> dict[str, Any]:
    """The best trial's entry of the summary: kept from the last summary when a resume found
    no better trial and the same candidates to re-rank (its network is already trained and
    tested; only the budget may have changed, which final training does not depend on), else
    made by `_finish` — of the candidate that cross-validates best when there are candidates
    (`--final-rerank`, `archsearch.rerank`)."""
    candidates = _rerank_candidates(config, setup, trials)
    numbers = [trial.number for trial in candidates]
    kept = (finished_summary(out) or {}).get("best")
    kept_numbers = [row["trial"] for row in (kept or {}).get("rerank", {}).get("candidates", [])]
    if kept is not None and kept_numbers == numbers and (numbers or kept["trial"] == best.number):
        print(f"archsearch: trial {kept['trial']} is already retrained and tested", file=log)
        return kept
    if not candidates:
        return _finish(config, setup, best, out, log)
    recipe = config.final_train_config()
    reference = _reference(config, setup)
    searched = len(candidates) - (reference is not None and candidates[-1].arch == reference)
    also = " and the space's reference" if searched < len(candidates) else ""
    print(
        f"archsearch: re-ranking the {searched} best distinct architectures{also} by "
        f"{FOLDS}-fold cross-validation on train+val",
        file=log,
    )
    chosen, ranking = rerank(setup.space, setup.data, candidates, recipe, config.seed, log)
    if also:
        ranking["reference"] = candidates[-1].number
    return {**_finish(config, setup, chosen, out, log), "rerank": ranking}


def _reranks(config: SearchConfig, setup: Setup) -> bool:
    """Whether the final training re-ranks candidates: `final_rerank(...)` is 2 or more,
    there is a final training, and the reward is the task's score alone (labelled data, no
    cost objective)."""
    data = setup.data
    if config.final_epochs == 0 or not data.has_test() or data.task.targets_are_inputs:
        return False
    if isinstance(setup.strategy, OneShot) or len(config.objective_names()) > 1:
        return False
    return final_rerank(data, config.final_rerank) > 1


def _reference(config: SearchConfig, setup: Setup) -> Architecture | None:
    """The space's reference architecture when re-ranking weighs it (`--final-reference`)."""
    if not config.final_reference or not _reranks(config, setup):
        return None
    return setup.space.reference()


def _rerank_candidates(config: SearchConfig, setup: Setup, trials: list[Trial]) -> list[Trial]:
    """The trials whose architectures are re-ranked before the final training, when
    `_reranks`: the best `final_rerank(...)` distinct architectures other than the reference,
    then the reference's trial (`_train_reference`), if it worked; else none."""
    if not _reranks(config, setup):
        return []
    reference = _reference(config, setup)
    searched = [trial for trial in trials if trial.arch != reference]
    candidates = top_distinct(searched, final_rerank(setup.data, config.final_rerank))
    candidates += [trial for trial in trials if trial.arch == reference and trial.result.ok][:1]
    return candidates if len(candidates) > 1 else []


def _finish(
    config: SearchConfig, setup: Setup, best: Trial, out: Path, log: TextIO
) -> dict[str, Any]:
    """Retrain the best architecture, test it once, save it; a final training that fails
    is tried once more with a tenth of the learning rate, then recorded as failed."""
    space, data = setup.space, setup.data
    write_json(out / "best_arch.json", {**best.arch.to_json(), "space_options": space.options()})
    from archsearch.reporting.drawing import write_drawing  # best_arch.svg and .png beside it

    write_drawing(space, best.arch, out / "best_arch")
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
        f"archsearch: final training of trial {best.number} for "
        f"{plural(config.final_epochs, 'epoch')}{times} on train+val",
        file=log,
    )
    recipe = config.final_train_config()
    for attempt in (1, 2):
        try:
            model, metrics = train_final(
                space,
                best.arch,
                data,
                recipe,
                config.seed,
                models,
                _final_progress(config, models, log),
            )
            break
        except TrainingFailed as exc:
            print(f"archsearch: final training failed: {exc}", file=log)
            if attempt == 2:
                entry["final"] = {"status": "failed", "reason": str(exc), "lr": recipe.lr}
                return entry
            recipe = replace(recipe, lr=SAFER_LR * (recipe.lr or default_lr(recipe)))
            print(f"archsearch: trying once more with learning rate {recipe.lr:g}", file=log)
    save_atomic(out / "best_model.pt", lambda path: save_model(path, model, space, best.arch, data))
    curves, outputs = metrics.pop("curves"), metrics.pop("outputs")
    write_json(out / "final_curve.json", curves)
    write_final_plots(out, curves, metrics, data, best.number)
    write_test_predictions(out, outputs, data, f"Test predictions of trial {best.number}")
    if data.task.targets_are_inputs:  # reconstructions.png, loss_terms.png, samples.png, ...
        write_generative_figures(out, model, data, curves, recipe, config.seed)
    entry.update(metrics, final={"status": "ok", "lr": recipe.lr or default_lr(recipe)})
    if (importance := column_importance(model, data, recipe, config.seed)) is not None:
        entry["importance"] = importance
    return entry


def _final_progress(config: SearchConfig, models: int, log: TextIO) -> Any:
    def show(index: int, point: dict[str, float]) -> None:
        member = f"network {index + 1}/{models} " if models > 1 else ""
        print(
            f"final {member}epoch {point['epoch']}/{config.final_epochs}  loss "
            f"{point['train_loss']:.4f}  {point['seconds']:.1f}s",
            file=log,
            flush=True,
        )

    return show
