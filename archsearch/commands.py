"""The light half of the command line, with nothing that imports PyTorch: the command names
and their one-line summaries, the top-level parser, the version, and `setting`, the dataclass
field that carries its flag's help.

`archsearch`, `archsearch --help` and `archsearch --version` are answered from here (see
`entry.py`) in a fraction of a second; `cli.build_parser` starts from the same `top_parser` and
`COMMANDS`, so the quick top-level help and the full parser's cannot differ.

A config field's help lives on the field (`setting`), and `field_help` writes the flag's help
from it and the default of the command that shows it, so the help states what the command
really does and no second copy of it can drift.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any, NoReturn

PROG = "archsearch"
DESCRIPTION = "Neural architecture search on PyTorch."

#: Every command and its summary in the top-level help, in the order listed there.
COMMANDS = {
    "search": "search a space of architectures on a dataset",
    "train": "train one architecture (a run's best, a JSON file, or a reference model)",
    "benchmark": "compare search strategies on NAS-Bench-201 (tabular, many seeds)",
    "doctor": "check a run directory",
    "report": "write one self-contained HTML report of one or more runs",
    "export": "export a run's best network as TorchScript, ONNX or plain PyTorch source",
    "predict": "predict new rows or images with a run's best network",
    "runs": "list the runs under a folder, one line each",
}


#: The plug-in kinds a search names, each with its `--KIND-option KEY=VALUE` flag.
PLUGINS = ("space", "strategy", "evaluator", "executor")
#: Flags not named after their config field (class name, field) -> flag without `--`.
FLAG_NAMES = {
    ("DataSpec", "csv"): "data",
    ("TrainConfig", "train_subset"): "child-subset",
    **{("SearchConfig", f"{kind}_options"): f"{kind}-option" for kind in PLUGINS},
    ("SearchConfig", "prune_options"): "prune-option",
}


def flag_name(cls: type, name: str) -> str:
    """The command-line flag (without `--`) of field `name` of config class `cls`."""
    return FLAG_NAMES.get((cls.__name__, name), name.replace("_", "-"))


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def version() -> str:
    """The installed distribution's version; else the package's `__version__`, if any."""
    try:
        return metadata.version(PROG)
    except metadata.PackageNotFoundError:
        import archsearch

        return getattr(archsearch, "__version__", "unknown (not installed)")


def top_parser() -> tuple[Parser, argparse._SubParsersAction]:
    """The top-level parser (description, `--version`) and its empty set of subcommands."""
    parser = Parser(prog=PROG, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    return parser, subparsers


def light_parser() -> Parser:
    """The top-level parser with every command present but empty: it gives the same top-level
    help, version and top-level errors as the full parser, without building the commands."""
    parser, subparsers = top_parser()
    for name, summary in COMMANDS.items():
        subparsers.add_parser(name, help=summary)
    return parser


def setting(
    default: Any = None,
    help: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    unset: str | None = None,
    metavar: str | None = None,
) -> Any:
    """A config dataclass field (`default`, or `factory` for a mutable one) with its flag's
    `help`; `choices`, every valid value (or a function giving them, such as a registry's
    `names`); `unset`, what a None default means; `metavar` where the flag's name is unclear."""
    extra = {"choices": choices, "unset": unset, "metavar": metavar}
    meta = {"help": help, **{key: value for key, value in extra.items() if value is not None}}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def show_default(value: Any) -> str | None:
    """A default as it is typed on the command line, or None for nothing to show: unset, or
    an empty collection."""
    if value is None or value == {}:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def field_help(f: dataclasses.Field, default: Any, switch: bool = False) -> str:
    """The help of field `f`'s flag: its `help`, every value of its `choices`, and its
    default: `default`, the value the command uses when the flag is not given, or when that is
    None the field's `unset`, what None means. A switch (`--flag` alone) shows none."""
    text = f.metadata["help"]
    choices = f.metadata.get("choices")
    if choices is not None:
        text += "; one of: " + ", ".join(choices() if callable(choices) else choices)
    shown = show_default(default) if default is not None else f.metadata.get("unset")
    if shown is not None and not switch:
        text += f" (default: {shown})"
    return text.replace("%", "%%")  # argparse formats help with %
