"""`nsga2` keeps the Pareto front of the objectives it reads from the results' metrics, ranks
by front and crowding, ignores failures, and finds better fronts than random search."""

import random

from archsearch.evaluation.result import Result
from archsearch.pareto import hypervolume
from archsearch.spaces.cell import NB201Space
from archsearch.strategies import get_strategy

SPACE = NB201Space()
CONVS = {"nor_conv_1x1": 1, "nor_conv_3x3": 9}
#: The hidden cell of the toy problem: accuracy is the share of edges that match it.
TARGET = SPACE.from_string(
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|"
    "nor_conv_1x1~2|"
)


def synthetic(arch):
    """A toy trade-off where good cells are rare: accuracy is the share of edges equal to
    TARGET's, the cost (as params) the convolution weight (1x1: 1, 3x3: 9)."""
    ops, wanted = SPACE.cell_ops(arch), SPACE.cell_ops(TARGET)
    accuracy = sum(ops[edge] == op for edge, op in wanted.items()) / len(wanted)
    weight = sum(CONVS.get(op, 0) for op in ops.values())
    return Result(accuracy, {"accuracy": accuracy, "params": float(weight)})


def test_population_members_and_ranks_follow_the_told_objectives():
    strategy = get_strategy("nsga2", SPACE, seed=0, population=3, objectives="accuracy,params")
    archs = [SPACE.sample(random.Random(i)) for i in range(5)]
    told = [
        Result(0.9, {"accuracy": 0.9, "params": 300}),  # front
        Result(0.5, {"accuracy": 0.5, "params": 10}),  # front: cheap, inaccurate
        Result(0.7, {"accuracy": 0.7, "params": 400}),  # beaten by the first
        Result.failed("broken", -0.1, params=1),  # never joins
        Result(0.8, {"accuracy": 0.8, "params": 100}),  # front, pushes the beaten one out
    ]
    for arch, result in zip(archs, told):
        strategy.tell(arch, result)
    kept = {arch.hash for arch, _ in strategy.population}
    assert kept == {archs[0].hash, archs[1].hash, archs[4].hash}
    assert {a.hash for a in strategy.front()} == kept
    strategy.tell(archs[0], told[0])  # a repeat: ignored
    assert len(strategy.population) == 3


def test_nsga2_finds_a_better_front_than_random_search():
    def front_volume(name, seed, budget=60):
        strategy = get_strategy(
            name, SPACE, seed=seed, **({"population": 6} if name == "nsga2" else {})
        )
        seen = {}
        while len(seen) < budget:
            arch = strategy.ask()
            result = synthetic(arch)
            strategy.tell(arch, result)
            seen[arch.hash] = (result.metrics["accuracy"], result.metrics["params"])
        return hypervolume(list(seen.values()), (0.0, 60.0), ("max", "min"))

    nsga2 = sum(front_volume("nsga2", seed) for seed in range(3))
    randomly = sum(front_volume("random", seed) for seed in range(3))
    assert nsga2 > randomly
