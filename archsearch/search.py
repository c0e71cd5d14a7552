"""The search loop: ask → evaluate → tell → record, until the budget is spent.

The loop knows no particular strategy, space, evaluator or executor. Every finished trial is
recorded in the ledger together with the strategy state after it; a search started again on the
same ledger continues from there, so a killed search loses and repeats no finished trial, and
with an inline executor continues exactly as if it had never stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass

from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.execution.base import Executor
from archsearch.execution.inline import InlineExecutor
from archsearch.ledger import Ledger, Trial
from archsearch.spaces.base import Architecture
from archsearch.strategies.base import Strategy

#: Consecutive proposals of already-evaluated architectures after which a search is over: the
#: strategy has converged and new trials would only repeat old ones.
MAX_REPEATS = 1000


@dataclass
class Budget:
    """When to stop: after `trials` finished trials and/or `seconds` of search time."""

    trials: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.trials is None and self.seconds is None:
            raise ValueError("a budget needs a number of trials or a time limit")
        if self.trials is not None and self.trials < 1:
            raise ValueError(f"trials must be at least 1, got {self.trials}")
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


def run_search(
    strategy: Strategy,
    evaluator: Evaluator,
    ledger: Ledger,
    budget: Budget,
    seed: int = 0,
    executor: Executor | None = None,
    reevaluate: bool = False,
    on_trial: Callable[[Progress], None] | None = None,
) -> str:
    """Search until `budget` is spent; return why it stopped ('budget', 'time' or
    'converged'). With `reevaluate` false an architecture already in the ledger is not
    evaluated again: the strategy is told its recorded result."""
    executor = executor or InlineExecutor()
    state = ledger.load_state()
    elapsed_before, repeats = 0.0, 0
    if state is not None:
        strategy.load_state_dict(state["strategy"])
        elapsed_before, repeats = state["elapsed"], state["repeats"]
    done = len(ledger)
    next_number = max((t.number for t in ledger), default=-1) + 1
    best = ledger.best()
    started = time.monotonic()
    pending: dict[Future[Result], tuple[Architecture, int, int]] = {}
    waiting: dict[str, list[Architecture]] = {}  # repeats of an architecture in flight

    def elapsed() -> float:
        return elapsed_before + time.monotonic() - started

    def out_of_budget() -> str | None:
        if budget.trials is not None and done + len(pending) >= budget.trials:
            return "budget"
        if budget.seconds is not None and elapsed() >= budget.seconds:
            return "time"
        if repeats >= MAX_REPEATS:
            return "converged"
        return None

    def save() -> dict:
        return {"strategy": strategy.state_dict(), "elapsed": elapsed(), "repeats": repeats}

    while True:
        while len(pending) < executor.capacity and out_of_budget() is None:
            arch = strategy.ask()
            known = None if reevaluate else ledger.find(arch)
            if known is not None:
                strategy.tell(arch, known.result)
                repeats += 1
                continue
            in_flight = [a for a, _, _ in pending.values() if a == arch]
            if in_flight and not reevaluate:
                waiting.setdefault(arch.hash, []).append(arch)
                repeats += 1
                break
            seed_n = trial_seed(seed, next_number)
            pending[executor.submit(evaluator, arch, seed_n)] = (arch, next_number, seed_n)
            next_number += 1
        if not pending:
            if repeats >= MAX_REPEATS:
                ledger.save_state(save())
            return out_of_budget() or "budget"
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in sorted(finished, key=lambda f: pending[f][1]):
            arch, number, seed_n = pending.pop(future)
            result = _result_of(future)
            strategy.tell(arch, result)
            for twin in waiting.pop(arch.hash, []):
                strategy.tell(twin, result)
            repeats = 0
            trial = Trial(number, arch, result, seed_n, strategy.stats(), time.time())
            ledger.record(trial, save())
            done += 1
            if result.ok and (best is None or result.reward > best.result.reward):
                best = trial
            if on_trial is not None:
                on_trial(Progress(trial, done, best, elapsed(), budget))


def _result_of(future: Future[Result]) -> Result:
    """The future's result; an executor failure (a worker that died) is a failed trial."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - any worker crash must not end the search
        return Result.failed(f"evaluation crashed: {type(exc).__name__}: {exc}")
