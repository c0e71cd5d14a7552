"""The macro CNN space of Zoph & Le (2016).

With `min_layers < layers`, a first decision `depth` chooses how many layers the network
has (the deeper layers' decisions are inactive); Zoph & Le grew it on a schedule. Each layer
chooses filter height, filter width, number of filters, optionally a stride and a
2x2 max-pool, and — at its anchor point — any subset of earlier layers as inputs. The paper's
rules: inputs are concatenated along channels, smaller maps zero-padded to the largest; a layer
with no input takes the image; every layer output that no later layer uses goes to the
classifier (global average pooling, concatenation, one linear layer). Convolutions are
bias-free and followed by BatchNorm and ReLU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.options import check_bool, check_number, check_numbers
from archsearch.spaces.base import (
    MAX_KERNEL,
    MAX_LAYERS,
    MAX_WIDTH,
    ArchGraph,
    Architecture,
    Categorical,
    Decision,
    GraphEdge,
    GraphNode,
    Inputs,
    Space,
    Value,
    chain_nodes,
    listed,
)
from archsearch.tasks.base import OutputSpec

LARGE = 16  # image side (pixels) above which downsampling decisions are on by default


@dataclass(frozen=True)
class ConvLayer:
    """One layer of a macro CNN, as decided."""

    height: int
    width: int
    filters: int
    stride: int
    pool: bool
    inputs: tuple[int, ...]  # earlier layers, 1-based; empty = the image


class CNNSpace(Space):
    """Zoph & Le's macro space with `layers` layers (`min_layers`..`layers` if searched)."""

    name = "cnn"
    needs_images = True

    def __init__(
        self,
        layers: int = 6,
        heights: Sequence[int] = (1, 3, 5, 7),
        widths: Sequence[int] = (1, 3, 5, 7),
        filters: Sequence[int] = (24, 36, 48, 64),
        strides: Sequence[int] = (1,),
        pooling: bool = False,
        skips: bool = True,
        min_layers: int | None = None,
    ) -> None:
        heights, widths, filters, strides = map(listed, (heights, widths, filters, strides))
        check_number("layers", layers, 1, MAX_LAYERS, whole=True)
        min_layers = layers if min_layers is None else min_layers
        check_number("min_layers", min_layers, 1, layers, whole=True)
        for label, sizes in (("heights", heights), ("widths", widths)):
            check_numbers(label, sizes, 1, MAX_KERNEL, whole=True)
            if any(k % 2 == 0 for k in sizes):
                raise ValueError(f"{label} must be odd (same padding), got {list(sizes)}")
        check_numbers("filters", filters, 1, MAX_WIDTH, whole=True)
        check_numbers("strides", strides, 1, MAX_KERNEL, whole=True)
        check_bool("pooling", pooling)
        check_bool("skips", skips)
        self.layers = layers
        self.heights, self.widths = tuple(heights), tuple(widths)
        self.filters, self.strides = tuple(filters), tuple(strides)
        self.pooling, self.skips, self.min_layers = pooling, skips, int(min_layers)
        decisions: list[Decision] = []
        if min_layers < layers:
            decisions.append(Categorical("depth", tuple(range(min_layers, layers + 1))))
        for i in range(1, layers + 1):
            decisions.append(Categorical(f"filter_height_{i}", self.heights))
            decisions.append(Categorical(f"filter_width_{i}", self.widths))
            decisions.append(Categorical(f"filters_{i}", self.filters))
            if len(self.strides) > 1:
                decisions.append(Categorical(f"stride_{i}", self.strides))
            if pooling:
                decisions.append(Categorical(f"pool_{i}", (False, True)))
            if skips:
                decisions.append(Inputs(f"inputs_{i}", tuple(range(1, i))))
        self.decisions = tuple(decisions)

    def options(self) -> dict[str, Any]:
        return {
            "layers": self.layers,
            "heights": list(self.heights),
            "widths": list(self.widths),
            "filters": list(self.filters),
            "strides": list(self.strides),
            "pooling": self.pooling,
            "skips": self.skips,
            "min_layers": self.min_layers,
        }

    def is_active(self, index: int, chosen: Mapping[str, Value]) -> bool:
        layer = self.layer(index)
        return layer == 0 or layer <= chosen.get("depth", self.layers)

    def layer(self, index: int) -> int:
        """0 for `depth`, i for the decisions of convolution layer i."""
        name = self.decisions[index].name
        return 0 if name == "depth" else int(name.rsplit("_", 1)[1])

    def _later_depends_on(self, index: int) -> bool:
        return self.decisions[index].name == "depth"

    @classmethod
    def fitted_options(cls, input_shape: Sequence[int]) -> dict[str, Any]:
        """Images larger than `LARGE` pixels a side get the paper's downsampling decisions
        (stride 1 or 2, and an optional 2x2 max-pool after each layer): at full resolution in
        every layer a child of 28x28 images costs about three times the FLOPs, and trains for
        minutes per epoch on a laptop CPU. Zoph & Le's first experiment, without them, is the
        `zoph2016` preset."""
        if len(input_shape) == 3 and min(input_shape[1:]) > LARGE:
            return {"strides": (1, 2), "pooling": True}
        return {}

    def depth(self, arch: Architecture) -> int:
        return arch.get("depth", self.layers)

    def conv_layers(self, arch: Architecture) -> list[ConvLayer]:
        """The decided layers; without skip decisions each layer takes the one before it."""
        return [
            ConvLayer(
                height=arch[f"filter_height_{i}"],
                width=arch[f"filter_width_{i}"],
                filters=arch[f"filters_{i}"],
                stride=arch.get(f"stride_{i}", self.strides[0]),
                pool=arch.get(f"pool_{i}", False),
                inputs=arch[f"inputs_{i}"] if self.skips else ((i - 1,) if i > 1 else ()),
            )
            for i in range(1, self.depth(arch) + 1)
        ]

    def graph(self, arch: Architecture) -> ArchGraph:
        """The input image, layers C1..Cn (filter height×width, filters, then stride and
        max-pool when the space decides them) and the classifier; an edge for each input a
        layer takes (the image when it takes none) and from each layer the classifier
        pools."""
        layers = self.conv_layers(arch)
        labels = [_layer_label(arch, i, layer) for i, layer in enumerate(layers, 1)]
        nodes = chain_nodes(labels, "C", "classifier: global average pool, linear")
        nodes = (GraphNode("input", "input image", "input"), *nodes[1:])
        edges = [
            GraphEdge(f"C{j}" if j else "input", f"C{i}")
            for i, layer in enumerate(layers, 1)
            for j in layer.inputs or (0,)
        ]
        edges += [GraphEdge(f"C{j}", "output") for j in _classifier_inputs(layers)]
        note = (
            "A layer with several inputs concatenates them along channels (smaller maps "
            "zero-padded); the classifier pools every layer that no later layer takes."
        )
        title = f"cnn: {len(layers)} convolution layers (each BatchNorm + ReLU)"
        return ArchGraph(title, nodes, tuple(edges), note)

    def build(
        self, arch: Architecture, input_shape: Sequence[int], output: OutputSpec
    ) -> nn.Module:
        if not output.is_vector:
            raise ValueError(f"the cnn space outputs vectors, not {output.shape}")
        return MacroCNN(self.conv_layers(arch), tuple(input_shape), output.size)


class MacroCNN(nn.Module):
    """A network of the `cnn` space."""

    def __init__(
        self, layers: Sequence[ConvLayer], input_shape: tuple[int, ...], outputs: int
    ) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(f"the cnn space needs image inputs (C, H, W), got {input_shape}")
        self.inputs = [layer.inputs for layer in layers]
        self.head_inputs = _classifier_inputs(layers)
        sizes: list[tuple[int, int]] = []
        blocks = []
        for layer, in_channels in zip(layers, _in_channels(layers, input_shape[0])):
            h, w = _input_size(layer.inputs, sizes, input_shape[1:])
            modules: list[nn.Module] = [
                nn.Conv2d(
                    in_channels,
                    layer.filters,
                    (layer.height, layer.width),
                    stride=layer.stride,
                    padding=(layer.height // 2, layer.width // 2),
                    bias=False,
                ),
                nn.BatchNorm2d(layer.filters),
                nn.ReLU(inplace=True),
            ]
            h, w = (h - 1) // layer.stride + 1, (w - 1) // layer.stride + 1
            if layer.pool and min(h, w) >= 2:
                modules.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            sizes.append((h, w))
            blocks.append(nn.Sequential(*modules))
        self.blocks = nn.ModuleList(blocks)
        features = sum(layers[j - 1].filters for j in self.head_inputs)
        self.classifier = nn.Linear(features, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: list[torch.Tensor] = []
        for block, inputs in zip(self.blocks, self.inputs):
            h = _concat_padded([outputs[j - 1] for j in inputs]) if inputs else x
            outputs.append(block(h))
        pooled = [outputs[j - 1].mean(dim=(2, 3)) for j in self.head_inputs]
        return self.classifier(torch.cat(pooled, dim=1))


def _layer_label(arch: Architecture, index: int, layer: ConvLayer) -> str:
    """ "C3: conv 5×3, 48 filters, stride 2, max-pool 2×2": the stride when the architecture
    decides it, the pool when it is on."""
    text = f"C{index}: conv {layer.height}×{layer.width}, {layer.filters} filters"
    if f"stride_{index}" in arch.as_dict() or layer.stride != 1:
        text += f", stride {layer.stride}"
    return text + (", max-pool 2×2" if layer.pool else "")


def _in_channels(layers: Sequence[ConvLayer], image_channels: int) -> list[int]:
    return [
        sum(layers[j - 1].filters for j in layer.inputs) if layer.inputs else image_channels
        for layer in layers
    ]


def _classifier_inputs(layers: Sequence[ConvLayer]) -> tuple[int, ...]:
    used = {j for layer in layers for j in layer.inputs}
    return tuple(i for i in range(1, len(layers) + 1) if i not in used)


def _input_size(
    inputs: tuple[int, ...], sizes: list[tuple[int, int]], image: Sequence[int]
) -> tuple[int, int]:
    if not inputs:
        return int(image[0]), int(image[1])
    return max(sizes[j - 1][0] for j in inputs), max(sizes[j - 1][1] for j in inputs)


def _concat_padded(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate along channels, zero-padding smaller maps (bottom/right) to the largest."""
    if len(tensors) == 1:
        return tensors[0]
    h = max(t.shape[2] for t in tensors)
    w = max(t.shape[3] for t in tensors)
    padded = [
        t if t.shape[2:] == (h, w) else F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2]))
        for t in tensors
    ]
    return torch.cat(padded, dim=1)
