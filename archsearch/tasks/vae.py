"""The VAE task: a network that encodes its input into a Gaussian latent and decodes a sample.

A VAE's network outputs a tuple (reconstruction, mu, logvar): the reconstruction's pixels in
[0, 1] (a sigmoid output: Bernoulli means) of the input's shape, and the mean and
log-variance of q(z|x) (N x L). Targets are the network's (normalised) inputs, mapped back to
[0, 1] with the per-channel `low`/`high` the normalised pixel range has (`VAE.fit`).

The training loss is one of `LOSSES`: "reformulated" (the thesis's, `reformulated_elbo`, with
`eps`), or the vanilla negative ELBO with a "bce" or "mse" reconstruction term. Whatever the
loss, the metrics are the same, so that VAEs trained with different losses compare:
per-pixel MSE and BCE, the latent KL per sample, and the negative ELBO in bits per dimension
under a Bernoulli decoder (`nelbo_bits`), all at the posterior mean (the network decodes mu
in evaluation mode). The primary score is `likelihood` = 2^-nelbo_bits, the per-pixel
geometric-mean likelihood the ELBO guarantees, in (0, 1] and higher-is-better like accuracy.

Example:
    >>> import torch
    >>> task = VAE((1, 2, 2), low=[0.0], high=[1.0], loss="bce")
    >>> x = torch.full((3, 1, 2, 2), 0.5)
    >>> outputs = (x, torch.zeros(3, 2), torch.zeros(3, 2))
    >>> round(task.loss(outputs, x).item(), 4)  # ln 2: BCE of 0.5 against 0.5, KL 0
    0.6931
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from archsearch.tasks.base import MAX, MIN, OutputSpec, Task
from archsearch.tasks.elbo import (
    DEFAULT_EPS,
    bce_sum,
    gaussian_kl,
    reformulated_elbo,
    squared_error_sum,
    vanilla_elbo,
)

__all__ = ["LOSSES", "VAE", "VAEOutputs"]

LOSSES = ("reformulated", "bce", "mse")
#: Task names of the data layer (`--task`): each a VAE with one of the losses.
TASK_LOSSES = {"vae": "reformulated", "vae-bce": "bce", "vae-mse": "mse"}
VAEOutputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class VAE(Task):
    """A variational autoencoder's task on images of `input_shape` (see the module)."""

    name = "vae"
    score = "likelihood"
    directions = {
        "loss": MIN,
        "mse": MIN,
        "bce": MIN,
        "kl": MIN,
        "nelbo_bits": MIN,
        "likelihood": MAX,
    }
    reward_floor = 0.0
    targets_are_inputs = True

    def __init__(
        self,
        input_shape: Sequence[int],
        low: Sequence[float],
        high: Sequence[float],
        loss: str = "reformulated",
        eps: float = DEFAULT_EPS,
    ) -> None:
        self.input_shape = tuple(int(s) for s in input_shape)
        if len(self.input_shape) != 3:
            raise ValueError(f"a VAE needs images (C, H, W), got inputs of shape {input_shape}")
        if not len(low) == len(high) == self.input_shape[0]:
            raise ValueError("a VAE needs one low and one high value per channel")
        if any(not h > lo for lo, h in zip(low, high)):
            raise ValueError(f"each channel's high must exceed its low, got {low} and {high}")
        if loss not in LOSSES:
            raise ValueError(f"unknown VAE loss {loss!r}; choose one of {LOSSES}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.low, self.high = [float(v) for v in low], [float(v) for v in high]
        self.loss_name, self.eps = loss, float(eps)

    @classmethod
    def fit(
        cls,
        x_train: torch.Tensor,
        mean_std: tuple[Sequence[float], Sequence[float]] | None,
        loss: str = "reformulated",
    ) -> VAE:
        """The task for training inputs `x_train` (N, C, H, W): raw uint8 images with their
        per-channel (mean, std) in pixel units, whose normalised range is exactly that of
        pixels 0..255; or float images already standardised (`mean_std` None), whose range
        is taken from the data."""
        shape = tuple(x_train.shape[1:])
        if mean_std is not None:
            mean, std = (np.asarray(v, dtype=np.float64) for v in mean_std)
            low, high = -mean / std, (255.0 - mean) / std
        else:
            flat = x_train.float().transpose(0, 1).flatten(1)
            low, high = flat.min(1).values.numpy(), flat.max(1).values.numpy()
            high = np.maximum(high, low + 1e-6)
        return cls(shape, low.tolist(), high.tolist(), loss)

    def output_spec(self) -> OutputSpec:
        return OutputSpec(self.input_shape, latent=True)

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised images as pixels in [0, 1]."""
        low = torch.tensor(self.low, device=x.device).view(1, -1, 1, 1)
        high = torch.tensor(self.high, device=x.device).view(1, -1, 1, 1)
        return ((x.float() - low) / (high - low)).clamp(0.0, 1.0)

    def per_sample_loss(self, outputs: VAEOutputs, targets: torch.Tensor) -> torch.Tensor:
        """The training loss of each sample."""
        recon, mu, logvar = outputs
        target = self.to_unit(targets)
        if self.loss_name == "reformulated":
            return reformulated_elbo(recon, target, mu, logvar, self.eps)
        return vanilla_elbo(recon, target, mu, logvar, self.loss_name)

    def loss(
        self, outputs: VAEOutputs, targets: torch.Tensor, label_smoothing: float = 0.0
    ) -> torch.Tensor:
        return self.per_sample_loss(outputs, targets).mean()

    def batch_sums(self, outputs: VAEOutputs, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        recon, mu, logvar = (t.float() for t in outputs)
        target = self.to_unit(targets)
        return {
            "loss": self.per_sample_loss((recon, mu, logvar), targets).sum(),
            "sse": squared_error_sum(recon, target).sum(),
            "bce": bce_sum(recon, target).sum(),
            "kl": gaussian_kl(mu, logvar).sum(),
        }

    def metrics(self, sums: dict[str, torch.Tensor], count: int) -> dict[str, float]:
        pixels = math.prod(self.input_shape)
        bce, kl = sums["bce"].item(), sums["kl"].item()
        nelbo_bits = (bce + kl) / (count * pixels * math.log(2))
        return {
            "loss": sums["loss"].item() / count,
            "mse": sums["sse"].item() / (count * pixels),
            "bce": bce / (count * pixels),
            "kl": kl / count,
            "nelbo_bits": nelbo_bits,
            "likelihood": 2.0**-nelbo_bits,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "low": self.low,
            "high": self.high,
            "loss": self.loss_name,
            "eps": self.eps,
        }
