"""FLOPs, parameters and latency of child networks (`evaluation/cost.py`) against hand counts,
and the costs an evaluator records in a multi-objective run."""

import random

import pytest
import torch
from torch import nn

from archsearch.evaluation.base import Context
from archsearch.evaluation.cost import (
    add_costs,
    count_flops,
    count_params,
    measure_costs,
    measure_latency,
)
from archsearch.evaluation.result import Result
from archsearch.evaluation.rewards import CostTargets
from archsearch.evaluation.tabular import TabularEvaluator
from archsearch.spaces.cell import NB201Space
from archsearch.spaces.mlp import MLPSpace
from archsearch.tasks.base import OutputSpec
from archsearch.tasks.classification import Classification
from tests.evaluation.test_tabular import ROWS, write_table


def small_net():
    """Input 1x4x4: conv 3x3 (2 filters, padding 1) -> BN -> ReLU -> max-pool 2 -> linear 8->3."""
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.BatchNorm2d(2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8, 3),
    )


def test_flops_and_params_of_a_small_conv_net_match_a_hand_count():
    # conv: 2x4x4 = 32 outputs x (1 channel x 9) = 288; BN: 2 x 32 = 64;
    # max-pool: 2x2x2 = 8 outputs x 4 = 32; linear: 3 outputs x 8 inputs = 24. Total 408.
    model = small_net()
    assert count_flops(model, (1, 4, 4)) == 288 + 64 + 32 + 24
    # conv 2x9 + 2 biases, BN 2 + 2, linear 8x3 + 3
    assert count_params(model) == 20 + 4 + 27
    assert model.training  # its mode is restored


def test_grouped_convolutions_adaptive_pooling_and_1d_layers():
    model = nn.Sequential(nn.Conv2d(4, 4, 3, groups=2), nn.AdaptiveAvgPool2d(1))
    # conv: 4x2x2 = 16 outputs x (4 / 2 channels x 9) = 288; adaptive pool: 16 inputs
    assert count_flops(model, (4, 4, 4)) == 288 + 16
    one_d = nn.Sequential(nn.Conv1d(2, 3, 3), nn.AvgPool1d(2))
    # conv: 3 x 4 = 12 outputs x (2 x 3) = 72; pool: 3 x 2 = 6 outputs x 2 = 12
    assert count_flops(one_d, (2, 6)) == 72 + 12


def test_latency_is_a_positive_median_of_milliseconds():
    assert measure_latency(small_net(), (1, 4, 4), warmup=1, repeats=3) > 0


def test_measure_costs_builds_the_spaces_network_and_leaves_the_seed_alone():
    space = MLPSpace(max_layers=1, widths=(8,), activations=("relu",), dropouts=())
    arch = space.sample(random.Random(0))
    torch.manual_seed(3)
    expected = torch.rand(1)
    torch.manual_seed(3)
    costs = measure_costs(space, arch, (5,), OutputSpec((2,)))
    assert torch.rand(1) == expected
    # 5 -> 8 -> 2: 40 + 16 multiply-adds; 48 + 18 parameters with biases
    assert costs["flops"] == 56 and costs["params"] == 66 and costs["latency_ms"] > 0
    assert costs["params"] == space.count_params(arch, (5,), OutputSpec((2,)))


def test_add_costs_records_costs_only_in_a_multiobjective_run_and_never_for_failures():
    space = MLPSpace(max_layers=1, widths=(8,), activations=("relu",), dropouts=())
    arch, output = space.sample(random.Random(0)), OutputSpec((2,))
    single = Context(space, Classification(2))
    assert add_costs(Result(0.5), single, arch, (5,), output).metrics == {}
    multi = Context(space, Classification(2), objectives=("accuracy", "flops"))
    failed = Result.failed("broken", -0.1)
    assert add_costs(failed, multi, arch, (5,), output).metrics == {}
    result = add_costs(Result(0.5), multi, arch, (5,), output)
    assert result.reward == 0.5 and result.metrics["accuracy"] == 0.5
    assert {"flops", "latency_ms", "params"} <= set(result.metrics)
    costs = CostTargets({"flops": 28.0}, weight=-1.0)
    targeted = Context(space, Classification(2), objectives=("accuracy", "flops"), costs=costs)
    scaled = add_costs(Result(0.5), targeted, arch, (5,), output)
    assert scaled.reward == pytest.approx(0.5 * (56 / 28) ** -1)  # 0.25
    assert scaled.metrics["accuracy"] == 0.5


def test_the_tabular_evaluator_records_flops_and_latency_of_the_cell(tmp_path):
    space = NB201Space()
    context = Context(space, Classification(10), objectives=("accuracy", "params", "flops"))
    evaluator = TabularEvaluator(context, table=str(write_table(tmp_path / "t.csv")))
    results = [evaluator.evaluate(space.from_string(row[3]), seed=0) for row in ROWS]
    assert all(r.ok and r.metrics["accuracy"] == r.reward for r in results)
    assert all(r.metrics["flops"] > 0 and r.metrics["latency_ms"] > 0 for r in results)
    empty, full = results[1].metrics, results[2].metrics  # all-none cell, a conv-heavy one
    assert empty["flops"] < full["flops"] and empty["params"] < full["params"]
