"""The `archsearch` command.

Bad input (a wrong flag, path, file or value) is reported as one line on stderr with exit code
2 and no traceback; Ctrl-C leaves a resumable run and exits 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from archsearch.config import SearchConfig
from archsearch.errors import UsageError
from archsearch.run import resume_run, start_run


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


def add_search_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "search",
        help="search a space of architectures on a dataset",
        description="Search a space of neural architectures, then retrain and test the best.",
    )
    data = p.add_argument_group("data")
    data.add_argument("--dataset", help="bundled dataset: digits, iris, wine, breast_cancer")
    data.add_argument("--data", metavar="CSV", help="your own CSV file (numeric features)")
    data.add_argument("--target", metavar="COLUMN", help="target column: name or 0-based index")
    search = p.add_argument_group("search")
    search.add_argument("--space", help="search space (mlp, cnn, ...)")
    search.add_argument("--strategy", help="search strategy (reinforce, random, ...)")
    search.add_argument(
        "--space-option",
        action="append",
        type=parse_assignment,
        default=[],
        metavar="KEY=VALUE",
        help="space option, e.g. layers=8 (repeatable)",
    )
    search.add_argument(
        "--strategy-option",
        action="append",
        type=parse_assignment,
        default=[],
        metavar="KEY=VALUE",
        help="strategy option, e.g. lr=0.01",
    )
    search.add_argument("--trials", type=int, help="number of child networks to evaluate")
    search.add_argument("--time-limit", type=float, metavar="SECONDS", help="search time budget")
    search.add_argument("--reward", help="val_accuracy (default) or zoph (max of last 5)^3")
    search.add_argument(
        "--reevaluate",
        action="store_true",
        default=None,
        help="evaluate an architecture again when it is proposed again",
    )
    search.add_argument("--seed", type=int, help="seed of the whole run (default 0)")
    training = p.add_argument_group("child and final training")
    training.add_argument("--epochs", type=int, help="epochs per child network")
    training.add_argument("--final-epochs", type=int, help="epochs to retrain the best one")
    training.add_argument("--batch-size", type=int)
    training.add_argument("--optimizer", help="adam or sgd (Nesterov)")
    training.add_argument("--lr", type=float, help="learning rate")
    training.add_argument("--weight-decay", type=float)
    training.add_argument("--max-params", type=int, help="larger children fail without training")
    training.add_argument("--device", help="cpu or cuda")
    run = p.add_argument_group("run")
    run.add_argument("--out", type=Path, help="run directory (default runs/<space>-<strategy>)")
    run.add_argument("--resume", type=Path, metavar="DIR", help="continue the run in DIR")
    p.set_defaults(func=search_command)


#: Flags that may accompany --resume (they extend the budget); all others come from the run.
RESUMABLE = {"trials", "time_limit"}
FIELDS = {
    "dataset",
    "data",
    "target",
    "space",
    "strategy",
    "trials",
    "time_limit",
    "reward",
    "reevaluate",
    "seed",
    "epochs",
    "final_epochs",
    "batch_size",
    "optimizer",
    "lr",
    "weight_decay",
    "max_params",
    "device",
}


def search_command(args: argparse.Namespace) -> int:
    given = {name: getattr(args, name) for name in FIELDS if getattr(args, name) is not None}
    if args.resume is not None:
        extra = sorted(set(given) - RESUMABLE) + (["out"] if args.out else [])
        if extra or args.space_option or args.strategy_option:
            flags = ", ".join("--" + n.replace("_", "-") for n in extra) or "--*-option"
            raise UsageError(
                f"--resume takes its settings from the run; drop {flags} "
                "(only --trials and --time-limit may extend it)"
            )
        resume_run(args.resume, given.get("trials"), given.get("time_limit"))
        return 0
    config = SearchConfig(**given)
    config.space_options = dict(args.space_option)
    config.strategy_options = dict(args.strategy_option)
    out = args.out or Path("runs") / f"{config.space}-{config.strategy}"
    start_run(config, out)
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="archsearch", description="Neural architecture search on PyTorch.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_search_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"archsearch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\narchsearch: interrupted; finished trials are saved — continue with "
            "`archsearch search --resume DIR`",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
