"""Image augmentation of whole batches on their device: random crop, horizontal flip, cutout.

Each transformation is a few tensor operations for the whole batch, drawn from one seeded
`torch.Generator`: no Python loop over samples, no worker processes, and the same seed gives
the same augmentation. It runs on normalised batches, so the zero padding of the crop and the
zeroed cutout square are the mean colour (as in DeVries & Taylor's cutout code).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

AUGMENT = ("auto", "on", "off")
MIN_AUGMENT_SIZE = 16  # "auto" leaves smaller images (sklearn's 8x8 digits) alone


def augments(setting: str, input_shape: Sequence[int]) -> bool:
    """Whether to augment inputs of `input_shape` (without batch): "on", "off", or "auto" =
    images (C, H, W) with both sides at least `MIN_AUGMENT_SIZE`."""
    if setting not in AUGMENT:
        raise ValueError(f"unknown augment setting {setting!r}; choose one of {AUGMENT}")
    is_image = len(input_shape) == 3
    if setting == "on" and not is_image:
        raise ValueError(f"augmentation needs image inputs (C, H, W), got {tuple(input_shape)}")
    large = is_image and min(input_shape[1:]) >= MIN_AUGMENT_SIZE
    return setting == "on" or (setting == "auto" and large)


class BatchAugment:
    """Random crop of a zero-padded image (`padding` pixels each side, 0 = none), horizontal
    flip with probability 1/2 (`flip`), and a `cutout` x `cutout` zeroed square (0 = none)
    centred anywhere in the image, applied to (N, C, H, W) batches."""

    def __init__(
        self, generator: torch.Generator, padding: int = 4, flip: bool = True, cutout: int = 0
    ) -> None:
        if padding < 0 or cutout < 0:
            raise ValueError(f"padding and cutout must be >= 0, got {padding}, {cutout}")
        self.generator, self.padding, self.flip, self.cutout = generator, padding, flip, cutout

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding or self.flip:
            x = self.crop_and_flip(x)
        if self.cutout:
            x = self.cut_out(x)
        return x

    def _randint(self, high: int, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        return torch.randint(0, high, shape, generator=self.generator, device=device)

    def crop_and_flip(self, x: torch.Tensor) -> torch.Tensor:
        """One gather reads each sample's crop window of the padded batch (flattened per
        channel: the fastest indexing on CPU), columns reversed for flipped samples."""
        n, c, h, w = x.shape
        p = self.padding
        padded = F.pad(x, (p, p, p, p)) if p else x
        rows = self._randint(2 * p + 1, (n, 1), x.device) + torch.arange(h, device=x.device)
        cols = self._randint(2 * p + 1, (n, 1), x.device) + torch.arange(w, device=x.device)
        if self.flip:
            flipped = self._randint(2, (n, 1), x.device).bool()
            cols = torch.where(flipped, cols.flip(1), cols)
        index = rows.view(n, h, 1) * (w + 2 * p) + cols.view(n, 1, w)
        index = index.view(n, 1, h * w).expand(n, c, h * w)
        return padded.reshape(n, c, -1).gather(2, index).view(n, c, h, w)

    def cut_out(self, x: torch.Tensor) -> torch.Tensor:
        """Zero a square of side `cutout` around a random centre (clipped at the borders)."""
        n, _, h, w = x.shape
        top = self._randint(h, (n, 1, 1, 1), x.device) - self.cutout // 2
        left = self._randint(w, (n, 1, 1, 1), x.device) - self.cutout // 2
        ys = torch.arange(h, device=x.device).view(1, 1, h, 1)
        xs = torch.arange(w, device=x.device).view(1, 1, 1, w)
        inside = (ys >= top) & (ys < top + self.cutout) & (xs >= left) & (xs < left + self.cutout)
        return x.masked_fill(inside, 0)
