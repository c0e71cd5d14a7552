"""The README's cluster recipe, for real: a Ray head started with `ray start --head` (with its
own auth token, in a home of its own), a search that joins it with `--address`, a driver killed
mid-search and resumed on the same cluster with every trial once, and the cluster left running
by the search (it belongs to whoever started it)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.execution.shared import cli_search
from tests.helpers import trials_of

pytest.importorskip("ray")
RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """HOME and address of a one-node Ray cluster started as a user would start one."""
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "HOME": str(home), "RAY_AUTH_MODE": "token"}  # as the README says
    port = _free_port()
    run = lambda *args: subprocess.run([str(RAY), *args], env=env, capture_output=True)  # noqa: E731
    assert run("get-auth-token", "--generate").returncode == 0
    head = ["--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false"]
    started = run("start", *head, "--disable-usage-stats")
    assert started.returncode == 0, started.stderr.decode()[-2000:]
    yield env, f"127.0.0.1:{port}"
    run("stop", "--force")


def _archsearch(env, *args):
    """`archsearch ARGS` in its own process (started, not awaited)."""
    code = f"import sys; from archsearch.cli import main; sys.exit(main({list(args)!r}))"
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True
    )


def test_a_search_joins_a_cluster_and_a_killed_driver_resumes_on_it(cluster, tmp_path):
    env, address = cluster
    expected = cli_search(tmp_path / "inline", 6)
    driver = _archsearch(
        env, "search", "--dataset", "iris", "--strategy", "random", "--epochs", "1",
        "--final-epochs", "1", "--final-models", "1", "--trials", "6", "--executor", "ray",
        "--workers", "2", "--address", address, "--out", str(tmp_path / "run"),
    )  # fmt: skip
    while driver.poll() is None and len(trials_of(tmp_path / "run")) < 2:
        time.sleep(0.01)
    driver.send_signal(signal.SIGKILL)
    errors = driver.communicate()[1]
    assert 0 < len(trials_of(tmp_path / "run")) < 6, errors[-2000:]
    resumed = _archsearch(env, "search", "--resume", str(tmp_path / "run"))
    assert resumed.wait() == 0, resumed.stderr.read()[-2000:]  # on the cluster it was run on
    trials = trials_of(tmp_path / "run")
    assert trials[:6] == expected  # none lost, none repeated, same results
    assert [t[0] for t in trials[6:]] == [6] and '"width_1":128' in trials[6][1]  # + reference
    code = f"import ray; ray.init(address={address!r}); print(ray.cluster_resources()['CPU'])"
    alive = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert alive.stdout.split()[-1] == "2.0", alive.stderr[-2000:]  # the search left it up
