"""VAE losses: the vanilla negative ELBO and the thesis's reformulated one, per sample.

Every function takes pixels in [0, 1] (`recon`, `target`: N x ...) and the encoder's Gaussian
(`mu`, `logvar`: N x L) and returns one value per sample, so that a task can average them for
the training loss and sum them for metrics.

- `vanilla_elbo`: the negative ELBO with a Bernoulli (BCE) or unit Gaussian (squared error)
  decoder, sum over pixels + KL(q(z|x) || N(0, I)), divided by the D pixels (nats per
  dimension: the same optimum as the plain sum, in numbers comparable across image sizes).
- `reformulated_elbo`: the reconstruction term replaced by the KL divergence of the residual
  x - x' (fitted per image by a Gaussian N(m, s^2) over its D pixels) from N(0, eps^2); each
  term normalised by its dimensionality: the residual's D-dimensional isotropic KL divided by
  D is the one-dimensional KL, and the latent KL is divided by the L latent dimensions.

The residual KL is log(eps / s) + (s^2 + m^2) / (2 eps^2) - 1/2, where s^2 + m^2 is the
image's mean squared error: a squared error weighted by 1 / (2 eps^2) that stops pulling once
the residual's spread reaches eps (the -log s term), so `eps` is the residual the loss aims
for; the residual variance is floored at `VAR_FLOOR` so that a perfect reconstruction gives a
finite loss.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "DEFAULT_EPS",
    "VAR_FLOOR",
    "bce_sum",
    "gaussian_kl",
    "reformulated_elbo",
    "residual_kl",
    "squared_error_sum",
    "vanilla_elbo",
]

#: The reformulated loss's target residual standard deviation (pixels in [0, 1]): of 0.02,
#: 0.05, 0.1 and 0.2 the best test negative ELBO of a fixed VAE on digits, seeds 100-101
#: (`python benchmarks/unsupervised.py tune`; benchmarks/results/unsupervised_tune.json).
DEFAULT_EPS = 0.1
#: Smallest residual variance the reformulated loss uses (a perfect reconstruction's is 0).
VAR_FLOOR = 1e-8


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over the latent dimensions."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


def bce_sum(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy per sample, summed over pixels (logs clamped at -100 as torch's)."""
    loss = F.binary_cross_entropy(recon.float(), target.float(), reduction="none")
    return loss.flatten(1).sum(1)


def squared_error_sum(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error per sample, summed over pixels."""
    return (recon.float() - target.float()).pow(2).flatten(1).sum(1)


def vanilla_elbo(
    recon: torch.Tensor,
    target: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    reconstruction: str = "bce",
) -> torch.Tensor:
    """The negative ELBO per sample and pixel: (reconstruction sum + latent KL) / D, with
    `reconstruction` "bce" or "mse" (squared error)."""
    if reconstruction not in ("bce", "mse"):
        raise ValueError(f"reconstruction must be 'bce' or 'mse', not {reconstruction!r}")
    error = bce_sum if reconstruction == "bce" else squared_error_sum
    pixels = recon[0].numel()
    return (error(recon, target) + gaussian_kl(mu, logvar)) / pixels


def residual_kl(recon: torch.Tensor, target: torch.Tensor, eps: float) -> torch.Tensor:
    """KL(N(m, s^2) || N(0, eps^2)) per sample, where m and s^2 are the mean and (population)
    variance of the image's residual target - recon over its pixels."""
    residual = (target.float() - recon.float()).flatten(1)
    mean = residual.mean(1)
    var = residual.var(1, correction=0).clamp_min(VAR_FLOOR)
    return 0.5 * (math.log(eps * eps) - var.log() + (var + mean.pow(2)) / (eps * eps) - 1.0)


def reformulated_elbo(
    recon: torch.Tensor,
    target: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    eps: float = DEFAULT_EPS,
) -> torch.Tensor:
    """The thesis's loss per sample: the residual's KL from N(0, eps^2) (per pixel) plus the
    latent KL per latent dimension."""
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    return residual_kl(recon, target, eps) + gaussian_kl(mu, logvar) / mu.shape[1]
