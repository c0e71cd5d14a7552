"""The search loop: ask → evaluate → tell → record, until the budget is spent.

The loop knows no particular strategy, space, evaluator or executor. Every finished trial is
recorded in the ledger together with the strategy state after it; a search started again on the
same ledger continues from there, so a killed search loses and repeats no finished trial, and
with an inline executor continues exactly as if it had never stopped.

With an executor of capacity > 1 the loop keeps that many evaluations in flight: it asks while
earlier proposals run (the strategy itself avoids proposing one in flight) and tells, records
and reports each result in the order evaluations finish. With one worker that order is the
order asked, so a sequential search is deterministic. The state saved with a trial lists the
evaluations still in flight then (none with one worker); a resumed search submits those again
first, with their numbers and seeds, as evaluations the restored strategy has already asked.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass

from archsearch.evaluation.base import Evaluator, TimeUp
from archsearch.evaluation.result import Result
from archsearch.execution.base import Executor, unfit
from archsearch.execution.inline import InlineExecutor
from archsearch.ledger import Ledger, Trial
from archsearch.spaces.base import Architecture
from archsearch.strategies.base import Strategy

#: Seconds between updates of the workers of trials in flight while the loop waits.
WHERE_EVERY = 1.0
#: Consecutive proposals of already-evaluated architectures after which a search is over: the
#: strategy has converged and new trials would only repeat old ones.
MAX_REPEATS = 1000


@dataclass
class Budget:
    """When to stop: after `trials` finished trials, `seconds` of search time and/or
    `epochs` epochs of child training (the lengths of the recorded trials' curves: a pruned
    child counts the epochs it trained). The epoch budget is checked before each trial
    starts, so trials in flight finish and a search may end up to one child's training per
    worker past it."""

    trials: int | None = None
    seconds: float | None = None
    epochs: int | None = None

    def __post_init__(self) -> None:
        if self.trials is None and self.seconds is None and self.epochs is None:
            raise ValueError("a budget needs a number of trials or epochs, or a time limit")
        if self.trials is not None and self.trials < 1:
            raise ValueError(f"trials must be at least 1, got {self.trials}")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"the time limit must be positive, got {self.seconds}")


@dataclass
class Progress:
    """What a progress display needs after each trial."""

    trial: Trial
    done: int
    best: Trial | None
    elapsed: float
    budget: Budget

    @property
    def eta(self) -> float | None:
        """Seconds left, estimated from the pace so far."""
        estimates = []
        if self.budget.trials is not None and self.done:
            estimates.append(self.elapsed / self.done * max(self.budget.trials - self.done, 0))
        if self.budget.seconds is not None:
            estimates.append(max(self.budget.seconds - self.elapsed, 0.0))
        return min(estimates) if estimates else None


def trial_seed(run_seed: int, number: int) -> int:
    """The seed of trial `number` of a run: distinct per trial, fixed by the run's seed."""
    return (run_seed * 1_000_003 + number * 7_919) % 2**31


def next_trial_number(ledger: Ledger, in_flight: Iterable[int] = ()) -> int:
    """The number of a new trial: after every recorded one and every one `in_flight` (those
    a resumed search submits again under their numbers)."""
    return max([*(trial.number for trial in ledger), *in_flight], default=-1) + 1


def run_search(
    strategy: Strategy,
    evaluator: Evaluator,
    ledger: Ledger,
    budget: Budget,
    seed: int = 0,
    executor: Executor | None = None,
    reevaluate: bool = False,
    on_trial: Callable[[Progress], None] | None = None,
    retries: int = 2,
) -> str:
    """Search until `budget` is spent; return why it stopped ('budget', 'time' or
    'converged'). With `reevaluate` false an architecture already in the ledger is not
    evaluated again: the strategy is told its recorded result. The strategy's, evaluator's and
    executor's states are saved with every trial and restored from the ledger first. A trial
    whose process died during it is tried again on resume `retries` times, then failed."""
    executor = executor or InlineExecutor()
    problem = unfit(type(executor), type(evaluator))
    if problem is not None:
        raise ValueError(problem)
    loop = _Loop(strategy, evaluator, executor, ledger, budget, seed)
    loop.reevaluate, loop.on_trial, loop.retries = reevaluate, on_trial, retries
    try:
        while True:
            loop.submit_while_possible()
            if not loop.pending:
                if loop.repeats >= MAX_REPEATS:
                    ledger.save_state(loop.state())
                return loop.out_of_budget() or "budget"
            loop.collect()
    except KeyboardInterrupt:  # stopped on purpose: the trials in flight were not killed
        for _, number, _ in loop.pending.values():
            ledger.abandon(number)
        raise


class _Loop:
    """The state of one running search: what is in flight, what was done, the clock."""

    def __init__(
        self,
        strategy: Strategy,
        evaluator: Evaluator,
        executor: Executor,
        ledger: Ledger,
        budget: Budget,
        seed: int,
    ) -> None:
        self.strategy, self.evaluator, self.executor = strategy, evaluator, executor
        self.ledger, self.budget, self.seed = ledger, budget, seed
        self.reevaluate, self.retries = False, 2
        self.on_trial: Callable[[Progress], None] | None = None
        self.elapsed_before, self.repeats = 0.0, 0
        state = ledger.load_state()
        #: (arch, number, seed) in flight when the loaded state was saved: submitted first
        self.resumed: list[tuple[Architecture, int, int]] = []
        if state is not None:
            strategy.load_state_dict(state["strategy"])
            evaluator.load_state_dict(state.get("evaluator", {}))
            executor.load_state_dict(state.get("executor", {}))
            self.elapsed_before, self.repeats = state["elapsed"], state["repeats"]
            for data, number, seed in state.get("in_flight", []):
                arch = strategy.space.from_json(data)
                if ledger.find(arch) is None:
                    self.resumed.append((arch, number, seed))
        self.done = len(ledger)
        self.epochs = sum(len(t.result.curve) for t in ledger)  # of child training so far
        self.next_number = next_trial_number(ledger, [number for _, number, _ in self.resumed])
        self.best = ledger.best()
        self.started = time.monotonic()
        self.pending: dict[Future[Result], tuple[Architecture, int, int]] = {}
        self.waiting: dict[str, list[Architecture]] = {}  # repeats of an architecture in flight
        self.finished: queue.SimpleQueue[Future[Result]] = queue.SimpleQueue()  # in that order
        self.timed_out = False
        self.workers: dict[int, str] = {}  # trial number -> worker written in the ledger
        if budget.seconds is not None:
            evaluator.deadline = self.started + budget.seconds - self.elapsed_before

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def out_of_budget(self) -> str | None:
        budget = self.budget
        if budget.trials is not None and self.done + len(self.pending) >= budget.trials:
            return "budget"
        if budget.epochs is not None and self.epochs >= budget.epochs:
            return "budget"
        if self.timed_out or (budget.seconds is not None and self.elapsed() >= budget.seconds):
            return "time"
        if self.repeats >= MAX_REPEATS:
            return "converged"
        return None

    def state(self) -> dict:
        return {
            "strategy": self.strategy.state_dict(),
            "evaluator": self.evaluator.state_dict(),
            "executor": self.executor.state_dict(),
            "elapsed": self.elapsed(),
            "repeats": self.repeats,
            "in_flight": [[a.to_json(), number, seed] for a, number, seed in self.pending.values()],
        }

    def submit_while_possible(self) -> None:
        """Ask and submit until the executor is full or the budget is committed; a proposal
        already in the ledger is told its recorded result instead. A proposal of an
        architecture in flight (the strategy found nothing else) waits for its twin's result;
        after `capacity` such proposals in a row the space near what runs is taken, and the
        loop waits for a result before asking again."""
        while self.resumed and len(self.pending) < self.executor.capacity:
            if self.out_of_budget() is not None:
                break
            arch, number, seed = self.resumed.pop(0)
            self.strategy.mark_in_flight(arch)
            self._submit(arch, number, seed)
        twins = 0
        while len(self.pending) < self.executor.capacity and self.out_of_budget() is None:
            arch = self.strategy.ask()
            again = self.reevaluate or self.evaluator.rescores
            known = None if again else self.ledger.find(arch)
            if known is not None:
                self.strategy.tell(arch, known.result)
                self.repeats += 1
                continue
            in_flight = any(a == arch for a, _, _ in self.pending.values())
            if in_flight and not again:
                self.waiting.setdefault(arch.hash, []).append(arch)
                self.repeats += 1
                twins += 1
                if twins >= self.executor.capacity:
                    break
                continue
            twins = 0
            self._submit(arch, self.next_number, trial_seed(self.seed, self.next_number))
            self.next_number += 1

    def _submit(self, arch: Architecture, number: int, seed: int) -> None:
        """Start trial `number` and put it in flight; its future reports to `finished`."""
        future = self._start(arch, number, seed)
        self.pending[future] = (arch, number, seed)
        future.add_done_callback(self.finished.put)
        self.note_workers()

    def note_workers(self) -> None:
        """Write down in the ledger where each trial in flight runs, once the executor
        knows more than it did."""
        for future, (_, number, _) in self.pending.items():
            worker = self.executor.where(future)
            if self.workers.get(number) != worker and not future.done():
                self.ledger.set_worker(number, worker)
                self.workers[number] = worker

    def _start(self, arch: Architecture, number: int, seed: int) -> Future[Result]:
        """Mark the trial running and submit it; a trial whose process died during it more
        than `retries` times is not tried again but failed."""
        starts = self.ledger.starts(number, arch)
        if starts > self.retries:
            future: Future[Result] = Future()
            future.set_result(
                self.evaluator.failed(
                    f"the process died during this trial {starts} times (likely out of memory)"
                )
            )
            return future
        self.ledger.start(number, arch, seed)
        try:
            return self.executor.submit(self.evaluator, arch, seed)
        except KeyboardInterrupt:
            self.ledger.abandon(number)
            raise

    def _finished(self) -> list[Future[Result]]:
        """Wait for an evaluation to finish; every one finished by then, in completion order.
        While waiting, the ledger learns where the trials in flight run."""
        while True:
            try:
                done = [self.finished.get(timeout=WHERE_EVERY)]
                break
            except queue.Empty:
                self.note_workers()
        while True:
            try:
                done.append(self.finished.get_nowait())
            except queue.Empty:
                return done

    def collect(self) -> None:
        """Wait for evaluations to finish; tell, record and report each, in the order they
        finished (the strategy learns from results as they arrive)."""
        finished = self._finished()
        self.note_workers()  # of those still running, for whoever reads the ledger now
        for future in finished:
            arch, number, seed = self.pending.pop(future)
            self.workers.pop(number, None)
            result = self._result_of(future)
            if result is None:  # the time limit ended it: not a result, tried again on resume
                self.ledger.abandon(number)
                self.strategy.withdraw(arch)
                for twin in self.waiting.pop(arch.hash, []):
                    self.strategy.withdraw(twin)
                self.timed_out = True
                continue
            self.strategy.tell(arch, result)
            for twin in self.waiting.pop(arch.hash, []):
                self.strategy.tell(twin, result)
            self.repeats = 0
            self.evaluator.observe(arch, result)
            trial = Trial(number, arch, result, seed, self.strategy.stats(), time.time())
            self.ledger.record(trial, self.state())
            self.done += 1
            self.epochs += len(result.curve)
            if result.ok and (self.best is None or result.reward > self.best.result.reward):
                self.best = trial
            if self.on_trial is not None:
                self.on_trial(Progress(trial, self.done, self.best, self.elapsed(), self.budget))

    def _result_of(self, future: Future[Result]) -> Result | None:
        """The future's result; None if the time limit stopped it; an executor failure (a
        worker that died) is a failed trial."""
        try:
            return future.result()
        except TimeUp:
            return None
        except Exception as exc:  # noqa: BLE001 - any worker crash must not end the search
            return self.evaluator.failed(f"evaluation crashed: {type(exc).__name__}: {exc}")
