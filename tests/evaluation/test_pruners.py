"""Pruners on hand-made curves: the median rule, ASHA's rungs, the learning-curve predictor
(Baker et al. 2017), the reward of a pruned child, and their state."""

import math

import numpy as np
import pytest

from archsearch.evaluation.predictors import CurvePredictor, curve_features
from archsearch.evaluation.pruners import PRUNERS, get_pruner


def finished(pruner, *curves, status="ok"):
    for curve in curves:
        pruner.observe(curve, status, reward=curve[-1])
    return pruner


EARLIER = ([0.5, 0.6, 0.7], [0.4, 0.5, 0.6], [0.6, 0.7, 0.8], [0.3, 0.4, 0.5], [0.7, 0.8, 0.9])


def test_median_stops_a_child_below_the_median_at_the_same_epoch_and_not_one_above():
    pruner = finished(get_pruner("median", 3, {"warmup_epochs": 1, "min_trials": 5}), *EARLIER)
    # the median of the earlier best scores at epoch 2 is 0.6
    assert "below the median 0.6000" in pruner.check([0.45, 0.55])
    assert pruner.check([0.5, 0.65]) == ""
    assert pruner.check([0.1]) == ""  # epoch 1 is the warm-up
    # best-so-far counts: a child that reached 0.62 at epoch 1 is not below 0.6
    assert pruner.check([0.62, 0.5]) == ""


def test_median_waits_for_enough_finished_children_and_ignores_pruned_ones():
    pruner = finished(get_pruner("median", 3, {"warmup_epochs": 0, "min_trials": 5}), *EARLIER[:4])
    finished(pruner, [0.9, 0.95], status="pruned")  # pruned curves are not in the median
    assert pruner.check([0.0, 0.0]) == ""
    finished(pruner, EARLIER[4])
    assert pruner.check([0.0, 0.0]) != ""


def test_asha_rungs_are_min_epochs_times_powers_of_eta_below_the_full_training():
    assert get_pruner("asha", 27).rungs() == [1, 3, 9]
    assert get_pruner("asha", 10).rungs() == [1, 3, 9]
    assert get_pruner("asha", 10, {"min_epochs": 2, "eta": 2}).rungs() == [2, 4, 8]
    assert get_pruner("asha", 1).rungs() == []


def test_asha_keeps_the_top_one_over_eta_at_a_rung_and_judges_only_there():
    pruner = get_pruner("asha", 9, {"min_epochs": 1, "eta": 3, "min_trials": 3})
    # five earlier children reached rung 1 (two were pruned there): scores .1 .2 .3 .4 .5
    finished(pruner, [0.1], [0.2], status="pruned")
    finished(pruner, [0.3, 0.3, 0.3], [0.4, 0.4, 0.5], [0.5, 0.6, 0.7])
    # with the child, 6 scores at rung 1: the best 6 // 3 = 2 train on (>= 0.45 here)
    assert pruner.check([0.45]) == ""
    assert "top 2 of 6" in pruner.check([0.35])
    assert pruner.check([0.0, 0.0]) == ""  # epoch 2 is no rung
    # rung 3: only three earlier children reached it: 4 scores, keep the best one
    assert pruner.check([0.9, 0.9, 0.71]) == ""
    assert pruner.check([0.9, 0.9, 0.69]) != ""


def test_asha_lets_every_child_pass_a_rung_before_min_trials_reached_it():
    pruner = finished(get_pruner("asha", 9, {"min_trials": 3}), [0.9, 0.9], [0.8, 0.8])
    assert pruner.check([0.0]) == ""
    finished(pruner, [0.7])
    assert pruner.check([0.0]) != ""


def test_asha_counting_flops_judges_a_costly_child_against_what_others_reached_on_its_compute():
    pruner = get_pruner("asha", 9, {"resource": "flops", "min_trials": 3})
    assert pruner.needs_cost
    # three earlier children costing 1 (the median, so one unit = one epoch of cost 1)
    for final in (0.5, 0.6, 0.7):
        pruner.observe([final - 0.2, final - 0.1, final], "ok", final, cost=1.0)
    # a child of cost 3 crosses rungs 1 and 3 in its first epoch; at rung 3 the others had
    # their final 0.5, 0.6, 0.7 (epoch 3 of 3): with its 0.65, 4 scores, keep the best one
    assert "rung 3 (epoch 1)" in pruner.check([0.65], cost=3.0)
    assert pruner.check([0.75], cost=3.0) == ""
    # judged by epochs, the same 0.65 would meet the others' epoch-1 scores and pass
    by_epochs = get_pruner("asha", 9, {"min_trials": 3})
    for final in (0.5, 0.6, 0.7):
        by_epochs.observe([final - 0.2, final - 0.1, final], "ok", final)
    assert by_epochs.check([0.65]) == ""


def test_asha_counting_flops_waits_until_a_cheap_child_has_spent_a_rungs_compute():
    pruner = get_pruner("asha", 9, {"resource": "flops", "min_trials": 3})
    for final in (0.5, 0.6, 0.7):
        pruner.observe([final] * 9, "ok", final, cost=2.0)
    # a child of cost 1 reaches rung 1 (2 FLOP-epochs) at its epoch 2, not at epoch 1
    assert pruner.check([0.0], cost=1.0) == ""
    assert "rung 1 (epoch 2)" in pruner.check([0.0, 0.0], cost=1.0)
    # a pruned child that stopped short of a rung is not among the scores there
    pruner.observe([0.9], "pruned", 0.9, cost=0.1)
    assert pruner.check([0.0, 0.0], cost=1.0).endswith("top 1 of 4 children there (>= 0.7000)")
    # the cost is part of the state that resume restores
    copy = get_pruner("asha", 9, {"resource": "flops"})
    copy.load_state_dict(pruner.state_dict())
    assert [h["cost"] for h in copy.history] == [2.0, 2.0, 2.0, 0.1]


def saturating(ceiling, epochs=8, rate=3.0):
    """A learning curve rising to `ceiling`."""
    return [ceiling * (1 - math.exp(-t / rate)) for t in range(1, epochs + 1)]


@pytest.fixture(scope="module")
def predictor_pruner():
    rng = np.random.default_rng(100)
    pruner = get_pruner("predictor", 8, {"confidence": 0.95, "warmup_epochs": 2})
    for ceiling in rng.uniform(0.5, 0.95, 20):
        curve = [s + rng.normal(0, 0.005) for s in saturating(ceiling)]
        pruner.observe(curve, "ok", curve[-1], features=[1.0])
    return pruner


def test_the_predictor_stops_a_clearly_worse_child_and_not_a_clearly_better_one(
    predictor_pruner,
):
    worse, better = saturating(0.4), saturating(0.99)
    assert "predicted final score" in predictor_pruner.check(worse[:3], [1.0])
    assert predictor_pruner.check(better[:3], [1.0]) == ""
    assert predictor_pruner.check(worse[:2], [1.0]) == ""  # still in its warm-up


def test_the_predictor_needs_min_trials_finished_children():
    pruner = get_pruner("predictor", 8, {"min_trials": 8})
    for ceiling in (0.6, 0.7, 0.8, 0.9, 0.95):
        pruner.observe(saturating(ceiling), "ok", ceiling, features=[1.0])
    assert pruner.check(saturating(0.1)[:4], [1.0]) == ""


def test_curve_predictor_learns_a_final_score_with_a_cross_validated_error():
    rng = np.random.default_rng(101)
    ceilings = rng.uniform(0.5, 0.95, 30)
    x = [curve_features(saturating(c)[:3]) for c in ceilings]
    model = CurvePredictor(seed=0).fit(x, [saturating(c)[-1] for c in ceilings])
    assert abs(model.predict(curve_features(saturating(0.7)[:3])) - saturating(0.7)[-1]) < 0.05
    assert 0 < model.error < 0.05
    assert curve_features([0.1, 0.3, 0.4], [7.0]) == pytest.approx(
        [0.1, 0.3, 0.4, 0.2, 0.1, -0.1, 7.0]
    )


def test_a_pruned_childs_reward_is_capped_by_finished_children_better_at_its_epoch():
    pruner = get_pruner("median", 3)
    pruner.observe([0.5, 0.6, 0.55], "ok", reward=0.55)  # better at epoch 2, ended lower
    pruner.observe([0.2, 0.3, 0.9], "ok", reward=0.9)  # worse at epoch 2: no cap
    assert pruner.cap(0.58, [0.4, 0.58]) == 0.55
    assert pruner.cap(0.2, [0.1, 0.2]) == 0.2


def test_pruner_state_round_trips_and_none_remembers_nothing(predictor_pruner):
    copy = get_pruner("predictor", 8)
    copy.load_state_dict(predictor_pruner.state_dict())
    assert copy.history == predictor_pruner.history
    assert copy.check(saturating(0.4)[:3], [1.0]) == predictor_pruner.check(
        saturating(0.4)[:3], [1.0]
    )
    none = get_pruner("none", 3)
    none.observe([0.1], "ok", 0.1)
    assert none.state_dict() == {} and none.check([0.0, 0.0]) == ""
    assert set(PRUNERS.names()) >= {"none", "median", "asha", "predictor"}


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("median", {"warmup_epochs": -1}, "warmup_epochs must lie in"),
        ("asha", {"eta": 1}, "eta must lie in"),
        ("predictor", {"confidence": 1.0}, "confidence must lie in"),
        ("median", {"bogus": 1}, "unknown option"),
        ("asha", {"resource": "seconds"}, "resource='seconds' is not one of epochs, flops"),
    ],
)
def test_bad_pruner_options_are_value_errors(name, options, message):
    with pytest.raises(ValueError, match=message):
        get_pruner(name, 5, options)
