"""The scalarised (MnasNet) reward against hand computations, its failed child below every
working one, and the command line's objectives and targets checked in one line each."""

import pytest

from archsearch.config import DataSpec, SearchConfig
from archsearch.errors import UsageError
from archsearch.evaluation.objectives import objective_values, parse_objectives
from archsearch.evaluation.result import Result
from archsearch.evaluation.rewards import CostTargets, cost_targets, objective_reward
from archsearch.tasks.classification import Classification
from archsearch.tasks.regression import Regression

CLASSIFICATION = Classification(10)


def test_soft_targets_match_mnasnet_by_hand():
    costs = CostTargets({"params": 1e5}, weight=-0.07)
    # twice the target: 0.9 x 2^-0.07 = 0.9 x 0.952638... = 0.857374...
    assert costs.scalarise(0.9, {"params": 2e5}, CLASSIFICATION) == pytest.approx(0.857374, 1e-5)
    # half the target: a bonus, 0.9 x 0.5^-0.07 = 0.9 x 1.049717... = 0.944745...
    assert costs.scalarise(0.9, {"params": 5e4}, CLASSIFICATION) == pytest.approx(0.944745, 1e-5)
    # on target: the accuracy itself
    assert costs.scalarise(0.9, {"params": 1e5}, CLASSIFICATION) == pytest.approx(0.9)


def test_hard_targets_give_no_bonus_below_and_the_weight_above():
    costs = CostTargets({"latency": 10.0}, weight=-1.0, mode="hard")
    assert costs.scalarise(0.8, {"latency_ms": 5.0}, CLASSIFICATION) == pytest.approx(0.8)
    assert costs.scalarise(0.8, {"latency_ms": 20.0}, CLASSIFICATION) == pytest.approx(0.4)


def test_linear_targets_subtract_a_penalty_like_monas():
    costs = CostTargets({"params": 100.0, "flops": 10.0}, weight=-0.1, mode="linear")
    # 0.8 - 0.1 x ((300 / 100 - 1) + (5 / 10 - 1)) = 0.8 - 0.1 x 1.5 = 0.65
    metrics = {"params": 300.0, "flops": 5.0}
    assert costs.scalarise(0.8, metrics, CLASSIFICATION) == pytest.approx(0.65)
    assert costs.scalarise(0.8, {"params": 1e9, "flops": 1e9}, CLASSIFICATION) == 0.0


def test_several_targets_multiply():
    costs = CostTargets({"params": 100.0, "flops": 1000.0}, weight=-0.5)
    metrics = {"params": 400.0, "flops": 4000.0}  # 4^-0.5 twice: a quarter
    assert costs.scalarise(0.8, metrics, CLASSIFICATION) == pytest.approx(0.2)


def test_a_regression_score_is_scaled_above_its_floor():
    task = Regression()
    costs = CostTargets({"params": 100.0}, weight=-1.0)
    # floor -1: -1 + (0.5 - (-1)) x (200 / 100)^-1 = -1 + 1.5 / 2 = -0.25
    assert costs.scalarise(0.5, {"params": 200.0}, task) == pytest.approx(-0.25)
    # a cheaper network always scores higher than a dearer one of the same R²
    assert costs.scalarise(-0.5, {"params": 50.0}, task) > costs.scalarise(
        -0.5, {"params": 60.0}, task
    )


@pytest.mark.parametrize("mode", ["soft", "hard", "linear"])
@pytest.mark.parametrize("task", [Classification(10), Regression()])
def test_a_failed_child_stays_below_every_working_one(task, mode):
    costs = CostTargets({"params": 1.0, "flops": 1.0}, weight=-3.0, mode=mode)
    enormous = {"params": 1e12, "flops": 1e12}
    worst = costs.scalarise(task.reward_floor, enormous, task)
    assert task.failed_reward < worst
    assert worst == task.reward_floor


def test_objective_reward_records_the_accuracy_before_the_costs():
    metrics = {"params": 2e5}
    reward = objective_reward(0.9, metrics, CLASSIFICATION, CostTargets({"params": 1e5}, -1.0))
    assert reward == pytest.approx(0.45) and metrics["accuracy"] == 0.9
    assert objective_reward(0.7, {}, CLASSIFICATION, None) == 0.7


def test_objectives_are_read_from_metrics():
    assert parse_objectives(" accuracy,latency ") == ("accuracy", "latency")
    result = Result(0.4, {"accuracy": 0.9, "latency_ms": 3.0})
    assert objective_values(result, ("accuracy", "latency", "flops")) == (0.9, 3.0, float("inf"))
    assert objective_values(Result(0.4), ("accuracy",)) == (0.4,)  # no metric: the reward
    for bad in ("accuracy,size", "accuracy,accuracy", ""):
        with pytest.raises(ValueError):
            parse_objectives(bad)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"objectives": "accuracy,size"}, "unknown objective(s) size"),
        ({"target_flops": 1e6}, "--target-flops needs flops among the objectives"),
        ({"objectives": "accuracy,flops", "target_flops": -1.0}, "must be positive"),
        ({"objectives": "accuracy,flops", "target_flops": 1e6, "cost_weight": 0.1}, "negative"),
        ({"cost_constraint": "medium"}, "unknown cost constraint"),
        ({"strategy": "nsga2"}, "give two or more --objectives"),
        (
            {"strategy": "nsga2", "objectives": "accuracy,params",
             "strategy_options": {"objectives": "accuracy,flops"}},
            "does not record",
        ),
    ],
)  # fmt: skip
def test_impossible_objective_settings_are_one_line_usage_errors(settings, message):
    config = SearchConfig(data=DataSpec(dataset="iris"), **settings)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.validate()


def test_a_pareto_strategy_gets_the_runs_objectives():
    config = SearchConfig(strategy="nsga2", objectives="accuracy,flops,latency")
    assert config.strategy_settings() == {"objectives": "accuracy,flops,latency"}
    given = SearchConfig(strategy="nsga2", strategy_options={"population": 5})
    given.objectives = "params,accuracy"
    assert given.strategy_settings() == {"population": 5, "objectives": "params,accuracy"}
    assert SearchConfig(strategy="random").strategy_settings() == {}
    assert cost_targets(("accuracy",), {"params": None}) == CostTargets({}, -0.07, "soft")
