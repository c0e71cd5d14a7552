"""The scikit-learn baseline: the same inputs for a dataset whatever space is searched, the
task's own scores, normalised raw images."""

import pytest
import torch

from archsearch.config import DataSpec, SearchConfig
from archsearch.data import load_dataset
from archsearch.evaluation.baseline import baseline_test_outputs, sklearn_baseline
from archsearch.run import baseline_data
from tests.helpers import write_image_folder


def test_the_baseline_is_the_same_whatever_the_space():
    scores = []
    for space in ("mlp", "cnn"):
        config = SearchConfig(data=DataSpec(dataset="digits"), space=space, seed=2)
        data = config.data.load(images=space == "cnn", seed=2)
        scores.append(sklearn_baseline(baseline_data(config, data), seed=2))
    assert scores[0] == scores[1] and scores[0]["test_accuracy"] > 0.9


def test_regression_scores_in_the_targets_units():
    data = load_dataset("diabetes", seed=0)
    scores = sklearn_baseline(data, seed=0)
    assert set(scores) == {"test_loss", "test_mse", "test_mae", "test_r2"}
    # errors are in the target's units (diabetes progression, std about 77), not standardised
    assert scores["test_mae"] > 10 and scores["test_mse"] == pytest.approx(
        scores["test_loss"] * data.task.std[0] ** 2, rel=1e-4
    )
    assert 0.2 < scores["test_r2"] < 0.7


def test_its_test_outputs_are_the_ones_it_is_scored_on():
    data = load_dataset("wine", seed=3)
    outputs = baseline_test_outputs(data, seed=3)
    assert outputs.shape == (len(data.y_test), 3)
    correct = (outputs.argmax(1) == data.y_test).float().mean().item()
    assert correct == pytest.approx(sklearn_baseline(data, seed=3)["test_accuracy"])
    assert baseline_test_outputs(load_dataset("iris").without_test()) is None


def test_no_baseline_for_reconstruction_or_without_a_test_split():
    assert sklearn_baseline(load_dataset("digits", task="reconstruction")) is None
    assert sklearn_baseline(load_dataset("iris").without_test()) is None


def test_raw_images_are_normalised_for_the_baseline(tmp_path):
    write_image_folder(tmp_path)
    data = load_dataset(data_dir=tmp_path)
    assert data.x_train.dtype == torch.uint8
    # dark and light images are trivially separable once normalised; raw 0..255 bytes make
    # MLPClassifier's optimiser diverge to chance (0.5)
    assert sklearn_baseline(data)["test_accuracy"] == 1.0
