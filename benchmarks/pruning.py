"""Pruning across trials: the digits `cnn` search with and without each pruner, at an equal
budget of child-training epochs (`--epoch-budget`, the same compute whatever the machine's
load) or at an equal wall time (`--time-limit`). Prints, never asserts.

All searches of one call run at the same time, one single-threaded process each, so on a
shared machine they see the same load over the same minutes (that is what makes their wall
times comparable under `--time-limit`). For every (pruner, seed): children seen, how many
were pruned, epochs trained, search wall seconds, the best child's validation accuracy and
its retrained test accuracy, and the load average before and after.

    python benchmarks/pruning.py [--pruners none,median,asha,predictor] [--seeds 0,1]
        [--epochs 6] [--epoch-budget 72 | --time-limit SECONDS] [--out FILE]
        [--cifar ../shared/data/cifar10-jpg]   # the cifar-cpu preset (shortened by the flags)

A pruner may carry `--prune-option`s after colons: `asha:resource=flops` is ASHA with its
rungs counted in compute. Each run's record lists its children (status, epochs, seconds,
parameters and, where the pruner counted them, FLOPs), read from its ledger.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archsearch.ledger import Ledger

RESULTS = Path(__file__).resolve().parent / "results" / "pruning.json"
SEARCH = ["--dataset", "digits", "--space", "cnn", "--strategy", "reinforce",
          "--final-models", "1"]  # fmt: skip


def search_flags(args: argparse.Namespace) -> list[str]:
    """The digits `cnn` search, or with `--cifar DIR` the `cifar-cpu` preset on that folder."""
    if args.cifar is None:
        return SEARCH
    return ["--preset", "cifar-cpu", "--data-dir", str(args.cifar), "--final-models", "1"]


def prune_flags(pruner: str) -> list[str]:
    """`--prune NAME --prune-option K=V ...` of a pruner written `NAME[:K=V]...`."""
    name, *options = pruner.split(":")
    return ["--prune", name, *[f for o in options for f in ("--prune-option", o)]]


def command(pruner: str, seed: int, args: argparse.Namespace) -> list[str]:
    """The `archsearch search` flags of one search."""
    budget = (
        ["--time-limit", str(args.time_limit)]
        if args.time_limit
        else ["--epoch-budget", str(args.epoch_budget)]
    )
    return [*search_flags(args), "--epochs", str(args.epochs),
            "--final-epochs", str(args.final_epochs), "--trials", "100000", *budget,
            *prune_flags(pruner), "--seed", str(seed)]  # fmt: skip


def start(flags: list[str], out: Path) -> subprocess.Popen:
    """One search through the command line, in a single-threaded process of its own."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cli = [sys.executable, "-m", "archsearch.cli", "search", *flags, "--out", str(out)]
    return subprocess.Popen(cli, env=env, stderr=subprocess.DEVNULL)


def children(out: Path) -> list[dict]:
    """Each child of a finished search, in order, as its ledger recorded it."""
    with Ledger.open(out / "ledger.sqlite", readonly=True) as ledger:
        return [
            {
                "status": t.result.status,
                "epochs": t.result.metrics.get("epochs"),
                "seconds": t.result.metrics.get("train_seconds"),
                "params": t.result.metrics.get("params"),
                "flops": t.result.metrics.get("flops"),
                "val_accuracy": t.result.metrics.get("best_val_accuracy"),
            }
            for t in ledger
        ]


def row(pruner: str, seed: int, flags: list[str], out: Path, wall: float, load: tuple) -> dict:
    """What one finished search measured."""
    summary = json.loads((out / "summary.json").read_text())
    best = summary["best"]
    return {
        "pruner": pruner,
        "seed": seed,
        "command": flags,
        "children": summary["trials"],
        "pruned": summary["pruned"],
        "failed": summary["failed"],
        "epochs": summary["epochs"],
        "search_seconds": round(summary["search_seconds"], 1),
        "run_wall_seconds": round(wall, 1),
        "best_val_accuracy": best["val_accuracy"],
        "best_test_accuracy": best.get("test_accuracy"),
        "best_params": best["params"],
        "loadavg_before": load,
        "loadavg_after": os.getloadavg(),
        "children_detail": children(out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pruners", default="none,median,asha,predictor")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per child")
    parser.add_argument("--epoch-budget", type=int, default=72)
    parser.add_argument("--time-limit", type=float, help="equal wall time instead of epochs")
    parser.add_argument("--final-epochs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--cifar", type=Path, help="a CIFAR-10 folder: the cifar-cpu preset")
    args = parser.parse_args()
    jobs = [(p, int(s)) for s in args.seeds.split(",") for p in args.pruners.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        load, began = os.getloadavg(), time.perf_counter()
        running = {}
        for pruner, seed in jobs:
            out = Path(tmp) / f"{pruner.replace(':', '-')}-{seed}"
            flags = command(pruner, seed, args)
            running[(pruner, seed)] = (start(flags, out), flags, out)
        for (pruner, seed), (process, flags, out) in running.items():
            if process.wait() != 0:
                print(f"{pruner} seed {seed}: the search failed", flush=True)
                continue
            rows.append(row(pruner, seed, flags, out, time.perf_counter() - began, load))
            r = rows[-1]
            print(
                f"{pruner:>9} seed {seed}: {r['children']:3d} children ({r['pruned']} pruned), "
                f"{r['epochs']} epochs, search {r['search_seconds']:.0f} s, best val "
                f"{r['best_val_accuracy']:.4f}, test {r['best_test_accuracy']:.4f}, load "
                f"{load[0]:.1f}",
                flush=True,
            )
    settings = {**vars(args), "out": str(args.out)}
    record = {"settings": settings, "cores": os.cpu_count(), "runs": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, default=str) + "\n")  # paths as text
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
