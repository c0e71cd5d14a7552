"""Compare search strategies on a tabular benchmark (NAS-Bench-201): many seeds in seconds.

Each (strategy, seed) runs the real search loop, `archsearch.search.run_search`, with an
in-memory ledger and a `TabularEvaluator`, so deduplication and every other behaviour of the
loop are exactly those of a real search: a query is one *distinct* architecture evaluated, and a
strategy told the recorded result of an architecture it proposes again is not charged for it.

For each strategy it records the best accuracy found after 1, 2, ..., `budget` queries, and
writes, in percent (reward x 100):
- `<stem>.json`: per strategy, mean and standard deviation over seeds of the best accuracy and
  of the regret (optimum - best) at every budget step;
- `<stem>.md`: a table of mean ± std of the best accuracy at a few budgets, and the final regret;
- `<stem>.png`: best-so-far against queries, with 95% confidence bands of the mean.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archsearch.errors import UsageError
from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.tabular import COLUMNS, tabular_evaluator
from archsearch.ledger import Ledger
from archsearch.search import Budget, run_search
from archsearch.spaces import get_space
from archsearch.spaces.base import Space
from archsearch.strategies import STRATEGIES, get_strategy

Curves = dict[str, list[list[float]]]  # strategy -> per seed, best reward after each query
REPORT_BUDGETS = (25, 50, 100, 200)


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
    """Mean/std over seeds of the best accuracy and the regret at each step, in percent."""
    result: dict[str, Any] = {"optimum": 100 * optimum, "strategies": {}}
    for name, runs in curves.items():
        best = 100 * np.asarray(runs, dtype=float)
        regret = 100 * optimum - best
        result["strategies"][name] = {
            "seeds": len(runs),
            "best_mean": _rounded(best.mean(0)),
            "best_std": _rounded(best.std(0)),
            "regret_mean": _rounded(regret.mean(0)),
            "regret_std": _rounded(regret.std(0)),
        }
    return result


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


def markdown(summary: dict[str, Any], budgets: Sequence[int] = REPORT_BUDGETS) -> str:
    """Mean ± std of the best accuracy (%) at each of `budgets` (those within the run), and the
    mean regret at the last step."""
    length = len(next(iter(summary["strategies"].values()))["best_mean"])
    shown = [b for b in budgets if b <= length] or [length]
    header = [f"@{b}" for b in shown] + [f"regret @{length}"]
    lines = [
        "| strategy | " + " | ".join(header) + " |",
        "|---" * (len(header) + 1) + "|",
    ]
    for name, s in summary["strategies"].items():
        cells = [f"{s['best_mean'][b - 1]:.2f} ± {s['best_std'][b - 1]:.2f}" for b in shown]
        cells.append(f"{s['regret_mean'][-1]:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(f"\noptimum {summary['optimum']:.2f}; accuracies in percent")
    return "\n".join(lines) + "\n"


def plot(summary: dict[str, Any], path: Path, title: str = "") -> None:
    """Best-so-far accuracy against queries, with 95% confidence bands of the mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, s in summary["strategies"].items():
        mean = np.asarray(s["best_mean"])
        half = 1.96 * np.asarray(s["best_std"]) / math.sqrt(max(s["seeds"], 1))
        steps = np.arange(1, len(mean) + 1)
        axes.plot(steps, mean, label=name)
        axes.fill_between(steps, mean - half, mean + half, alpha=0.2)
    axes.axhline(summary["optimum"], color="black", linestyle=":", label="optimum")
    tenth = [s["best_mean"][:10][-1] for s in summary["strategies"].values()]
    low = min(tenth)  # the y-range shows every curve from its tenth query on
    axes.set_ylim(low - 0.5, summary["optimum"] + 0.2)
    axes.set_xlabel("queries (distinct architectures evaluated)")
    axes.set_ylabel("best test accuracy so far (%)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_reports(summary: dict[str, Any], out: Path, stem: str) -> list[Path]:
    """`<stem>.json`, `<stem>.md` and `<stem>.png` in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.{ext}" for ext in ("json", "md", "png")]
    paths[0].write_text(json.dumps(summary, indent=1))
    paths[1].write_text(f"# {stem}\n\n" + markdown(summary))
    plot(summary, paths[2], stem)
    return paths


# -- command line ----------------------------------------------------------------------------
def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the `benchmark` subcommand."""
    parser = subparsers.add_parser(
        "benchmark",
        help="compare search strategies on NAS-Bench-201 (tabular, many seeds)",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--space", default="nb201", help="tabular space (only nb201)")
    parser.add_argument("--dataset", default="cifar10", help=f"one of {', '.join(COLUMNS)}")
    parser.add_argument(
        "--strategies", default="all", help="comma-separated strategy names, or 'all'"
    )
    parser.add_argument("--budget", type=int, default=200, help="distinct queries per search")
    parser.add_argument("--seeds", type=int, default=30, help="searches per strategy")
    parser.add_argument(
        "--seed-start",
        type=int,
        default=0,
        help="first seed (seeds N..N+seeds-1): report on seeds the defaults were not tuned on",
    )
    parser.add_argument("--table", required=True, help="NAS-Bench-201 CSV (nats_bench.csv)")
    parser.add_argument("--out", default="runs/benchmark", help="folder for json, md and png")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="STRATEGY.KEY=VALUE",
        help="a strategy option, e.g. bayesopt.initial=20 (repeatable)",
    )
    parser.set_defaults(func=run_command)
    return parser


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
