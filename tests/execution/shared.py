"""What the pool and Ray tests share: a tiny iris search through the command line, a search
through the API, an evaluator that kills its own worker process, as the out-of-memory
killer would, and the fault injection that kills workers and drivers at random points."""

import contextlib
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

from archsearch.cli import main
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.spaces.mlp import MLPSpace
from archsearch.strategies import get_strategy
from tests.helpers import EncodingEvaluator, trials_of

__all__ = [
    "SPACE",
    "DyingEvaluator",
    "GatheringEvaluator",
    "ObservingEvaluator",
    "SignallingEvaluator",
    "WorkerKiller",
    "api_search",
    "check_random_worker_kills",
    "cli_search",
    "kill_driver_at_random",
    "outcome",
    "running_rows",
    "workers_killed_at_random",
]

SPACE = MLPSpace(max_layers=3, widths=(8, 16), activations=("relu", "tanh"), dropouts=())
# no reference trial after the search: these tests compare the searches' own trials
TINY = ["--strategy", "random", "--epochs", "1", "--final-epochs", "1", "--final-models", "1",
        "--final-reference", "false"]  # fmt: skip


def cli_search(out, trials, *flags):
    """(number, arch, reward, seed) of each trial of a tiny iris search with `flags`."""
    args = ["search", "--dataset", "iris", *TINY, "--trials", str(trials), "--out", str(out)]
    assert main([*args, *map(str, flags)]) == 0
    return trials_of(out)


def api_search(executor, evaluator, trials, ledger=None, close=True):
    """The trials of a random search of `SPACE` run through `executor`, closed unless
    `close` is false, recorded in `ledger` (default: a new one in memory)."""
    ledger = ledger if ledger is not None else Ledger(":memory:")
    try:
        strategy = get_strategy("random", SPACE, 0)
        run_search(strategy, evaluator, ledger, Budget(trials), 0, executor=executor)
    finally:
        if close:
            executor.close()
    return list(ledger)


def outcome(trials):
    """What must not change when processes die: each trial's number, architecture, status
    and reward."""
    return [(t.number, t.arch.canonical, t.result.status, t.result.reward) for t in trials]


class DyingEvaluator(EncodingEvaluator):
    """`EncodingEvaluator` taking `delay` seconds per trial, whose process SIGKILLs itself
    when it evaluates seed `victim`: every time, or with `marker` only the first time (the
    marker file says it happened)."""

    def __init__(self, space, victim, marker=None, delay=0.0):
        super().__init__(space)
        self.victim, self.marker, self.delay = victim, marker, delay

    def evaluate(self, arch, seed):
        time.sleep(self.delay)
        if seed == self.victim and (self.marker is None or not Path(self.marker).exists()):
            if self.marker is not None:
                Path(self.marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().evaluate(arch, seed)


class SignallingEvaluator(EncodingEvaluator):
    """`EncodingEvaluator` taking `delay` seconds per trial, during which a file named after
    its process id lies in `busy`: how a fault injector finds a worker in mid-trial."""

    def __init__(self, space, busy, delay):
        super().__init__(space)
        self.busy, self.delay = str(busy), delay

    def evaluate(self, arch, seed):
        mark = Path(self.busy) / str(os.getpid())
        mark.touch()
        time.sleep(self.delay)
        result = super().evaluate(arch, seed)
        mark.unlink(missing_ok=True)
        return result


class GatheringEvaluator(EncodingEvaluator):
    """`EncodingEvaluator` whose trials wait until `workers` processes have each started one
    (a file named after each process id in `folder`, made once), then take `delay` seconds
    times their process's rank of arrival: however long workers take to start, their first
    trials overlap and end one after another."""

    def __init__(self, space, folder, workers, delay):
        super().__init__(space)
        self.folder, self.workers, self.delay = str(folder), workers, delay

    def evaluate(self, arch, seed):
        folder = Path(self.folder)
        with contextlib.suppress(FileExistsError):
            (folder / str(os.getpid())).open("x").close()
        deadline = time.monotonic() + 300
        while len(list(folder.iterdir())) < self.workers and time.monotonic() < deadline:
            time.sleep(0.01)
        arrivals = sorted(folder.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))
        rank = [p.name for p in arrivals].index(str(os.getpid()))
        time.sleep(self.delay * (rank + 1))
        return super().evaluate(arch, seed)


class WorkerKiller(threading.Thread):
    """SIGKILLs one worker process that is in mid-trial, at a random moment of its trial,
    then stops; `killed` says whether it found one before `stop` was set."""

    def __init__(self, busy, rng, delay):
        super().__init__(daemon=True)
        self.busy, self.rng, self.delay = Path(busy), rng, delay
        self.stop, self.killed = threading.Event(), False

    def run(self):
        while not self.stop.wait(0.005):
            pids = sorted(int(p.name) for p in self.busy.iterdir())
            if pids:
                time.sleep(self.rng.uniform(0, self.delay))
                pid = self.rng.choice(pids)
                try:
                    os.kill(pid, signal.SIGKILL)
                    self.killed = True
                except ProcessLookupError:
                    pass
                (self.busy / str(pid)).unlink(missing_ok=True)
                if self.killed:
                    return


def check_random_worker_kills(executor, busy, runs=20):
    """Kill a worker at a random point of each of `runs` searches on `executor` with 2
    workers: at most two kills may miss (no worker was in mid-trial in time), and every run
    must end with the trials of a run never killed: each once, with its own result."""
    from archsearch.execution import get_executor

    make = lambda: get_executor(executor, workers=2, retries=2)  # noqa: E731
    kills, outcomes, clean = workers_killed_at_random(make, busy, runs)
    assert kills >= runs - 2
    assert all(o == clean for o in outcomes)


def running_rows(executor, folder, delay=0.5):
    """The `running` rows of the ledger, read whenever a trial of a 3-trial search on
    `executor` with 2 workers finished; its trials gather in `folder` (`GatheringEvaluator`),
    so each row read is of a trial a worker has taken. The ledger is left with none
    running."""
    from archsearch.execution import get_executor

    seen, ledger = [], Ledger(":memory:")
    strategy = get_strategy("random", SPACE, 0)
    built = get_executor(executor, workers=2)
    look = lambda progress: seen.extend(ledger.running())  # noqa: E731
    folder.mkdir()
    try:
        evaluator = GatheringEvaluator(SPACE, folder, workers=2, delay=delay)
        run_search(strategy, evaluator, ledger, Budget(3), 0, built, on_trial=look)
    finally:
        built.close()
    assert not ledger.running() and {r.number for r in seen} <= {0, 1, 2}  # in any order
    assert all(0 < time.time() - r.started_at < 600 for r in seen)
    return seen


def workers_killed_at_random(make_executor, busy, runs, trials=6, seed=0):
    """Run `runs` searches of `trials` trials on one executor (`make_executor()`), each
    while a `WorkerKiller` kills a worker at a random point; return the number of kills and
    the outcomes of the runs, with the outcome of the same search run inline."""
    from archsearch.execution import get_executor

    busy.mkdir()
    evaluator = SignallingEvaluator(SPACE, busy, delay=0.05)
    clean = outcome(api_search(get_executor("inline"), evaluator, trials))
    rng, executor, kills, outcomes = random.Random(seed), make_executor(), 0, []
    try:
        for _ in range(runs):
            killer = WorkerKiller(busy, rng, delay=0.05)
            killer.start()
            outcomes.append(outcome(api_search(executor, evaluator, trials, close=False)))
            killer.stop.set()
            killer.join()
            kills += killer.killed
    finally:
        executor.close()
    return kills, outcomes, clean


DRIVER = """
import sys
from archsearch.execution import get_executor
from archsearch.ledger import Ledger
from tests.execution.shared import SPACE, SignallingEvaluator, api_search
path, executor, workers, busy, trials = sys.argv[1:]
options = {} if executor == "inline" else {"workers": int(workers)}
evaluator = SignallingEvaluator(SPACE, busy, delay=0.03)
api_search(get_executor(executor, **options), evaluator, int(trials), Ledger(path))
"""


def kill_driver_at_random(tmp_path, rng, executor, workers=2, trials=8):
    """Start a search in a separate driver process, SIGKILL that process after a random
    number of finished trials plus a random moment, and return its ledger's path (or None
    when the search finished before the kill). Its worker processes, which share its stderr,
    must exit with it (`TimeoutExpired` if they outlive it by a minute)."""
    import subprocess
    import sys

    busy = tmp_path / "busy"
    busy.mkdir(exist_ok=True)
    path = tmp_path / f"ledger-{rng.random():.9f}.sqlite"
    args = [str(path), executor, str(workers), str(busy), str(trials)]
    root = Path(__file__).resolve().parents[2]
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, *args], cwd=root, stderr=subprocess.PIPE, text=True
    )
    after = rng.randrange(trials - 2)
    while driver.poll() is None and _finished_trials(path) < after:
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.03))
    driver.send_signal(signal.SIGKILL)
    errors = driver.communicate(timeout=60)[1]  # the pipe closes once its workers exited too
    assert driver.returncode in (0, -signal.SIGKILL), errors  # finished or killed, not broken
    return path if driver.returncode == -signal.SIGKILL else None


def _finished_trials(path):
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=5)
    try:
        return db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


class ObservingEvaluator(EncodingEvaluator):
    """`EncodingEvaluator` that learns in the driver (`observe`) how many trials finished
    and reports, as metric `observed`, the count its copy held when it evaluated."""

    def __init__(self, space):
        super().__init__(space)
        self.observed = 0

    def observe(self, arch, result):
        self.observed += 1

    def evaluate(self, arch, seed):
        result = super().evaluate(arch, seed)
        result.metrics["observed"] = self.observed
        return result

    def state_dict(self):
        return {"observed": self.observed}

    def load_state_dict(self, state):
        self.observed = state.get("observed", 0)
