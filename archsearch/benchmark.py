"""Compare search strategies on a tabular benchmark (NAS-Bench-201): many seeds in seconds.

Each (strategy, seed) runs the real search loop, `archsearch.loop.run_search`, with an
in-memory ledger and a `TabularEvaluator`, so deduplication and every other behaviour of the
loop are exactly those of a real search: a query is one *distinct* architecture evaluated, and a
strategy told the recorded result of an architecture it proposes again is not charged for it.

For each strategy it records the best accuracy found after 1, 2, ..., `budget` queries, and
writes, in percent (reward x 100):
- `<stem>.json`: per strategy, mean and standard deviation over seeds of the best accuracy and
  of the regret (optimum - best) at every budget step, and the half-width of the 95%
  confidence interval of the mean best accuracy (`best_ci95`);
- `<stem>.md`: a table of mean ± std of the best accuracy at a few budgets and at the final
  one, the 95% confidence interval of the final mean, and the final regret;
- `<stem>.png`: best-so-far against queries, with 95% confidence bands of the mean clipped to
  the optimum.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from archsearch.commands import COMMANDS
from archsearch.errors import UsageError
from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.tabular import COLUMNS, tabular_evaluator
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.spaces import get_space
from archsearch.spaces.base import Space
from archsearch.strategies import STRATEGIES, get_strategy

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Curves = dict[str, list[list[float]]]  # strategy -> per seed, best reward after each query
REPORT_BUDGETS = (25, 50, 100, 200)


def seed_range(text: str) -> list[int]:
    """The seeds a benchmark's `--seeds` names: `FIRST-LAST` (inclusive), `A,B,C` or one seed.

    Example:
        >>> seed_range("100-103"), seed_range("0,5"), seed_range("7")
        ([100, 101, 102, 103], [0, 5], [7])
    """
    if "-" in text:
        first, _, last = text.partition("-")
        return list(range(int(first), int(last) + 1))
    return [int(seed) for seed in text.split(",")]


def best_so_far(rewards: Sequence[float], budget: int) -> list[float]:
    """Running maximum of `rewards`, `budget` long; a search that stopped early (converged)
    keeps its last best."""
    curve = list(np.maximum.accumulate(np.asarray(rewards[:budget], dtype=float)))
    if not curve:
        raise ValueError("a search finished without a single result")
    return curve + [curve[-1]] * (budget - len(curve))


def run_one(
    name: str,
    space: Space,
    evaluator: Evaluator,
    budget: int,
    seed: int,
    options: dict[str, Any] | None = None,
) -> list[float]:
    """The best-so-far curve of one search by strategy `name` with `seed`."""
    strategy = get_strategy(name, space, seed=seed, **(options or {}))
    with Ledger(":memory:") as ledger:
        run_search(strategy, evaluator, ledger, Budget(trials=budget), seed=seed)
        rewards = [trial.result.reward for trial in ledger]
    return best_so_far(rewards, budget)


def compare(
    names: Sequence[str],
    space: Space,
    evaluator: Evaluator,
    budget: int,
    seeds: Sequence[int],
    options: dict[str, dict[str, Any]] | None = None,
    on_done: Callable[[str, float], None] | None = None,
) -> tuple[Curves, dict[str, float]]:
    """Curves of every strategy over `seeds`, and each strategy's wall seconds."""
    curves: Curves = {}
    seconds: dict[str, float] = {}
    for name in names:
        start = time.perf_counter()
        opts = (options or {}).get(name, {})
        curves[name] = [run_one(name, space, evaluator, budget, s, opts) for s in seeds]
        seconds[name] = time.perf_counter() - start
        if on_done is not None:
            on_done(name, seconds[name])
    return curves, seconds


def summarise(curves: Curves, optimum: float) -> dict[str, Any]:
    """Per strategy, over seeds, in percent: the mean and standard deviation of the best
    accuracy and of the regret at each step, and the half-width of the 95% confidence interval
    of the mean best accuracy (`best_ci95`, Student's t; 0 with one seed)."""
    result: dict[str, Any] = {"optimum": 100 * optimum, "strategies": {}}
    for name, runs in curves.items():
        best = 100 * np.asarray(runs, dtype=float)
        regret = 100 * optimum - best
        result["strategies"][name] = {
            "seeds": len(runs),
            "best_mean": _rounded(best.mean(0)),
            "best_std": _rounded(best.std(0)),
            "best_ci95": _rounded(ci95(best.std(0), len(runs))),
            "regret_mean": _rounded(regret.mean(0)),
            "regret_std": _rounded(regret.std(0)),
        }
    return result


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


#: Student's t, two-sided 95%, for 1..30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t with `df` degrees of freedom (exact to 3 decimals:
    a table up to 30, the Cornish-Fisher expansion, error < 1e-3, above)."""
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def ci95(std: np.ndarray, seeds: int) -> np.ndarray:
    """Half-width of the 95% confidence interval of a mean over `seeds` values whose standard
    deviation (numpy's default, ddof 0, as `best_std` holds) is `std`; 0 for one seed."""
    std = np.asarray(std, dtype=float)
    if seeds < 2:
        return np.zeros_like(std)
    return t975(seeds - 1) * std / math.sqrt(seeds - 1)  # = t * sample std / sqrt(seeds)


def confidence_band(stats: dict[str, Any], optimum: float) -> tuple[np.ndarray, np.ndarray]:
    """Low and high edges of the 95% confidence interval of a strategy's mean best accuracy
    (%), clipped to what is possible, [0, optimum]: a mean of best accuracies can't be above
    the table's best. Summaries written before `best_ci95` existed get it from `best_std`."""
    mean = np.asarray(stats["best_mean"], dtype=float)
    half = stats.get("best_ci95")
    half = ci95(stats["best_std"], stats["seeds"]) if half is None else np.asarray(half)
    return np.clip(mean - half, 0.0, optimum), np.clip(mean + half, 0.0, optimum)


def markdown(summary: dict[str, Any], budgets: Sequence[int] = REPORT_BUDGETS) -> str:
    """Mean ± std over seeds of the best accuracy (%) at each of `budgets` below the run's
    final budget, then at the final budget the same, the 95% confidence interval of the mean
    and the mean regret."""
    length = len(next(iter(summary["strategies"].values()))["best_mean"])
    shown = [b for b in budgets if b < length] + [length]
    header = [f"@{b}" for b in shown[:-1]] + [f"@{length} (final)", "95% CI of mean"]
    header.append(f"regret @{length}")
    lines = [
        "| strategy | " + " | ".join(header) + " |",
        "|---" * (len(header) + 1) + "|",
    ]
    for name, s in summary["strategies"].items():
        cells = [f"{s['best_mean'][b - 1]:.2f} ± {s['best_std'][b - 1]:.2f}" for b in shown]
        low, high = confidence_band(s, summary["optimum"])
        cells.append(f"{low[-1]:.2f} – {high[-1]:.2f}")
        cells.append(f"{s['regret_mean'][-1]:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        f"\noptimum {summary['optimum']:.2f}; accuracies in percent; ± is the standard "
        "deviation over seeds; the confidence interval (Student's t) is clipped to the optimum"
    )
    return "\n".join(lines) + "\n"


#: How titles name a benchmark's datasets.
DATASET_NAMES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}


def plot_title(summary: dict[str, Any]) -> str:
    """A sentence for the plot: "Best test accuracy found on NAS-Bench-201 CIFAR-10 (mean
    of 30 seeds)"."""
    dataset = summary.get("config", {}).get("dataset", "")
    where = f" on NAS-Bench-201 {DATASET_NAMES.get(dataset, dataset)}".rstrip()
    seeds = sorted({s["seeds"] for s in summary["strategies"].values()})
    count = "/".join(str(n) for n in seeds)
    return f"Best test accuracy found{where} (mean of {count} seed{'s' * (seeds != [1])})"


def plot(summary: dict[str, Any], path: Path, title: str = "") -> Figure:
    """Best-so-far accuracy (mean over seeds) against queries with the 95% confidence band of
    the mean, clipped to the optimum: on the left every query from the first (for budgets of 20
    or more on a log scale, so the first queries are not squeezed), on the right (those
    budgets) from the tenth of the budget on, zoomed to where the strategies differ."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    budget = len(next(iter(summary["strategies"].values()))["best_mean"])
    first = max(1, budget // 10) if budget >= 20 else 0
    figure = Figure(figsize=(12 if first else 7.5, 5), layout="constrained")
    panels = figure.subplots(1, 2 if first else 1, squeeze=False)[0]
    _draw_curves(panels[0], summary, 1, "all queries (log scale)" if first else "", bool(first))
    if first:
        _draw_curves(panels[1], summary, first, f"queries {first}-{budget}, zoomed")
    figure.suptitle(title)
    band = Patch(color="grey", alpha=0.2, label="95% confidence interval of the mean")
    handles = [*panels[0].get_legend_handles_labels()[0], band]
    figure.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
    figure.savefig(path, dpi=120)
    return figure


def _draw_curves(
    axes: Axes, summary: dict[str, Any], first: int, title: str, log: bool = False
) -> None:
    """Each strategy's mean best accuracy and its clipped confidence band from query `first`
    on, the optimum, and y limits that hold all of them; queries on a log axis if `log`."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    optimum, lows = summary["optimum"], []
    for name, s in summary["strategies"].items():
        mean = np.asarray(s["best_mean"])[first - 1 :]
        low, high = (edge[first - 1 :] for edge in confidence_band(s, optimum))
        steps = np.arange(first, first + len(mean))
        (line,) = axes.plot(steps, mean, drawstyle="steps-post", label=name)
        axes.fill_between(steps, low, high, step="post", alpha=0.2, color=line.get_color())
        lows.append(min(low.min(), mean.min()))
    axes.axhline(optimum, color="black", linestyle=":", label="optimum (best in the table)")
    span = max(optimum - min(lows), 0.1)
    axes.set_ylim(optimum - 1.04 * span, optimum + 0.04 * span)
    if log:
        axes.set_xscale("log")
        axes.set_xlim(0.9, 1.1 * steps[-1])
        axes.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    else:
        axes.set_xlim(first - 0.5, steps[-1] + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set(xlabel="queries (distinct architectures evaluated)", title=title)
    axes.set_ylabel("best test accuracy so far (%)")
    axes.grid(alpha=0.3)


def write_reports(summary: dict[str, Any], out: Path, stem: str) -> list[Path]:
    """`<stem>.json`, `<stem>.md` and `<stem>.png` in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.{ext}" for ext in ("json", "md", "png")]
    paths[0].write_text(json.dumps(summary, indent=1))
    paths[1].write_text(f"# {plot_title(summary)}\n\n" + markdown(summary))
    plot(summary, paths[2], plot_title(summary))
    return paths


# -- command line ----------------------------------------------------------------------------
def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the `benchmark` subcommand; each flag's help shows its argparse default."""
    parser = subparsers.add_parser(
        "benchmark", help=COMMANDS["benchmark"], description=__doc__.splitlines()[0]
    )
    default = " (default: %(default)s)"
    parser.add_argument("--space", default="nb201", help="tabular space: only nb201" + default)
    parser.add_argument(
        "--dataset", default="cifar10", help=f"one of: {', '.join(COLUMNS)}" + default
    )
    parser.add_argument(
        "--strategies",
        default="all",
        help=f"comma-separated names from: {', '.join(STRATEGIES.names())}; or all" + default,
    )
    parser.add_argument(
        "--budget", type=int, default=200, help="distinct queries per search" + default
    )
    parser.add_argument("--seeds", type=int, default=30, help="searches per strategy" + default)
    parser.add_argument(
        "--seed-start",
        type=int,
        default=0,
        help="first seed (seeds N..N+seeds-1): report on seeds the defaults were not tuned on"
        + default,
    )
    parser.add_argument("--table", required=True, help="NAS-Bench-201 CSV (nats_bench.csv)")
    parser.add_argument(
        "--out", default="runs/benchmark", help="folder for json, md and png" + default
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="STRATEGY.KEY=VALUE",
        help="a strategy option, e.g. bayesopt.initial=20 (repeatable)",
    )
    parser.set_defaults(func=run_command)
    return parser


def check_complete(table: dict[str, float], space: Space, path: str, budget: int) -> None:
    """`UsageError` unless `table` holds every cell of `space` (a missing one would count as
    a failed query, dragging every curve down) and `budget` distinct queries fit in it."""
    cells = math.prod(len(decision.choices) for decision in space.decisions)
    if budget > cells:
        raise UsageError(
            f"--budget {budget}: the {space.name} space has {cells:,} cells, so a search makes "
            "at most that many distinct queries; give a smaller --budget"
        )
    names = [decision.name for decision in space.decisions]
    every = itertools.product(*(decision.choices for decision in space.decisions))
    found = sum(space.to_string(space.make(dict(zip(names, values)))) in table for values in every)
    if found < cells:
        raise UsageError(
            f"--table {path}: holds {found:,} of the {cells:,} {space.name} cells; a benchmark "
            "needs the whole table (a missing cell would count as a failed query)"
        )


def run_command(args: argparse.Namespace) -> int:
    """Run the benchmark the flags describe, print the table, write the reports."""
    if args.space != "nb201":
        raise UsageError(f"--space {args.space}: only nb201 has a tabular benchmark; use nb201")
    if args.budget < 1 or args.seeds < 1:
        raise UsageError("--budget and --seeds must be at least 1")
    if args.seed_start < 0:
        raise UsageError(f"--seed-start must be >= 0, got {args.seed_start}")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(
            f"--out {out} is not an empty folder; choose a new one (nothing is overwritten)"
        )
    known = STRATEGIES.names()
    names = known if args.strategies == "all" else [n.strip() for n in args.strategies.split(",")]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise UsageError(f"--strategies: unknown {unknown}; choose from {', '.join(known)}")
    if not Path(args.table).exists():
        raise UsageError(f"--table {args.table}: no such file; give the NAS-Bench-201 CSV")
    space = get_space(args.space)
    options = _parse_sets(args.set, names, space)
    try:
        evaluator = tabular_evaluator(args.table, args.dataset)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    check_complete(evaluator.table, space, args.table, args.budget)

    def done(name: str, seconds: float) -> None:
        print(f"{name}: {args.seeds} searches in {seconds:.1f} s", flush=True)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # thousands of tiny tensor operations: threads only contend
    try:
        seeds = range(args.seed_start, args.seed_start + args.seeds)
        curves, seconds = compare(names, space, evaluator, args.budget, seeds, options, done)
    finally:
        torch.set_num_threads(threads)
    summary = summarise(curves, evaluator.optimum())
    summary["config"] = {
        "space": args.space,
        "dataset": args.dataset,
        "budget": args.budget,
        "seeds": args.seeds,
        "seed_start": args.seed_start,
        "options": options,
        "seconds": seconds,
    }
    paths = write_reports(summary, Path(args.out), f"{args.space}_{args.dataset}")
    print(markdown(summary))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _parse_sets(sets: Sequence[str], names: Sequence[str], space: Space) -> dict[str, dict]:
    """{strategy: {key: value}} from `--set strategy.key=value`, checked by building each."""
    options: dict[str, dict[str, Any]] = {}
    for item in sets:
        target, eq, value = item.partition("=")
        name, dot, key = target.partition(".")
        if not (eq and dot and key):
            raise UsageError(f"--set {item!r}: write STRATEGY.KEY=VALUE, e.g. bayesopt.initial=20")
        if name not in names:
            raise UsageError(f"--set {item!r}: {name!r} is not among --strategies")
        options.setdefault(name, {})[key] = value
    for name, opts in options.items():
        try:
            get_strategy(name, space, seed=0, **opts)
        except ValueError as exc:
            raise UsageError(f"--set: {exc}") from None
    return options
