"""A network's outputs: one tensor, or a tuple of tensors (a VAE's reconstruction, mean and
log-variance). The trainer and the ensemble handle both through these two functions, so that
a task whose network answers with several tensors needs no other change to them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["Outputs", "concat", "each"]

Outputs = torch.Tensor | tuple[torch.Tensor, ...]


def each(fn: Callable[[torch.Tensor], torch.Tensor], outputs: Outputs) -> Outputs:
    """`fn` applied to the tensor, or to each tensor of the tuple."""
    if isinstance(outputs, tuple):
        return tuple(fn(t) for t in outputs)
    return fn(outputs)


def concat(parts: Sequence[Outputs], combine: Callable = torch.cat) -> Outputs:
    """Batches of outputs joined by `combine` (concatenated, or e.g. `torch.stack`ed), part
    by part for tuples."""
    if parts and isinstance(parts[0], tuple):
        return tuple(combine(list(group)) for group in zip(*parts))
    return combine(list(parts))
