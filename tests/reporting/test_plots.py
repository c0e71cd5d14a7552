"""The plots of a search and of a training say what they show: labelled axes, 0-based trial
numbers, a step line for the best so far, entropy against its uniform maximum, integer epochs,
readable confusion counts; and a search writes its final training's plots."""

import json
import math

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from archsearch.cli import main
from archsearch.evaluation.result import Result
from archsearch.ledger import Trial
from archsearch.reporting.plots import (
    SearchLabels,
    plot_confusion,
    plot_entropy,
    plot_final_curves,
    plot_rewards,
    plot_training_curves,
)
from archsearch.spaces import get_space
from archsearch.strategies import get_strategy

LABELS = SearchLabels("iris", "reinforce", "mlp", "val_score", "accuracy")


def reinforce_trials(space_name="mlp", count=8):
    """Trials as a real REINFORCE search records them, with its stats; trial 2 failed."""
    space = get_space(space_name)
    strategy = get_strategy("reinforce", space, seed=0, batch_size=2)
    trials = []
    for number in range(count):
        arch = strategy.ask()
        if number == 2:
            result = Result.failed("out of memory", -0.1)
        else:
            result = Result(reward=0.3 + 0.05 * ((number * 7) % 5))
        strategy.tell(arch, result)
        trials.append(Trial(number, arch, result, number, strategy.stats()))
    return trials


def line(axes, label):
    return next(x for x in axes.get_lines() if x.get_label() == label)


def test_rewards_name_the_metric_and_the_search_and_start_at_trial_0(tmp_path):
    trials = reinforce_trials()
    figure = plot_rewards(trials, tmp_path / "rewards.png", LABELS)
    assert (tmp_path / "rewards.png").read_bytes()[:4] == b"\x89PNG"
    axes = figure.axes[0]
    assert "validation accuracy" in axes.get_ylabel() and "val_score" in axes.get_ylabel()
    title = axes.get_title()
    assert title[0].isupper() and "iris" in title and "reinforce" in title and "mlp" in title
    best = line(axes, "best so far")
    assert best.get_drawstyle() == "steps-post"
    assert list(best.get_xdata()) == list(range(len(trials)))  # the ledger's numbers, 0-based
    points = np.concatenate([c.get_offsets()[:, 0] for c in axes.collections])
    assert points.min() == 0 and sorted(points) == list(range(len(trials)))
    ticks = [t for t in axes.get_xticks() if axes.get_xlim()[0] <= t <= axes.get_xlim()[1]]
    assert all(float(t).is_integer() for t in ticks)


def test_the_rewards_legend_covers_no_point(tmp_path):
    figure = plot_rewards(reinforce_trials(), tmp_path / "rewards.png", LABELS)
    axes = figure.axes[0]
    assert axes.get_legend() is None and len(figure.legends) == 1
    legend = figure.legends[0].get_window_extent()
    assert legend.y1 <= axes.get_window_extent().y0  # below the axes, not over the points


def test_unknown_rewards_and_missing_labels_still_say_reward(tmp_path):
    assert SearchLabels(reward="mine").reward_label() == "reward (mine)"
    assert "R²" in SearchLabels(reward="best_val_score", score="r2").reward_label()
    figure = plot_rewards(reinforce_trials(count=3), tmp_path / "rewards.png")
    assert figure.axes[0].get_ylabel() == "reward"


def test_reinforce_reports_the_uniform_maximum_of_its_entropy():
    for trial in reinforce_trials():
        assert 0 < trial.stats["entropy"] <= trial.stats["entropy_max"] + 1e-6
    nb201 = reinforce_trials("nb201", count=2)  # six choices of five operations
    assert nb201[-1].stats["entropy_max"] == pytest.approx(math.log(5))


def test_a_uniform_controller_has_exactly_the_maximum_entropy():
    """With zero logits (softmax heads and edge scores) the policy is uniform, so the two
    stats must agree: categorical choices and Inputs edges (cnn) are normalised alike."""
    strategy = get_strategy("reinforce", get_space("cnn"), seed=1)
    with torch.no_grad():
        for module in [*strategy.controller.heads.values(), strategy.controller.v]:
            module.weight.zero_()
    strategy.ask()
    stats = strategy.stats()
    assert stats["entropy"] == pytest.approx(stats["entropy_max"], rel=1e-5)


def test_entropy_is_shown_against_its_maximum_from_zero(tmp_path):
    trials = reinforce_trials()
    figure = plot_entropy(trials, tmp_path / "entropy.png", LABELS)
    assert (tmp_path / "entropy.png").exists()
    axes = figure.axes[0]
    highest = max(t.stats["entropy_max"] for t in trials)
    low, high = axes.get_ylim()
    assert low == 0 and high >= highest
    uniform = next(x for x in axes.get_lines() if x.get_linestyle() == "--")
    assert "uniform" in uniform.get_label() and max(uniform.get_ydata()) == highest
    assert list(uniform.get_xdata())[0] == 0
    assert "entropy" in axes.get_ylabel() and "nats" in axes.get_ylabel()


def test_no_entropy_no_file(tmp_path):
    trials = [Trial(0, reinforce_trials(count=1)[0].arch, Result(reward=0.5), 0, {})]
    assert plot_entropy(trials, tmp_path / "entropy.png") is None
    assert not (tmp_path / "entropy.png").exists()


def test_entropy_of_older_runs_without_a_maximum_still_starts_at_zero(tmp_path):
    trials = reinforce_trials(count=3)
    for trial in trials:
        trial.stats.pop("entropy_max")
    axes = plot_entropy(trials, tmp_path / "entropy.png").axes[0]
    assert axes.get_ylim()[0] == 0 and len(axes.get_lines()) == 1


def curve(epochs, val=True):
    points = []
    for epoch in range(1, epochs + 1):
        point = {"epoch": epoch, "train_loss": 1 / epoch, "train_accuracy": 1 - 1 / (epoch + 1)}
        if val:
            point.update(val_loss=1.1 / epoch, val_accuracy=0.9 - 1 / (epoch + 2))
        points.append(point)
    return points


def integer_ticks(axes):
    low, high = axes.get_xlim()
    return [t for t in axes.get_xticks() if low <= t <= high]


def test_training_curves_have_integer_epoch_ticks(tmp_path):
    figure = plot_training_curves(curve(3), tmp_path / "curves.png")
    for axes in figure.axes:
        ticks = integer_ticks(axes)
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        assert {x.get_label() for x in axes.get_lines()} == {"train", "validation"}
    assert figure.axes[1].get_ylabel() == "accuracy"


def test_final_curves_draw_every_network_of_the_ensemble(tmp_path):
    curves = [curve(2, val=False) for _ in range(3)]
    figure = plot_final_curves(curves, tmp_path / "final.png", "accuracy", "Final training")
    loss, score = figure.axes
    assert [x.get_label() for x in loss.get_lines()] == ["network 1", "network 2", "network 3"]
    assert all(float(t).is_integer() for t in integer_ticks(score))
    assert figure.get_suptitle() == "Final training"


def test_confusion_counts_are_white_on_dark_cells_and_black_on_light(tmp_path):
    matrix = np.array([[40, 1, 0], [3, 25, 12], [0, 2, 38]])
    figure = plot_confusion(matrix, ["a", "b", "c"], tmp_path / "confusion.png")
    texts = {
        (round(t.get_position()[1]), round(t.get_position()[0])): t for t in figure.axes[0].texts
    }
    assert texts[(0, 0)].get_text() == "40"
    assert to_rgba(texts[(0, 0)].get_color()) == to_rgba("white")  # the darkest cell
    assert to_rgba(texts[(2, 2)].get_color()) == to_rgba("white")
    for light in ((0, 1), (0, 2), (1, 0), (2, 1)):
        assert to_rgba(texts[light].get_color()) == to_rgba("black")


def search(tmp_path, dataset):
    out = tmp_path / "run"
    argv = ["search", "--dataset", dataset, "--space", "mlp", "--strategy", "random",
            "--trials", "2", "--epochs", "2", "--final-epochs", "2", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    return out


def test_a_classification_search_plots_its_final_training_and_confusion(tmp_path):
    out = search(tmp_path, "iris")
    assert (out / "final_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    best = json.loads((out / "summary.json").read_text())["best"]
    matrix = np.array(best["confusion_matrix"])
    assert matrix.shape == (3, 3) and best["class_names"] == ["setosa", "versicolor", "virginica"]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(best["test_accuracy"])


def test_a_regression_search_plots_its_final_training_but_no_confusion(tmp_path):
    out = search(tmp_path, "diabetes")
    assert (out / "final_curves.png").exists()
    assert not (out / "confusion.png").exists()
    assert "confusion_matrix" not in json.loads((out / "summary.json").read_text())["best"]


def test_a_one_epoch_loss_curve_is_drawn_as_points(tmp_path):
    from archsearch.reporting.generative import plot_loss_terms

    curve = [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.6, "train_kl": 0.1, "val_kl": 0.2}]
    figure = plot_loss_terms([curve], tmp_path / "loss_terms.png", "one epoch")
    lines = [line for axes in figure.axes for line in axes.lines]
    assert len(lines) == 4 and all(line.get_marker() == "o" for line in lines)
    assert (tmp_path / "loss_terms.png").stat().st_size > 1000
