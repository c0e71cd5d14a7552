"""`archsearch doctor RUN`: check a run directory and say what is wrong with it, if anything.

It reads and never writes: whether a process holds the run, whether the configuration reads
and validates, whether the ledger is whole (SQLite's integrity check, its tables, its run
identity), whether the two belong together, whether every trial and the saved search state
read back, and whether the summary and the saved model agree with the ledger.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from archsearch.commands import COMMANDS
from archsearch.config import SearchConfig, load_json
from archsearch.errors import UsageError
from archsearch.ledger import Ledger
from archsearch.run import CONFIG, LEDGER, SUMMARY, check_identity, is_run
from archsearch.rundir import holder
from archsearch.spaces import get_space


def add_parser(subparsers: Any) -> None:
    """Register the `doctor` subcommand (one argument, no defaults)."""
    parser = subparsers.add_parser(
        "doctor", help=COMMANDS["doctor"], description=__doc__.splitlines()[0]
    )
    parser.add_argument("run", type=Path, help="the run directory")
    parser.set_defaults(func=doctor_command)


def doctor_command(args: argparse.Namespace) -> int:
    """Print one line per check; exit 0 if the run is healthy, 1 if not."""
    problems = diagnose(args.run, sys.stdout)
    verdict = "healthy" if not problems else f"{problems} problem(s)"
    print(f"{args.run}: {verdict}")
    return 1 if problems else 0


def diagnose(run: Path, out: Any) -> int:
    """Run every check in order, printing each; the number of problems found."""
    if not is_run(run):
        raise UsageError(f"{run} is not an archsearch run (it needs {CONFIG} and {LEDGER})")
    facts: dict[str, Any] = {"run": run}
    problems = 0
    for name, check in CHECKS:
        try:
            print(f"  {name}: {check(facts)}", file=out)
        except UsageError as exc:
            problems += 1
            print(f"  {name}: PROBLEM: {exc}", file=out)
            if name in ("config", "ledger"):
                break
    return problems


def _lock(facts: dict[str, Any]) -> str:
    pid = holder(facts["run"])
    return f"held by running process {pid}" if pid else "free (no process is writing the run)"


def _config(facts: dict[str, Any]) -> str:
    config = load_json(SearchConfig, facts["run"] / CONFIG)
    config.validate()
    facts["config"] = config
    return f"ok ({config.strategy} search of the {config.space} space, run id {config.run_id})"


def _ledger(facts: dict[str, Any]) -> str:
    with Ledger.open(facts["run"] / LEDGER, readonly=True) as ledger:
        check_identity(facts["config"], ledger.meta(), facts["run"])
        options = json.loads(ledger.meta().get("space_options", "null"))
        config = facts["config"]
        space = get_space(config.space, **(options or config.space_options))
        ledger.check(space)
        facts["trials"], running = len(ledger), ledger.running()
    live = holder(facts["run"]) is not None
    when = "are running now" if live else "were running when its process stopped"
    died = f", {len(running)} trial(s) {when}" if running else ""
    return f"ok ({facts['trials']} trials, integrity checked, identity matches{died})"


def _summary(facts: dict[str, Any]) -> str:
    path = facts["run"] / SUMMARY
    if not path.is_file():
        return "none yet (the search has not finished)"
    try:
        summary = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} cannot be read ({exc})") from None
    if summary.get("trials") != facts["trials"]:
        raise UsageError(
            f"{path} reports {summary.get('trials')} trials, the ledger holds {facts['trials']}"
        )
    return "ok (agrees with the ledger)"


def _model(facts: dict[str, Any]) -> str:
    path = facts["run"] / "best_model.pt"
    if not path.is_file():
        config = facts.get("config")
        if config is not None and config.final_epochs == 0:
            return "none (the run was started with --final-epochs 0)"
        return "none yet"
    try:
        checkpoint = torch.load(path, weights_only=True, map_location="cpu")
        tensors = sum(t.numel() for t in checkpoint["state_dict"].values())
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file raises
        raise UsageError(f"{path} cannot be loaded ({type(exc).__name__})") from None
    return f"ok ({tensors:,} numbers in its weights)"


CHECKS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("lock", _lock),
    ("config", _config),
    ("ledger", _ledger),
    ("summary", _summary),
    ("best model", _model),
]
