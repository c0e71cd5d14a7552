"""Time per child of `--preset zoph2016`: do its 12,800 children fit in one GPU-day?

The preset grows its children from 6 to 20 layers, 1,600 children at each depth (6, 8, ..., 20).
For each depth this samples `--samples` architectures of the preset's space, builds them as the
search does, and trains each for `--epochs` epochs with the preset's child recipe (SGD, batch
128) on the preset's split (45,000 training images, validation on 5,000 after every epoch). A
child's time is its last epoch's seconds (the first also pays for warm-up) times the preset's 50
epochs; with `--train-subset` (to check the script on a CPU) it is scaled up to the full 50,000
images. Prints seconds per child by depth and the GPU-days of the whole schedule; never asserts.

    python benchmarks/zoph_child.py [--data-dir ../shared/data/cifar10-jpg] [--samples 3]
        [--epochs 2] [--train-subset N] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from dataclasses import replace
from pathlib import Path

from archsearch.config import SearchConfig, from_json
from archsearch.evaluation import Context, get_evaluator
from archsearch.evaluation.trainer import resolve_device
from archsearch.presets import apply_preset
from archsearch.spaces import get_space

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpg"
CIFAR10_TRAIN_IMAGES = 50_000
DAY = 24 * 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--samples", type=int, default=3, help="architectures per depth")
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per child")
    parser.add_argument("--train-subset", type=int, help="train + validation images (all)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write every child's figures here")
    args = parser.parse_args()
    settings = {"data": {"data_dir": str(args.data_dir), "train_subset": args.train_subset}}
    config = from_json(SearchConfig, apply_preset("zoph2016", settings))
    start, step, every = config.strategy_options["depth_schedule"]
    space = get_space(config.space, **config.space_options)
    data = config.data.load(images=True, seed=args.seed)
    scale = CIFAR10_TRAIN_IMAGES / (args.train_subset or CIFAR10_TRAIN_IMAGES)
    child = replace(config.train, epochs=args.epochs, device=args.device)
    context = Context(space, data.task, data.without_test(), child, config.reward)
    evaluator = get_evaluator("train", context)
    device = resolve_device(args.device)
    print(f"data: {data.describe()}; timing {args.epochs} epoch(s) per child on {device}")
    rng = random.Random(args.seed)
    depths = range(start, space.layers + 1, step)
    total, missing, rows = 0.0, [], []
    for depth in depths:
        seconds = []
        for _ in range(args.samples):
            arch = space.complete({"depth": depth}, rng)
            result = evaluator.evaluate(arch, args.seed)
            if not result.ok:
                print(f"  depth {depth}: failed child ({result.reason})")
                continue
            epoch = result.curve[-1]["seconds"] * scale
            seconds.append(epoch * config.train.epochs)
            rows.append(
                {
                    "depth": depth,
                    "params": result.metrics["params"],
                    "epoch_s": epoch,
                    "arch": arch.to_json(),
                    "curve": result.curve,
                }
            )
            print(
                f"  depth {depth}: {result.metrics['params']:>10,} params, {epoch:6.2f} s/epoch, "
                f"{len(data.y_train) * scale / epoch:8,.0f} training images/s"
            )
        if not seconds:
            missing.append(depth)
            continue
        mean = statistics.mean(seconds)
        total += mean * every
        print(f"depth {depth}: {mean:,.1f} s per {config.train.epochs}-epoch child")
    children = every * len(depths)
    print(
        f"\n{children:,} children ({every:,} per depth {depths.start}..{depths.stop - 1}): "
        f"{total / children:,.1f} s per child on average, {total / DAY:,.1f} days on one "
        f"{device.type.upper()} "
        f"(one day needs {DAY / children:.2f} s per child)"
    )
    if missing:
        print(f"(no child trained at depth {', '.join(map(str, missing))}: left out of the total)")
    if args.json:
        summary = {"children": children, "mean_child_s": total / children, "days": total / DAY}
        setup = {**vars(args), "device": str(device), "data": data.describe()}
        args.json.write_text(
            json.dumps(
                {"setup": setup, "summary": summary, "children": rows}, indent=2, default=str
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
