"""Batch augmentation: every output is a crop (maybe mirrored) of the padded input, seeded."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from archsearch.evaluation.augment import BatchAugment, augments


def batch(n: int = 16, c: int = 2, h: int = 6, w: int = 7) -> torch.Tensor:
    """Distinct positive values everywhere, so a window identifies its position."""
    return torch.arange(1, n * c * h * w + 1, dtype=torch.float32).view(n, c, h, w)


def augment(seed: int = 0, **options) -> BatchAugment:
    return BatchAugment(torch.Generator().manual_seed(seed), **options)


def crop(padded: torch.Tensor, top: int, left: int, h: int, w: int, mirrored: bool):
    """The (top, left) window of `padded` (C, H', W'), mirrored if asked."""
    window = padded[:, top : top + h, left : left + w]
    return window.flip(-1) if mirrored else window


def test_every_output_is_a_padded_crop_or_its_mirror_and_all_kinds_occur():
    x = batch(n=64)
    out = augment(padding=2, flip=True)(x)
    found = set()
    for image, original in zip(out, x):
        padded = F.pad(original, (2, 2, 2, 2))
        matches = [
            (top, left, mirrored)
            for top in range(5)
            for left in range(5)
            for mirrored in (False, True)
            if torch.equal(crop(padded, top, left, 6, 7, mirrored), image)
        ]
        assert len(matches) == 1, "not a crop of this sample's padded image"
        found.add(matches[0])
    assert {m for _, _, m in found} == {False, True}
    assert len({(top, left) for top, left, _ in found}) > 10  # offsets vary across the batch


def test_without_padding_and_flip_it_is_the_identity():
    x = batch()
    assert torch.equal(augment(padding=0, flip=False)(x), x)


def test_flip_only_mirrors_about_half_the_samples():
    x = batch(n=200)
    out = augment(padding=0, flip=True)(x)
    mirrored = [torch.equal(o, i.flip(-1)) for o, i in zip(out, x)]
    assert all(torch.equal(o, i) or m for o, i, m in zip(out, x, mirrored))
    assert 60 < sum(mirrored) < 140


def test_same_seed_same_augmentation():
    x = batch()
    a, b = augment(seed=5, cutout=3)(x), augment(seed=5, cutout=3)(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, augment(seed=6, cutout=3)(x))


def test_cutout_zeroes_one_square_clipped_at_the_border():
    x = torch.ones(300, 1, 8, 8)
    out = augment(padding=0, flip=False, cutout=4)(x)
    for image in out[:, 0]:
        rows, cols = torch.nonzero(image == 0, as_tuple=True)
        assert len(rows) > 0
        height, width = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
        assert height <= 4 and width <= 4 and len(rows) == height * width  # one rectangle
    zeroed = (out == 0).flatten(1).sum(1)
    assert (zeroed == 16).any() and (zeroed < 16).any()  # whole squares and clipped ones


def test_auto_augments_images_of_16_pixels_or_more_only():
    assert augments("auto", (3, 32, 32)) and augments("auto", (1, 16, 16))
    assert not augments("auto", (1, 8, 8)) and not augments("auto", (64,))
    assert augments("on", (1, 8, 8)) and not augments("off", (3, 32, 32))
    with pytest.raises(ValueError, match="image inputs"):
        augments("on", (64,))
    with pytest.raises(ValueError, match="unknown augment"):
        augments("yes", (3, 32, 32))
