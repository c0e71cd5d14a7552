"""The search loop and the ledger: budget, dedupe, failures, exact resume."""

import random
import sqlite3

import pytest

from archsearch.evaluation.result import Result
from archsearch.ledger import Ledger, Trial
from archsearch.loop import Budget, run_search
from archsearch.spaces.mlp import MLPSpace
from archsearch.strategies import get_strategy
from archsearch.tasks.classification import Classification
from tests.helpers import EncodingEvaluator

SPACE = MLPSpace(max_layers=3, widths=(8, 16), activations=("relu", "tanh"), dropouts=())


def test_records_every_trial_with_its_result(tmp_path):
    evaluator = EncodingEvaluator(SPACE)
    with Ledger(tmp_path / "l.sqlite") as ledger:
        assert (
            run_search(get_strategy("random", SPACE, 1), evaluator, ledger, Budget(8), 1)
            == "budget"
        )
        trials = list(ledger)
    assert [t.number for t in trials] == list(range(8))
    assert len({t.arch.hash for t in trials}) == 8  # no architecture evaluated twice
    assert [t.arch for t in trials] == evaluator.calls
    assert len({t.seed for t in trials}) == 8
    rows = sqlite3.connect(tmp_path / "l.sqlite").execute("SELECT COUNT(*) FROM trials").fetchone()
    assert rows == (8,)


def test_known_architectures_are_told_not_reevaluated():
    space = MLPSpace(max_layers=1, widths=(8, 16), activations=("relu",), dropouts=())
    evaluator = EncodingEvaluator(space)
    ledger = Ledger(":memory:")
    stopped = run_search(get_strategy("random", space, 0), evaluator, ledger, Budget(5), 0)
    assert stopped == "converged"  # only 2 architectures exist
    assert len(ledger) == 2 and len(evaluator.calls) == 2


def test_failed_trials_are_recorded_and_the_search_goes_on():
    first = get_strategy("random", SPACE, 0).ask()  # what a fresh strategy proposes first
    ledger = Ledger(":memory:")
    strategy = get_strategy("random", SPACE, 0)
    run_search(strategy, EncodingEvaluator(SPACE, fail={first.hash}), ledger, Budget(4), 0)
    trials = list(ledger)
    assert trials[0].arch == first
    assert trials[0].result.status == "failed" and trials[0].result.reason == "told to fail"
    assert trials[0].result.reward == Classification(2).failed_reward < 0.0
    assert len(trials) == 4 and ledger.best().result.ok


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    full = Ledger(":memory:")
    run_search(get_strategy("random", SPACE, 5), EncodingEvaluator(SPACE), full, Budget(10), 5)
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        run_search(get_strategy("random", SPACE, 5), EncodingEvaluator(SPACE), ledger, Budget(4), 5)
    with Ledger(path) as ledger:  # a fresh process would start from a fresh strategy
        run_search(
            get_strategy("random", SPACE, 5), EncodingEvaluator(SPACE), ledger, Budget(10), 5
        )
        resumed = list(ledger)
    expected = list(full)
    assert [t.arch for t in resumed] == [t.arch for t in expected]
    assert [t.seed for t in resumed] == [t.seed for t in expected]


def test_time_budget_stops_the_search():
    ledger = Ledger(":memory:")
    stopped = run_search(
        get_strategy("random", SPACE, 0),
        EncodingEvaluator(SPACE),
        ledger,
        Budget(trials=None, seconds=1e-9),
        0,
    )
    assert stopped == "time" and len(ledger) == 0


def test_budget_needs_a_limit():
    with pytest.raises(ValueError, match="needs a number of trials"):
        Budget()
    with pytest.raises(ValueError, match="at least 1"):
        Budget(0)


def test_ledger_roundtrip_and_state_loads_with_weights_only(tmp_path):
    arch = SPACE.sample(random.Random(2))
    result = Result(0.5, {"val_accuracy": 0.5, "params": 10}, [{"epoch": 1, "val_accuracy": 0.5}])
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.record(
            Trial(0, arch, result, 7, {"entropy": 1.5}), {"rng": random.Random(1).getstate()}
        )
    with Ledger(tmp_path / "l.sqlite") as ledger:
        (trial,) = list(ledger)
        assert trial.arch == arch and trial.result == result and trial.stats == {"entropy": 1.5}
        assert ledger.find(arch).number == 0
        state = ledger.load_state()
    rng = random.Random()
    rng.setstate((state["rng"][0], tuple(state["rng"][1]), state["rng"][2]))
    assert rng.random() == random.Random(1).random()


def test_the_evaluators_state_survives_a_resume(tmp_path):
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        first = EncodingEvaluator(SPACE)
        run_search(get_strategy("random", SPACE, 5), first, ledger, Budget(4), 5)
        assert first.count == 4
    with Ledger(path) as ledger:  # a new process: fresh strategy and evaluator
        second = EncodingEvaluator(SPACE)
        run_search(get_strategy("random", SPACE, 5), second, ledger, Budget(10), 5)
        assert second.count == 10  # it went on counting from the saved 4
        assert ledger.load_state()["evaluator"] == {"count": 10}
