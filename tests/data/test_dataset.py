"""Splits, subsets and normalisation of `Dataset`s: float features and raw uint8 images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archsearch.data import (
    DataError,
    Normalization,
    load_dataset,
    split_train_test,
    stratified_subset,
)
from archsearch.errors import UsageError


def test_stratified_subset_is_proportional_nested_and_seeded():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    small, large = stratified_subset(y, 20, seed=1), stratified_subset(y, 50, seed=1)
    assert np.bincount(y[small]).tolist() == [12, 6, 2]
    assert np.bincount(y[large]).tolist() == [30, 15, 5]
    assert set(small) <= set(large)  # budgets nest
    assert np.array_equal(small, stratified_subset(y, 20, seed=1))
    assert not np.array_equal(small, stratified_subset(y, 20, seed=2))
    assert np.array_equal(stratified_subset(y, 500, seed=1), np.arange(100))


def test_float_features_are_standardised_and_splits_disjoint():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, (90, 4)).astype(np.float32)
    x[:, 0] = np.arange(90)  # a row id, to find rows again
    y = np.arange(90) % 3
    data = split_train_test("toy", (x, y), None, ["a", "b", "c"], seed=0)
    assert data.norm is None and data.x_train.dtype == torch.float32
    assert data.x_train.mean(0).abs().max() < 1e-5
    assert (data.x_train.std(0, unbiased=False) - 1).abs().max() < 1e-4
    ids = [set(np.round(s[:, 0].numpy(), 3)) for s in (data.x_train, data.x_val, data.x_test)]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]
    assert sum(map(len, ids)) == 90


def test_uint8_images_stay_raw_with_train_normalization():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (60, 3, 4, 4), dtype=np.uint8)
    x[:, 2] = 9  # a constant channel
    data = split_train_test("img", (x, np.arange(60) % 2), None, ["a", "b"], seed=0)
    assert data.x_train.dtype == torch.uint8
    train = data.x_train.numpy().astype(np.float64)
    assert data.norm.mean[:2] == pytest.approx(train.mean(axis=(0, 2, 3))[:2].tolist())
    assert data.norm.std[:2] == pytest.approx(train.std(axis=(0, 2, 3))[:2].tolist())
    prepared = data.prepare(data.x_train)
    assert prepared.dtype == torch.float32
    assert prepared[:, :2].mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert prepared[:, 2].abs().max() < 1e-2  # a constant channel maps to ~0, not inf


def test_normalization_affine_matches_apply():
    norm = Normalization((10.0, 20.0), (2.0, 4.0))
    x = torch.tensor([[[[12]], [[16]]]], dtype=torch.uint8)
    scale, shift = norm.affine()
    assert norm.apply(x).flatten().tolist() == [1.0, -1.0]
    assert torch.allclose(x.float() * scale + shift, norm.apply(x))


def test_official_test_split_is_kept_and_subsets_apply():
    x = np.arange(100, dtype=np.float32).reshape(100, 1)
    y = np.arange(100) % 2
    xt, yt = np.full((10, 1), -1.0, dtype=np.float32), np.arange(10) % 2
    data = split_train_test(
        "t", (x, y), (xt, yt), ["a", "b"], seed=0, val_fraction=0.25, train_subset=40, test_subset=6
    )
    assert data.sizes() == {"train": 30, "val": 10, "test": 6}
    assert np.bincount(data.y_test.numpy()).tolist() == [3, 3]
    assert np.bincount(data.y_train.numpy()).tolist() == [15, 15]


def test_errors_are_data_errors_and_usage_errors():
    y = np.array([0, 0, 0, 0, 0, 1, 1])
    with pytest.raises(DataError, match="class 'b' has 2 row"):
        split_train_test("tiny", (np.zeros((7, 2)), y), None, ["a", "b"])
    with pytest.raises(DataError, match="val fraction"):
        split_train_test("tiny", (np.zeros((7, 2)), y), None, ["a", "b"], val_fraction=1.0)
    with pytest.raises(DataError, match="train subset"):
        split_train_test(
            "t", (np.zeros((6, 1)), np.arange(6) % 2), None, ["a", "b"], train_subset=0
        )
    assert issubclass(DataError, UsageError) and issubclass(DataError, ValueError)


def test_bundled_digits_as_images_with_source():
    data = load_dataset("digits", images=True, seed=0)
    assert data.input_shape == (1, 8, 8) and data.norm is None
    assert data.source == "bundled dataset digits"
    assert sum(data.sizes().values()) == 1797


def test_the_search_view_holds_no_test_split():
    data = load_dataset("iris", seed=0)
    view = data.without_test()
    assert view.x_test is None and view.y_test is None and "test" not in view.sizes()
    assert torch.equal(view.x_train, data.x_train) and data.x_test is not None
    with pytest.raises(ValueError, match="no test split"):
        view.test_targets()


def test_digits_as_images_for_reconstruction():
    data = load_dataset("digits", images=True, seed=0, task="reconstruction")
    assert data.task.name == "reconstruction" and data.task.output_spec().shape == (1, 8, 8)
    assert torch.equal(data.test_targets(), data.x_test)  # float features: prepared as they are
