"""One-shot search on the NAS-Bench-201 space with real CIFAR-10: DARTS (guarded and plain),
ENAS and random sampling with parameter sharing (RSPS), several seeds each. Each derived cell
is looked up in the NAS-Bench-201 table (test accuracy after 200 epochs of real training).
Prints a table and writes the JSON; never asserts.

The paper's scale (one GPU: all 25,000 + 25,000 CIFAR-10 rows, 32x32, 16 channels, 5 cells per
stage, 50 epochs, batch 64) is one set of flags:

    .venv/bin/python benchmarks/oneshot_nb201.py --rows 50000 --size 32 --channels 16 \
        --cells 5 --epochs 50 --batch 64 --device cuda --seeds 1000 1001 1002

A search that outlasts the machine it runs on (a paper-scale DARTS search is about 1.5 hours
on an H100) can be cut into pieces: with `--checkpoint-dir DIR` each search saves its state
after every epoch and the same command continues it from there; `--time-limit SECONDS` stops
searches, unfinished, before an epoch that would end later than that.

The defaults are a scale two CPU cores can afford, chosen on tuning seeds 100-103 (see
docs/oneshot.md): 4,000 training images split half for the weights, half for the
architecture steps, at CIFAR's own 32x32, 8 channels, 1 cell per stage, 15 epochs, batch 32.
With about 20 times fewer architecture steps than the paper's search, DARTS's alpha would
barely leave uniform at Adam lr 3e-4, so the CPU scale raises alpha's learning rate
(`--arch-lr`, default here 3e-3).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from archsearch.data import load_dataset
from archsearch.data.dataset import Dataset, Normalization
from archsearch.evaluation.tabular import read_csv
from archsearch.evaluation.trainer import TrainConfig
from archsearch.oneshot.base import OneShot, supernet_memory
from archsearch.oneshot.driver import make_method
from archsearch.spaces.cell import NB201Space

#: method label -> (one-shot method, options)
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "darts-guarded": ("darts", {}),
    "darts-plain": ("darts", {"guard": "none"}),
    "enas": ("enas", {}),  # guarded: the cap on parameter-free operations at derive
    "enas-plain": ("enas", {"guard": "none"}),  # the paper's derive
    "enas-derive4": ("enas", {"derive_batches": 4}),  # every derive sample on the same 4 batches
    "rsps": ("rsps", {}),
    "rsps-cap": ("rsps", {"max_free": 2}),  # the control for the guards' cap: uniform, capped
}


def load(args: argparse.Namespace) -> Dataset:
    """CIFAR-10's training images (`--rows`, stratified), half for weights, half for alpha;
    no test split (the table is the test). Downsampled to `--size` by average pooling."""
    data = load_dataset(
        data_dir=args.data_dir,
        images=True,
        seed=0,
        val_fraction=0.5,
        train_subset=args.rows,
        test_subset=10,
    ).without_test()
    if args.size != data.input_shape[-1]:
        factor = data.input_shape[-1] // args.size

        def shrink(x: torch.Tensor) -> torch.Tensor:
            return F.avg_pool2d(x.float(), factor).round().to(torch.uint8)

        data.x_train, data.x_val = shrink(data.x_train), shrink(data.x_val)
        data.norm = Normalization.of(data.x_train.numpy())
    return data


def run_one(job: tuple[argparse.Namespace, Dataset, str, int]) -> dict[str, Any]:
    """One search (in a process of its own, so that its peak memory is its own). With
    `--checkpoint-dir` it continues from that search's checkpoint and saves one after every
    epoch; with `--time-limit` it stops, unfinished, before an epoch that would end past the
    benchmark's deadline."""
    args, data, label, seed = job
    torch.set_num_threads(args.threads)
    space = NB201Space(channels=args.channels, cells_per_stage=args.cells)
    method_name, options = method_options(args, label)
    train = TrainConfig(epochs=args.epochs, batch_size=args.batch, device=args.device)
    method = make_method(method_name, space, data, train, seed, options)
    progress = resume(args, method, label, seed)
    while method.epochs_done < args.epochs:
        last = progress["epoch_seconds"][-1] if progress["epoch_seconds"] else 0.0
        if args.deadline is not None and time.time() + last > args.deadline:
            return {"method": label, "seed": seed, "finished": False, **progress}
        tick = time.perf_counter()
        stats = method.epoch()
        progress["epoch_seconds"].append(time.perf_counter() - tick)
        took, epoch = progress["epoch_seconds"][-1], method.epochs_done
        print(f"{label} seed {seed}: epoch {epoch}/{args.epochs} {took:.1f}s", flush=True)
        progress["history"].append({k: v for k, v in stats.items() if not k.startswith("alpha/")})
        # DARTS: softmax(alpha) per edge and operation after the latest epoch
        progress["final_alpha"] = {k: v for k, v in stats.items() if k.startswith("alpha/")}
        save_checkpoint(args, method, progress, label, seed)
    tick = time.perf_counter()
    arch = method.derive()
    derive_seconds = time.perf_counter() - tick
    key = space.to_string(arch)
    estimate = supernet_memory(method.supernet, arch, data.input_shape, method.batch_size)
    return {
        "method": label,
        "seed": seed,
        "finished": True,
        "options": {k: str(v) for k, v in options.items()},
        "arch": key,
        "table_test_accuracy": args.table_dict[key] * 100,
        "seconds": sum(progress["epoch_seconds"]) + derive_seconds,  # the epochs and derive
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "estimated_step_mib": estimate / 2**20,
        "epoch_seconds": progress["epoch_seconds"],
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20
        if args.device == "cuda"
        else None,
        "history": progress["history"],  # each epoch's statistics
        "final_alpha": progress["final_alpha"],
        "loadavg": os.getloadavg(),
    }


def method_options(args: argparse.Namespace, label: str) -> tuple[str, dict[str, Any]]:
    """The one-shot method of `label` and its options, with the benchmark's DARTS and ENAS
    options added."""
    method_name, options = METHODS[label]
    options = dict(options)
    if method_name == "darts":
        options.update(arch_lr=args.arch_lr, **dict(kv.split("=", 1) for kv in args.darts_option))
    if method_name == "enas":
        options.update(dict(kv.split("=", 1) for kv in args.enas_option))
    return method_name, options


def checkpoint_path(args: argparse.Namespace, label: str, seed: int) -> Path | None:
    if args.checkpoint_dir is None:
        return None
    return args.checkpoint_dir / f"{label}-seed{seed}.pt"


def resume(args: argparse.Namespace, method: OneShot, label: str, seed: int) -> dict[str, Any]:
    """The search's progress so far (epoch times, per-epoch stats), its state loaded into
    `method` from its checkpoint if there is one."""
    path = checkpoint_path(args, label, seed)
    if path is None or not path.exists():
        return {"epoch_seconds": [], "history": [], "final_alpha": {}}
    saved = torch.load(path, weights_only=True, map_location="cpu")
    method.load_state_dict(saved["method"])
    print(f"{label} seed {seed}: resumed after epoch {method.epochs_done}", flush=True)
    return saved["progress"]


def save_checkpoint(
    args: argparse.Namespace, method: OneShot, progress: dict[str, Any], label: str, seed: int
) -> None:
    """The search's state and progress, written whole or not at all."""
    path = checkpoint_path(args, label, seed)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save({"method": method.state_dict(), "progress": progress}, partial)
    os.replace(partial, path)


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out = {}
    runs = [r for r in runs if r["finished"]]
    for label in dict.fromkeys(r["method"] for r in runs):
        acc = [r["table_test_accuracy"] for r in runs if r["method"] == label]
        secs = [r["seconds"] for r in runs if r["method"] == label]
        rss = [r["peak_rss_mib"] for r in runs if r["method"] == label]
        out[label] = {
            "mean": statistics.mean(acc),
            "std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
            "seeds": len(acc),
            "mean_seconds": statistics.mean(secs),
            "max_peak_rss_mib": max(rss),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/cifar10-jpg")
    parser.add_argument("--table", default="../shared/data/nats_bench.csv")
    parser.add_argument("--rows", type=int, default=4000, help="training images used")
    parser.add_argument("--size", type=int, default=32, help="image side (32: CIFAR's own)")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells", type=int, default=1, help="cells per stage (the paper: 5)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--arch-lr", type=float, default=3e-3, help="DARTS's alpha Adam lr")
    parser.add_argument("--darts-option", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--enas-option", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per search")
    parser.add_argument("--jobs", type=int, default=1, help="searches run at once")
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        help="save each search's state here after every epoch, and continue from it",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        help="seconds from the start: a search stops, unfinished, before an epoch that would "
        "end later (continue it with --checkpoint-dir)",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/oneshot_nb201.json"))
    args = parser.parse_args()
    args.table_dict = read_csv(Path(args.table), "cifar10")
    data = load(args)
    args.deadline = None if args.time_limit is None else time.time() + args.time_limit
    jobs = [(args, data, label, seed) for label in args.methods for seed in args.seeds]
    runs = []
    # on CUDA, forked workers returned nothing (an H100, 560 s); PyTorch's advice is to spawn
    context = multiprocessing.get_context("spawn" if args.device == "cuda" else "fork")
    with context.Pool(args.jobs, maxtasksperchild=1) as pool:  # a fresh process per search
        for run in pool.imap(run_one, jobs):
            runs.append(run)
            save(args, data, runs)  # after every search, so a stopped benchmark keeps its rows
            if not run["finished"]:
                done = len(run["epoch_seconds"])
                print(f"{run['method']:14s} seed {run['seed']}: stopped after epoch {done}")
                continue
            print(
                f"{run['method']:14s} seed {run['seed']}: {run['table_test_accuracy']:.2f}% "
                f"{run['arch']}  {run['seconds']:.0f}s  {run['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
    summary = summarise(runs)
    print("\nmethod          table test accuracy (%)   seconds   peak RSS (MiB)")
    for label, s in summary.items():
        print(
            f"{label:14s}  {s['mean']:6.2f} ± {s['std']:5.2f} (n={s['seeds']})"
            f"       {s['mean_seconds']:7.0f}   {s['max_peak_rss_mib']:7.0f}"
        )
    print(f"\nwrote {args.out}")


def save(args: argparse.Namespace, data: Dataset, runs: list[dict[str, Any]]) -> None:
    """The JSON of the searches so far (the summary counts finished ones only)."""
    setup = {k: v for k, v in vars(args).items() if k not in ("table_dict", "out")}
    setup.update(data=data.describe(), machine=platform.node(), cpus=os.cpu_count())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = summarise(runs)
    payload = {"setup": setup, "summary": summary, "runs": runs, "loadavg": os.getloadavg()}
    args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
