"""The random-encoder proxy: score an autoencoder by training its decoder only.

The source thesis trained only the decoder of each convolutional autoencoder, its encoder
kept at random initial weights, and found that the best models so found matched those of
full training. `RandomEncoderEvaluator` (`--evaluator random_encoder`) is the `train`
evaluator with that change: the child's encoder (convolutions and the dense layer to the
latent code) is frozen at its seeded random weights — no gradients, BatchNorm statistics
unchanged — and only the decoder learns. It needs a space whose networks have an encoder
(`autoencoder`, `vae`). `--retrain-top K` then trains the top K fully and reports how the
two rankings agree (see `archsearch.retrain_top`).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from archsearch.evaluation.base import Context
from archsearch.evaluation.training import TrainingEvaluator
from archsearch.spaces.autoencoder import AutoencoderSpace
from archsearch.spaces.base import Architecture

__all__ = ["RandomEncoderEvaluator"]


class RandomEncoderEvaluator(TrainingEvaluator):
    """`TrainingEvaluator` that trains each autoencoder's decoder only (see the module)."""

    name = "random_encoder"

    def __init__(self, context: Context, **options: Any) -> None:
        if not isinstance(context.space, AutoencoderSpace):
            raise ValueError(
                f"the random_encoder evaluator freezes an autoencoder's encoder; the "
                f"{context.space.name} space has none (use --space autoencoder or vae)"
            )
        super().__init__(context, **options)

    def build(self, arch: Architecture) -> nn.Module:
        model = super().build(arch)
        model.freeze_encoder()
        return model
