"""Regularized evolution and the genetic algorithm: their populations and their offspring."""

import random

import pytest

from archsearch.evaluation.result import Result
from archsearch.spaces.cell import NB201Space
from archsearch.strategies import get_strategy
from archsearch.strategies.evolution import Evolution, Genetic

SPACE = NB201Space()


def convs(arch):
    """A synthetic reward with one optimum: the share of edges that are 3x3 convolutions."""
    return sum(v == "nor_conv_3x3" for _, v in arch.values) / 6


def differing(a, b):
    return [k for k, v in a.values if b[k] != v]


def test_evolution_starts_random_then_mutates_tournament_winners():
    strategy = Evolution(SPACE, seed=1, population=8, sample=3)
    rng = random.Random(1)
    for _ in range(8):  # filling the population: plain samples, from the same generator
        arch = strategy.ask()
        assert arch == SPACE.sample(rng)
        strategy.tell(arch, Result(convs(arch)))
    for _ in range(30):
        members = [a for a, _ in strategy.population]
        child = strategy.ask()
        assert any(len(differing(child, m)) == 1 for m in members)
        strategy.tell(child, Result(convs(child)))


def test_evolution_ages_out_the_oldest_even_when_it_is_the_best():
    strategy = Evolution(SPACE, population=3, sample=2)
    archs = [SPACE.sample(random.Random(i)) for i in range(4)]
    for arch, reward in zip(archs, (0.99, 0.1, 0.2, 0.3)):
        strategy.tell(arch, Result(reward))
    assert [a for a, _ in strategy.population] == archs[1:]


def test_genetic_keeps_the_best_distinct_architectures():
    strategy = Genetic(SPACE, population=3, tournament=2)
    archs = [SPACE.sample(random.Random(i)) for i in range(5)]
    for arch, reward in zip(archs, (0.5, 0.9, 0.1, 0.7, 0.6)):
        strategy.tell(arch, Result(reward))
    strategy.tell(archs[1], Result(0.9))  # a repeat changes nothing
    assert strategy.population == [(archs[1], 0.9), (archs[3], 0.7), (archs[4], 0.6)]


def test_genetic_children_combine_their_parents():
    strategy = Genetic(SPACE, seed=2, population=6, tournament=2, mutation=0.0)
    for _ in range(6):
        arch = strategy.ask()
        strategy.tell(arch, Result(convs(arch)))
    members = [a for a, _ in strategy.population]
    names = [d.name for d in SPACE.decisions]
    for _ in range(20):
        child = strategy.ask()
        SPACE.validate(child)
        spliced = any(
            all(child[n] in (p[n], q[n]) for n in names) for p in members for q in members
        )
        mutated = any(len(differing(child, m)) == 1 for m in members)
        assert spliced or mutated  # a crossover, or the mutation of one equal to a parent


@pytest.mark.parametrize("name", ["evolution", "genetic"])
def test_beats_random_search_on_a_synthetic_problem(name):
    def best_after(strategy_name, seed, queries=80):
        strategy = get_strategy(strategy_name, SPACE, seed=seed)
        seen = {}
        while len(seen) < queries:  # count distinct queries, as the search loop does
            arch = strategy.ask()
            seen.setdefault(arch, convs(arch))
            strategy.tell(arch, Result(seen[arch]))
        return max(seen.values())

    ours = sum(best_after(name, s) for s in range(5))
    baseline = sum(best_after("random", s) for s in range(5))
    assert ours > baseline


@pytest.mark.parametrize(
    "cls, options",
    [(Evolution, {"population": 3, "sample": 4}), (Genetic, {"mutation": 2.0})],
)
def test_bad_options_are_rejected(cls, options):
    with pytest.raises(ValueError):
        cls(SPACE, **options)
