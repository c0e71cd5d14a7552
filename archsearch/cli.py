"""The `archsearch` command.

Bad input (a wrong flag, path, file or value) is reported as one line on stderr with exit code
2 and no traceback; Ctrl-C leaves a resumable run and exits 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from archsearch import benchmark, doctor
from archsearch.config import DataSpec, SearchConfig, TrainJob, from_json, load_json
from archsearch.errors import RunFailed, UsageError
from archsearch.evaluation.trainer import TrainConfig
from archsearch.presets import PRESETS, apply_preset
from archsearch.run import resume_run, start_run
from archsearch.train_job import run_training


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


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


#: Flags named differently from their field (the field name is taken elsewhere or unclear).
FLAG_NAMES = {("DataSpec", "csv"): "data", ("TrainConfig", "train_subset"): "child-subset"}
HELP = {
    "dataset": "bundled dataset: digits, iris, wine, breast_cancer",
    "csv": "your own CSV file (numeric features)",
    "target": "target column of the CSV: a name, or a 0-based index without header",
    "data_dir": "image data: CIFAR batches, MNIST idx files or class folders",
    "train_subset": "use this many training rows (seeded, stratified)",
    "download": "cifar10, cifar100, mnist or fashion-mnist: fetch it into --data-dir with "
    "torchvision (if installed) when that folder holds no dataset",
    "epochs": "epochs of training",
    "optimizer": "adam or sgd (Nesterov)",
    "max_params": "larger networks fail without training",
    "device": "auto, cpu or cuda",
    "task": "auto (from the target column: a numeric target with non-integer values or more "
    "than 20 distinct values is regression), classification, regression or reconstruction",
    "scaling": "how table columns are scaled: standard (mean/std), robust (median/IQR, "
    "clipped) or auto (robust only for columns with extreme outliers)",
    "cache_dir": "where decoded image folders are cached (default: a hidden file next to "
    "the images when that folder is writable, else ~/.cache/archsearch)",
}


def add_config_flags(group: argparse._ArgumentGroup, cls: type, dest_prefix: str) -> None:
    """One `--flag` per field of the config dataclass `cls`, typed by its default."""
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        kind = {bool: _boolean, int: int, float: float}.get(type(default), str)
        if f.type in ("int | None",):
            kind = int
        if f.type in ("float | None",):
            kind = float
        flag = FLAG_NAMES.get((cls.__name__, f.name), f.name.replace("_", "-"))
        group.add_argument(
            f"--{flag}",
            dest=f"{dest_prefix}{f.name}",
            type=kind,
            default=None,
            metavar=f.name.upper(),
            help=HELP.get(f.name, f"default: {default}" if default is not None else None),
        )


def given_flags(args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    """The flags of one config (by destination prefix) that were given on the command line."""
    return {
        key[len(prefix) :]: value
        for key, value in vars(args).items()
        if key.startswith(prefix) and value is not None
    }


SEARCH_FIELDS = (
    "space",
    "strategy",
    "evaluator",
    "executor",
    "trials",
    "time_limit",
    "final_epochs",
    "final_models",
    "reward",
    "retries",
    "seed",
)
PLUGIN_OPTIONS = ("space", "strategy", "evaluator", "executor")


def add_search_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "search",
        help="search a space of architectures on a dataset",
        description="Search a space of neural architectures, then retrain and test the best.",
    )
    add_config_flags(p.add_argument_group("data"), DataSpec, "data.")
    search = p.add_argument_group("search")
    search.add_argument(
        "--preset",
        choices=sorted(PRESETS) or None,
        help="a known experiment's settings; other flags override it",
    )
    search.add_argument("--space", help="search space (mlp, cnn, nb201, ...)")
    search.add_argument("--strategy", help="search strategy (reinforce, random, ...)")
    search.add_argument("--evaluator", help="how children are scored: train (default), tabular")
    search.add_argument("--executor", help="where children are evaluated: inline (default)")
    for kind, example in (
        ("space", "layers=8"),
        ("strategy", "lr=0.01"),
        ("evaluator", "table=nats_bench.csv"),
        ("executor", "KEY=VALUE"),
    ):
        search.add_argument(
            f"--{kind}-option",
            action="append",
            type=parse_assignment,
            default=[],
            metavar="KEY=VALUE",
            help=f"{kind} option, e.g. {example} (repeatable)",
        )
    search.add_argument("--trials", type=int, help="number of child networks to evaluate")
    search.add_argument("--time-limit", type=float, metavar="SECONDS", help="search time budget")
    search.add_argument("--final-epochs", type=int, help="epochs to retrain the best one")
    search.add_argument(
        "--final-models",
        type=int,
        help="networks the best architecture is trained as, averaged as one ensemble "
        "(default: 5 for data of at most 5,000 rows, else 1)",
    )
    search.add_argument(
        "--reward",
        help="val_score (default: the last epoch's validation accuracy or R²), "
        "best_val_score, or zoph (max validation accuracy of the last 5 epochs, cubed)",
    )
    search.add_argument(
        "--reevaluate",
        action="store_true",
        help="evaluate an architecture again when it is proposed again",
    )
    search.add_argument("--seed", type=int, help="seed of the whole run (default 0)")
    search.add_argument(
        "--retries",
        type=int,
        help="times a trial whose process died during it (out of memory) is tried again "
        "on resume before it is failed (default 2)",
    )
    add_config_flags(p.add_argument_group("child training"), TrainConfig, "train.")
    run = p.add_argument_group("run")
    run.add_argument("--out", type=Path, help="run directory (default runs/<space>-<strategy>)")
    run.add_argument("--resume", type=Path, metavar="DIR", help="continue the run in DIR")
    p.set_defaults(func=search_command)


def search_command(args: argparse.Namespace) -> int:
    top = {name: getattr(args, name) for name in SEARCH_FIELDS if getattr(args, name) is not None}
    data, train = given_flags(args, "data."), given_flags(args, "train.")
    options = {kind: getattr(args, f"{kind}_option") for kind in PLUGIN_OPTIONS}
    if args.resume is not None:
        extra = sorted(set(top) - {"trials", "time_limit"}) + sorted(data) + sorted(train)
        if args.out or args.preset or args.reevaluate:
            extra.append("out/preset/reevaluate")
        if extra or any(options.values()):
            flags = ", ".join("--" + n.replace("_", "-") for n in extra) or "--*-option"
            raise UsageError(
                f"--resume takes its settings from the run; drop {flags} "
                "(only --trials and --time-limit may extend it)"
            )
        resume_run(args.resume, top.get("trials"), top.get("time_limit"))
        return 0
    settings: dict[str, Any] = {**top, "data": data, "train": train}
    for kind, given in options.items():
        if given:
            settings[f"{kind}_options"] = dict(given)
    if args.reevaluate:
        settings["reevaluate"] = True
    if args.preset:
        settings = apply_preset(args.preset, settings)
    config = from_json(SearchConfig, settings)
    out = args.out or Path("runs") / f"{config.space}-{config.strategy}"
    start_run(config, out)
    return 0


def add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train one architecture (a run's best, a JSON file, or a reference model)",
        description="Train one architecture on a 90/10 train/val split with early stopping, "
        "keep the best-validation weights, and test them once. Defaults: the CIFAR recipe "
        "(SGD Nesterov 0.9, lr 0.1, weight decay 5e-4, batch 128, cosine, 100 epochs).",
    )
    what = p.add_argument_group("what to train")
    what.add_argument("--arch", help="an architecture JSON file (e.g. a run's best_arch.json)")
    what.add_argument("--run", help="a search run directory: train its best architecture")
    what.add_argument("--model", help="a reference network: nascnn15")
    add_config_flags(p.add_argument_group("data"), DataSpec, "data.")
    add_config_flags(p.add_argument_group("training"), TrainConfig, "train.")
    p.add_argument(
        "--patience",
        type=int,
        help="stop after this many epochs without a better validation accuracy (default 20)",
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--out", type=Path, help="output directory (default runs/train-<name>)")
    p.add_argument("--resume", type=Path, metavar="DIR", help="continue a killed training")
    p.set_defaults(func=train_command)


def train_command(args: argparse.Namespace) -> int:
    if args.resume is not None:
        given = [
            f
            for f in ("arch", "run", "model", "patience", "seed", "out")
            if getattr(args, f) is not None
        ]
        given += sorted(given_flags(args, "data.")) + sorted(given_flags(args, "train."))
        if given:
            flags = ", ".join("--" + n.replace("_", "-") for n in given)
            raise UsageError(f"--resume takes its settings from the run; drop {flags}")
        job = load_json(TrainJob, args.resume / "config.json")
        run_training(job, args.resume, resume=True)
        return 0
    settings: dict[str, Any] = {
        f: getattr(args, f)
        for f in ("arch", "run", "model", "patience", "seed")
        if getattr(args, f) is not None
    }
    job = from_json(TrainJob, settings)
    job.data = dataclasses.replace(job.data, **given_flags(args, "data."))
    job.train = dataclasses.replace(job.train, **given_flags(args, "train."))
    name = job.model or Path(job.run or job.arch or "arch").stem
    run_training(job, args.out or Path("runs") / f"train-{name}")
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="archsearch", description="Neural architecture search on PyTorch.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_search_parser(subparsers)
    add_train_parser(subparsers)
    benchmark.add_parser(subparsers)
    doctor.add_parser(subparsers)
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
