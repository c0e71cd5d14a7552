"""Pareto dominance: fronts, NSGA-II's sorting and crowding, hypervolume, and the ledger's
front, each against a hand computation."""

import math
import random

import pytest

from archsearch.evaluation.result import Result
from archsearch.ledger import Ledger, Trial
from archsearch.pareto import crowding_distance, hypervolume, non_dominated_sort, pareto_indices
from archsearch.spaces.mlp import MLPSpace

MAX_MIN = ("max", "min")
#: (accuracy, params). By hand: 2 is beaten by 1 (less accurate and dearer), 3 by 0; 4 equals
#: 0 (a tie dominates neither, both stay); 5 is the cheapest. Front: 0, 1, 4, 5.
POINTS = [(0.9, 300), (0.8, 100), (0.7, 200), (0.85, 400), (0.9, 300), (0.6, 50)]


def test_the_front_of_a_hand_made_set():
    assert pareto_indices(POINTS, MAX_MIN) == [0, 1, 4, 5]
    assert pareto_indices([], MAX_MIN) == []
    # all minimised: (1, 5) and (5, 1) and (2, 2) are non-dominated, (3, 3) is beaten by (2, 2)
    assert pareto_indices([(1, 5), (3, 3), (5, 1), (2, 2)], ("min", "min")) == [0, 2, 3]


def test_non_dominated_sort_peels_fronts_in_order():
    assert non_dominated_sort(POINTS, MAX_MIN) == [[0, 1, 4, 5], [2, 3]]
    chain = [(1, 1), (2, 2), (3, 3)]  # each dominates the previous one (maximised)
    assert non_dominated_sort(chain, ("max", "max")) == [[2], [1], [0]]


def test_crowding_distance_by_hand():
    front = [(0.0, 4.0), (1.0, 3.0), (3.0, 1.0), (4.0, 0.0)]
    distance = crowding_distance(front)
    assert distance[0] == distance[3] == math.inf
    # point 1: (3 - 0) / 4 on x, (4 - 1) / 4 on y; point 2: (4 - 1) / 4 twice
    assert distance[1] == pytest.approx(1.5) and distance[2] == pytest.approx(1.5)
    assert crowding_distance([(1.0, math.inf), (2.0, math.inf), (3.0, math.inf)])[1] == 1.0


def test_hypervolume_by_hand():
    # maximise both, reference (0, 0): the union of boxes 3x1, 2x2, 1x3 = 3 + 2 + 1 = 6
    assert hypervolume([(3, 1), (2, 2), (1, 3)], (0, 0), ("max", "max")) == pytest.approx(6)
    # a dominated point adds nothing; a point not beyond the reference adds nothing
    extra = [(3, 1), (2, 2), (1, 3), (1, 1), (5, -1)]
    assert hypervolume(extra, (0, 0), ("max", "max")) == pytest.approx(6)
    # (accuracy max, params min), reference (0, 10): boxes 0.5 x 8 and 0.9 x 5 overlap in
    # 0.5 x 5: 4 + 4.5 - 2.5 = 6
    assert hypervolume([(0.5, 2), (0.9, 5)], (0, 10), MAX_MIN) == pytest.approx(6)
    # three objectives, two unit-overlapping boxes: 2*2*1 + 1*1*2 - 1*1*1 = 5
    cube = hypervolume([(2, 2, 1), (1, 1, 2)], (0, 0, 0), ("max",) * 3)
    assert cube == pytest.approx(5)


def test_the_ledger_lists_the_pareto_front_of_its_working_trials():
    space = MLPSpace(max_layers=1, widths=(8, 16), activations=("relu",), dropouts=())
    arch = space.sample(random.Random(0))
    rows = [
        Result(0.9, {"accuracy": 0.9, "params": 300, "flops": 10}),
        Result(0.8, {"accuracy": 0.8, "params": 100, "flops": 30}),
        Result(0.7, {"accuracy": 0.7, "params": 200, "flops": 40}),
        Result.failed("broken", -0.1, params=1),  # cheapest, but failed: never on the front
    ]
    with Ledger(":memory:") as ledger:
        for number, result in enumerate(rows):
            ledger.record(Trial(number, arch, result, seed=number), {})
        assert [t.number for t in ledger.pareto(("accuracy", "params"))] == [0, 1]
        assert [t.number for t in ledger.pareto(("accuracy", "params", "flops"))] == [0, 1]
        assert [t.number for t in ledger.pareto(("params", "flops"))] == [0, 1]
        assert [t.number for t in ledger.pareto(("accuracy",))] == [0]
