"""NASCNN15 on CIFAR-10 through `archsearch train`: test accuracy and training images per second.

Zoph & Le report 94.50% test accuracy for this network; a public PyTorch reproduction reached
91.06%. This trains `archsearch.models.nascnn15()` with `archsearch train`'s CIFAR recipe (SGD
Nesterov 0.9, lr 0.1, weight decay 5e-4, batch 128, cosine, crop + flip) on the 90/10
train/validation split of the CIFAR-10 training images and tests the best-validation weights
once on the 10,000 test images. Meant for a GPU; on a CPU, check that it runs with a small
`--train-subset` and `--epochs 1`. Prints, never asserts.

    python benchmarks/nascnn15.py [--data-dir ../shared/data/cifar10-jpg] [--epochs 100]
        [--train-subset N] [--device auto] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from archsearch.config import DataSpec, TrainJob, cifar_recipe
from archsearch.evaluation.trainer import resolve_device
from archsearch.train_job import run_training

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-subset", type=int, help="train + validation images (all)")
    parser.add_argument("--test-subset", type=int, help="test images (all)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, help="keep the run here (default: a temporary dir)")
    parser.add_argument("--json", type=Path, help="also write the results and the curve here")
    args = parser.parse_args()
    recipe = cifar_recipe()
    recipe.epochs, recipe.batch_size, recipe.device = args.epochs, args.batch_size, args.device
    data = DataSpec(
        data_dir=str(args.data_dir),
        val_fraction=0.1,
        train_subset=args.train_subset,
        test_subset=args.test_subset,
    )
    job = TrainJob(model="nascnn15", data=data, train=recipe)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "nascnn15"
        results = run_training(job, out)
        curve = json.loads((out / "metrics.json").read_text())
    seconds = sum(point["seconds"] for point in curve)
    images = results["data"]["train"] * len(curve)
    print(
        f"\nnascnn15 ({results['params']:,} params), {len(curve)} epoch(s) on "
        f"{resolve_device(args.device)}: "
        f"test top-1 {results['test_accuracy']:.4f}, top-5 {results['test_top5_accuracy']:.4f} "
        f"(best epoch {results['best_epoch']}); {images / seconds:,.0f} training images/s "
        f"({seconds / len(curve):.1f} s per epoch, validation included)"
    )
    if args.json:
        setup = {**vars(args), "device": str(resolve_device(args.device))}
        payload = {
            "setup": setup,
            "images_per_s": images / seconds,
            "results": results,
            "curve": curve,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
