"""The ledger: a run's SQLite file, the source of truth for its trials.

Each finished trial and the search state that follows it are written in one transaction, so a
search killed at any instant resumes with no finished trial lost or repeated. Metrics are
stored as JSON whatever the task (accuracy, R², params, seconds, ...): query them with SQLite's
JSON functions, e.g. `SELECT json_extract(metrics, '$.val_accuracy') FROM trials`.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from archsearch.errors import UsageError
from archsearch.evaluation.result import Result
from archsearch.spaces.base import Architecture

#: Bumped when the tables change; a ledger of another version is refused, never guessed at.
SCHEMA_VERSION = 2
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
"""
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
    """Trials and the resumable search state of one run (`path` may be ':memory:')."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.db = sqlite3.connect(self.path)
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = self.db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'trials'")
        if version != SCHEMA_VERSION and tables.fetchone()[0]:
            self.db.close()
            raise LedgerError(
                f"{self.path}: a ledger of schema {version}, not {SCHEMA_VERSION}; it was written "
                "by another version of archsearch, which must be used to resume it"
            )
        self.db.executescript(SCHEMA)
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, trial: Trial, state: dict[str, Any]) -> None:
        """Store `trial` and the search `state` after it, atomically."""
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
            self._put_state(state)

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


def _trial(row: tuple) -> Trial:
    number, arch, status, reason, reward, seed, metrics, curve, stats, finished = row
    data = json.loads(arch)
    values = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in data["values"].items())
    result = Result(reward, json.loads(metrics), json.loads(curve), status, reason)
    return Trial(
        number, Architecture(data["space"], values), result, seed, json.loads(stats), finished
    )
