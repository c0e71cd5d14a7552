"""What a run directory guarantees: one owner at a time, an identity that its files must share,
and files that are written whole or not at all.

- `RunLock`: an OS file lock on `DIR/.lock`, taken before anything is written and held for the
  life of the process (the OS drops it when the process dies, however it dies). A second
  process gets a one-line error naming the holder's process id.
- `fingerprint`: a hash of everything in a run's configuration that decides what its trials
  mean (all but the run id and the budget, which `--resume` may extend). It is stored in the
  ledger when the run starts; a ledger or configuration that does not match is refused.
- `save_atomic`: write beside the file, then rename over it; a kill mid-write leaves the
  previous file intact. `check_output_file` refuses, before any work, a file path that
  cannot be written (a folder, or in a folder that does not exist).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archsearch.errors import UsageError

LOCK = ".lock"
#: Settings `--resume` may change: they extend a run without changing what its trials mean.
MUTABLE = ("run_id", "trials", "time_limit")


class RunLock:
    """Exclusive ownership of a run directory until `release` or the end of the process."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(self.fd)
            raise UsageError(
                f"{directory} is in use by process {holder}; wait for it to finish or stop it "
                "— one process at a time may write a run"
            ) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(directory: Path) -> str | None:
    """The process id holding `directory`'s lock, or None if no process does."""
    path = directory / LOCK
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
    finally:
        os.close(fd)
    return None


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def fingerprint(config: dict[str, Any]) -> str:
    """A hash of `config` (a run configuration's JSON) without the settings that `--resume`
    may change."""
    fixed = {k: v for k, v in config.items() if k not in MUTABLE}
    return hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()[:16]


def changed_settings(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """The names of the settings (dotted for nested ones) that differ between two
    configurations' JSON, `MUTABLE` ones aside."""
    out = []
    for key in sorted(set(before) | set(after)):
        if not prefix and key in MUTABLE:
            continue
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += changed_settings(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(prefix + key)
    return out


def save_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """`write(partial)` beside `path`, then rename it over `path`. `FileNotFoundError` naming
    the folder if it does not exist (not the partial file the user never asked for)."""
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such folder to write into", str(path.parent))
    partial = path.with_name(path.name + ".partial")
    write(partial)
    os.replace(partial, path)


def check_output_file(path: Path, what: str = "file") -> None:
    """`UsageError` unless `--out path` can be written as a file: not a folder, and in a folder
    that exists. `what` names the file in the message ("the HTML file")."""
    if path.is_dir():
        raise UsageError(f"--out {path} is a directory; give the {what} to write")
    if not path.parent.is_dir():
        raise UsageError(f"--out {path}: the folder {path.parent} does not exist")


def write_text_atomic(path: Path, text: str) -> None:
    save_atomic(path, lambda partial: partial.write_text(text))
