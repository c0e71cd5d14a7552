"""Weight mixtures over a supernet's operations (DARTS's continuous relaxation): which
operations a mixture computes, and their weighted sum. Shared by the supernets of the nb201
and darts spaces."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["Running", "running", "weighted_sum"]

#: running[row][k]: whether operation k of decision row `row` is computed
Running = list[list[bool]]


def running(weights: torch.Tensor) -> Running:
    """Which operations a mixture computes: all of them when the weights need gradients (an
    architecture step), else those of nonzero weight (an exact 0 skips its operation). One
    read from the device, so that a forward pass on a GPU waits once rather than once per
    operation."""
    if weights.requires_grad:
        return [[True] * weights.shape[1] for _ in range(weights.shape[0])]
    return (weights != 0).tolist()


def weighted_sum(
    weights: torch.Tensor, picked: Sequence[int], terms: Sequence[torch.Tensor]
) -> torch.Tensor:
    """sum_i weights[picked[i]] * terms[i], for a 1-D `weights` and terms of one shape.

    One stack and one matrix product, whatever the number of terms: a multiply and an add per
    term, with a weight picked out of `weights` for each, would launch several kernels per
    operation forward and backward, which is what bounds a small supernet's step on a GPU.

    Example:
        >>> weighted_sum(torch.tensor([0.0, 0.25, 0.75]), [1, 2], [torch.ones(2), torch.zeros(2)])
        tensor([0.2500, 0.2500])
    """
    first, last = picked[0], picked[-1]
    if list(picked) == list(range(first, last + 1)):
        chosen = weights[first : last + 1]  # a view: nothing to copy to the device
    else:
        chosen = weights[list(picked)]  # only where exact zeros skip operations
    stacked = torch.stack(list(terms))
    return torch.tensordot(chosen.to(stacked.dtype), stacked, dims=1)
