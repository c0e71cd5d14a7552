"""NAS-Bench-201: every archsearch strategy, and Optuna's TPE beside them, on CIFAR-10,
CIFAR-100 and ImageNet16-120 (30 seeds, up to 200 queries). Prints tables; never asserts.

    .venv/bin/python benchmarks/nb201.py --table ../shared/data/nats_bench.csv --seed-start 1000

The strategies' defaults were tuned on seeds 0-29 (and 100-119 for Q-learning's state), so the
README reports seeds 1000-1029: numbers from seeds nothing was tuned on.

A query is one distinct architecture evaluated. archsearch strategies run through the real
search loop (`archsearch.benchmark.compare`), which tells a strategy the recorded result of a
repeat without charging it; TPE is charged the same way here (its six edges are categorical
parameters; a repeat is told its recorded value and not counted). Needs `pip install optuna`
(the `bench` extra) for TPE; without it TPE is left out.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from archsearch.benchmark import best_so_far, compare, markdown, summarise, write_reports
from archsearch.evaluation.tabular import COLUMNS, TabularEvaluator, tabular_evaluator
from archsearch.loop import MAX_REPEATS
from archsearch.spaces.cell import NB201Space
from archsearch.strategies import STRATEGIES

BUDGETS = (50, 100, 200)
TARGETS = {50: 94.25, 100: 94.34}  # CIFAR-10: what the best archsearch strategy must reach


def tpe_curve(
    evaluator: TabularEvaluator, space: NB201Space, budget: int, seed: int
) -> list[float]:
    """Best-so-far of one TPE search, counting distinct architectures as the loop does."""
    import optuna

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    known: dict[str, float] = {}
    rewards: list[float] = []
    repeats = 0
    while len(rewards) < budget and repeats < MAX_REPEATS:
        trial = study.ask()
        values = {d.name: trial.suggest_categorical(d.name, d.choices) for d in space.decisions}
        arch = space.make(values)
        if arch.canonical in known:
            repeats += 1
        else:
            repeats = 0
            known[arch.canonical] = evaluator.evaluate(arch, seed).reward
            rewards.append(known[arch.canonical])
        study.tell(trial, known[arch.canonical])
    return best_so_far(rewards, budget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="../shared/data/nats_bench.csv")
    parser.add_argument("--datasets", default=",".join(COLUMNS))
    parser.add_argument("--strategies", default=",".join(STRATEGIES.names()))
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--seed-start", type=int, default=1000, help="seeds N..N+seeds-1")
    parser.add_argument("--budget", type=int, default=max(BUDGETS))
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--no-tpe", action="store_true", help="leave Optuna's TPE out")
    args = parser.parse_args()
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        tpe = not args.no_tpe
    except ImportError:
        print("optuna is not installed (pip install optuna): TPE left out")
        tpe = False
    torch.set_num_threads(1)  # thousands of tiny tensor operations: threads only contend
    space = NB201Space()
    started = time.perf_counter()
    for dataset in args.datasets.split(","):
        evaluator = tabular_evaluator(args.table, dataset)
        seeds = range(args.seed_start, args.seed_start + args.seeds)
        print(f"\n## {dataset} — seeds {seeds.start}-{seeds.stop - 1}, {args.budget} queries")

        def done(name: str, seconds: float) -> None:
            print(f"  {name}: {seconds:.1f} s", flush=True)

        names = args.strategies.split(",")
        curves, seconds = compare(names, space, evaluator, args.budget, seeds, None, done)
        if tpe:
            start = time.perf_counter()
            curves["optuna-tpe"] = [
                tpe_curve(evaluator, space, args.budget, seed) for seed in seeds
            ]
            seconds["optuna-tpe"] = time.perf_counter() - start
            done("optuna-tpe", seconds["optuna-tpe"])
        summary = summarise(curves, evaluator.optimum())
        summary["config"] = {
            "dataset": dataset,
            "seeds": [seeds.start, seeds.stop - 1],
            "seconds": seconds,
            "machine": f"{os.cpu_count()} CPU cores",
        }
        write_reports(summary, Path(args.out), f"nb201_{dataset}")
        print()
        print(markdown(summary, BUDGETS))
        if dataset == "cifar10":
            report_targets(summary)
    print(f"total wall time {time.perf_counter() - started:.0f} s")


def report_targets(summary: dict) -> None:
    """Print how the CIFAR-10 results compare with the figures to beat."""
    ours = {n: s for n, s in summary["strategies"].items() if n != "optuna-tpe"}
    for budget, target in TARGETS.items():
        if budget <= len(next(iter(ours.values()))["best_mean"]):
            name = max(ours, key=lambda n: ours[n]["best_mean"][budget - 1])
            value = ours[name]["best_mean"][budget - 1]
            print(f"best archsearch @{budget}: {name} {value:.2f} (target >= {target})")
    if "random" in ours:
        random_mean = ours["random"]["best_mean"]
        for name in ("reinforce", "qlearning", "evolution"):
            if name in ours:
                gaps = [
                    f"@{b}: {ours[name]['best_mean'][b - 1] - random_mean[b - 1]:+.2f}"
                    for b in (100, 200)
                    if b <= len(random_mean)
                ]
                print(f"{name} - random {', '.join(gaps)}")


if __name__ == "__main__":
    main()
