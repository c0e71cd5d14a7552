"""Rewards of autoencoder and VAE searches (registered in `rewards.REWARDS`).

- `inverse_loss`: the thesis's 1 / lowest validation loss (its autoencoder reward, and its
  VAE "combined loss" reward: the loss the child trains with). Any task.
- `inverse_kl`: the thesis's second VAE reward, 1 / the validation KL of that same epoch.
  It rewards a collapsed VAE (KL near 0) most: kept to reproduce the thesis, not to use.
- `elbo`: ours, 2^-(lowest validation negative ELBO in bits per dimension), under the same
  Bernoulli decoder whatever loss the child trains with: the per-pixel geometric-mean
  likelihood the ELBO guarantees, in (0, 1]. A collapsed VAE pays for its poor reconstruction,
  a VAE that ignores its prior pays for its KL, and VAEs trained with different losses compare.

All are positive, so they stay above a failed child's reward (below the floor); a denominator
is floored at `MIN_DENOMINATOR`, so a reward stays finite (at most 1e6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from archsearch.tasks.base import Task

__all__ = ["GENERATIVE_REWARDS", "MIN_DENOMINATOR", "NEEDS", "elbo", "inverse_kl", "inverse_loss"]

Curve = Sequence[Mapping[str, float]]
MIN_DENOMINATOR = 1e-6
#: The task metric each reward needs (rewards not listed need only `loss`).
NEEDS = {"inverse_kl": "kl", "elbo": "nelbo_bits"}


def _best_epoch(curve: Curve) -> Mapping[str, float]:
    """The epoch of the lowest validation loss (the first, on ties)."""
    return min(curve, key=lambda point: point["val_loss"])


def inverse_loss(curve: Curve, metrics: Mapping[str, float], task: Task) -> float:
    """1 / the lowest validation loss over the epochs."""
    return 1.0 / max(float(_best_epoch(curve)["val_loss"]), MIN_DENOMINATOR)


def inverse_kl(curve: Curve, metrics: Mapping[str, float], task: Task) -> float:
    """1 / the validation KL of the epoch with the lowest validation loss."""
    return 1.0 / max(float(_best_epoch(curve)["val_kl"]), MIN_DENOMINATOR)


def elbo(curve: Curve, metrics: Mapping[str, float], task: Task) -> float:
    """2^-(the lowest validation negative ELBO in bits per dimension)."""
    return float(2.0 ** -min(point["val_nelbo_bits"] for point in curve))


GENERATIVE_REWARDS = {"inverse_loss": inverse_loss, "inverse_kl": inverse_kl, "elbo": elbo}
