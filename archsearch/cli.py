"""The `archsearch` command.

Bad input (a wrong flag, path, file or value) is reported as one line on stderr with exit code
2 and no traceback; Ctrl-C leaves a resumable run and exits 130.

The flags of a config (`SearchConfig`, `TrainJob`, `DataSpec`, `TrainConfig`) are made from its
fields: the name from the field's, the type from its type hint, the help from its metadata (see
`commands.setting`), the default shown from the command's own default configuration.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import sqlite3
import sys
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from archsearch import benchmark, doctor, export, predict, report, runs
from archsearch.commands import COMMANDS, PLUGINS, Parser, field_help, flag_name, top_parser
from archsearch.config import DataSpec, SearchConfig, TrainJob, from_json, load_json
from archsearch.errors import RunFailed, UsageError
from archsearch.evaluation.trainer import TrainConfig, default_lr
from archsearch.execution import EXECUTORS
from archsearch.execution.ray_cluster import RayOptions
from archsearch.presets import PRESETS, apply_preset
from archsearch.run import resume_run, start_run
from archsearch.train_job import run_training, with_run_data


def parse_assignment(text: str) -> tuple[str, Any]:
    """`key=value` from the command line; the value is read as JSON when it parses
    (numbers, true/false), as a comma-separated list when it has commas, else as text."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    if "," in raw:
        return key, [_scalar(part) for part in raw.split(",") if part]
    return key, _scalar(raw)


def _scalar(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "yes", "1", "on"):
        return True
    if text.lower() in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


class _Assign(argparse.Action):
    """A repeatable `--x-option KEY=VALUE`: the pairs given, as one dict (a later key wins)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        key, value = values
        setattr(namespace, self.dest, {**(getattr(namespace, self.dest) or {}), key: value})


#: Flags named differently from their field (the field name is taken elsewhere or unclear).
#: Boolean fields given as a bare switch (`--reevaluate`) rather than `--flag true`.
SWITCHES = {("SearchConfig", "reevaluate")}


def flag_list(cls: type, names: Iterable[str]) -> list[str]:
    """`--flag` of each of the fields `names` of `cls`, sorted: for messages."""
    return ["--" + flag_name(cls, name) for name in sorted(names)]


def _parsing(cls: type, f: dataclasses.Field, hint: Any) -> dict[str, Any]:
    """How a field's flag is parsed: `type`/`action` from its type hint, and its metavar."""
    if (cls.__name__, f.name) in SWITCHES:
        return {"action": "store_true"}
    metavar = f.metadata.get("metavar", flag_name(cls, f.name).upper().replace("-", "_"))
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    kind = typing.get_origin(hint) or hint
    if kind is dict:
        return {"action": _Assign, "type": parse_assignment, "metavar": metavar}
    return {"type": {bool: _boolean, int: int, float: float}.get(kind, str), "metavar": metavar}


def add_config_flags(
    group: argparse._ActionsContainer,
    defaults: Any,
    dest_prefix: str,
    names: Sequence[str] | None = None,
) -> None:
    """One `--flag` per field (or per field in `names`) of the config dataclass instance
    `defaults`, parsed by its type, helped by its metadata, showing `defaults`' value: the
    one the command uses. Flags default to None, so only flags given override the config."""
    cls = type(defaults)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name in names or list(fields):
        f = fields[name]
        switch = (cls.__name__, name) in SWITCHES
        group.add_argument(
            f"--{flag_name(cls, name)}",
            dest=f"{dest_prefix}{name}",
            default=None,
            help=field_help(f, getattr(defaults, name), switch),
            **_parsing(cls, f, hints[name]),
        )


def given_flags(args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    """The flags of one config (by destination prefix) that were given on the command line."""
    return {
        key[len(prefix) :]: value
        for key, value in vars(args).items()
        if key.startswith(prefix) and value is not None
    }


#: The `SearchConfig` fields that are `search` flags, in the order of its help.
SEARCH_FIELDS = (
    *PLUGINS,
    *(f"{kind}_options" for kind in PLUGINS),
    "trials",
    "time_limit",
    "epoch_budget",
    "prune",
    "prune_options",
    "final_epochs",
    "final_models",
    "final_rerank",
    "final_reference",
    "retrain_top",
    "reward",
    "objectives",
    "target_params",
    "target_flops",
    "target_latency",
    "cost_weight",
    "cost_constraint",
    "warm_start",
    "warm_start_pool",
    "warm_start_proxy",
    "reevaluate",
    "seed",
    "retries",
)
#: What `search --resume` may change: the budget.
EXTENDS = {"trials", "time_limit"}
#: Executor options that are `search` flags too (`--workers 4` is `--executor-option
#: workers=4`): stored in `executor_options`, so a resumed run keeps them.
EXECUTOR_FLAGS = ("workers", "cpus_per_trial", "gpus_per_trial", "address")


def add_search_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `search`; its flags and their defaults come from `SearchConfig()`."""
    config = SearchConfig()
    p = subparsers.add_parser(
        "search",
        help=COMMANDS["search"],
        description="Search a space of neural architectures, then retrain and test the best.",
    )
    add_config_flags(p.add_argument_group("data"), config.data, "data.")
    search = p.add_argument_group("search")
    search.add_argument(
        "--preset",
        choices=sorted(PRESETS) or None,
        help="a known experiment's settings; other flags override it (default: none)",
    )
    add_config_flags(search, config, "search.", SEARCH_FIELDS)
    add_config_flags(search, RayOptions(), "executor.", EXECUTOR_FLAGS)
    add_config_flags(p.add_argument_group("child training"), config.train, "train.")
    run = p.add_argument_group("run")
    run.add_argument("--out", type=Path, help="run directory (default: runs/<space>-<strategy>)")
    run.add_argument("--resume", type=Path, metavar="DIR", help="continue the run in DIR")
    p.set_defaults(func=search_command)


def search_command(args: argparse.Namespace) -> int:
    """Start the search the flags (over a preset, over `SearchConfig()`) describe, or resume
    one; a resumed run keeps its settings but for a longer budget."""
    top = given_flags(args, "search.")
    data, train = given_flags(args, "data."), given_flags(args, "train.")
    resources = given_flags(args, "executor.")
    if args.resume is not None:
        extra = flag_list(SearchConfig, set(top) - EXTENDS) + flag_list(RayOptions, resources)
        extra += flag_list(DataSpec, data) + flag_list(TrainConfig, train)
        extra += [f"--{name}" for name in ("out", "preset") if getattr(args, name)]
        if extra:
            raise UsageError(
                f"--resume takes its settings from the run; drop {', '.join(extra)} "
                "(only --trials and --time-limit may extend it)"
            )
        resume_run(args.resume, top.get("trials"), top.get("time_limit"))
        return 0
    if resources:
        top["executor_options"] = {**resources, **top.get("executor_options", {})}
    settings: dict[str, Any] = {**top, "data": data, "train": train}
    if args.preset:
        settings = apply_preset(args.preset, settings)
    config = from_json(SearchConfig, settings)
    _check_resource_flags(config.executor, resources)
    out = args.out or Path("runs") / f"{config.space}-{config.strategy}"
    start_run(config, out)
    return 0


def _check_resource_flags(executor: str, given: dict[str, Any]) -> None:
    """`UsageError` naming the flags (`--workers`, ...) that `executor` takes no option for,
    rather than an option error the user did not type."""
    if executor not in EXECUTORS:
        return  # the run's validation names the unknown executor
    takes = {
        name: {f.name for f in dataclasses.fields(cls.Options)}
        for name, cls in EXECUTORS.classes().items()
    }
    if set(given) <= takes[executor]:
        return
    fitting = [name for name, known in sorted(takes.items()) if set(given) <= known]
    raise UsageError(
        f"{', '.join(flag_list(RayOptions, set(given) - takes[executor]))}: not an option of "
        f"--executor {executor}; give --executor {' or '.join(fitting) or 'ray'}"
    )


def recipe(train: TrainConfig) -> str:
    """A training recipe in a few words, e.g. "SGD Nesterov 0.9, lr 0.1, ..."."""
    optimizer = train.optimizer.upper() if train.optimizer == "sgd" else "Adam"
    if train.optimizer == "sgd" and train.momentum > 0:
        optimizer += f" Nesterov {train.momentum:g}"
    lr = train.lr if train.lr is not None else default_lr(train)
    return (
        f"{optimizer}, lr {lr:g}, weight decay {train.weight_decay:g}, "
        f"batch {train.batch_size}, {train.schedule}, {train.epochs} epochs"
    )


def train_description(job: TrainJob) -> str:
    """The `train` command's description, its figures taken from the defaults `job`."""
    val = round(100 * job.data.val_fraction, 6)
    stopping = f" (patience {job.patience})" if job.patience is not None else ""
    return (
        f"Train one architecture on a {100 - val:g}/{val:g} train/val split with early "
        f"stopping{stopping}, keep the best-validation weights, and test them once. "
        f"Defaults: {recipe(job.train)}."
    )


def add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `train`; its flags and their defaults come from `TrainJob()`."""
    job = TrainJob()
    p = subparsers.add_parser("train", help=COMMANDS["train"], description=train_description(job))
    add_config_flags(p.add_argument_group("what to train"), job, "job.", ("arch", "run", "model"))
    add_config_flags(p.add_argument_group("data"), job.data, "data.")
    add_config_flags(p.add_argument_group("training"), job.train, "train.")
    add_config_flags(p, job, "job.", ("patience", "seed"))
    p.add_argument("--out", type=Path, help="output directory (default: runs/train-<name>)")
    p.add_argument("--resume", type=Path, metavar="DIR", help="continue a killed training")
    p.set_defaults(func=train_command)


def train_command(args: argparse.Namespace) -> int:
    """Train the architecture the flags name (over `TrainJob()`), or resume a training."""
    given = given_flags(args, "job.")
    data, train = given_flags(args, "data."), given_flags(args, "train.")
    if args.resume is not None:
        extra = flag_list(TrainJob, given) + flag_list(DataSpec, data)
        extra += flag_list(TrainConfig, train) + (["--out"] if args.out else [])
        if extra:
            raise UsageError(f"--resume takes its settings from the run; drop {', '.join(extra)}")
        job = load_json(TrainJob, args.resume / "config.json")
        run_training(job, args.resume, resume=True)
        return 0
    job = with_run_data(from_json(TrainJob, given), data, seed_given="seed" in given)
    job.train = dataclasses.replace(job.train, **train)
    name = job.model or Path(job.run or job.arch or "arch").stem
    run_training(job, args.out or Path("runs") / f"train-{name}")
    return 0


#: How each command of `commands.COMMANDS` adds its parser.
ADD_PARSER = {
    "search": add_search_parser,
    "train": add_train_parser,
    "benchmark": benchmark.add_parser,
    "doctor": doctor.add_parser,
    "report": report.add_parser,
    "export": export.add_parser,
    "predict": predict.add_parser,
    "runs": runs.add_parser,
}


def build_parser() -> Parser:
    """The full parser: `commands.top_parser` with every command of `COMMANDS`, in order."""
    parser, subparsers = top_parser()
    for name in COMMANDS:
        ADD_PARSER[name](subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; every error a user can cause is one line on stderr, exit code 2 (1
    when a run ended recorded but incomplete, or the disk filled up; 130 on Ctrl-C)."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UsageError as exc:
        return _fail(str(exc), 2)
    except RunFailed as exc:
        return _fail(str(exc), 1)
    except (OSError, sqlite3.OperationalError) as exc:
        return _os_error(exc)
    except KeyboardInterrupt:
        print(
            "\narchsearch: interrupted; finished trials are saved — continue with "
            "`archsearch search --resume DIR`",
            file=sys.stderr,
        )
        return 130


def _fail(message: str, code: int) -> int:
    print(f"archsearch: error: {message}", file=sys.stderr)
    return code


def _os_error(exc: OSError | sqlite3.OperationalError) -> int:
    """One line for a file system failure: exit 1 if the disk is full (the run can be
    resumed once there is room), else 2."""
    full = getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in str(exc)
    if full:
        return _fail("the disk is full; free some space, then continue with --resume", 1)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", 2)
    return _fail(f"the ledger cannot be written ({exc})", 2)


if __name__ == "__main__":
    sys.exit(main())
