"""The search loop and the ledger: budget, dedupe, failures, exact resume, several
evaluations in flight."""

import random
import sqlite3
import threading
from concurrent.futures import Future

import pytest

from archsearch.evaluation.result import Result
from archsearch.execution.base import Executor
from archsearch.ledger import Ledger, Trial
from archsearch.loop import Budget, run_search, trial_seed
from archsearch.spaces.mlp import MLPSpace
from archsearch.strategies import STRATEGIES, get_strategy
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


class ScrambledExecutor(Executor):
    """Three evaluations at once, finished in a scrambled order by one thread: a random one of
    those submitted, as soon as all three slots are busy (or after 100 ms without a new one).
    `finished` lists them in the order their futures completed; `most` is the most ever
    submitted and unfinished."""

    name = "scrambled"
    capacity = 3

    def __init__(self):
        super().__init__()
        self.rng, self.condition = random.Random(0), threading.Condition()
        self.queued, self.finished, self.most, self.closed = [], [], 0, False
        self.thread = threading.Thread(target=self._finish, daemon=True)
        self.thread.start()

    def submit(self, evaluator, arch, seed):
        future = Future()
        with self.condition:
            self.queued.append((future, evaluator, arch, seed))
            self.most = max(self.most, len(self.queued))
            self.condition.notify()
        return future

    def _finish(self):
        while not self.closed:
            with self.condition:
                self.condition.wait_for(lambda: len(self.queued) >= self.capacity, 0.1)
                if not self.queued:
                    continue
                future, evaluator, arch, seed = self.queued.pop(
                    self.rng.randrange(len(self.queued))
                )
                self.finished.append(arch)
            future.set_result(evaluator.evaluate(arch, seed))

    def close(self):
        self.closed = True
        self.thread.join()


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_three_workers_finishing_out_of_order(name):
    """Capacity 3, results in a scrambled order: the loop keeps three in flight (never more),
    records every trial once, and tells the strategy each result as it finishes."""
    executor, told = ScrambledExecutor(), []
    strategy = get_strategy(name, SPACE, 2)
    learn = strategy.learn
    strategy.learn = lambda arch, result: (told.append(arch.hash), learn(arch, result))
    ledger = Ledger(":memory:")
    try:
        stopped = run_search(strategy, EncodingEvaluator(SPACE), ledger, Budget(20), 2, executor)
    finally:
        executor.close()
    trials = list(ledger)
    assert stopped == "budget" and executor.most == 3
    assert sorted(t.number for t in trials) == list(range(20))
    assert len({t.arch.hash for t in trials}) == 20 and not ledger.running()
    finished = [arch.hash for arch in executor.finished]
    assert list(dict.fromkeys(told)) == finished  # first told in completion order
    numbers = {t.arch.hash: t.number for t in trials}
    assert [numbers[h] for h in finished] != sorted(numbers.values())  # it was scrambled
    assert not strategy.in_flight


def test_three_workers_interrupted_resume_what_was_in_flight(tmp_path):
    """Stopped after 5 results with others in flight, a resumed search runs those again under
    their numbers and seeds: in the end every number up to the budget holds one trial."""
    path, seen = tmp_path / "l.sqlite", []

    def stop_after_five(progress):
        seen.append(progress.trial.number)
        if len(seen) == 5:
            raise KeyboardInterrupt

    def search(ledger, on_trial):
        executor = ScrambledExecutor()
        strategy = get_strategy("evolution", SPACE, 4, population=4, sample=2)
        try:
            run_search(
                strategy,
                EncodingEvaluator(SPACE),
                ledger,
                Budget(12),
                4,
                executor,
                on_trial=on_trial,
            )
        finally:
            executor.close()

    with Ledger(path) as ledger, pytest.raises(KeyboardInterrupt):
        search(ledger, stop_after_five)
    with Ledger(path) as ledger:
        # what ran when the state was saved: every number started and not recorded (mostly
        # 2 of the 3 running; fewer when results came back together)
        running = {number for _, number, _ in ledger.load_state()["in_flight"]}
        recorded = {t.number for t in ledger}
        assert running == set(range(max(recorded | running) + 1)) - recorded
        search(ledger, None)
    with Ledger(path) as ledger:
        trials = list(ledger)
        assert [t.number for t in trials] == list(range(12)) and not ledger.running()
        assert len({t.arch.hash for t in trials}) == 12
        assert [t.seed for t in trials] == [trial_seed(4, n) for n in range(12)]


def test_three_workers_on_a_space_of_two_architectures_do_not_hang():
    """Both architectures in flight, the third proposal is a twin: the loop parks it, stops
    asking until a result comes, and ends converged with each architecture evaluated once."""
    space = MLPSpace(max_layers=1, widths=(8, 16), activations=("relu",), dropouts=())
    executor, evaluator, ledger = ScrambledExecutor(), EncodingEvaluator(space), Ledger(":memory:")
    strategy = get_strategy("random", space, 0)
    try:
        stopped = run_search(strategy, evaluator, ledger, Budget(5), 0, executor)
    finally:
        executor.close()
    assert stopped == "converged" and len(ledger) == 2 and len(evaluator.calls) == 2
    assert executor.most == 2 and not strategy.in_flight
