"""A newcomer's first image search: the `cnn` space on a folder of 10,000 28x28 PNG images in
10 classes, `--trials 6 --epochs 2 --final-epochs 6`, timed end to end. Prints, never asserts.

The folder is made once from ../shared/data/cifar10-jpg (1,000 training images per class,
turned grey and resized to 28x28, saved as PNG in `<class>/` folders), the kind of dataset a
newcomer brings (MNIST-sized images, no official test split).

    python benchmarks/newcomer_images.py [--folder /tmp/newcomer28] [--out runs/newcomer]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpg"
COMMAND = ["--space", "cnn", "--trials", "6", "--epochs", "2", "--final-epochs", "6"]


def make_folder(folder: Path, per_class: int = 1000) -> None:
    """`folder/<class>/NNNN.png`: grey 28x28 versions of CIFAR-10 training images."""
    for source in sorted((CIFAR / "train").iterdir()):
        target = folder / source.name
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(source.iterdir())[:per_class]:
            image = Image.open(path).convert("L").resize((28, 28), Image.Resampling.BILINEAR)
            image.save(target / f"{path.stem}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "newcomer28")
    parser.add_argument("--out", type=Path, help="keep the run here (default: a temporary dir)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.folder.is_dir():
        make_folder(args.folder)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "run"
        data = ["--data-dir", str(args.folder), "--seed", str(args.seed), "--out", str(out)]
        command = [sys.executable, "-m", "archsearch.cli", "search", *data, *COMMAND]
        start = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - start
        summary = json.loads((out / "summary.json").read_text())
    best = summary["best"]
    print(
        f"\nnewcomer image search: {wall / 60:.1f} min end to end ({summary['trials']} children, "
        f"search {summary['search_seconds'] / 60:.1f} min); test accuracy "
        f"{best['test_accuracy']:.4f}, scikit-learn MLPClassifier "
        f"{summary['baseline']['test_accuracy']:.4f}"
    )
    print(json.dumps({"wall_seconds": round(wall, 1), **summary}, default=str))


if __name__ == "__main__":
    main()
