"""The convolutional autoencoder space: a searched encoder, a decoder that mirrors it, and an
optional dense latent bottleneck.

Decisions, in order: `depth` (when `min_layers < layers`), then per encoder layer i
`filters_i`, `kernel_i` and `stride_i`, then `latent` (the bottleneck's size; 0 = none, the
network stays convolutional). The decoder is not searched on its own: it mirrors the encoder
layer by layer in reverse, each mirror layer upsampling (nearest) to exactly the size the
encoder layer received and convolving with the same kernel at stride 1 ("same" padding), back
to the channels that layer received, so that every architecture reproduces its input's shape
for any image size and any kernel (odd or even) and stride. Convolutions are followed by
BatchNorm and ReLU, except the last, linear one (a reconstruction of normalised inputs).

The defaults are scaled down for a CPU; `THESIS_OPTIONS` are the source thesis's choices
(up to 12 layers each side, 64-512 filters, kernels 2-8, latent sizes 2-512).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from archsearch.options import check_number, check_numbers
from archsearch.spaces.base import (
    MAX_KERNEL,
    MAX_LAYERS,
    MAX_WIDTH,
    ArchGraph,
    Architecture,
    Categorical,
    Decision,
    Space,
    Value,
    chain_graph,
    listed,
)
from archsearch.tasks.base import OutputSpec

__all__ = ["THESIS_OPTIONS", "AutoencoderSpace", "ConvAutoencoder", "EncoderLayer"]

#: The thesis's space (`--space-option` each of these to search it; far beyond a CPU).
THESIS_OPTIONS: dict[str, Any] = {
    "layers": 12,
    "filters": (64, 128, 256, 512),
    "kernels": (2, 4, 6, 8),
    "latent_sizes": (2, 8, 16, 32, 64, 128, 256, 512),
}
LOGVAR_RANGE = (-30.0, 20.0)  # a VAE's log-variance is clamped here: exp() stays finite

EncoderLayer = tuple[int, int, int]  # (filters, kernel, stride)


class AutoencoderSpace(Space):
    """Convolutional autoencoders of `min_layers`..`layers` encoder layers (see the module)."""

    name = "autoencoder"
    needs_images = True
    #: Whether the networks are VAEs (`vae` space): a Gaussian latent, sigmoid pixels.
    variational = False
    default_latents: tuple[int, ...] = (0, 16, 64)

    def __init__(
        self,
        layers: int = 3,
        min_layers: int = 1,
        filters: Sequence[int] = (16, 32, 64),
        kernels: Sequence[int] = (3, 4),
        strides: Sequence[int] = (1, 2),
        latent_sizes: Sequence[int] | None = None,
    ) -> None:
        filters, kernels, strides = map(listed, (filters, kernels, strides))
        latents = listed(self.default_latents if latent_sizes is None else latent_sizes)
        check_number("layers", layers, 1, MAX_LAYERS, whole=True)
        check_number("min_layers", min_layers, 1, layers, whole=True)
        check_numbers("filters", filters, 1, MAX_WIDTH, whole=True)
        check_numbers("kernels", kernels, 1, MAX_KERNEL, whole=True)
        check_numbers("strides", strides, 1, MAX_KERNEL, whole=True)
        check_numbers("latent_sizes", latents, 1 if self.variational else 0, MAX_WIDTH, whole=True)
        self.layers, self.min_layers = int(layers), int(min_layers)
        self.filters, self.kernels = tuple(filters), tuple(kernels)
        self.strides, self.latent_sizes = tuple(strides), tuple(latents)
        decisions: list[Decision] = []
        if self.min_layers < self.layers:
            decisions.append(Categorical("depth", tuple(range(self.min_layers, self.layers + 1))))
        for i in range(1, self.layers + 1):
            decisions.append(Categorical(f"filters_{i}", self.filters))
            decisions.append(Categorical(f"kernel_{i}", self.kernels))
            decisions.append(Categorical(f"stride_{i}", self.strides))
        decisions.append(Categorical("latent", self.latent_sizes))
        self.decisions = tuple(decisions)

    def options(self) -> dict[str, Any]:
        return {
            "layers": self.layers,
            "min_layers": self.min_layers,
            "filters": list(self.filters),
            "kernels": list(self.kernels),
            "strides": list(self.strides),
            "latent_sizes": list(self.latent_sizes),
        }

    def layer(self, index: int) -> int:
        """0 for `depth`, i for encoder layer i's decisions, layers + 1 for `latent`."""
        name = self.decisions[index].name
        if name in ("depth", "latent"):
            return 0 if name == "depth" else self.layers + 1
        return int(name.rsplit("_", 1)[1])

    def is_active(self, index: int, chosen: Mapping[str, Value]) -> bool:
        layer = self.layer(index)
        return layer in (0, self.layers + 1) or layer <= chosen.get("depth", self.layers)

    def _later_depends_on(self, index: int) -> bool:
        return self.decisions[index].name == "depth"

    def supports(self, output: OutputSpec) -> bool:
        return not output.is_vector and output.latent == self.variational

    def encoder_layers(self, arch: Architecture) -> list[EncoderLayer]:
        """(filters, kernel, stride) of each encoder layer, input side first."""
        depth = arch.get("depth", self.layers)
        return [
            (arch[f"filters_{i}"], arch[f"kernel_{i}"], arch[f"stride_{i}"])
            for i in range(1, depth + 1)
        ]

    def graph(self, arch: Architecture) -> ArchGraph:
        """Encoder layers E1..En, the latent (if any), decoder layers D1..Dn (the mirror)."""
        layers = self.encoder_layers(arch)
        labels = [
            f"E{i}: conv {k}×{k}, {f} filters, stride {s}" for i, (f, k, s) in enumerate(layers, 1)
        ]
        if arch["latent"]:
            kind = "Gaussian latent (mu, logvar; sampled)" if self.variational else "dense latent"
            labels.append(f"{kind}, {arch['latent']} units")
        labels += [
            f"D{i}: upsample ×{s}, conv {k}×{k}" for i, (_, k, s) in enumerate(reversed(layers), 1)
        ]
        output = "output: sigmoid pixels" if self.variational else "output: linear"
        return chain_graph(f"{self.name}: {len(layers)}+{len(layers)} layers", labels, "L", output)

    def build(
        self, arch: Architecture, input_shape: Sequence[int], output: OutputSpec
    ) -> nn.Module:
        if tuple(output.shape) != tuple(input_shape) or not self.supports(output):
            raise ValueError(
                f"the {self.name} space reconstructs its input {tuple(input_shape)}; it cannot "
                f"output {output.shape}{' with a latent' if output.latent else ''}"
            )
        return ConvAutoencoder(
            self.encoder_layers(arch), tuple(input_shape), arch["latent"], self.variational
        )


class ConvAutoencoder(nn.Module):
    """A network of the `autoencoder` space, or with `variational` of the `vae` space, which
    returns (reconstruction in [0, 1], mu, logvar) and samples z = mu + sigma * noise while
    training (the reparameterisation) and decodes mu in evaluation mode.

    `encoder` is everything before the latent code (convolutions, and the dense layer to the
    code or to mu and logvar); `freeze_encoder()` fixes it at its current (random) weights:
    no gradients, and kept in evaluation mode (BatchNorm statistics unchanged) however the
    network is switched — the random-encoder proxy."""

    def __init__(
        self,
        layers: Sequence[EncoderLayer],
        input_shape: tuple[int, ...],
        latent: int,
        variational: bool = False,
    ) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(f"an autoencoder needs image inputs (C, H, W), got {input_shape}")
        if variational and latent < 1:
            raise ValueError("a VAE needs a latent size of at least 1")
        self.variational, self.frozen = variational, False
        channels, sizes = [input_shape[0]], [tuple(input_shape[1:])]
        encoder: list[nn.Module] = []
        for filters, kernel, stride in layers:
            encoder += _block(
                nn.Conv2d(channels[-1], filters, kernel, stride, kernel // 2, bias=False)
            )
            h, w = sizes[-1]
            sizes.append(
                (
                    (h + 2 * (kernel // 2) - kernel) // stride + 1,
                    (w + 2 * (kernel // 2) - kernel) // stride + 1,
                )
            )
            channels.append(filters)
        decoder: list[nn.Module] = []
        if latent:
            flat = channels[-1] * sizes[-1][0] * sizes[-1][1]
            encoder += [nn.Flatten(), nn.Linear(flat, latent * (2 if variational else 1))]
            decoder += [
                nn.Linear(latent, flat),
                nn.ReLU(inplace=True),
                nn.Unflatten(1, (channels[-1], *sizes[-1])),
            ]
        for i in range(len(layers), 0, -1):
            kernel = layers[i - 1][1]
            decoder.append(nn.Upsample(size=sizes[i - 1], mode="nearest"))
            decoder += _same_padding(kernel)
            conv = nn.Conv2d(channels[i], channels[i - 1], kernel, bias=i == 1)
            decoder += _block(conv) if i > 1 else [conv]
        if variational:
            decoder.append(nn.Sigmoid())
        self.encoder, self.decoder = nn.Sequential(*encoder), nn.Sequential(*decoder)

    def freeze_encoder(self) -> None:
        """Keep the encoder at its current weights from now on (see the class)."""
        self.frozen = True
        self.encoder.requires_grad_(False)
        self.encoder.eval()

    def train(self, mode: bool = True) -> ConvAutoencoder:
        super().train(mode)
        if self.frozen:
            self.encoder.eval()
        return self

    def forward(self, x: torch.Tensor) -> Any:
        code = self.encoder(x)
        if not self.variational:
            return self.decoder(code)
        mu, logvar = code.chunk(2, dim=1)
        logvar = logvar.clamp(*LOGVAR_RANGE)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.decoder(z), mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images from latent codes (samples from the prior, for a VAE)."""
        return self.decoder(z)


def _same_padding(kernel: int) -> list[nn.Module]:
    """Zero padding that keeps a stride-1 convolution's output at its input's size, for odd
    and even kernels (an even one pads one pixel more on the right and bottom)."""
    before = (kernel - 1) // 2
    after = kernel - 1 - before
    return [nn.ZeroPad2d((before, after, before, after))] if kernel > 1 else []


def _block(conv: nn.Conv2d) -> list[nn.Module]:
    """`conv` (bias-free: BatchNorm's shift replaces it), BatchNorm, ReLU."""
    return [conv, nn.BatchNorm2d(conv.out_channels), nn.ReLU(inplace=True)]
