"""Files people read: JSON without float32 noise, the trials table, written whole."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archsearch.ledger import Trial
from archsearch.rundir import write_text_atomic


def rounded(value: Any, digits: int = 6) -> Any:
    """`value` with every float rounded to `digits` significant digits (no float32 noise
    such as 0.800000011920929 in files people read)."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


def write_json(path: Path, value: Any) -> None:
    """`value` as indented JSON, floats rounded, written atomically."""
    write_text_atomic(path, json.dumps(rounded(value), indent=2) + "\n")


def write_trials_csv(trials: Sequence[Trial], path: Path) -> None:
    """One row per trial: number, status, reason, reward, every metric any trial has (in
    order of first appearance), seed, finish time, the architecture's hash and JSON."""
    metrics: dict[str, None] = {}
    for t in trials:
        metrics.update(dict.fromkeys(t.result.metrics))
    text = io.StringIO()
    writer = csv.writer(text)
    header = ["trial", "status", "reason", "reward", *metrics]
    writer.writerow(header + ["seed", "finished_at", "arch_hash", "arch"])
    for t in trials:
        m = t.result.metrics
        finished = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t.finished_at))
        writer.writerow(
            [t.number, t.result.status, t.result.reason, rounded(t.result.reward)]
            + [rounded(m.get(name, "")) for name in metrics]
            + [t.seed, finished, t.arch.hash, t.arch.canonical]
        )
    write_text_atomic(path, text.getvalue())
