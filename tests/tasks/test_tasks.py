"""Tasks: losses and metrics against hand-computed values, directions, and the failed reward
below every working one."""

import math

import pytest
import torch

from archsearch.tasks import MAX, TASKS, task_from_json
from archsearch.tasks.classification import Classification
from archsearch.tasks.reconstruction import Reconstruction
from archsearch.tasks.regression import Regression
from archsearch.tasks.vae import VAE

EXAMPLES = [
    Classification(3),
    Regression([10.0], [2.0], ["y"]),
    Reconstruction((1, 2, 2)),
    VAE((1, 2, 2), [0.0], [1.0]),
]


def test_every_task_is_exercised():
    assert {task.name for task in EXAMPLES} == set(TASKS.names())


@pytest.mark.parametrize("task", EXAMPLES, ids=lambda t: t.name)
def test_failed_reward_is_below_every_working_reward(task):
    assert task.failed_reward < task.reward_floor
    assert task.directions[task.score] == MAX  # rewards are made from a score to maximise


@pytest.mark.parametrize("task", EXAMPLES, ids=lambda t: t.name)
def test_json_recreates_the_task(task):
    again = task_from_json(task.to_json())
    assert type(again) is type(task) and again.to_json() == task.to_json()
    assert again.output_spec() == task.output_spec()


def test_classification_metrics_by_hand():
    task = Classification(3)
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [1.0, 0.0, 0.0]])
    targets = torch.tensor([0, 1, 2])
    metrics = task.metrics(task.batch_sums(logits, targets), 3)
    expected = (
        -sum(torch.log_softmax(logits, 1)[i, t].item() for i, t in enumerate(targets.tolist())) / 3
    )
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["loss"] == pytest.approx(expected)


def test_balanced_accuracy_matches_scikit_learn():
    from sklearn.metrics import balanced_accuracy_score

    generator = torch.Generator().manual_seed(0)
    for classes in (2, 3, 7):
        targets = torch.randint(0, classes, (50,), generator=generator)
        targets[:30] = 0  # imbalanced
        logits = torch.randn(50, classes, generator=generator)
        scores = Classification(classes).test_scores(logits, targets)
        expected = balanced_accuracy_score(targets.numpy(), logits.argmax(1).numpy())
        assert scores["test_balanced_accuracy"] == pytest.approx(expected)
    always_zero = torch.tensor([[1.0, 0.0]]).repeat(10, 1)
    scores = Classification(2).test_scores(always_zero, torch.tensor([0] * 9 + [1]))
    assert scores["test_accuracy"] == 0.9 and scores["test_balanced_accuracy"] == 0.5


def test_top5_is_reported_only_when_it_can_differ_from_one():
    assert "test_top5_accuracy" not in Classification(5).test_scores(
        torch.randn(4, 5), torch.tensor([0, 1, 2, 3])
    )
    logits = torch.arange(10.0).repeat(2, 1)  # class 9 most likely, class 0 least
    scores = Classification(10).test_scores(logits, torch.tensor([9, 0]))
    assert scores["test_accuracy"] == 0.5 and scores["test_top5_accuracy"] == 0.5


def test_regression_metrics_by_hand_in_original_units():
    task = Regression([10.0], [2.0], ["y"])
    targets = torch.tensor([[0.0], [1.0], [-1.0], [2.0]])  # standardised
    outputs = torch.tensor([[0.5], [1.0], [-2.0], [2.0]])
    metrics = task.metrics(task.batch_sums(outputs, targets), 4)
    sse = 0.25 + 0 + 1 + 0
    sst = sum((t - 0.5) ** 2 for t in (0.0, 1.0, -1.0, 2.0))
    assert metrics["loss"] == pytest.approx(sse / 4)
    assert metrics["mse"] == pytest.approx(sse / 4 * 4.0)  # std 2: squared errors x 4
    assert metrics["mae"] == pytest.approx(1.5 / 4 * 2.0)
    assert metrics["r2"] == pytest.approx(1 - sse / sst)
    assert task.unscale(torch.tensor([[1.0]])).item() == 12.0


def test_metrics_over_batches_equal_metrics_of_the_whole():
    task = Regression()
    g = torch.Generator().manual_seed(0)
    outputs, targets = torch.randn(50, 1, generator=g), torch.randn(50, 1, generator=g)
    whole = task.metrics(task.batch_sums(outputs, targets), 50)
    sums = [task.batch_sums(o, t) for o, t in zip(outputs.split(7), targets.split(7))]
    total = {k: sum(s[k] for s in sums) for k in sums[0]}
    assert task.metrics(total, 50) == pytest.approx(whole)


def test_reconstruction_r2_is_the_explained_share_of_each_pixels_variance():
    task = Reconstruction((1, 2, 2))
    x = torch.randn(20, 1, 2, 2, generator=torch.Generator().manual_seed(1))
    assert task.metrics(task.batch_sums(x, x), 20)["r2"] == pytest.approx(1.0)
    mean_image = x.mean(0, keepdim=True).expand_as(x)
    assert task.metrics(task.batch_sums(mean_image, x), 20)["r2"] == pytest.approx(0.0, abs=1e-6)
    assert not math.isnan(task.loss(mean_image, x).item())
