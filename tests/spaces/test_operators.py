"""The operators strategies rely on — mutation, crossover, neighbours — never leave the space."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.spaces.cell import NB201Space
from archsearch.spaces.cnn import CNNSpace
from archsearch.spaces.darts import DartsSpace
from archsearch.spaces.enas import ENASSpace
from archsearch.spaces.mlp import MLPSpace

SPACES = {
    "mlp": MLPSpace(max_layers=4, widths=(8, 16, 32)),
    "mlp-one-layer": MLPSpace(max_layers=1, widths=(8,), activations=("relu",), dropouts=()),
    "cnn": CNNSpace(layers=4, strides=(1, 2), pooling=True),
    "enas": ENASSpace(layers=5),
    "nb201": NB201Space(),
    "darts": DartsSpace(),
}
#: Spaces whose decisions are all always active: an operator's effect is exact there.
FLAT = ("cnn", "nb201", "enas", "darts")
SEEDS = st.integers(0, 2**32 - 1)


def differing(a, b):
    da, db = a.as_dict(), b.as_dict()
    return [k for k in da.keys() | db.keys() if da.get(k) != db.get(k)]


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=60, deadline=None)
@given(seed=SEEDS)
def test_mutation_stays_in_the_space_and_changes_one_decision(name, seed):
    space, rng = SPACES[name], random.Random(seed)
    arch = space.sample(rng)
    child = space.mutate(arch, rng)
    space.validate(child)
    if space.size() > 1:
        assert child != arch
    if name in FLAT:
        assert len(differing(arch, child)) == 1


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=60, deadline=None)
@given(seed=SEEDS)
def test_crossover_stays_in_the_space_and_takes_a_prefix_and_a_suffix(name, seed):
    space, rng = SPACES[name], random.Random(seed)
    a, b = space.sample(rng), space.sample(rng)
    child = space.crossover(a, b, rng)
    space.validate(child)
    if name in FLAT:
        names = [d.name for d in space.decisions]
        source = ["a" if child[n] == a[n] else "b" for n in names if a[n] != b[n]]
        assert source == sorted(source), "genes from a, then genes from b: one cut point"


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=20, deadline=None)
@given(seed=SEEDS)
def test_neighbours_stay_in_the_space_and_are_distinct(name, seed):
    space = SPACES[name]
    arch = space.sample(random.Random(seed))
    neighbours = space.neighbours(arch)
    for n in neighbours:
        space.validate(n)
    assert arch not in neighbours
    assert len(set(neighbours)) == len(neighbours)
    if name == "nb201":
        assert len(neighbours) == 6 * 4
        assert all(len(differing(arch, n)) == 1 for n in neighbours)
