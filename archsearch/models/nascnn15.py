"""NASCNN15: the 15-layer CIFAR-10 network of Zoph & Le (2016), as an architecture of our
`cnn` space.

The paper gives this network (no strides, no pooling, 5.50% test error, 4.2M parameters) only as
a figure; `LAYERS` is a public reproduction's reading of it (see shared/NASCNN15.md). Expressed
in the space, rather than as a hand-written module, it trains, prints, exports and compares
with searched networks through the same code, and the space's rules (bias-free convolutions,
BatchNorm and ReLU, "same" padding, channel concatenation, unused outputs to the classifier)
give the published 4,201,630 parameters for CIFAR-10.
"""

from __future__ import annotations

from torch import nn

from archsearch.spaces.base import Architecture
from archsearch.spaces.cnn import CNNSpace
from archsearch.tasks.base import OutputSpec

#: (filter height, filter width, filters, inputs) of C1..C15; input 0 is the image.
LAYERS: tuple[tuple[int, int, int, tuple[int, ...]], ...] = (
    (3, 3, 36, (0,)),
    (3, 3, 48, (1,)),
    (3, 3, 36, (1, 2)),
    (5, 5, 36, (1, 2, 3)),
    (3, 7, 48, (3, 4)),
    (7, 7, 48, (2, 3, 4, 5)),
    (7, 7, 48, (2, 3, 4, 5, 6)),
    (7, 3, 36, (1, 6, 7)),
    (7, 1, 36, (1, 5, 6, 8)),
    (7, 7, 36, (1, 3, 4, 5, 6, 7, 8, 9)),
    (5, 7, 36, (1, 2, 5, 6, 7, 8, 9, 10)),
    (7, 7, 48, (1, 2, 3, 4, 6, 11)),
    (7, 5, 48, (1, 3, 6, 7, 8, 9, 10, 11, 12)),
    (7, 5, 48, (3, 7, 12, 13)),
    (7, 5, 48, (6, 7, 11, 12, 13, 14)),
)


def nascnn15_space() -> CNNSpace:
    """The `cnn` space NASCNN15 lives in: 15 layers, filter sides 1/3/5/7, the paper's filter
    counts (24, 36, 48, 64), stride 1, no pooling, skip connections."""
    return CNNSpace(layers=len(LAYERS), heights=(1, 3, 5, 7), widths=(1, 3, 5, 7))


def nascnn15_arch() -> Architecture:
    """NASCNN15 as an architecture of `nascnn15_space()`. In the space an empty input set
    means the image, so the table's input 0 becomes ()."""
    values: dict[str, object] = {}
    for i, (height, width, filters, inputs) in enumerate(LAYERS, 1):
        values[f"filter_height_{i}"] = height
        values[f"filter_width_{i}"] = width
        values[f"filters_{i}"] = filters
        values[f"inputs_{i}"] = tuple(j for j in inputs if j != 0)
    return nascnn15_space().make(values)


def nascnn15(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """A freshly initialised NASCNN15 for `in_channels` x 32 x 32 images (any size works: it
    has no strides or pooling) and `num_classes` classes."""
    return nascnn15_space().build(
        nascnn15_arch(), (in_channels, 32, 32), OutputSpec((num_classes,))
    )
