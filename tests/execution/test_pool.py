"""The pool executor: the inline executor's ledger with one worker, every trial once with
two, the same after a resume (which keeps the pool's flags), a worker killed mid-trial
retried or failed."""

import json
import re

import pytest

from archsearch.cli import main
from archsearch.execution import get_executor
from archsearch.loop import trial_seed
from tests.execution.shared import (
    SPACE,
    DyingEvaluator,
    ObservingEvaluator,
    api_search,
    check_random_worker_kills,
    cli_search,
    running_rows,
)
from tests.helpers import trials_of


def test_one_worker_gives_the_inline_ledger_and_two_record_every_trial_once(tmp_path):
    inline = cli_search(tmp_path / "inline", 4)
    assert cli_search(tmp_path / "one", 4, "--executor", "pool", "--workers", 1) == inline
    two = cli_search(tmp_path / "two", 4, "--executor", "pool", "--workers", 2)
    assert [t[0] for t in two] == [0, 1, 2, 3]
    assert two == inline  # random proposals do not depend on results: the same trials
    short = cli_search(tmp_path / "short", 2, "--executor", "pool", "--workers", 2)
    assert short == inline[:2]
    assert main(["search", "--resume", str(tmp_path / "short"), "--trials", "4"]) == 0
    assert trials_of(tmp_path / "short") == inline  # resumed on the pool it was started with
    config = json.loads((tmp_path / "short" / "config.json").read_text())
    assert config["executor"] == "pool" and config["executor_options"] == {"workers": 2}


@pytest.mark.parametrize("once", [True, False])
def test_a_worker_killed_mid_trial_is_retried_then_failed(tmp_path, once):
    marker = tmp_path / "killed" if once else None
    evaluator = DyingEvaluator(SPACE, trial_seed(0, 2), marker, delay=0.05)
    executor = get_executor("pool", workers=2, retries=1)
    trials = api_search(executor, evaluator, 6)
    assert [t.number for t in trials] == list(range(6))
    victim = trials[2]
    assert victim.result.ok == once
    if not once:
        assert "died during this trial 2 times" in victim.result.reason
    assert all(t.result.ok for t in trials if t.number != 2)


def test_the_pool_restarts_for_a_new_evaluator_and_closes(tmp_path):
    executor = get_executor("pool", workers=1)
    first = api_search(executor, DyingEvaluator(SPACE, victim=-1), 2)
    second = api_search(executor, DyingEvaluator(SPACE, victim=-1), 2)
    assert [t.result.reward for t in first] == [t.result.reward for t in second]


def test_workers_killed_at_random_points_lose_and_repeat_no_trial(tmp_path):
    check_random_worker_kills("pool", tmp_path / "busy")


def test_the_ledger_shows_each_running_trial_with_its_worker_and_start(tmp_path):
    # the trials wait for both freshly spawned workers (each imports torch; on 2 busy cores
    # one started over 4 s after the other): a trial no worker has taken is rightly "queued"
    rows = running_rows("pool", tmp_path / "arrived")
    assert rows and all(re.fullmatch(r"pool worker pid \d+", r.worker) for r in rows)


def test_workers_see_what_the_evaluator_learned_in_the_driver():
    executor = get_executor("pool", workers=1)
    trials = api_search(executor, ObservingEvaluator(SPACE), 4)
    assert [t.result.metrics["observed"] for t in trials] == [0, 1, 2, 3]
