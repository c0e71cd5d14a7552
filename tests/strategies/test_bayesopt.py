"""Bayesian optimisation: the GP surrogate, the acquisition, and the search it drives."""

import pytest
import torch

from archsearch.evaluation.result import Result
from archsearch.spaces.cell import NB201Space
from archsearch.strategies.bayesopt import (
    BayesOpt,
    GaussianProcess,
    expected_improvement,
    normal_scores,
)

SPACE = NB201Space()


def convs(arch):
    """A synthetic reward with one optimum: the share of edges that are 3x3 convolutions."""
    return sum(v == "nor_conv_3x3" for _, v in arch.values) / 6


def test_normal_scores_are_monotone_centred_and_equal_for_ties():
    y = torch.tensor([0.9, 0.1, 0.5, 0.5, 0.93], dtype=torch.float64)
    z = normal_scores(y)
    assert z[1] < z[2] == z[3] < z[0] < z[4]
    distinct = normal_scores(torch.tensor([3.0, 1.0, 2.0, 7.0], dtype=torch.float64))
    assert abs(float(distinct.mean())) < 1e-9
    assert normal_scores(torch.tensor([0.0, 10.0, 1e6], dtype=torch.float64))[2] < 1.0


def test_gaussian_process_fits_data_and_is_unsure_far_from_it():
    torch.manual_seed(0)
    x = torch.eye(6, dtype=torch.float64)[torch.randint(0, 6, (12,))]
    x = torch.cat([x, torch.eye(6, dtype=torch.float64)[torch.randint(0, 6, (12,))]], dim=1)
    y = x[:, 0] + x[:, 7] - 0.5 * x[:, 3]  # additive in the one-hot features
    gp = GaussianProcess(x, y)
    mean, std = gp.predict(x)
    assert torch.allclose(mean, y, atol=0.1)
    far = torch.zeros(1, 12, dtype=torch.float64)  # unlike every point seen
    assert gp.predict(far)[1][0] > std.max()


def test_expected_improvement_grows_with_mean_and_uncertainty():
    mean = torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)
    std = torch.tensor([0.1, 0.1, 1.0], dtype=torch.float64)
    ei = expected_improvement(mean, std, best=0.4)
    assert (ei > 0).all()
    assert ei[0] < ei[1] < ei[2]


def run(strategy, queries):
    seen = {}
    while len(seen) < queries:  # distinct queries, as the search loop counts them
        arch = strategy.ask()
        seen.setdefault(arch, convs(arch))
        strategy.tell(arch, Result(seen[arch]))
    return seen


def test_proposals_after_the_initial_design_are_all_new():
    strategy = BayesOpt(SPACE, seed=0, initial=5)
    asked = []
    for _ in range(25):
        arch = strategy.ask()
        asked.append(arch)
        strategy.tell(arch, Result(convs(arch)))
    assert len(set(asked[5:])) == 20 and not set(asked[5:]) & set(asked[:5])


@pytest.mark.parametrize("acquisition", ["ei", "ucb"])
def test_finds_the_optimum_of_a_smooth_problem_quickly(acquisition):
    """Random search needs 15,625 / 2 queries on average to hit the single optimum."""
    seen = run(BayesOpt(SPACE, seed=1, acquisition=acquisition), 40)
    assert max(seen.values()) == 1.0


def test_keeps_proposing_new_architectures_when_every_result_is_equal():
    strategy = BayesOpt(SPACE, seed=2, initial=3)
    asked = set()
    for _ in range(8):
        arch = strategy.ask()
        asked.add(arch)
        strategy.tell(arch, Result.failed("every network fails", -0.1))
    assert len(asked) == 8


def test_bad_acquisition_is_rejected():
    with pytest.raises(ValueError):
        BayesOpt(SPACE, acquisition="pi")
