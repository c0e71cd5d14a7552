"""The Ray executor on a real local Ray (started once for the module): the inline ledger
with one worker, every trial once with two, a worker killed mid-trial retried or failed,
workers killed at random points over 20 runs, where each running trial runs, the driver's
evaluator state in the workers, and the install hint without Ray."""

import re
import subprocess
import sys

import pytest

from archsearch.execution import get_executor
from archsearch.loop import trial_seed
from tests.execution import shared
from tests.execution.shared import (
    SPACE,
    DyingEvaluator,
    ObservingEvaluator,
    api_search,
    check_random_worker_kills,
    cli_search,
    running_rows,
)

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One small local Ray for every test here (Ray starts slowly); the executors join it."""
    import cloudpickle

    import tests.helpers

    for module in (shared, tests.helpers):  # Ray's workers may not find the tests package
        cloudpickle.register_pickle_by_value(module)
    ray.init(
        "local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR"
    )
    yield
    ray.shutdown()


def test_one_worker_gives_the_inline_ledger_and_two_record_every_trial_once(tmp_path):
    inline = cli_search(tmp_path / "inline", 4)
    assert cli_search(tmp_path / "one", 4, "--executor", "ray", "--workers", 1) == inline
    two = cli_search(tmp_path / "two", 4, "--executor", "ray", "--workers", 2)
    assert [t[0] for t in two] == [0, 1, 2, 3]
    assert two == inline
    assert ray.is_initialized()  # joined, not started, so not shut down by the executor


@pytest.mark.parametrize("once", [True, False])
def test_a_worker_killed_mid_trial_is_retried_then_failed(tmp_path, once):
    marker = tmp_path / "killed" if once else None
    evaluator = DyingEvaluator(SPACE, trial_seed(0, 2), marker, delay=0.05)
    trials = api_search(get_executor("ray", workers=2, retries=1), evaluator, 6)
    assert [t.number for t in trials] == list(range(6))
    assert trials[2].result.ok == once
    if not once:
        assert "Ray worker died during this trial 2 times" in trials[2].result.reason
    assert all(t.result.ok for t in trials if t.number != 2)


def test_workers_killed_at_random_points_lose_and_repeat_no_trial(tmp_path):
    check_random_worker_kills("ray", tmp_path / "busy")


def test_the_ledger_shows_where_each_trial_runs_and_workers_get_the_driver_state(tmp_path):
    rows = running_rows("ray", tmp_path / "arrived")
    assert rows and all(re.fullmatch(r"ray worker [01] \(\S+ pid \d+\)", r.worker) for r in rows)
    observed = api_search(get_executor("ray", workers=1), ObservingEvaluator(SPACE), 4)
    assert [t.result.metrics["observed"] for t in observed] == [0, 1, 2, 3]


def test_without_ray_the_error_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from archsearch.cli import main\n"
        f"sys.exit(main(['search', '--dataset', 'iris', '--executor', 'ray', '--out', "
        f"{str(tmp_path / 'run')!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "archsearch: error: --executor ray needs Ray: pip install 'archsearch[ray]'"
    ]
    assert not (tmp_path / "run").exists()
