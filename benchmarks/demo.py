"""The README's demo search, run as written, timed and recorded. Prints, never asserts.

archsearch search --dataset digits --space cnn --strategy reinforce --trials 30
    --epochs 3 --final-epochs 30 --seed 0 --out runs/demo

python benchmarks/demo.py [--out FILE]
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

COMMAND = ["--dataset", "digits", "--space", "cnn", "--strategy", "reinforce", "--trials", "30",
           "--epochs", "3", "--final-epochs", "30", "--seed", "0"]  # fmt: skip
RESULTS = Path(__file__).resolve().parent / "results" / "demo.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "demo"
        start = time.perf_counter()
        cli = [sys.executable, "-m", "archsearch.cli", "search", *COMMAND, "--out", str(run)]
        subprocess.run(cli, check=True)
        wall = time.perf_counter() - start
        summary = json.loads((run / "summary.json").read_text())
    record = {"command": COMMAND, "wall_seconds": round(wall, 1), "cores": os.cpu_count()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**record, "summary": summary}, indent=1) + "\n")
    best = summary["best"]
    print(
        f"\ndemo: {wall / 60:.1f} min; test accuracy {best['test_accuracy']:.4f} "
        f"({best['models']} networks), scikit-learn {summary['baseline']['model']} "
        f"{summary['baseline']['test_accuracy']:.4f}; wrote {args.out}"
    )


if __name__ == "__main__":
    main()
