"""`PoolExecutor`: evaluate in a pool of local worker processes, `workers` trials at once.

Workers are started with `spawn` (PyTorch and `fork` do not mix). The evaluator, with its
dataset, reaches each worker once, through the pool's initializer, not once per trial; each
worker then pins its PyTorch threads to `cpus_per_trial` and, with `gpus_per_trial` > 0 and
CUDA, its GPU. A worker that dies (SIGKILL, the out-of-memory killer) breaks the whole pool:
the pool is started again and every trial that was in flight is submitted again. Only the
trial whose own worker died is charged for it (workers report which trial they run); after
`retries` such deaths its future fails with `WorkerDied` and the loop records the trial as
failed. Evaluations are seeded, so a trial run again gives the same result.

What an evaluator learns in a worker (`state_dict`) stays there: stateful evaluators (a
pruner's curves, a supernet) need the inline executor.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.execution.base import Executor, Resources, WorkerDied
from archsearch.spaces.base import Architecture

__all__ = ["PoolExecutor"]

_evaluator: Evaluator | None = None  # the evaluator of this worker process
_started: Any = None  # where this worker says which trial it runs: (token, pid)


@dataclass
class PoolOptions(Resources):
    """`Resources`, plus how often a trial whose worker died is submitted again."""

    retries: int = 2
    limits = {**Resources.limits, "retries": (0, 100, True)}


def _start_worker(evaluator: Evaluator, threads: int, gpus: float, slot: Any, started: Any) -> None:
    """Pool initializer: keep the evaluator, pin threads and device, leave Ctrl-C to the
    parent (which abandons the trials in flight)."""
    global _evaluator, _started
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _evaluator, _started = evaluator, started
    torch.set_num_threads(threads)
    with slot.get_lock():
        index, slot.value = slot.value, slot.value + 1
    if gpus > 0 and torch.cuda.is_available():
        torch.cuda.set_device(index % torch.cuda.device_count())


def _evaluate(token: int, arch: Architecture, seed: int) -> Result:
    """One trial in a worker, with the evaluator its initializer left there."""
    assert _evaluator is not None, "the pool initializer did not run"
    _started.put((token, os.getpid()))
    return _evaluator.evaluate(arch, seed)


class PoolExecutor(Executor):
    """Evaluates up to `workers` architectures at once in local processes."""

    name = "pool"
    Options = PoolOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.capacity = self.options.workers
        self._context = multiprocessing.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None
        self._evaluator: Evaluator | None = None
        self._lock = threading.Lock()
        self._started = self._context.SimpleQueue()
        self._tokens = itertools.count()
        self._ran_on: dict[int, int] = {}  # token -> pid of the worker that ran it
        self._workers: dict[int, Any] = {}  # pid -> its multiprocessing.Process

    def _new_pool(self, evaluator: Evaluator) -> ProcessPoolExecutor:
        slot = self._context.Value("i", 0)
        opts = self.options
        args = (evaluator, opts.cpus_per_trial, opts.gpus_per_trial, slot, self._started)
        return ProcessPoolExecutor(
            self.options.workers, self._context, initializer=_start_worker, initargs=args
        )

    def submit(self, evaluator: Evaluator, arch: Architecture, seed: int) -> Future[Result]:
        """Start `arch` in a worker; the first submit (or one with another evaluator) starts
        the pool, shipping the evaluator to each worker once."""
        if self._pool is None or evaluator is not self._evaluator:
            self.close()
            with self._lock:
                self._pool, self._evaluator = self._new_pool(evaluator), evaluator
        outer: Future[Result] = Future()
        outer.set_running_or_notify_cancel()
        self._run(outer, arch, seed, attempt=0)
        return outer

    def _run(self, outer: Future[Result], arch: Architecture, seed: int, attempt: int) -> None:
        """Submit to the current pool; its outcome goes to `outer`, or, if the pool broke, the
        trial is submitted again to a new one (at most `retries` times)."""
        with self._lock:
            pool = self._pool
        if pool is None:  # closed meanwhile
            outer.set_exception(WorkerDied("the pool was closed"))
            return
        token = next(self._tokens)
        try:
            inner = pool.submit(_evaluate, token, arch, seed)
        except BrokenProcessPool:
            self._retry(outer, arch, seed, attempt, pool)
            return
        self._workers.update(getattr(pool, "_processes", None) or {})  # spawned on submit
        settle = lambda done: self._settle(done, token, outer, arch, seed, attempt, pool)  # noqa: E731
        inner.add_done_callback(settle)

    def _settle(
        self,
        inner: Future[Result],
        token: int,
        outer: Future[Result],
        arch: Architecture,
        seed: int,
        attempt: int,
        pool: ProcessPoolExecutor,
    ) -> None:
        """Pass `inner`'s outcome to `outer`, unless the pool broke: then run it again,
        counting an attempt only if its own worker died."""
        self._drain()
        if inner.cancelled():  # by `close`
            outer.set_exception(WorkerDied("the pool was closed"))
            return
        exc = inner.exception()
        if isinstance(exc, BrokenProcessPool):
            self._retry(outer, arch, seed, attempt + self._died_running(token), pool)
        elif exc is not None:
            outer.set_exception(exc)
        else:
            self._ran_on.pop(token, None)
            outer.set_result(inner.result())

    def _retry(
        self,
        outer: Future[Result],
        arch: Architecture,
        seed: int,
        attempt: int,
        broken: ProcessPoolExecutor,
    ) -> None:
        """Replace the broken pool (once, whichever trial notices first) and run again."""
        if attempt > self.options.retries:
            outer.set_exception(
                WorkerDied(f"the worker process died during this trial {attempt} times")
            )
            return
        with self._lock:
            if self._pool is broken and self._evaluator is not None:
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool(self._evaluator)
        self._run(outer, arch, seed, attempt)

    def _drain(self) -> None:
        """Read which worker runs which trial (often: the pipe must not fill up)."""
        while not self._started.empty():
            token, pid = self._started.get()
            self._ran_on[token] = pid

    def _died_running(self, token: int) -> bool:
        """Whether the worker that ran trial `token` is dead (called as the pool breaks,
        before the pool stops its other workers). A trial no worker took is not charged;
        one whose worker is unknown is."""
        pid = self._ran_on.pop(token, None)
        if pid is None:
            return False
        process = self._workers.get(pid)
        return process is None or process.exitcode is not None

    def close(self) -> None:
        """Stop the workers (a trial still running is waited for)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
