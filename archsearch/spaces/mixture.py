"""Weight mixtures over a supernet's operations (DARTS's continuous relaxation): which
operations a mixture computes. Shared by the supernets of the nb201 and darts spaces."""

from __future__ import annotations

import torch

__all__ = ["Running", "running"]

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
