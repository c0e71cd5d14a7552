"""`archsearch runs [DIR]`: the runs under a folder (default: ./runs), one line each.

A search run is a folder with config.json and ledger.sqlite (`run.is_run`); a training of
`archsearch train` is one with config.json and arch.json and no ledger (results.json once it
has ended). Both are found in DIR itself and one or two levels below it. Nothing is written:
a ledger is read through SQLite's locks while a process writes it, else as an immutable file
(which writes not even SQLite's side files), and a lock is only tested (`rundir.holder`).

A run's status is `running` (a process holds its lock), `finished` (its summary is complete
for the trials in its ledger: `run.finished_summary`), `final failed` (the search ended but
its final training diverged twice) or `interrupted` (anything else: resume it).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsearch.commands import COMMANDS
from archsearch.errors import UsageError
from archsearch.oneshot import ONESHOTS
from archsearch.run import CONFIG, LEDGER, REFERENCE, finished_summary, is_run, read_summary
from archsearch.rundir import holder
from archsearch.tasks import task_score

__all__ = [
    "RunInfo",
    "add_parser",
    "current_summary",
    "find_runs",
    "read_run",
    "run_status",
    "runs_command",
    "table",
]

DEFAULT_DIR = Path("runs")
#: How many levels below DIR runs are looked for (runs/NAME, runs/GROUP/NAME).
DEPTH = 2
HEADER = (
    "NAME", "KIND", "DATASET", "SPACE", "STRATEGY", "TRIALS", "SCORE", "VAL", "TEST", "SKLEARN"
)  # fmt: skip
DESCRIPTION = (
    "List the search runs and trainings in DIR and one or two levels below it, one line each: "
    "dataset, space, strategy, trials done of the budget, the best trial's validation and test "
    "score, scikit-learn's default on the same test split, and status (finished, running, "
    "interrupted, or final failed). Nothing is written."
)
RUNNING, FINISHED, FINAL_FAILED, INTERRUPTED = "running", "finished", "final failed", "interrupted"


@dataclass
class RunInfo:
    """What one line of the listing says about a run (None: not known, shown as `-`)."""

    path: Path
    kind: str  # "search" or "train"
    dataset: str | None = None
    space: str | None = None
    strategy: str | None = None
    done: int | None = None  # the ledger's trials
    references: int = 0  # of them, reference trials, which the budget does not count
    budget: str | None = None  # "20" trials, or "300 s" when only time-limited
    score: str | None = None  # the task's score name: accuracy or r2
    val: float | None = None
    test: float | None = None
    sklearn: float | None = None  # the scikit-learn baseline's test score
    status: str = INTERRUPTED


def add_parser(subparsers: Any) -> None:
    """Register the `runs` subcommand (one optional folder)."""
    parser = subparsers.add_parser("runs", help=COMMANDS["runs"], description=DESCRIPTION)
    parser.add_argument(
        "dir", nargs="?", type=Path, default=DEFAULT_DIR, help="where to look (default: runs)"
    )
    parser.set_defaults(func=runs_command)


def runs_command(args: argparse.Namespace) -> int:
    """Print the table of the runs under `args.dir`, or one line saying there are none."""
    root: Path = args.dir
    if not root.exists():
        raise UsageError(f"{root} does not exist; give the folder that holds your runs")
    if not root.is_dir():
        raise UsageError(f"{root} is a file; give the folder that holds your runs")
    infos = [read_run(path) for path in find_runs(root)]
    if not infos:
        print(
            f"no runs under {root} (a run is a folder with {CONFIG} and {LEDGER}); start one "
            f"with `archsearch search ... --out {root / 'NAME'}`"
        )
        return 0
    for line in table(infos, root):
        print(line)
    return 0


def is_training(path: Path) -> bool:
    """Whether `path` is an `archsearch train` output folder (and not a search run)."""
    return (path / CONFIG).is_file() and (path / "arch.json").is_file() and not is_run(path)


def find_runs(root: Path, depth: int = DEPTH) -> list[Path]:
    """The search runs and trainings in `root` and up to `depth` levels below it, sorted; a
    run's own subfolders and hidden folders are not searched."""
    if is_run(root) or is_training(root):
        return [root]
    if depth == 0:
        return []
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:  # unreadable folder: nothing to list there
        return []
    return [run for child in children for run in find_runs(child, depth - 1)]


def read_run(path: Path) -> RunInfo:
    """The listing's facts about the run or training in `path`."""
    config = _read_json(path / CONFIG)
    data = config.get("data") or {}
    source = data.get("dataset") or data.get("csv") or data.get("data_dir")
    dataset = Path(source).name if source else None
    if not is_run(path):
        return _training_info(path, dataset)
    info = RunInfo(path, "search", dataset, config.get("space"), config.get("strategy"))
    trials, limit = planned_trials(config), config.get("time_limit")
    info.budget = str(trials) if trials is not None else f"{limit:g} s" if limit else None
    live = holder(path) is not None
    try:
        info.done, info.references, best_metrics = ledger_facts(path / LEDGER, live)
    except sqlite3.DatabaseError:  # being created, or damaged
        info.status = RUNNING if live else "unreadable (see `archsearch doctor`)"
        return info
    summary = current_summary(path, info.done)
    entry = (summary.get("best") or {}) if summary is not None else best_metrics
    info.score = task_score(entry, (summary or {}).get("task"))
    info.val, info.test = entry.get(f"val_{info.score}"), entry.get(f"test_{info.score}")
    info.sklearn = ((summary or {}).get("baseline") or {}).get(f"test_{info.score}")
    info.status = RUNNING if live else run_status(path, info.done)
    return info


def planned_trials(config: dict[str, Any]) -> int | None:
    """The trials a search's configuration (config.json) budgets: its --trials, or for a
    one-shot search its --epochs (the ledger holds one row per search epoch)."""
    if config.get("strategy") in ONESHOTS:
        return (config.get("train") or {}).get("epochs")
    return config.get("trials")


def _training_info(path: Path, dataset: str | None) -> RunInfo:
    """An `archsearch train` folder: its space, and its scores once results.json is written."""
    results = _read_json(path / "results.json")
    info = RunInfo(path, "train", dataset, _read_json(path / "arch.json").get("space"))
    info.score = task_score(results) if results else None
    info.val, info.test = results.get(f"val_{info.score}"), results.get(f"test_{info.score}")
    if holder(path) is not None:
        info.status = RUNNING
    elif results:
        info.status = FINISHED
    return info


def ledger_facts(path: Path, live: bool) -> tuple[int, int, dict[str, Any]]:
    """(finished trials, how many of them are reference trials, metrics of the best successful
    one or {}) of the ledger at `path`, read-only: through SQLite's locks while a process has
    it open (`live`, with its log file there), else as an immutable file, which creates not
    even SQLite's side files. `sqlite3.DatabaseError` if it cannot be read."""
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if live and wal.exists() else "immutable=1"
    db = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
    try:
        done = db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        marked = f'%"{REFERENCE}"%'  # the key in the stats JSON
        query = "SELECT COUNT(*) FROM trials WHERE stats LIKE ?"
        references = db.execute(query, (marked,)).fetchone()[0]
        best = db.execute(
            "SELECT metrics FROM trials WHERE status = 'ok' ORDER BY reward DESC, number LIMIT 1"
        ).fetchone()
    finally:
        db.close()
    return done, references, json.loads(best[0]) if best else {}


def current_summary(path: Path, done: int) -> dict[str, Any] | None:
    """The run's summary.json if it was written at the end of `done` trials (the ledger's
    count), trained or not; None if there is none or it is older."""
    summary = read_summary(path)
    return summary if summary and summary.get("trials") == done else None


def run_status(path: Path, done: int) -> str:
    """`running`, `finished`, `final failed` or `interrupted` (see the module's doc) for the
    search run in `path` whose ledger holds `done` trials."""
    if holder(path) is not None:
        return RUNNING
    if finished_summary(path, done) is not None:
        return FINISHED
    best = (current_summary(path, done) or {}).get("best") or {}
    return FINAL_FAILED if (best.get("final") or {}).get("status") == "failed" else INTERRUPTED


def table(infos: list[RunInfo], root: Path) -> list[str]:
    """The header and one line per run, in columns aligned by padding; names are relative to
    `root`."""
    rows = [HEADER + ("STATUS",)]
    for info in infos:
        name = info.path.relative_to(root).as_posix() if info.path != root else root.name
        searched = None if info.done is None else info.done - info.references
        trials = None if searched is None else f"{searched}/{info.budget or '?'}"
        cells = (name, info.kind, info.dataset, info.space, info.strategy, trials, info.score)
        values = (info.val, info.test, info.sklearn)
        scores = tuple(None if v is None else f"{v:.4f}" for v in values)
        rows.append(tuple(c or "-" for c in cells + scores) + (info.status,))
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    return ["  ".join([*(c.ljust(w) for c, w in zip(row, widths)), row[-1]]) for row in rows]


def _read_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path`, or {} if it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
