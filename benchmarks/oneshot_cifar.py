"""ENAS macro search on a CIFAR-10 subset on the CPU, beside `--preset cifar-cpu`.

Runs `archsearch search --strategy enas --space enas` end to end through `archsearch.run`
(the one-shot driver, then the final training and test of the derived child), on the data
and the final-training recipe of `--preset cifar-cpu` (20,000 training images of
../shared/data/cifar10-jpg, 16,000 train / 4,000 validation, the full 10,000 test images;
Adam 3e-3, one-cycle, batch 64, crops and flips). Only the space, the strategy and the number
of search epochs differ; `--final-epochs` may be lowered from the preset's 30 to fit a shared
CPU. Prints (never asserts) the search's wall time and the derived child's test accuracy, and
writes them with `os.getloadavg()` (before, after, and sampled every 30 s: the machine is
shared) to --json. `--search-only` times the search alone (no final training, no baseline).
`--control SEED` skips the search: it retrains, with the same recipe, a uniformly random child
of the same space under the same `--max-free` cap (rejection sampling from `SEED`), to show
how much the search adds over the cap.

    python benchmarks/oneshot_cifar.py [--layers 6] [--channels 16] [--search-epochs 4]
        [--controller-batch 10] [--derive-samples 100] [--derive-batches N] [--max-free N]
        [--final-epochs 30]
        [--search-only | --control SEED] [--json benchmarks/results/oneshot_cifar.json]
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch

from archsearch.config import SearchConfig, from_json
from archsearch.final import final_models, train_final
from archsearch.ledger import Ledger
from archsearch.oneshot.driver import drive
from archsearch.oneshot.guards import PARAMETER_FREE
from archsearch.presets import PRESETS
from archsearch.run import make_setup, start_run

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpg"
#: `--preset cifar-cpu` as measured (README, benchmarks/cifar_cpu.py): REINFORCE from scratch
CIFAR_CPU = {"search_minutes": 45.0, "end_to_end_minutes": 53.5, "test_accuracy": 0.7071}


class LoadSampler:
    """Samples the 1-minute load average every `every` seconds in a background thread while
    in its `with` block (the machine is shared: say how loaded it was)."""

    def __init__(self, every: float = 30.0) -> None:
        self.every, self.samples = every, [os.getloadavg()[0]]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def summary(self) -> dict[str, float]:
        """Mean, min and max of the samples, and how many."""
        s = self.samples
        return {"mean": sum(s) / len(s), "min": min(s), "max": max(s), "samples": len(s)}


def config(args: argparse.Namespace) -> SearchConfig:
    """cifar-cpu's data and final training, with the ENAS space and method."""
    raw = copy.deepcopy(PRESETS["cifar-cpu"])
    raw.update(
        space="enas",
        space_options={"layers": args.layers, "channels": args.channels},
        strategy="enas",
        strategy_options={
            "controller_steps": args.controller_steps,
            "batch_size": args.controller_batch,
            "derive_samples": args.derive_samples,
            "derive_batches": args.derive_batches,
            **({"guard": "none"} if args.max_free is None else {"max_free": args.max_free}),
        },
        final_epochs=args.final_epochs,
        seed=args.seed,
    )
    raw["data"]["data_dir"] = str(args.data_dir)
    raw["train"]["epochs"] = args.search_epochs
    return from_json(SearchConfig, raw)


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--search-epochs", type=int, default=4)
    parser.add_argument("--controller-steps", type=int, default=5)
    parser.add_argument(
        "--controller-batch", type=int, default=10, help="samples per controller step"
    )
    parser.add_argument("--derive-samples", type=int, default=100)
    parser.add_argument(
        "--derive-batches",
        type=int,
        help="score every derive sample on the same N validation batches (default: the "
        "paper's, one batch each)",
    )
    parser.add_argument(
        "--max-free",
        type=int,
        help="cap on pooling layers at derive (P-DARTS's cap, ENAS's guard; default: no cap, "
        "as in the results this script recorded)",
    )
    parser.add_argument("--final-epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="time the search alone (the one-shot driver on a temporary ledger): no final "
        "training, no baseline",
    )
    parser.add_argument(
        "--control",
        type=int,
        metavar="SEED",
        help="no search: retrain a random child of the space under the --max-free cap",
    )
    parser.add_argument("--out", type=Path, help="keep the run here (default: a temporary dir)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    return parser.parse_args()


def whole_run(args: argparse.Namespace) -> dict[str, Any]:
    """`archsearch.run` end to end: search, final training, test, baseline."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = args.out or Path(tmp) / "run"
        summary = start_run(config(args), run)
        wall = time.perf_counter() - start
        with open(run / "trials.csv", newline="") as handle:
            epochs = list(csv.DictReader(handle))
        with Ledger(run / "ledger.sqlite") as ledger:  # each epoch's losses, reward, entropy
            for row, trial in zip(epochs, ledger):
                row["stats"] = trial.stats
    best = summary["best"]
    return {
        "search_minutes": summary["search_seconds"] / 60,
        "end_to_end_minutes": wall / 60,
        "derived": best.get("arch"),
        "params": best.get("params"),
        "test_accuracy": best.get("test_accuracy"),
        "search_epochs": epochs,
        "summary": summary,
    }


def search_only(args: argparse.Namespace) -> dict[str, Any]:
    """The one-shot driver alone, as `archsearch.run` runs it, timed the same way."""
    setup = make_setup(config(args))
    with tempfile.TemporaryDirectory() as tmp:
        _, seconds, trials, last = drive(
            setup.strategy, Path(tmp) / "ledger.sqlite", None, sys.stderr
        )
    assert last is not None
    epochs = [{**t.result.metrics, "stats": t.stats} for t in trials]
    return {
        "search_minutes": seconds / 60,
        "derived": last.arch.to_json(),
        "params": last.result.metrics.get("params"),
        "search_epochs": epochs,
    }


def control(args: argparse.Namespace) -> dict[str, Any]:
    """A uniformly random child with at most `--max-free` pooling layers, retrained and
    tested with the search's own final-training recipe and seed."""
    cfg = config(args)
    setup = make_setup(cfg)
    rng, limit = random.Random(args.control), args.max_free
    while True:
        arch = setup.space.sample(rng)
        free = sum(str(v) in PARAMETER_FREE for v in arch.as_dict().values())
        if limit is None or free <= limit:
            break
    data = setup.data
    recipe = cfg.final_train_config()
    _, metrics = train_final(
        setup.space, arch, data, recipe, cfg.seed, final_models(data, cfg.final_models)
    )
    return {
        "search_minutes": 0.0,
        "control": arch.to_json(),
        "params": metrics["params"],
        "test_accuracy": metrics["test_accuracy"],
        "train_seconds": metrics["train_seconds"],
    }


def main() -> None:
    args = arguments()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    with LoadSampler() as loads:
        if args.control is not None:
            found = control(args)
        else:
            found = search_only(args) if args.search_only else whole_run(args)
    search_min = found["search_minutes"]
    speedup = CIFAR_CPU["search_minutes"] / search_min if search_min else None  # none: control
    figures = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        **found,
        "search_speedup_vs_cifar_cpu": speedup,
        "cifar_cpu": CIFAR_CPU,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "loadavg_1min_during": loads.summary(),
        "torch_threads": args.threads,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    retrained = (
        f"{'random capped' if speedup is None else 'derived'} child retrained "
        f"{args.final_epochs} epochs: test top-1 {found.get('test_accuracy')} "
        f"(cifar-cpu: {CIFAR_CPU['test_accuracy']})"
    )
    if speedup is None:
        print(f"control: {retrained}; load {load_before} -> {os.getloadavg()}")
        return
    print(
        f"enas macro ({args.layers} layers, {args.channels} channels): search "
        f"{search_min:.1f} min ({speedup:.1f}x less than "
        f"cifar-cpu's {CIFAR_CPU['search_minutes']} min); "
        f"{'search only' if args.search_only else retrained}; "
        f"load {load_before} -> {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
