"""`--preset cifar-cpu` end to end on the real CIFAR-10 (../shared/data/cifar10-jpg).

Prints (never asserts) the wall time of the whole run (data loading, search, final training)
and the test accuracy of the retrained best child.

    python benchmarks/cifar_cpu.py [--data-dir ../shared/data/cifar10-jpg] [--trials N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from archsearch.config import SearchConfig, from_json
from archsearch.presets import apply_preset
from archsearch.run import start_run

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--trials", type=int, help="override the preset's number of children")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="keep the run here (default: a temporary dir)")
    args = parser.parse_args()
    overrides: dict = {"data": {"data_dir": str(args.data_dir)}, "seed": args.seed}
    if args.trials:
        overrides["trials"] = args.trials
    config = from_json(SearchConfig, apply_preset("cifar-cpu", overrides))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = start_run(config, args.out or Path(tmp) / "run")
        wall = time.perf_counter() - start
    best = summary["best"]
    print(json.dumps(summary, indent=2, default=str))
    print(
        f"\ncifar-cpu: {summary['trials']} children ({summary['failed']} failed), search "
        f"{summary['search_seconds'] / 60:.1f} min, whole run {wall / 60:.1f} min; best child "
        f"val {best['val_accuracy']:.4f}, retrained test top-1 {best['test_accuracy']:.4f} "
        f"({best['params']:,} params); sklearn MLP {summary['baseline']['test_accuracy']:.4f}"
    )


if __name__ == "__main__":
    main()
