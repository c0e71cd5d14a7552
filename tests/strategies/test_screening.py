"""Warm start and predictor screening, the two mechanisms of the `Strategy` base class: a
warm-started strategy asks its queue first and learns from it; a screening strategy sends the
candidate its predictor rates best; both survive state_dict / load_state_dict."""

import random

import numpy as np
import pytest

from archsearch.evaluation.result import Result
from archsearch.spaces.cell import NB201Space
from archsearch.strategies import STRATEGIES, get_strategy

SPACE = NB201Space()
SCREENERS = ("random", "evolution", "reinforce")
OPTIONS = {"evolution": {"population": 6, "sample": 3}}


def reward(arch):
    """A learnable synthetic reward: the share of 3x3 convolutions among the six edges."""
    return Result(sum(v == "nor_conv_3x3" for _, v in arch.values) / 6)


def make(name, seed=0, **options):
    return get_strategy(name, SPACE, seed=seed, **{**OPTIONS.get(name, {}), **options})


def run(strategy, steps):
    asked = []
    for _ in range(steps):
        arch = strategy.ask()
        strategy.tell(arch, reward(arch))
        asked.append(arch)
    return asked


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_a_warm_started_strategy_asks_its_queue_first_and_resumes_inside_it(name):
    queue = [SPACE.sample(random.Random(100 + i)) for i in range(5)]
    strategy = get_strategy(name, SPACE, seed=1)
    strategy.warm_start(queue)
    assert run(strategy, 2) == queue[:2]
    copy = get_strategy(name, SPACE, seed=1)
    copy.load_state_dict(strategy.state_dict())
    assert run(strategy, 6) == run(copy, 6)
    cold = get_strategy(name, SPACE, seed=1)
    assert strategy.state_dict()["queue"] == [] and cold.state_dict()["queue"] == []


def test_a_queued_architecture_in_flight_is_skipped():
    queue = [SPACE.sample(random.Random(i)) for i in range(2)]
    strategy = make("random")
    strategy.warm_start([queue[0], queue[0], queue[1]])
    assert [strategy.ask(), strategy.ask()] == queue


def test_evolution_learns_from_the_warm_start():
    best = SPACE.make({d.name: "nor_conv_3x3" for d in SPACE.decisions})
    strategy = make("evolution")
    strategy.warm_start([best])
    run(strategy, 1)
    assert strategy.population[0] == (best, 1.0)


@pytest.mark.parametrize("name", SCREENERS)
def test_screening_sends_the_candidate_the_predictor_rates_best(name):
    strategy = make(name, screen=8, screen_after=6)
    run(strategy, 6)
    assert strategy.screen.ready
    twin = make(name, screen=8, screen_after=6)
    twin.load_state_dict(strategy.state_dict())
    candidates = [twin.propose() for _ in range(8)]
    told = {a.hash for a, _ in strategy.screen.told}
    fresh = [a for a in candidates if a.hash not in told] or candidates
    predicted = strategy.screen.predict(fresh)
    assert strategy.ask() == fresh[int(np.argmax(predicted))]


@pytest.mark.parametrize("name", SCREENERS)
def test_screening_finds_better_architectures_than_the_same_strategy_unscreened(name):
    def mean_late_reward(**options):
        rewards = []
        for seed in range(2):
            asked = run(make(name, seed=seed, **options), 20)
            rewards += [reward(a).reward for a in asked[8:]]
        return np.mean(rewards)

    assert mean_late_reward(screen=10, screen_after=8) > mean_late_reward() + 0.1


@pytest.mark.parametrize("model", ["forest", "gp"])
def test_a_screening_strategy_resumes_exactly(model):
    strategy = make("evolution", seed=3, screen=6, screen_after=4, screen_model=model)
    run(strategy, 8)
    copy = make("evolution", seed=3, screen=6, screen_after=4, screen_model=model)
    copy.load_state_dict(strategy.state_dict())
    assert run(strategy, 5) == run(copy, 5)


def test_screening_options_are_checked():
    with pytest.raises(ValueError, match="screen_model"):
        make("random", screen=4, screen_model="oracle")
    with pytest.raises(ValueError, match="screen_after"):
        make("reinforce", screen=4, screen_after=1)
    assert make("random").screen is None and make("random", screen=1).screen is None
