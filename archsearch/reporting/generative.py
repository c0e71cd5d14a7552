"""Figures of autoencoders and VAEs: image grids (inputs beside reconstructions, samples from
the prior), the loss terms over the epochs, and a 2-d latent space coloured by class.

Images are drawn as pixels in [0, 1]: a VAE's outputs already are; an autoencoder's
reconstructions of normalised inputs are mapped back with the same per-channel range as its
inputs (`pixel_range`). Each plotting function draws on its own `Figure`, saves a PNG and
returns the figure (as `plots.py`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from archsearch.data.dataset import Dataset
from archsearch.evaluation.trainer import TrainConfig, predict
from archsearch.models.ensemble import Ensemble
from archsearch.reporting.plots import DPI
from archsearch.tasks.vae import VAE

__all__ = [
    "grid",
    "pixel_range",
    "plot_latent",
    "plot_loss_terms",
    "save_grid",
    "write_generative_figures",
]

GRID_IMAGES = 16  # images per row of a reconstruction grid
SAMPLES = 64
LOSS_TERMS = ("loss", "mse", "bce", "kl")
SPLITS = ("train", "val")


def pixel_range(data: Dataset) -> VAE:
    """A VAE task of `data` used for its `to_unit`: normalised inputs back to [0, 1]."""
    if isinstance(data.task, VAE):
        return data.task
    stats = None if data.norm is None else (data.norm.mean, data.norm.std)
    return VAE.fit(data.x_train, stats)


def grid(images: torch.Tensor, columns: int) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] tiled row by row with a 1-pixel gap: (H', W') for one
    channel, (H', W', 3) for three."""
    n, c, h, w = images.shape
    rows = math.ceil(n / columns)
    canvas = np.ones((rows * (h + 1) + 1, columns * (w + 1) + 1, c), dtype=np.float32)
    pixels = images.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
    for i, image in enumerate(pixels):
        r, col = divmod(i, columns)
        canvas[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + col * (w + 1) : 1 + col * (w + 1) + w] = (
            image
        )
    return canvas[..., 0] if c == 1 else canvas


def save_grid(images: torch.Tensor, path: Path, columns: int, title: str = "") -> Figure:
    """A PNG of `grid(images, columns)`, each image pixel scaled up to at least 4 screen
    pixels."""
    canvas = grid(images, columns)
    scale = max(4, 128 // max(images.shape[-1], 1)) / DPI
    fig = Figure(figsize=(canvas.shape[1] * scale, canvas.shape[0] * scale + (0.4 if title else 0)))
    ax = fig.add_axes((0, 0, 1, 0.92 if title else 1))
    ax.imshow(
        canvas, cmap="gray" if canvas.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest"
    )
    ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=8)
    fig.savefig(path, dpi=DPI)
    return fig


def plot_loss_terms(curves: Sequence[Sequence[dict[str, float]]], path: Path, title: str) -> Figure:
    """One panel per loss term the curves have (loss, MSE, BCE, KL; train solid, validation
    dashed), one line per curve (a label per curve from its `label` key, if any)."""
    terms = [
        t for t in LOSS_TERMS if any(f"{s}_{t}" in p for c in curves for p in c for s in SPLITS)
    ]
    fig = Figure(figsize=(3.2 * len(terms), 3.0))
    for i, term in enumerate(terms, 1):
        ax = fig.add_subplot(1, len(terms), i)
        for index, curve in enumerate(curves):
            label = str(curve[0].get("label", f"run {index + 1}")) if curve else ""
            epochs = [p["epoch"] for p in curve]
            for split, style in (("train", "-"), ("val", "--")):
                values = [p.get(f"{split}_{term}") for p in curve]
                if all(v is not None for v in values):
                    marker = "o" if len(curve) == 1 else None  # one epoch: a point, not a line
                    ax.plot(
                        epochs, values, style, marker=marker, color=f"C{index}",
                        label=f"{label} {split}",
                    )  # fmt: skip
        if term == "kl" and ax.lines and min(min(ln.get_ydata()) for ln in ax.lines) > 0:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(term.upper() if term != "loss" else "training loss", fontsize=9)
        ax.tick_params(labelsize=7)
    if terms:
        fig.axes[0].legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return fig


def plot_latent(
    mu: torch.Tensor,
    labels: torch.Tensor | None,
    class_names: Sequence[str],
    path: Path,
    title: str,
) -> Figure:
    """The 2-d posterior means, coloured by class when there are labels."""
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    points = mu.detach().float().cpu().numpy()
    if labels is None or not class_names:
        ax.scatter(points[:, 0], points[:, 1], s=4)
    else:
        for k, name in enumerate(class_names):
            chosen = (labels == k).cpu().numpy()
            ax.scatter(
                points[chosen, 0], points[chosen, 1], s=4, label=str(name), color=f"C{k % 10}"
            )
        ax.legend(fontsize=6, markerscale=3, loc="best")
    ax.set_xlabel("z1 (posterior mean)")
    ax.set_ylabel("z2")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return fig


def write_generative_figures(
    out: Path,
    model: nn.Module,
    data: Dataset,
    curves: Sequence[Sequence[dict[str, float]]],
    config: TrainConfig | None = None,
    seed: int = 0,
) -> list[Path]:
    """loss_terms.png, and for images reconstructions.png (test inputs over their
    reconstructions) and for a VAE samples.png (decoded N(0, I) samples) and, with a 2-d
    latent, latent.png; the paths written. `model` may be an ensemble: samples and latents
    are its first member's."""
    paths = [out / "loss_terms.png"]
    plot_loss_terms(curves, paths[0], f"Loss terms per epoch on {data.name}")
    if len(data.input_shape) != 3:  # a dense autoencoder of table rows: no pictures
        return paths
    config = config or TrainConfig(device="cpu")
    x = data.x_test if data.x_test is not None else data.x_val
    shown = x[:GRID_IMAGES]
    outputs: Any = predict(model, shown, config, norm=data.norm)
    recon = outputs[0] if isinstance(outputs, tuple) else outputs
    pixels = pixel_range(data)
    inputs = pixels.to_unit(data.prepare(shown).float())
    recon = recon if isinstance(data.task, VAE) else pixels.to_unit(recon)
    paths.append(out / "reconstructions.png")
    title = "test inputs (top), reconstructions"
    save_grid(torch.cat([inputs, recon]), paths[-1], len(shown), title)
    network = model.members[0] if isinstance(model, Ensemble) else model
    if isinstance(data.task, VAE) and hasattr(network, "decode"):
        paths += write_vae_figures(out, network, data, x, config, seed)
    return paths


def write_vae_figures(
    out: Path, network: nn.Module, data: Dataset, x: torch.Tensor, config: TrainConfig, seed: int
) -> list[Path]:
    """samples.png from N(0, I), and latent.png for a 2-d latent."""
    network.eval()
    _, mu, _ = predict(network, x, config, norm=data.norm)
    z = torch.randn(SAMPLES, mu.shape[1], generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        samples = network.decode(z.to(next(network.parameters()).device)).cpu()
    paths = [out / "samples.png"]
    save_grid(samples, paths[0], 8, f"samples from N(0, I) (latent size {mu.shape[1]})")
    if mu.shape[1] == 2:
        labels = data.y_test if data.x_test is not None else data.y_val
        paths.append(out / "latent.png")
        names = data.class_names if labels is not None and labels.dtype == torch.int64 else []
        plot_latent(mu, labels, names, paths[-1], f"2-d latent space of {data.name}")
    return paths
