"""Typed configurations of runs, their validation and their JSON form (presets: presets.py).

Everything a run needs to be repeated or resumed is here; `config.json` in a run directory is
one of these dataclasses as JSON.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsearch.commands import flag_name, setting
from archsearch.data import BUNDLED, TASK_CHOICES, Dataset, check_download, load_dataset
from archsearch.data.images import DOWNLOADS, parse_image_size
from archsearch.data.table import SCALINGS
from archsearch.errors import UsageError
from archsearch.evaluation import EVALUATORS
from archsearch.evaluation.objectives import parse_objectives
from archsearch.evaluation.pruners import PRUNERS, get_pruner
from archsearch.evaluation.rewards import CONSTRAINTS, REWARDS, CostTargets, cost_targets
from archsearch.evaluation.trainer import TrainConfig
from archsearch.evaluation.warm_start import PROXY_NAMES, check_warm_start
from archsearch.execution import EXECUTORS
from archsearch.execution.base import unfit
from archsearch.models import REFERENCE_MODELS
from archsearch.oneshot import METHODS
from archsearch.options import check_number
from archsearch.spaces import SPACES
from archsearch.strategies import STRATEGIES

UNIONS = (typing.Union, types.UnionType)


@dataclass
class DataSpec:
    """Where the data comes from and how it is split: a bundled dataset, a CSV file, or an
    image directory (CIFAR batches, MNIST idx files or class folders)."""

    #: Each field's help is its command-line flag's help (see `commands.setting`).
    dataset: str | None = setting(None, "a bundled dataset", choices=BUNDLED)
    csv: str | None = setting(
        None,
        "your own CSV file (numbers, text categories, dates, empty cells; needs --target)",
        metavar="CSV",
    )
    target: str | None = setting(
        None, "target column of the CSV: a name, or a 0-based index without header"
    )
    data_dir: str | None = setting(
        None, "image data: a folder of CIFAR batches, MNIST idx files or class folders"
    )
    train_subset: int | None = setting(
        None, "use this many rows for training and validation (seeded, stratified)", unset="all"
    )
    test_subset: int | None = setting(
        None, "test on this many test rows (seeded, stratified)", unset="all"
    )
    test_fraction: float = setting(
        0.2, "share of the rows held out for testing, unless the data has a test split"
    )
    val_fraction: float = setting(0.2, "share of the remaining rows held out for validation")
    download: str | None = setting(
        None,
        "fetch this dataset into --data-dir with torchvision (if installed) when that folder "
        "holds no dataset",
        choices=DOWNLOADS,
    )
    task: str = setting(
        "auto",
        "what to learn; auto: regression for a numeric target with non-integer values or more "
        "than 20 distinct values, else classification",
        choices=TASK_CHOICES,
    )
    scaling: str = setting(
        "auto",
        "how table columns are scaled: standard by mean/std, robust by median/IQR (clipped), "
        "auto robust only for columns with extreme outliers",
        choices=SCALINGS,
    )
    cache_dir: str | None = setting(
        None,
        "where decoded image folders are cached",
        unset="a hidden file next to the images when that folder is writable, else "
        "~/.cache/archsearch",
    )
    image_size: str | None = setting(
        None,
        "resize every image of an image folder to this size: N (square) or WIDTHxHEIGHT",
        unset="all images must have one size",
        metavar="SIZE",
    )

    def validate(self) -> None:
        sources = [s for s in (self.dataset, self.csv, self.data_dir) if s is not None]
        if len(sources) != 1:
            raise UsageError("give exactly one of --dataset NAME, --data CSV or --data-dir DIR")
        if self.dataset is not None and self.dataset not in BUNDLED:
            raise UsageError(
                f"unknown dataset {self.dataset!r}; choose one of: {', '.join(BUNDLED)} "
                "(or --data FILE.csv --target COLUMN, or --data-dir DIR)"
            )
        if self.csv is not None and self.target is None:
            raise UsageError("--data needs --target COLUMN (a column name or 0-based index)")
        if self.download is not None:
            if self.data_dir is None:
                raise UsageError("--download needs --data-dir DIR to download into")
            check_download(self.download)
        for label, fraction in (("test", self.test_fraction), ("val", self.val_fraction)):
            if not 0 < fraction < 1:
                raise UsageError(f"--{label}-fraction must lie in (0, 1), got {fraction}")
        for label, subset in (("train", self.train_subset), ("test", self.test_subset)):
            if subset is not None and subset < 1:
                raise UsageError(f"--{label}-subset must be at least 1, got {subset}")
        if self.task not in TASK_CHOICES:
            raise UsageError(
                f"unknown task {self.task!r}; choose one of: {', '.join(TASK_CHOICES)}"
            )
        if self.image_size is not None:
            if self.data_dir is None:
                raise UsageError("--image-size resizes the images of --data-dir; leave it out")
            parse_image_size(self.image_size)
        if self.scaling not in SCALINGS:
            raise UsageError(
                f"unknown scaling {self.scaling!r}; choose one of: {', '.join(SCALINGS)}"
            )

    def load(self, images: bool, seed: int) -> Dataset:
        """The split, normalised dataset (`DataError`, a `UsageError`, for bad data)."""
        return load_dataset(
            name=self.dataset,
            csv=self.csv,
            target=self.target,
            images=images,
            seed=seed,
            test_fraction=self.test_fraction,
            val_fraction=self.val_fraction,
            data_dir=self.data_dir,
            train_subset=self.train_subset,
            test_subset=self.test_subset,
            download=self.download,
            task=self.task,
            scaling=self.scaling,
            cache_dir=self.cache_dir,
            image_size=None if self.image_size is None else parse_image_size(self.image_size),
        )


@dataclass
class SearchConfig:
    """One search: data, space, strategy, evaluator, executor, budget, child training and
    final training. `train` is how each child is trained; the final network gets the same
    recipe for `final_epochs` on all training rows (`train.train_subset` applies to children
    only), `final_models` times as one ensemble (unset: 5 on data of at most 5,000 rows, else
    1; see `archsearch.final`), after `final_rerank` of the best distinct architectures are
    re-ranked by cross-validation (unset: 3 on data of at most 1,000 rows, else 1; see
    `archsearch.rerank`)."""

    data: DataSpec = field(default_factory=DataSpec)
    #: Each top-level field's help is its command-line flag's help (see `commands.setting`).
    space: str = setting("mlp", "search space", choices=SPACES.names)
    space_options: dict[str, Any] = setting(
        factory=dict, help="a space option, e.g. max_layers=6 (repeatable)", metavar="KEY=VALUE"
    )
    strategy: str = setting(
        "reinforce",
        "search strategy, or a one-shot method (darts, enas, rsps) that trains a supernet",
        choices=METHODS.names,
    )
    strategy_options: dict[str, Any] = setting(
        factory=dict, help="a strategy option, e.g. lr=0.01 (repeatable)", metavar="KEY=VALUE"
    )
    evaluator: str = setting(
        "train",
        "how children are scored: train trains each one, tabular looks its score up in a table "
        "(--evaluator-option table=PATH), proxy scores it untrained in seconds by a zero-cost "
        "proxy (--evaluator-option proxy=naswot|synflow|gradnorm|head|params)",
        choices=EVALUATORS.names,
    )
    evaluator_options: dict[str, Any] = setting(
        factory=dict,
        help="an evaluator option, e.g. table=nats_bench.csv (repeatable)",
        metavar="KEY=VALUE",
    )
    executor: str = setting("inline", "where children are evaluated", choices=EXECUTORS.names)
    executor_options: dict[str, Any] = setting(
        factory=dict, help="an executor option (repeatable)", metavar="KEY=VALUE"
    )
    trials: int | None = setting(20, "number of child networks to evaluate")
    time_limit: float | None = setting(None, "search time budget", unset="none", metavar="SECONDS")
    epoch_budget: int | None = setting(
        None,
        "stop the search once children have trained this many epochs in all (a pruned child "
        "counts the epochs it trained)",
        unset="none",
        metavar="EPOCHS",
    )
    prune: str = setting(
        "none",
        "stop a child's training early when its learning curve compares badly with earlier "
        "children's: median (below their median at the same epoch), asha (successive "
        "halving), predictor (a learning-curve model predicts it ends below the best)",
        choices=PRUNERS.names,
    )
    prune_options: dict[str, Any] = setting(
        factory=dict,
        help="a pruner option, e.g. warmup_epochs=2 (repeatable)",
        metavar="KEY=VALUE",
    )
    final_epochs: int = setting(
        30, "epochs the best architecture is retrained for, on all training rows"
    )
    final_models: int | None = setting(
        None,
        "networks the best architecture is trained as, averaged as one ensemble",
        unset="5 when there are at most 5,000 training and validation rows, else 1",
    )
    final_rerank: int | None = setting(
        None,
        "before the final training, re-rank this many of the best distinct architectures by "
        "3-fold cross-validation on training+validation rows with the final recipe, and retrain "
        "the best of them (1: the search's best, no re-ranking)",
        unset="3 when there are at most 1,000 training and validation rows, else 1",
    )
    final_reference: bool = setting(
        True,
        "when re-ranking, weigh the space's reference architecture too (mlp: one layer of 128 "
        "relu units, scikit-learn's default shape), trained as one more child after the search "
        "if the search did not try it",
    )
    reward: str = setting(
        "val_score",
        "what a child scores: val_score is the last epoch's validation score (accuracy or R²), "
        "best_val_score the best epoch's, zoph the best validation accuracy of the last 5 "
        "epochs, cubed; inverse_loss 1 / the lowest validation loss, inverse_kl 1 / a VAE's "
        "validation KL of that epoch, elbo 2^-(a VAE's lowest validation negative ELBO in "
        "bits/dim)",
        choices=tuple(REWARDS),
    )
    objectives: str = setting(
        "accuracy",
        "what the search optimises, comma-separated from accuracy (the task's score), params, "
        "flops, latency (ms per sample on the search device); with more than accuracy every "
        "child's flops and latency are recorded, the nsga2 strategy searches their Pareto "
        "front, and pareto.png shows it",
    )
    target_params: float | None = setting(
        None,
        "scale the reward by (params / target)^w (MnasNet; needs params in --objectives)",
        unset="none",
    )
    target_flops: float | None = setting(
        None,
        "scale the reward by (flops / target)^w (MnasNet; needs flops in --objectives)",
        unset="none",
    )
    target_latency: float | None = setting(
        None,
        "scale the reward by (latency / target)^w, the target in ms (MnasNet; needs latency "
        "in --objectives)",
        unset="none",
    )
    cost_weight: float = setting(
        -0.07, "w of the cost targets: negative; -0.07 costs about 5% of the score per doubling"
    )
    cost_constraint: str = setting(
        "soft",
        "how a cost scales the reward: soft, score x (cost/target)^w on both sides of the "
        "target (MnasNet); hard, no bonus below the target, w above it (MnasNet's hard "
        "constraint uses --cost-weight -1); linear, score + w x (cost/target - 1) (MONAS)",
        choices=CONSTRAINTS,
    )
    warm_start: int = setting(
        0,
        "evaluate first the N architectures a zero-cost proxy (--warm-start-proxy) scores best "
        "of --warm-start-pool random ones, then the strategy's own proposals, which learn from "
        "them (0: no warm start)",
    )
    warm_start_pool: int = setting(
        1000, "random architectures the proxy scores for --warm-start (seconds each)"
    )
    warm_start_proxy: str = setting(
        "synflow",
        "the zero-cost proxy of --warm-start (see --evaluator proxy)",
        choices=PROXY_NAMES,
    )
    seed: int = setting(0, "seed of the whole run: data split, strategy and children's training")
    reevaluate: bool = setting(False, "evaluate an architecture again when it is proposed again")
    retries: int = setting(
        2,
        "times a trial whose process died during it (out of memory) is tried again on resume "
        "before it is failed",
    )
    retrain_top: int = setting(
        0,
        "after the search, train the K children of highest reward fully (the train "
        "evaluator) and report how the two rankings agree (for a proxy evaluator such as "
        "random_encoder; 0: none)",
        metavar="K",
    )
    train: TrainConfig = field(default_factory=TrainConfig)
    #: Set when the run starts; the ledger stores it too, so the two are never mixed up.
    run_id: str = ""

    def validate(self) -> None:
        """Raise `UsageError` with a one-line fix for the first impossible value."""
        self.data.validate()
        for kind, registry, name in (
            ("space", SPACES, self.space),
            ("strategy", METHODS, self.strategy),
            ("evaluator", EVALUATORS, self.evaluator),
            ("executor", EXECUTORS, self.executor),
        ):
            if name not in registry:
                choices = ", ".join(registry.names())
                raise UsageError(f"unknown {kind} {name!r}; choose one of: {choices}")
        if self.executor == "ray" and importlib.util.find_spec("ray") is None:
            raise UsageError("--executor ray needs Ray: pip install 'archsearch[ray]'")
        problem = unfit(EXECUTORS.get(self.executor), EVALUATORS.get(self.evaluator))
        if problem is not None:
            raise UsageError(problem)
        if self.reward not in REWARDS:
            raise UsageError(f"unknown reward {self.reward!r}; choose one of: {', '.join(REWARDS)}")
        try:
            self.cost_targets()
            if self.strategy in STRATEGIES:
                self.strategy_settings()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        check_seed(self.seed)
        if self.trials is None and self.time_limit is None:
            raise UsageError("give a budget: --trials N and/or --time-limit SECONDS")
        if self.trials is not None and self.trials < 1:
            raise UsageError(f"--trials must be >= 1, got {self.trials}")
        check_pruning(self)
        check_warm_start(self.warm_start, self.warm_start_pool, self.warm_start_proxy)
        if self.time_limit is not None and not self.time_limit > 0:
            raise UsageError(f"--time-limit must be positive, got {self.time_limit}")
        if self.final_epochs < 0:
            raise UsageError(f"--final-epochs must be >= 0, got {self.final_epochs}")
        if not 0 <= self.retries <= 100:
            raise UsageError(f"--retries must lie in 0..100, got {self.retries}")
        if not 0 <= self.retrain_top <= 10_000:
            raise UsageError(f"--retrain-top must lie in 0..10000, got {self.retrain_top}")
        if self.final_models is not None and self.final_models < 1:
            raise UsageError(f"--final-models must be >= 1, got {self.final_models}")
        if self.final_rerank is not None and not 1 <= self.final_rerank <= 100:
            raise UsageError(f"--final-rerank must lie in 1..100, got {self.final_rerank}")
        try:
            self.train.validate()
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def objective_names(self) -> tuple[str, ...]:
        """`--objectives` as names (`ValueError` for an unknown one, or for costs without
        accuracy: every search ranks its children by the task's score, so costs can only be
        weighed against it)."""
        names = parse_objectives(self.objectives)
        if "accuracy" not in names:
            raise ValueError(
                f"--objectives {self.objectives} leaves out accuracy (the task's score), which "
                f"every search weighs costs against; give --objectives accuracy,{self.objectives}"
            )
        return names

    def strategy_settings(self) -> dict[str, Any]:
        """`strategy_options`, with `objectives` set to `--objectives` for a strategy that
        reads objectives (nsga2) unless given; `ValueError` if such a strategy would get fewer
        than two, or objectives the run does not record."""
        options = dict(self.strategy_options)
        fields = {f.name for f in dataclasses.fields(STRATEGIES.get(self.strategy).Options)}
        if "objectives" not in fields:
            return options
        run = self.objective_names()
        options.setdefault("objectives", ",".join(run))
        wanted = parse_objectives(options["objectives"])
        if len(wanted) < 2:
            raise ValueError(
                f"the {self.strategy} strategy searches a Pareto front: give two or more "
                "--objectives, e.g. --objectives accuracy,params"
            )
        missing = [name for name in wanted if name not in run]
        if missing:
            raise ValueError(
                f"strategy option objectives names {', '.join(missing)}, which --objectives "
                f"{self.objectives} does not record; add it there"
            )
        return options

    def cost_targets(self) -> CostTargets:
        """The reward's cost targets (`ValueError` for impossible ones)."""
        targets = {
            "params": self.target_params,
            "flops": self.target_flops,
            "latency": self.target_latency,
        }
        return cost_targets(self.objective_names(), targets, self.cost_weight, self.cost_constraint)

    def final_train_config(self) -> TrainConfig:
        return dataclasses.replace(self.train, epochs=self.final_epochs, train_subset=None)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchConfig:
        return from_json(cls, data)


def check_pruning(config: SearchConfig) -> None:
    """`UsageError` for a `--prune`, `--prune-option` or `--epoch-budget` that cannot apply:
    both need children trained epoch by epoch (`--evaluator train`)."""
    if config.prune not in PRUNERS:
        raise UsageError(
            f"unknown pruner {config.prune!r}; choose one of: {', '.join(PRUNERS.names())}"
        )
    try:
        if config.epoch_budget is not None:
            check_number("--epoch-budget", config.epoch_budget, 1, 10**12, whole=True)
        get_pruner(config.prune, config.train.epochs, config.prune_options)
    except ValueError as exc:
        flag = " (check --prune-option)" if "pruner" in str(exc) else ""
        raise UsageError(f"{exc}{flag}") from None
    for flag, used in (
        ("--prune", config.prune != "none"),
        ("--prune-option", bool(config.prune_options)),
        ("--epoch-budget", config.epoch_budget is not None),
    ):
        if used and config.evaluator != "train":
            raise UsageError(
                f"{flag} applies to children trained epoch by epoch; use --evaluator train "
                f"(not {config.evaluator})"
            )


#: Seeds reach scikit-learn and NumPy, whose generators take 0..2**32 - 1; trial seeds add.
MAX_SEED = 2**32 - 2


def check_seed(seed: Any) -> None:
    try:
        check_number("--seed", seed, 0, MAX_SEED, whole=True)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def from_json(cls: type, data: Any) -> Any:
    """A (nested) config dataclass from its JSON; `UsageError` naming unknown keys. A nested
    config given in part keeps its field's own defaults for the rest (a `default_factory`
    may differ from the class defaults)."""
    if not isinstance(data, dict):
        raise UsageError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UsageError(f"unknown setting(s) {unknown} for {cls.__name__}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in data.items():
        factory = fields[name].default_factory
        nested = factory() if factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(nested):
            given = from_json(type(nested), value)
            value = dataclasses.replace(nested, **{k: getattr(given, k) for k in value})
        else:
            check_type(f"--{flag_name(cls, name)}", value, hints[name])
        values[name] = value
    return cls(**values)


def check_type(label: str, value: Any, hint: Any) -> None:
    """`UsageError` unless `value` (from JSON) fits the type hint: a whole number for `int`,
    a finite number for `float`, true/false for `bool`, and so on."""
    options = typing.get_args(hint) if typing.get_origin(hint) in UNIONS else (hint,)
    if any(_fits(value, option) for option in options):
        return
    names = " or ".join(_type_name(option) for option in options)
    raise UsageError(f"{label} must be {names}, got {value!r}")


def _fits(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint) or hint
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin is bool:
        return isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is float:
        return (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        )
    if origin in (tuple, list):
        return isinstance(value, (tuple, list))
    return isinstance(value, origin)


def _type_name(hint: Any) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a finite number"}
    origin = typing.get_origin(hint) or hint
    if hint is type(None):
        return "null"
    if origin in (tuple, list):
        return "a list"
    if origin is dict:
        return "an object"
    if origin is str:
        return "text"
    return names.get(origin, getattr(origin, "__name__", str(origin)))


def load_json(cls: type, path: Path) -> Any:
    """The configuration saved at `path`; `UsageError` if it is not one (saying so when it is
    the other kind of run's: a training's for a search, or the reverse)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable configuration ({exc})") from None
    try:
        return from_json(cls, data)
    except UsageError as exc:
        raise UsageError(f"{path}: {_other_kind(cls, data, path.parent) or exc}") from None


def load_data_spec(path: Path) -> DataSpec:
    """The data settings of the search's or training's configuration saved at `path`."""
    try:
        return load_json(SearchConfig, path).data
    except UsageError:
        return load_json(TrainJob, path).data


def _other_kind(cls: type, data: Any, run: Path) -> str:
    """What to say when `data` is not a `cls` but the other kind of run's configuration;
    "" when it is neither."""
    kinds = {SearchConfig: ("a search", "search"), TrainJob: ("a training", "train")}
    for other, (kind, command) in kinds.items():
        if cls in kinds and other is not cls:
            try:
                from_json(other, data)
            except UsageError:
                continue
            return (
                f"this is {kind}'s configuration, not {kinds[cls][0]}'s; continue it with "
                f"`archsearch {command} --resume {run}`"
            )
    return ""


def cifar_recipe() -> TrainConfig:
    """The CIFAR recipe of the Zoph & Le paper family: SGD with Nesterov momentum 0.9,
    lr 0.1, weight decay 5e-4, batch 128, cosine decay, crop + flip augmentation."""
    return TrainConfig(
        epochs=100,
        batch_size=128,
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        weight_decay=5e-4,
        label_smoothing=0.0,
        schedule="cosine",
        flip=True,
    )


@dataclass
class TrainJob:
    """`archsearch train`: one architecture (an architecture JSON file, a run's best, or a
    reference model), trained on a 90/10 train/val split with early stopping, tested once."""

    #: Each field's help is its command-line flag's help (see `commands.setting`).
    arch: str | None = setting(None, "an architecture JSON file (e.g. a run's best_arch.json)")
    run: str | None = setting(None, "a search run directory: train its best architecture")
    model: str | None = setting(None, "a reference network", choices=tuple(REFERENCE_MODELS))
    data: DataSpec = field(default_factory=lambda: DataSpec(val_fraction=0.1))
    train: TrainConfig = field(default_factory=cifar_recipe)
    patience: int | None = setting(
        20, "stop after this many epochs without a better validation score"
    )
    seed: int = setting(0, "seed of the data split, the initial weights and the batch order")

    def validate(self) -> None:
        if sum(s is not None for s in (self.arch, self.run, self.model)) != 1:
            raise UsageError("give exactly one of --arch JSON, --run DIR or --model NAME")
        check_seed(self.seed)
        self.data.validate()
        if self.patience is not None and self.patience < 1:
            raise UsageError(f"--patience must be at least 1, got {self.patience}")
        try:
            self.train.validate()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
