"""A driver killed at random points (SIGKILL, as a lost machine would end it) over 20 runs:
each run resumed from its ledger ends with exactly the trials of a search never killed, none
lost, none repeated, none left running. Stateful evaluators that cannot be sent to workers
are refused by the parallel executors."""

import random

import pytest

from archsearch.config import DataSpec, SearchConfig
from archsearch.errors import UsageError
from archsearch.evaluation import EVALUATORS
from archsearch.execution import get_executor
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.strategies import get_strategy
from tests.execution.shared import (
    SPACE,
    SignallingEvaluator,
    api_search,
    kill_driver_at_random,
    outcome,
)
from tests.helpers import EncodingEvaluator

RUNS, TRIALS = 10, 8


@pytest.mark.parametrize("executor", ["inline", "pool"])
def test_a_driver_killed_at_random_points_resumes_with_no_trial_lost_or_repeated(
    tmp_path, executor
):
    (tmp_path / "busy").mkdir()
    evaluator = SignallingEvaluator(SPACE, tmp_path / "busy", delay=0.0)
    clean = outcome(api_search(get_executor("inline"), evaluator, TRIALS))
    rng, kills = random.Random(executor), 0
    options = {} if executor == "inline" else {"workers": 2}
    for _ in range(RUNS):
        path = kill_driver_at_random(tmp_path, rng, executor, trials=TRIALS)
        if path is None:  # it finished first
            continue
        kills += 1
        with Ledger(path) as ledger:
            trials = api_search(get_executor(executor, **options), evaluator, TRIALS, ledger)
            assert outcome(trials) == clean
            assert ledger.running() == []
    assert kills >= RUNS - 2


class Supernet(EncodingEvaluator):
    name = "test-supernet"
    parallel_safe = False


def test_an_evaluator_that_cannot_be_sent_to_workers_is_refused():
    strategy = get_strategy("random", SPACE, 0)
    pool = get_executor("pool", workers=1)
    with pytest.raises(ValueError, match="test-supernet evaluator .* --executor inline"):
        run_search(strategy, Supernet(SPACE), Ledger(":memory:"), Budget(1), 0, pool)
    EVALUATORS.register(Supernet)
    try:
        config = SearchConfig(
            DataSpec(dataset="iris"), evaluator="test-supernet", executor="pool", trials=1
        )
        with pytest.raises(UsageError, match="run it with --executor inline, not pool"):
            config.validate()
    finally:
        EVALUATORS.unregister("test-supernet")
