"""Unsupervised search on a CPU: VAE losses, VAE searches, the random-encoder proxy.

Prints (never asserts) and writes JSON + PNGs under benchmarks/results/ (unsupervised_*.json,
unsupervised/*.png). CPU-sized; the sizes are the flags' defaults and are stored in each JSON.

1. `losses`: one fixed VAE trained with the vanilla loss (BCE + KL) and with the reformulated
   loss, on digits (8x8) and on a CIFAR-10 subset; per epoch the validation MSE, BCE, KL and
   whether the KL collapsed; reconstruction and sample grids of both.
2. `search`: a random VAE search per loss on the CIFAR-10 subset with the `elbo` reward; the
   best architecture's test negative ELBO (bits/dim, Bernoulli: the same metric whatever the
   loss), reconstruction MSE, latent size, and its grids.
3. `proxy`: >= 20 sampled autoencoders, each trained fully and with the random-encoder proxy
   (decoder only) on the CIFAR-10 subset; Spearman's rho of the two rewards (1 / lowest
   validation loss) and the time saved.
`tune` picks the reformulated loss's eps on digits with seeds 100-101 (not reported seeds);
`collapse` trains part 1's VAE with a per-pixel mean BCE + summed KL (`MeanBCEVAE`), a guess
at the thesis's collapsing vanilla loss.

    python benchmarks/unsupervised.py losses|collapse|search|proxy|tune [--seed 0] [...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from scipy.stats import spearmanr

from archsearch.config import DataSpec, SearchConfig
from archsearch.data import Dataset
from archsearch.evaluation import Context, get_evaluator
from archsearch.evaluation.trainer import TrainConfig, evaluate, train
from archsearch.reporting.generative import plot_loss_terms, write_generative_figures
from archsearch.run import start_run
from archsearch.spaces import get_space
from archsearch.tasks.elbo import bce_sum, gaussian_kl
from archsearch.tasks.vae import VAE

RESULTS = Path(__file__).resolve().parent / "results"
FIGURES = RESULTS / "unsupervised"
CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpg"
COLLAPSED_KL = 0.1  # nats per image: a latent that carries less says nothing of its input
LOSS_TASKS = {"vanilla": "vae-bce", "reformulated": "vae"}
#: The fixed VAE of part 1: (filters, kernel, stride) per encoder layer, and a latent size.
FIXED = {"digits": ([(32, 3, 1), (64, 4, 2)], 8), "cifar10": ([(32, 4, 2), (64, 4, 2)], 32)}


def recipe(epochs: int, batch: int = 64) -> TrainConfig:
    """The thesis's child training: Adam 1e-3, constant rate, no weight decay, no
    augmentation."""
    return TrainConfig(
        epochs=epochs, batch_size=batch, lr=1e-3, schedule="constant", weight_decay=0.0,
        augment="off", device="cpu",
    )  # fmt: skip


def load(dataset: str, task: str, seed: int, train_rows: int, test_rows: int) -> Dataset:
    if dataset == "digits":
        spec = DataSpec(dataset="digits", task=task)
    else:
        spec = DataSpec(
            data_dir=str(CIFAR), task=task, train_subset=train_rows, test_subset=test_rows
        )
    return spec.load(images=True, seed=seed)


def fixed_vae(data: Dataset, dataset: str, latent: int | None = None) -> tuple[Any, Any]:
    layers, default = FIXED[dataset]
    latent = latent or default
    space = get_space(
        "vae",
        layers=len(layers),
        min_layers=len(layers),
        filters=sorted({f for f, _, _ in layers}),
        kernels=sorted({k for _, k, _ in layers}),
        strides=sorted({s for _, _, s in layers}),
        latent_sizes=[latent],
    )
    values: dict[str, Any] = {"latent": latent}
    for i, (f, k, s) in enumerate(layers, 1):
        values |= {f"filters_{i}": f, f"kernel_{i}": k, f"stride_{i}": s}
    arch = space.make(values)
    return space, arch


class MeanBCEVAE(VAE):
    """Not offered by archsearch: the loss a per-pixel *mean* BCE + the summed latent KL
    makes (the KL weighted D times too much, a beta-VAE with beta = D): a guess at how a
    vanilla VAE collapses as the thesis saw. Only `collapse` uses it."""

    def per_sample_loss(self, outputs, targets):
        recon, mu, logvar = outputs
        target = self.to_unit(targets)
        return bce_sum(recon, target) / recon[0].numel() + gaussian_kl(mu, logvar)


def train_fixed(dataset: str, loss: str, args: argparse.Namespace, eps: float | None = None):
    """Train part 1's VAE with one loss; (curve, test metrics, model, data)."""
    task = LOSS_TASKS.get(loss, "vae-bce")
    data = load(dataset, task, args.seed, args.train_rows, args.test_rows)
    if eps is not None:
        data.task = VAE(data.task.input_shape, data.task.low, data.task.high, "reformulated", eps)
    if loss == "mean_bce":
        data.task = MeanBCEVAE(data.task.input_shape, data.task.low, data.task.high, "bce")
    space, arch = fixed_vae(data, dataset, args.latent)
    torch.manual_seed(args.seed)
    model = space.build(arch, data.input_shape, data.task.output_spec())
    config = recipe(args.epochs)
    curve = train(
        model,
        data.task,
        (data.x_train, data.y_train),
        (data.x_val, data.y_val),
        config,
        args.seed,
        norm=data.norm,
    )
    test = evaluate(model, data.task, (data.x_test, data.y_test), config, norm=data.norm)
    return curve, test, model, data


def part_losses(args: argparse.Namespace, losses: tuple[str, ...] = tuple(LOSS_TASKS)) -> dict:
    out: dict[str, Any] = {}
    for dataset in args.datasets:
        curves = []
        for loss in losses:
            start = time.perf_counter()
            curve, test, model, data = train_fixed(dataset, loss, args)
            rows = [
                {
                    "epoch": p["epoch"], "val_mse": p["val_mse"], "val_bce": p["val_bce"],
                    "val_kl": p["val_kl"], "val_nelbo_bits": p["val_nelbo_bits"],
                    "collapsed": p["val_kl"] < COLLAPSED_KL,
                }
                for p in curve
            ]  # fmt: skip
            folder = FIGURES / (
                f"{dataset}_{loss}" + (f"_latent{args.latent}" if args.latent else "")
            )
            folder.mkdir(parents=True, exist_ok=True)
            write_generative_figures(folder, model, data, [curve], recipe(1), args.seed)
            curves.append([{**p, "label": loss} for p in curve])
            out[f"{dataset}/{loss}"] = {
                "data": data.sizes(), "task": data.task.to_json(),
                "arch": [FIXED[dataset][0], args.latent or FIXED[dataset][1]],
                "epochs": rows, "test": test, "seconds": time.perf_counter() - start,
                "curve": curve,
            }  # fmt: skip
            for row in rows:
                print(
                    f"{dataset:8s} {loss:12s} epoch {row['epoch']:2d}  MSE {row['val_mse']:.4f}"
                    f"  BCE {row['val_bce']:.4f}  KL {row['val_kl']:9.4g}  nELBO "
                    f"{row['val_nelbo_bits']:.4f} bits/dim  collapsed {row['collapsed']}"
                )
        if losses != tuple(LOSS_TASKS):
            continue
        plot_loss_terms(
            curves,
            FIGURES
            / f"{dataset}{'_latent' + str(args.latent) if args.latent else ''}_loss_terms.png",
            f"fixed VAE on {dataset}: vanilla (BCE + KL) vs reformulated loss",
        )
    return out


def part_collapse(args: argparse.Namespace) -> dict[str, Any]:
    """Part 1's VAE with the mean-BCE loss (`MeanBCEVAE`)."""
    return part_losses(args, ("mean_bce",))


def part_tune(args: argparse.Namespace) -> dict[str, Any]:
    """The reformulated loss's eps, by test negative ELBO on digits, seeds 100-101."""
    out: dict[str, Any] = {}
    for eps in (0.02, 0.05, 0.1, 0.2):
        bits = []
        for seed in (100, 101):
            tuned = argparse.Namespace(**{**vars(args), "seed": seed})
            _, test, _, _ = train_fixed("digits", "reformulated", tuned, eps)
            bits.append(test["nelbo_bits"])
        out[str(eps)] = {"test_nelbo_bits": bits, "mean": sum(bits) / len(bits)}
        print(f"eps {eps:<5}: test nELBO {out[str(eps)]['mean']:.4f} bits/dim (seeds 100-101)")
    return out


def part_search(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for loss, task in LOSS_TASKS.items():
        spec = DataSpec(
            data_dir=str(CIFAR), task=task, train_subset=args.train_rows, test_subset=args.test_rows
        )
        config = SearchConfig(
            data=spec, space="vae", strategy="random", trials=args.trials, reward="elbo",
            final_epochs=args.epochs, final_models=1, seed=args.seed,
            train=dataclasses.replace(recipe(args.child_epochs), train_subset=None),
            space_options={"layers": 3, "filters": [16, 32], "latent_sizes": [2, 8, 16, 32]},
        )  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as quiet:
            run = Path(tmp) / "run"
            summary = start_run(config, run, log=quiet)
            folder = FIGURES / f"search_{loss}"
            folder.mkdir(parents=True, exist_ok=True)
            for name in ("reconstructions.png", "samples.png", "loss_terms.png", "rewards.png"):
                if (run / name).exists():
                    shutil.copy(run / name, folder / name)
        best = summary["best"]
        out[loss] = {
            "trials": summary["trials"], "failed": summary["failed"],
            "search_seconds": summary["search_seconds"], "data": summary["data"],
            "best_arch": best["arch"], "best_trial": best["trial"],
            "latent": best["arch"]["values"]["latent"],
            "test_nelbo_bits": best["test_nelbo_bits"], "test_mse": best["test_mse"],
            "test_bce": best["test_bce"], "test_kl": best["test_kl"], "params": best["params"],
        }  # fmt: skip
        print(
            f"search with {loss} loss: best trial {best['trial']} (latent {out[loss]['latent']},"
            f" {best['params']:,} params): test nELBO {best['test_nelbo_bits']:.4f} bits/dim, "
            f"MSE {best['test_mse']:.4f}, KL {best['test_kl']:.3g}"
        )
    return out


def part_proxy(args: argparse.Namespace) -> dict[str, Any]:
    data = load("cifar10", "reconstruction", args.seed, args.train_rows, args.test_rows)
    space = get_space("autoencoder", layers=3, filters=(8, 16, 32), latent_sizes=(0, 32, 128))
    context = Context(
        space, data.task, data.without_test(), recipe(args.child_epochs), "inverse_loss"
    )
    full, proxy = get_evaluator("train", context), get_evaluator("random_encoder", context)
    rng = random.Random(args.seed)
    archs: list = []
    while len(archs) < args.children:
        arch = space.sample(rng)
        if arch not in archs:
            archs.append(arch)
    rows = []
    for i, arch in enumerate(archs):
        a, b = full.evaluate(arch, args.seed + i), proxy.evaluate(arch, args.seed + i)
        rows.append({
            "arch": arch.to_json()["values"], "full_reward": a.reward, "proxy_reward": b.reward,
            "full_seconds": a.metrics["train_seconds"], "proxy_seconds": b.metrics["train_seconds"],
            "params": a.metrics["params"],
        })  # fmt: skip
        print(
            f"child {i:2d}: full {a.reward:.4f} ({rows[-1]['full_seconds']:.1f} s)  proxy "
            f"{b.reward:.4f} ({rows[-1]['proxy_seconds']:.1f} s)"
        )
    rho = spearmanr([r["proxy_reward"] for r in rows], [r["full_reward"] for r in rows]).statistic
    best_full = max(range(len(rows)), key=lambda i: rows[i]["full_reward"])
    best_proxy = max(range(len(rows)), key=lambda i: rows[i]["proxy_reward"])
    top5 = lambda key: set(sorted(range(len(rows)), key=lambda i: -rows[i][key])[:5])  # noqa: E731
    seconds = {k: sum(r[f"{k}_seconds"] for r in rows) for k in ("full", "proxy")}
    summary = {
        "children": len(rows), "data": data.sizes(), "spearman": float(rho),
        "same_best": best_full == best_proxy, "top5_overlap": len(top5("full_reward") &
                                                                  top5("proxy_reward")),
        "full_seconds": seconds["full"], "proxy_seconds": seconds["proxy"],
        "time_saved": 1 - seconds["proxy"] / seconds["full"], "rows": rows,
    }  # fmt: skip
    print(
        f"proxy vs full on {len(rows)} autoencoders: Spearman rho {rho:.3f}, same best "
        f"{summary['same_best']}, top-5 overlap {summary['top5_overlap']}/5, time "
        f"{seconds['proxy']:.0f} s vs {seconds['full']:.0f} s "
        f"({summary['time_saved']:.0%} saved)"
    )
    return summary


PARTS = {
    "losses": part_losses,
    "collapse": part_collapse,
    "search": part_search,
    "proxy": part_proxy,
    "tune": part_tune,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=PARTS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10, help="fixed VAE / final training")
    parser.add_argument("--child-epochs", type=int, default=3, help="each searched child")
    parser.add_argument("--trials", type=int, default=8, help="children per VAE search")
    parser.add_argument("--children", type=int, default=20, help="autoencoders of the proxy")
    parser.add_argument("--train-rows", type=int, default=2000, help="CIFAR-10 train+val")
    parser.add_argument("--test-rows", type=int, default=500, help="CIFAR-10 test")
    parser.add_argument("--datasets", nargs="+", default=["digits", "cifar10"])
    parser.add_argument("--latent", type=int, help="part 1's latent size (default: 8 / 32)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    FIGURES.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = PARTS[args.part](args)
    record = {
        "part": args.part, "settings": vars(args), "seconds": time.perf_counter() - start,
        "loadavg": os.getloadavg(), "machine": "2 shared CPU cores, torch threads 1",
        "result": result,
    }  # fmt: skip
    suffix = f"_latent{args.latent}" if args.latent else ""
    path = RESULTS / f"unsupervised_{args.part}{suffix}.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
