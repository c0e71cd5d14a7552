"""The ledger: a run's SQLite file, the source of truth for its trials.

Each finished trial and the search state that follows it are written in one transaction, so a
search killed at any instant resumes with no finished trial lost or repeated; after every
trial the write-ahead log is folded into the main file, so `ledger.sqlite` alone holds every
finished trial. A trial is marked running before it starts, with how many times it was
started, so that the search can fail one whose process keeps dying during it (out of memory)
instead of trying it forever. The run's identity (its id and the fingerprint of its
configuration) is stored with the trials, so a ledger is never resumed with another run's
configuration. Metrics are stored as JSON whatever the task (accuracy, R², params, seconds,
...): query them with SQLite's JSON functions, e.g.
`SELECT json_extract(metrics, '$.val_accuracy') FROM trials`.
"""

from __future__ import annotations

import io
import json
import math
import sqlite3
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch

from archsearch.errors import UsageError
from archsearch.evaluation.objectives import pareto_trials
from archsearch.evaluation.result import Result
from archsearch.spaces.base import Architecture, Space

#: Bumped when the tables change; a ledger of another version is refused, never guessed at.
SCHEMA_VERSION = 3
SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    number       INTEGER PRIMARY KEY,
    arch_hash    TEXT NOT NULL,
    arch         TEXT NOT NULL,
    status       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    reward       REAL NOT NULL,
    seed         INTEGER NOT NULL,
    metrics      TEXT NOT NULL,
    curve        TEXT NOT NULL,
    stats        TEXT NOT NULL,
    finished_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS trials_arch_hash ON trials (arch_hash);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS running (
    number       INTEGER PRIMARY KEY,
    arch         TEXT NOT NULL,
    seed         INTEGER NOT NULL,
    starts       INTEGER NOT NULL,
    started_at   REAL NOT NULL,
    worker       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
TABLES = ("trials", "state", "running", "meta")
STATUSES = ("ok", "failed", "pruned")
SELECT = (
    "SELECT number, arch, status, reason, reward, seed, metrics, curve, stats, finished_at "
    "FROM trials"
)


class LedgerError(UsageError):
    """A ledger file that cannot be used; the message says why."""


@dataclass
class Trial:
    """One finished evaluation as recorded."""

    number: int
    arch: Architecture
    result: Result
    seed: int
    stats: dict[str, float] = field(default_factory=dict)
    finished_at: float = 0.0


class Ledger:
    """Trials and the resumable search state of one run (`path` may be ':memory:'). Opening a
    path creates the ledger if needed; `Ledger.open` is for a run's existing ledger, and
    checks it first."""

    def __init__(self, path: str | Path, meta: dict[str, str] | None = None) -> None:
        self.path, self.readonly = str(path), False
        self.db = sqlite3.connect(self.path)
        try:
            if self.path != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            tables = self.db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'trials'")
            if version != SCHEMA_VERSION and tables.fetchone()[0]:
                raise LedgerError(
                    f"{self.path}: a ledger of schema {version}, not {SCHEMA_VERSION}; it was "
                    "written by another version of archsearch, which must be used to resume it"
                )
            with self.db:
                self.db.executescript(SCHEMA)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                for key, value in (meta or {}).items():
                    self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise LedgerError(f"{self.path}: not a usable ledger ({exc})") from None
        except LedgerError:
            self.db.close()
            raise

    @classmethod
    def open(cls, path: Path, readonly: bool = False) -> Ledger:
        """A run's existing ledger, refused in one line (`LedgerError`) if it is empty,
        truncated, damaged, of another schema, or lacks its tables or its run identity.
        `readonly` opens it without writing a byte (not even SQLite's side files), to check a
        run before it is known to be resumable; it then shows what the main file holds."""
        if not path.is_file() or path.stat().st_size == 0:
            raise LedgerError(f"{path}: the ledger is missing or empty; it holds no run")
        try:
            db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{path}: the ledger is damaged ({exc})") from None
        if check != "ok":
            db.close()
            raise LedgerError(f"{path}: the ledger is damaged ({check.splitlines()[0]})")
        if version != SCHEMA_VERSION:
            db.close()
            raise LedgerError(
                f"{path}: a ledger of schema {version}, not {SCHEMA_VERSION}; it was written by "
                "another version of archsearch, which must be used to resume it"
            )
        missing = [t for t in TABLES if t not in names]
        if missing:
            db.close()
            raise LedgerError(f"{path}: the ledger has no {', '.join(missing)} table(s)")
        if readonly:
            ledger = cls.__new__(cls)
            ledger.path, ledger.db, ledger.readonly = str(path), db, True
        else:
            db.close()
            ledger = cls(path)
        if not ledger.meta().get("run_id"):
            ledger.close()
            raise LedgerError(f"{path}: the ledger has no run identity; it belongs to no run")
        return ledger

    def meta(self) -> dict[str, str]:
        """The run's identity and facts stored with the trials."""
        return dict(self.db.execute("SELECT key, value FROM meta").fetchall())

    def check(self, space: Space) -> None:
        """`LedgerError` naming the first trial or the search state that cannot be read back
        as `space`'s (bad JSON, an architecture of another space, a corrupt state)."""
        for row in self.db.execute(f"{SELECT} ORDER BY number"):
            try:
                trial = _trial(row)
                space.validate(trial.arch)
                if trial.result.status not in STATUSES or not math.isfinite(trial.result.reward):
                    raise ValueError(
                        f"status {trial.result.status!r}, reward {trial.result.reward}"
                    )
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise LedgerError(
                    f"{self.path}: trial {row[0]} cannot be read back ({exc})"
                ) from None
        try:
            with warnings.catch_warnings():  # a damaged blob's warnings are not the user's news
                warnings.simplefilter("ignore")
                self.load_state()
        except Exception as exc:  # noqa: BLE001 - whatever a damaged blob raises
            raise LedgerError(
                f"{self.path}: the saved search state cannot be read ({type(exc).__name__})"
            ) from None

    def close(self) -> None:
        self.checkpoint()
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, trial: Trial, state: dict[str, Any]) -> None:
        """Store `trial` and the search `state` after it, atomically, and fold the log into
        the main file (so that file alone holds every finished trial)."""
        result = trial.result
        with self.db:
            self.db.execute(
                "INSERT INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    trial.number,
                    trial.arch.hash,
                    trial.arch.canonical,
                    result.status,
                    result.reason,
                    result.reward,
                    trial.seed,
                    json.dumps(result.metrics),
                    json.dumps(result.curve),
                    json.dumps(trial.stats),
                    trial.finished_at or time.time(),
                ),
            )
            self.db.execute("DELETE FROM running WHERE number = ?", (trial.number,))
            self._put_state(state)
        self.checkpoint()

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the main file."""
        if self.path != ":memory:" and not self.readonly:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def start(self, number: int, arch: Architecture, seed: int, worker: str = "") -> int:
        """Mark trial `number` running; how many times it has been started, this one
        included (a start of another architecture under that number begins the count
        again)."""
        row = self.db.execute("SELECT arch, starts FROM running WHERE number = ?", (number,))
        found = row.fetchone()
        starts = found[1] + 1 if found is not None and found[0] == arch.canonical else 1
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO running VALUES (?,?,?,?,?,?)",
                (number, arch.canonical, seed, starts, time.time(), worker),
            )
        self.checkpoint()
        return starts

    def starts(self, number: int, arch: Architecture) -> int:
        """How many times trial `number` of `arch` was started without finishing."""
        row = self.db.execute("SELECT arch, starts FROM running WHERE number = ?", (number,))
        found = row.fetchone()
        return found[1] if found is not None and found[0] == arch.canonical else 0

    def abandon(self, number: int) -> None:
        """Forget that trial `number` was started (it was stopped on purpose, not killed)."""
        with self.db:
            self.db.execute("DELETE FROM running WHERE number = ?", (number,))
        self.checkpoint()

    def set_worker(self, number: int, worker: str) -> None:
        """Say which worker runs trial `number` (known once an executor has placed it)."""
        with self.db:
            self.db.execute("UPDATE running SET worker = ? WHERE number = ?", (worker, number))

    def running(self) -> list[Running]:
        """The trials marked running, by number."""
        rows = self.db.execute(
            "SELECT number, arch, starts, started_at, worker FROM running ORDER BY number"
        )
        return [Running(*row) for row in rows.fetchall()]

    def save_state(self, state: dict[str, Any]) -> None:
        with self.db:
            self._put_state(state)

    def _put_state(self, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        self.db.execute("INSERT OR REPLACE INTO state VALUES ('search', ?)", (buffer.getvalue(),))

    def load_state(self) -> dict[str, Any] | None:
        """The search state saved with the last trial (loaded with `weights_only=True`)."""
        row = self.db.execute("SELECT value FROM state WHERE key = 'search'").fetchone()
        if row is None:
            return None
        return torch.load(io.BytesIO(row[0]), weights_only=True)

    def searched_seconds(self) -> float:
        """The search time spent up to the last trial, over every session of the run, as the
        saved state counts it (its `elapsed`); 0 before the first trial."""
        return float((self.load_state() or {}).get("elapsed", 0.0))

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]

    def __iter__(self) -> Iterator[Trial]:
        for row in self.db.execute(f"{SELECT} ORDER BY number"):
            yield _trial(row)

    def find(self, arch: Architecture) -> Trial | None:
        """The first finished trial of `arch`, if any."""
        row = self.db.execute(
            f"{SELECT} WHERE arch_hash = ? ORDER BY number LIMIT 1", (arch.hash,)
        ).fetchone()
        return None if row is None else _trial(row)

    def best(self) -> Trial | None:
        """The successful trial with the highest reward (earliest on ties)."""
        row = self.db.execute(
            f"{SELECT} WHERE status = 'ok' ORDER BY reward DESC, number LIMIT 1"
        ).fetchone()
        return None if row is None else _trial(row)

    def pareto(self, objectives: Sequence[str]) -> list[Trial]:
        """The working trials on the Pareto front of `objectives` (names of
        `evaluation.objectives.OBJECTIVES`, e.g. ("accuracy", "flops")), in trial order."""
        return pareto_trials(self, objectives)


class Running(NamedTuple):
    """A trial marked running: started and neither finished nor stopped on purpose (after a
    crash: the trials that were running when the process died)."""

    number: int
    arch: str  # the architecture's canonical JSON
    starts: int  # how many times it was started without finishing
    started_at: float  # Unix time of the last start
    worker: str  # where it runs, as the executor names it


def _trial(row: tuple) -> Trial:
    number, arch, status, reason, reward, seed, metrics, curve, stats, finished = row
    data = json.loads(arch)
    values = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in data["values"].items())
    result = Result(reward, json.loads(metrics), json.loads(curve), status, reason)
    return Trial(
        number, Architecture(data["space"], values), result, seed, json.loads(stats), finished
    )
