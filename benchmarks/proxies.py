"""Zero-cost proxies on NAS-Bench-201: how well they rank cells, and what they buy a search.

The parts (print, never assert; JSON under benchmarks/results/):

- `correlation`: scores `--cells` random nb201 cells (real networks of the nb201 space, at
  `--channels`/`--cells-per-stage`) with every proxy of `ProxyEvaluator` on real CIFAR-10
  images (a stratified subset of the JPEG training folder: `--per-class` training rows and as
  many validation rows per class), and reports each proxy's Spearman and Kendall correlation
  with the table's CIFAR-10 accuracy and its seconds per cell. The per-cell scores are saved
  too: the `warm` part ranks cells with them.
- `merge`: joins `correlation` results of the same cells scored by different proxies in
  separate processes (`--inputs a.json,b.json`).
- `warm`: a search warm-started by a proxy (the `--top` best-scored of `--pool` random cells,
  scored in `correlation`, queued first through `Strategy.warm_start`) against the same search
  cold, on the tabular evaluator, best accuracy at 25/50/100 queries over `--seeds`.
- `rank`: after a screened search of `--budget` queries, how well each `--model` predictor
  ranks `--cells` random table cells it has not seen (Spearman, Kendall with the table).
- `screen`: searches with the predictor screening (`screen=K` strategy option) against the
  same searches unscreened, same budgets and seeds; `--model lstm` (reinforce only) screens
  with the predictor head on the controller's LSTM instead of a separate model.

Usage:
    python benchmarks/proxies.py correlation --cells 500 --proxies naswot,synflow --out a.json
    python benchmarks/proxies.py merge --inputs a.json,b.json --out proxies_correlation_full.json
    python benchmarks/proxies.py warm --scores benchmarks/results/proxies_correlation.json
    python benchmarks/proxies.py screen --seeds 0-19
    python benchmarks/proxies.py screen --strategies reinforce --model lstm --seeds 0-19
    python benchmarks/proxies.py rank --strategies reinforce --model forest,lstm --budget 50
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsearch.benchmark import best_so_far, seed_range  # noqa: E402
from archsearch.data.dataset import Dataset, Normalization  # noqa: E402
from archsearch.data.images import decode_image  # noqa: E402
from archsearch.evaluation.base import Context  # noqa: E402
from archsearch.evaluation.proxies import PROXY_NAMES, ProxyEvaluator  # noqa: E402
from archsearch.evaluation.result import Result  # noqa: E402
from archsearch.evaluation.tabular import TabularEvaluator, tabular_evaluator  # noqa: E402
from archsearch.ledger import Ledger  # noqa: E402
from archsearch.loop import Budget, run_search  # noqa: E402
from archsearch.spaces.cell import NB201Space  # noqa: E402
from archsearch.strategies import get_strategy  # noqa: E402
from archsearch.tasks.classification import Classification  # noqa: E402

DATA = Path(os.environ.get("ARCHSEARCH_SHARED", "/work/shared")) / "data"
CACHE = ROOT / "bench" / "proxies"
RESULTS = ROOT / "benchmarks" / "results"
BUDGETS = (25, 50, 100)


def table_path() -> Path:
    """The NAS-Bench-201 CSV: the shared one, or the copy carried in bench/proxies/."""
    shared = DATA / "nats_bench.csv"
    return shared if shared.is_file() else CACHE / "nats_bench.csv"


# -- data -----------------------------------------------------------------------------------------
def cifar_subset(per_class: int) -> Dataset:
    """`per_class` training and `per_class` validation images of each CIFAR-10 class from the
    JPEG training folder (the first 2 x per_class files of each class: a fixed subset), cached
    as one .npz so that a machine without the JPEGs can run this too."""
    cache = CACHE / f"cifar_subset_{per_class}.npz"
    if not cache.is_file():
        root = DATA / "cifar10-jpg" / "train"
        xs, ys = [], []
        for label, folder in enumerate(sorted(p for p in root.iterdir() if p.is_dir())):
            for path in sorted(folder.iterdir())[: 2 * per_class]:
                xs.append(decode_image(str(path))[0].transpose(2, 0, 1))
                ys.append(label)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache, x=np.stack(xs), y=np.array(ys))
    saved = np.load(cache)
    x, y = saved["x"], saved["y"]
    first = np.array([i % (2 * per_class) < per_class for i in range(len(y))])
    train_x, train_y = torch.from_numpy(x[first]), torch.from_numpy(y[first]).long()
    val_x, val_y = torch.from_numpy(x[~first]), torch.from_numpy(y[~first]).long()
    names = [str(i) for i in range(10)]
    norm = Normalization.of(x[first])
    task = Classification(10)
    return Dataset("cifar10-subset", task, train_x, train_y, val_x, val_y, None, None, names, norm)


# -- correlation ---------------------------------------------------------------------------------
def correlations(scores: np.ndarray, accuracy: np.ndarray) -> dict[str, float]:
    """Spearman and Kendall correlation of the scores with the accuracy over every cell, a
    score of -inf (the proxy's verdict "output ignores the input") ranked below all others,
    and the same over the cells with a finite score only (`*_finite`)."""
    from scipy.stats import kendalltau, spearmanr

    keep = ~np.isnan(scores)
    finite = np.isfinite(scores)
    lowest = scores[finite].min() - 1 if finite.any() else 0.0
    ranked = np.where(np.isneginf(scores), lowest, scores)[keep]
    return {
        "spearman": float(spearmanr(ranked, accuracy[keep]).statistic),
        "kendall": float(kendalltau(ranked, accuracy[keep]).statistic),
        "spearman_finite": float(spearmanr(scores[finite], accuracy[finite]).statistic),
        "kendall_finite": float(kendalltau(scores[finite], accuracy[finite]).statistic),
        "scored": int(keep.sum()),
        "finite": int(finite.sum()),
    }


def correlation(args: argparse.Namespace) -> dict[str, Any]:
    """Score `args.cells` random table cells with every proxy; correlate with the table."""
    torch.set_num_threads(args.threads)
    data = cifar_subset(args.per_class)
    space = NB201Space(channels=args.channels, cells_per_stage=args.cells_per_stage)
    context = Context(space, data.task, data)
    table = tabular_evaluator(table_path()).table
    keys = sorted(table)
    picked = random.Random(args.seed).sample(keys, args.cells)
    accuracy = np.array([table[k] for k in picked])
    out: dict[str, Any] = {"cells": picked, "accuracy": accuracy.tolist(), "proxies": {}}
    for name in args.proxies.split(","):
        evaluator = ProxyEvaluator(
            context, proxy=name, samples=args.samples, inits=args.inits, device=args.device
        )
        start, values = time.perf_counter(), []
        for i, key in enumerate(picked):
            values.append(evaluator.score(space.from_string(key), seed=i))
        if args.device == "cuda":
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / len(picked)
        scores = np.array(values)
        stats = {**correlations(scores, accuracy), "seconds_per_cell": seconds}
        out["proxies"][name] = {**stats, "scores": [float(v) for v in scores]}
        print(
            f"{name:9s} spearman {stats['spearman']:+.3f} kendall {stats['kendall']:+.3f} "
            f"finite {stats['finite']}/{len(picked)}  {seconds * 1000:.0f} ms/cell",
            flush=True,
        )
    return out


def rescore(args: argparse.Namespace) -> dict[str, Any]:
    """Recompute the statistics of a saved `correlation` result from its per-cell scores."""
    saved = json.loads(Path(args.scores).read_text())
    accuracy = np.asarray(saved["accuracy"])
    for name, entry in saved["proxies"].items():
        entry.update(correlations(np.asarray(entry["scores"], dtype=float), accuracy))
        print(f"{name:9s} spearman {entry['spearman']:+.3f} kendall {entry['kendall']:+.3f}")
    return saved


def merge(args: argparse.Namespace) -> dict[str, Any]:
    """Join `correlation` results that scored the same cells with different proxies (e.g. two
    processes, one per core), keeping each run's settings, time and load under `runs`."""
    parts = [json.loads(Path(p).read_text()) for p in args.inputs.split(",")]
    out: dict[str, Any] = {"cells": parts[0]["cells"], "accuracy": parts[0]["accuracy"]}
    out["proxies"], out["runs"] = {}, []
    for part in parts:
        if part["cells"] != out["cells"]:
            raise SystemExit("merge: the inputs scored different cells; use the same --seed")
        out["proxies"].update(part["proxies"])
        out["runs"].append({k: part[k] for k in ("args", "seconds", "loadavg", "device")})
    out["seconds"] = sum(run["seconds"] for run in out["runs"])
    out["loadavg"] = max(run["loadavg"] for run in out["runs"])
    return out


# -- searches on the table -----------------------------------------------------------------------
def search_curve(
    strategy: str, seed: int, budget: int, options: dict[str, Any], queue: list[Any]
) -> list[float]:
    """Best-so-far table accuracy of one search, warm-started with `queue` if any."""
    evaluator = _EVALUATOR["tabular"]
    s = get_strategy(strategy, evaluator.space, seed=seed, **options)
    if queue:
        s.warm_start(queue)
    with Ledger(":memory:") as ledger:
        run_search(s, evaluator, ledger, Budget(trials=budget), seed=seed)
        rewards = [trial.result.reward for trial in ledger]
    return best_so_far(rewards, budget)


_EVALUATOR: dict[str, Any] = {}


class TableLookup(TabularEvaluator):
    """The tabular evaluator's reward (the table's CIFAR-10 accuracy) without its parameter
    count, which builds each network on the meta device and was most of a search's time here;
    no strategy reads it."""

    name = "table_lookup_benchmark"

    def evaluate(self, arch: Any, seed: int) -> Result:
        accuracy = self.table[self.space.to_string(arch)]
        return Result(reward=accuracy, metrics={"test_accuracy": accuracy})


def summary(curves: list[list[float]]) -> dict[str, Any]:
    """Mean and std (percent) of the best accuracy at each reported budget."""
    array = np.asarray(curves) * 100
    return {
        str(b): {"mean": float(array[:, b - 1].mean()), "std": float(array[:, b - 1].std())}
        for b in BUDGETS
        if b <= array.shape[1]
    }


def warm_queue(scores: dict[str, float], pool: int, top: int, seed: int) -> list[Any]:
    """The `top` best-scored of `pool` scored cells drawn with `seed`, best first."""
    space = _EVALUATOR["tabular"].space
    keys = sorted(k for k, v in scores.items() if np.isfinite(v))
    drawn = random.Random(10_000 + seed).sample(keys, min(pool, len(keys)))
    best = sorted(drawn, key=lambda k: -scores[k])[:top]
    return [space.from_string(k) for k in best]


def warm(args: argparse.Namespace) -> dict[str, Any]:
    """Warm-started against cold searches, per strategy and proxy."""
    saved = json.loads(Path(args.scores).read_text())
    out: dict[str, Any] = {"pool": args.pool, "top": args.top, "results": {}}
    for strategy in args.strategies.split(","):
        options = json.loads(args.options).get(strategy, {})
        runs = {"cold": [search_curve(strategy, s, args.budget, options, []) for s in args.seeds]}
        for proxy in args.proxies.split(","):
            scores = dict(zip(saved["cells"], saved["proxies"][proxy]["scores"]))
            runs[f"warm_{proxy}"] = [
                search_curve(
                    strategy, s, args.budget, options, warm_queue(scores, args.pool, args.top, s)
                )
                for s in args.seeds
            ]
        out["results"][strategy] = {k: summary(v) for k, v in runs.items()}
        report(strategy, out["results"][strategy])
    return out


def screen(args: argparse.Namespace) -> dict[str, Any]:
    """Screened against unscreened searches, per strategy."""
    out: dict[str, Any] = {"screen": args.screen, "model": args.model, "results": {}}
    out["seconds_per_search"] = {}
    for strategy in args.strategies.split(","):
        options = json.loads(args.options).get(strategy, {})
        screened = {
            **options,
            "screen": args.screen,
            "screen_model": args.model,
            "screen_after": args.after,
        }
        runs, seconds = {}, {}
        for variant, given in (("unscreened", options), ("screened", screened)):
            start = time.perf_counter()
            runs[variant] = [search_curve(strategy, s, args.budget, given, []) for s in args.seeds]
            seconds[variant] = (time.perf_counter() - start) / len(args.seeds)
        out["results"][strategy] = {k: summary(v) for k, v in runs.items()}
        out["seconds_per_search"][strategy] = seconds
        out.setdefault("per_seed", {})[strategy] = {  # for paired comparisons across files
            k: {str(b): [100 * c[b - 1] for c in v] for b in BUDGETS if b <= args.budget}
            for k, v in runs.items()
        }
        report(strategy, out["results"][strategy])
    return out


def rank(args: argparse.Namespace) -> dict[str, Any]:
    """How well each screening predictor ranks architectures it has not seen: after a screened
    search of `--budget` queries, Spearman and Kendall correlation of its predictions for
    `--cells` random table cells (drawn per seed) with their table accuracy."""
    from scipy.stats import kendalltau, spearmanr

    evaluator = _EVALUATOR["tabular"]
    keys = sorted(evaluator.table)
    out: dict[str, Any] = {"results": {}}
    for model in args.model.split(","):
        options = {"screen": args.screen, "screen_model": model, "screen_after": args.after}
        per_seed = []
        for seed in args.seeds:
            strategy = get_strategy(args.strategies, evaluator.space, seed=seed, **options)
            with Ledger(":memory:") as ledger:
                run_search(strategy, evaluator, ledger, Budget(trials=args.budget), seed=seed)
            cells = random.Random(20_000 + seed).sample(keys, args.cells)
            predicted = strategy.screen.predict([evaluator.space.from_string(k) for k in cells])
            truth = [evaluator.table[k] for k in cells]
            per_seed.append(
                (spearmanr(predicted, truth).statistic, kendalltau(predicted, truth).statistic)
            )
        values = np.asarray(per_seed)
        out["results"][model] = {
            name: {"mean": float(values[:, i].mean()), "std": float(values[:, i].std())}
            for i, name in enumerate(("spearman", "kendall"))
        }
        out["results"][model]["per_seed"] = values.tolist()
        print(f"{model:7s} " + "  ".join(
            f"{n} {v['mean']:+.3f}±{v['std']:.3f}"
            for n, v in out["results"][model].items() if n != "per_seed"
        ), flush=True)  # fmt: skip
    return out


def report(strategy: str, results: dict[str, Any]) -> None:
    for variant, by_budget in results.items():
        cells = "  ".join(f"{b}: {v['mean']:.2f}±{v['std']:.2f}" for b, v in by_budget.items())
        print(f"{strategy:10s} {variant:14s} {cells}", flush=True)


# -- command line --------------------------------------------------------------------------------
def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = ("correlation", "rescore", "merge", "warm", "screen", "rank")
    p.add_argument("part", choices=parts)
    p.add_argument("--inputs", default="", help="merge: correlation results, comma-separated")
    p.add_argument("--out", default="")
    p.add_argument("--seed", type=int, default=0, help="which cells are scored")
    p.add_argument("--cells", type=int, default=500)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells-per-stage", type=int, default=5)
    p.add_argument("--per-class", type=int, default=26)
    p.add_argument("--samples", type=int, default=128)
    p.add_argument("--inits", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--proxies", default=",".join(PROXY_NAMES))
    p.add_argument("--scores", default=str(RESULTS / "proxies_correlation.json"))
    p.add_argument("--strategies", default="evolution,random")
    p.add_argument("--options", default="{}", help="JSON: strategy -> options")
    p.add_argument("--seeds", type=seed_range, default=seed_range("0-19"))
    p.add_argument("--budget", type=int, default=100)
    p.add_argument("--pool", type=int, default=500)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--screen", type=int, default=10)
    p.add_argument("--model", default="forest", help="forest, gp or lstm (rank: a list)")
    p.add_argument("--after", type=int, default=10)
    return p.parse_args()


def main() -> None:
    args = parse()
    torch.set_num_threads(args.threads)
    table = tabular_evaluator(table_path())
    _EVALUATOR["tabular"] = TableLookup(table.context, table=str(table_path()))
    start = time.perf_counter()
    parts = {"correlation": correlation, "rescore": rescore, "warm": warm, "screen": screen}
    parts.update(rank=rank, merge=merge)
    out = parts[args.part](args)
    if args.part not in ("rescore", "merge"):  # (these keep the scoring runs' settings, times)
        out["args"] = {k: v for k, v in vars(args).items()}
        out["seconds"] = time.perf_counter() - start
        out["loadavg"] = os.getloadavg()
        out["device"] = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    path = Path(
        args.out
        or (args.scores if args.part == "rescore" else RESULTS / f"proxies_{args.part}.json")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path} ({out['seconds']:.0f} s, load {out['loadavg'][0]:.1f})")


if __name__ == "__main__":
    main()
