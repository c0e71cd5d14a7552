"""Child-training throughput: our `train()` against a minimal hand-written PyTorch loop.

Both train the same mid-size `cnn`-space network from the same initial weights on the same
CIFAR-like data (3x32x32, a subset of shared/data/cifar10-jpg, or random images), with the same
batch size, optimiser and augmentation (random crop + flip, done by `BatchAugment` in both).
Ours gets the data as the Dataset holds it (uint8, normalised per batch); the hand loop gets
it pre-normalised as float32, so any cost of ours is counted against us. Runs alternate to
share out the noise of a busy machine; prints images per wall second and per CPU second (the
steadier measure when other work shares the cores) for each run, their medians and bests, and
the ratios (target: ours >= 0.95 x the hand loop). Prints, never asserts.

    python benchmarks/throughput.py [--images 2048] [--batch-size 128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from archsearch.data import load_image_dataset
from archsearch.data.dataset import Normalization
from archsearch.evaluation.augment import BatchAugment
from archsearch.evaluation.trainer import TrainConfig, resolve_device, train
from archsearch.spaces.cnn import CNNSpace
from archsearch.tasks.base import OutputSpec
from archsearch.tasks.classification import Classification

CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpg"
SPACE = CNNSpace(layers=6)
#: (height, width, filters, inputs) per layer: mixed kernels, skips, 24-64 filters.
LAYERS = [
    (3, 3, 36, ()),
    (3, 3, 48, (1,)),
    (5, 5, 36, (2,)),
    (3, 3, 48, (1, 3)),
    (1, 1, 64, (2, 4)),
    (3, 5, 48, (3, 5)),
]


def architecture():
    values = {}
    for i, (height, width, filters, inputs) in enumerate(LAYERS, 1):
        values.update({f"filter_height_{i}": height, f"filter_width_{i}": width})
        values.update({f"filters_{i}": filters, f"inputs_{i}": inputs})
    return SPACE.make(values)


def data(images: int, source: Path | None) -> tuple[torch.Tensor, torch.Tensor, Normalization]:
    """uint8 images, labels and their normalisation."""
    if source is not None and source.is_dir():
        dataset = load_image_dataset(source, train_subset=images, val_fraction=0.01)
        print(f"data: {dataset.source}, {len(dataset.y_train)} training images")
        return dataset.x_train, dataset.y_train, dataset.norm
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (images, 3, 32, 32), generator=g, dtype=torch.uint8)
    print(f"data: {images} random 3x32x32 images")
    return x, torch.randint(0, 10, (images,), generator=g), Normalization((127.5,) * 3, (74.0,) * 3)


def fresh_model(device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    return SPACE.build(architecture(), (3, 32, 32), OutputSpec((10,))).to(device)


class Clock:
    """Wall time and this process's CPU time: on a machine shared with other work, CPU time
    is the steadier measure of the work a loop does."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rates(self, images: int) -> tuple[float, float]:
        """(images per wall second, images per CPU second)."""
        return images / (time.perf_counter() - self.wall), images / (time.process_time() - self.cpu)


def ours(x, y, norm, config: TrainConfig) -> tuple[float, float]:
    model = fresh_model(resolve_device(config.device))
    clock = Clock()
    train(model, Classification(10), (x, y), None, config, seed=0, norm=norm)
    return clock.rates(config.epochs * len(y))


def hand_loop(x, y, norm, config: TrainConfig) -> tuple[float, float]:
    """What one writes by hand: shuffle, slice, augment, forward, backward, step."""
    device = resolve_device(config.device)
    model = fresh_model(device)
    x, y = norm.apply(x).to(device), y.to(device)  # prepared before the clock starts
    clock = Clock()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    generator = torch.Generator(device=device).manual_seed(0)
    augment = BatchAugment(generator, config.crop_padding, config.flip)
    model.train()
    for _ in range(config.epochs):
        for rows in torch.randperm(len(y), generator=generator, device=device).split(
            config.batch_size
        ):
            xb = x[rows]
            if config.augment == "on":
                xb = augment(xb)
            loss = F.cross_entropy(model(xb), y[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return clock.rates(config.epochs * len(y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--augment", choices=("on", "off"), default="on")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--data", type=Path, default=CIFAR, help="image dataset, or 'random'")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    x, y, norm = data(args.images, None if str(args.data) == "random" else args.data)
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer="sgd",
        lr=0.05,
        schedule="cosine",
        augment=args.augment,
        device=args.device,
        precision="fp32",
    )
    device = resolve_device(args.device)
    params = SPACE.count_params(architecture(), (3, 32, 32), OutputSpec((10,)))
    print(
        f"model: 6-layer cnn-space network, {params:,} parameters; device {device}, "
        f"{torch.get_num_threads()} threads, batch {args.batch_size}, augment {args.augment}"
    )
    ours(x[: args.batch_size * 2], y[: args.batch_size * 2], norm, config)  # warm-up
    results: dict[str, list[tuple[float, float]]] = {"ours": [], "hand loop": []}
    for repeat in range(args.repeats):
        for name, run in (("ours", ours), ("hand loop", hand_loop)):
            results[name].append(run(x, y, norm, config))
            wall, cpu = results[name][-1]
            print(f"  run {repeat + 1} {name:>9}: {wall:7.1f} images/s, {cpu:7.1f} images/CPU-s")
    for label, pick in (("median", statistics.median), ("best", max)):
        summary = {name: [pick(column) for column in zip(*runs)] for name, runs in results.items()}
        for name, (wall, cpu) in summary.items():
            print(f"{label:>6} {name:>9}: {wall:7.1f} images/s, {cpu:7.1f} images/CPU-s")
        wall_ratio, cpu_ratio = (a / b for a, b in zip(summary["ours"], summary["hand loop"]))
        print(f"{label:>6} ratio ours / hand loop: wall {wall_ratio:.3f}, CPU {cpu_ratio:.3f}")


if __name__ == "__main__":
    main()
