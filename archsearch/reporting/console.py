"""What a run prints as it goes: one line per trial, one line for the result (and the Pareto
front of a multi-objective search)."""

from __future__ import annotations

import math
from typing import Any, TextIO

from archsearch.evaluation.objectives import METRICS
from archsearch.loop import Progress


def show_progress(progress: Progress, log: TextIO) -> None:
    """`trial #n  k/N done  reward r  best b (#m)  elapsed  eta  hash`, or the failure's
    reason. `n` is the trial's number, 0-based as in the ledger, summary, CSV and plots."""
    trial, result = progress.trial, progress.trial.result
    total = progress.budget.trials or "?"
    best = progress.best
    best_text = f"{best.result.reward:.4f} (#{best.number})" if best else "-"
    state = f"reward {result.reward:.4f}" if result.ok else f"FAILED ({result.reason})"
    if result.status == "pruned":
        state = f"reward {result.reward:.4f} PRUNED after {len(result.curve)} epochs"
    eta = progress.eta
    print(
        f"trial #{trial.number}  {progress.done}/{total} done  {state}  best {best_text}  "
        f"elapsed {clock(progress.elapsed)}  eta {clock(eta) if eta is not None else '?'}"
        f"  {trial.arch.hash}",
        file=log,
        flush=True,
    )


def report(summary: dict[str, Any], metric: str, log: TextIO) -> None:
    """The run's result in one line: the best trial, its scores, the baseline's."""
    best = summary["best"]
    if best is None:
        print("archsearch: no trial succeeded; see trials.csv for the reasons", file=log)
        return
    test = best.get(f"test_{metric}")
    test_text = f"test {metric} {test:.4f}" if test is not None else "not retrained"
    val = best.get(f"val_{metric}")  # None under an evaluator that trains nothing (proxy)
    val_text = f"val {metric} {val:.4f}" if val is not None else f"reward {best['reward']:.4f}"
    params = f"{best['params']:,.0f} params" if best.get("params") is not None else "params ?"
    line = f"archsearch: best trial {best['trial']}: {val_text}, {test_text}, {params}"
    if "baseline" in summary:
        baseline = summary["baseline"]
        line += f"; scikit-learn {baseline['model']} {baseline[f'test_{metric}']:.4f}"
    print(line, file=log)
    verdict = baseline_verdict(summary.get("beats_baseline"), test, summary.get("baseline"), metric)
    if verdict == "lost":
        print(
            "archsearch: the found network loses to scikit-learn's default on this split; a "
            "larger search (--trials, --epochs) may beat it, or use scikit-learn's "
            f"{summary['baseline']['model']}",
            file=log,
        )
    if best.get("importance"):
        print(f"archsearch: {importance_line(best['importance'], metric)}", file=log)
    if summary.get("pareto"):
        report_front(summary["pareto"], summary["objectives"], log)


def baseline_verdict(
    beats: bool | None, test: float | None, baseline: dict[str, Any] | None, metric: str
) -> str | None:
    """ "beaten", "tied" or "lost": the found network's `test` score against the scikit-learn
    `baseline`'s, given the summary's `beats_baseline`; None when they were not compared."""
    if beats is None:
        return None
    if beats:
        return "beaten"
    return "tied" if test == (baseline or {}).get(f"test_{metric}") else "lost"


#: At most this many columns are named in the importance line; summary.json has them all.
IMPORTANCE_COLUMNS = 5


def importance_line(rows: list[dict[str, Any]], metric: str) -> str:
    """The columns the network relies on most (`column_importance`'s rows), in one line."""
    shown = ", ".join(
        f"{row['column']} {row['drop']:.3f} ± {row['std']:.3f}" for row in rows[:IMPORTANCE_COLUMNS]
    )
    more = f" (and {len(rows) - IMPORTANCE_COLUMNS} more)" if len(rows) > IMPORTANCE_COLUMNS else ""
    return f"test {metric} lost when a column is shuffled: {shown}{more}"


#: At most this many trials of the Pareto front are printed; summary.json has them all.
FRONT_LINES = 10


def report_front(front: list[dict[str, Any]], objectives: list[str], log: TextIO) -> None:
    """The summary's Pareto front, a trial per line, best first objective first."""
    keys = [METRICS[name] for name in objectives]
    print(
        f"archsearch: Pareto front of {', '.join(objectives)}: {plural(len(front), 'trial')}",
        file=log,
    )
    for entry in front[:FRONT_LINES]:
        values = "  ".join(f"{key} {format_value(entry.get(key))}" for key in keys)
        print(f"  trial #{entry['trial']}  {values}", file=log)
    if len(front) > FRONT_LINES:
        print(f"  ... and {len(front) - FRONT_LINES} more (summary.json, pareto.png)", file=log)


def format_value(value: Any) -> str:
    """A value as reports write it: thousands separated, counts whole, four decimals, "—"
    unknown."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) >= 10:  # a count stored as a float (params)
            return f"{value:,.0f}"
        return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4f}"
    return str(value)


def plural(count: int, noun: str) -> str:
    """`count` and `noun`, with an "s" unless there is one.

    Example:
        >>> plural(1, "trial"), plural(0, "best trial")
        ('1 trial', '0 best trials')
    """
    return f"{count} {noun}{'s' * (count != 1)}"


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"
