"""ENAS macro search on a CIFAR-10 subset on the CPU, beside `--preset cifar-cpu`.

Runs `archsearch search --strategy enas --space enas` end to end through `archsearch.run`
(the one-shot driver, then the final training and test of the derived child), on the data
and the final-training recipe of `--preset cifar-cpu` (20,000 training images of
../shared/data/cifar10-jpg, 16,000 train / 4,000 validation, the full 10,000 test images;
Adam 3e-3, one-cycle, batch 64, flips). Only the space, the strategy and the number of search
epochs differ; `--final-epochs` may be lowered from the preset's 30 to fit a shared CPU.
Prints (never asserts) the search's wall time and the derived child's test accuracy, and
writes them with `os.getloadavg()` (the machine is shared) to --json.

    python benchmarks/oneshot_cifar.py [--layers 6] [--channels 16] [--search-epochs 4]
        [--final-epochs 30] [--json benchmarks/results/oneshot_cifar.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from archsearch.config import SearchConfig, from_json
from archsearch.presets import PRESETS
from archsearch.run import start_run

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpg"
#: `--preset cifar-cpu` as measured (README, benchmarks/cifar_cpu.py): REINFORCE from scratch
CIFAR_CPU = {"search_minutes": 45.0, "end_to_end_minutes": 53.5, "test_accuracy": 0.7071}


def config(args: argparse.Namespace) -> SearchConfig:
    """cifar-cpu's data and final training, with the ENAS space and method."""
    raw = copy.deepcopy(PRESETS["cifar-cpu"])
    raw.update(
        space="enas",
        space_options={"layers": args.layers, "channels": args.channels},
        strategy="enas",
        strategy_options={
            "controller_steps": args.controller_steps,
            "derive_samples": args.derive_samples,
        },
        final_epochs=args.final_epochs,
        seed=args.seed,
    )
    raw["data"]["data_dir"] = str(args.data_dir)
    raw["train"]["epochs"] = args.search_epochs
    return from_json(SearchConfig, raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--search-epochs", type=int, default=4)
    parser.add_argument("--controller-steps", type=int, default=5)
    parser.add_argument("--derive-samples", type=int, default=100)
    parser.add_argument("--final-epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="keep the run here (default: a temporary dir)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = start_run(config(args), args.out or Path(tmp) / "run")
        wall = time.perf_counter() - start
    best = summary["best"]
    search_min = summary["search_seconds"] / 60
    figures = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "search_minutes": search_min,
        "end_to_end_minutes": wall / 60,
        "derived": best.get("arch"),
        "params": best.get("params"),
        "test_accuracy": best.get("test_accuracy"),
        "search_speedup_vs_cifar_cpu": CIFAR_CPU["search_minutes"] / search_min,
        "cifar_cpu": CIFAR_CPU,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "torch_threads": args.threads,
        "summary": summary,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    print(
        f"enas macro ({args.layers} layers, {args.channels} channels): search "
        f"{search_min:.1f} min ({figures['search_speedup_vs_cifar_cpu']:.1f}x less than "
        f"cifar-cpu's {CIFAR_CPU['search_minutes']} min), whole run {wall / 60:.1f} min; derived "
        f"child retrained {args.final_epochs} epochs: test top-1 {best.get('test_accuracy')} "
        f"(cifar-cpu: {CIFAR_CPU['test_accuracy']}); load {load_before} -> {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
