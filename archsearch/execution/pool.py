"""`PoolExecutor`: evaluate in a pool of local worker processes, `workers` trials at once.

Workers are started with `spawn` (PyTorch and `fork` do not mix). The evaluator, with its
dataset, reaches each worker once, through the pool's initializer, not once per trial; each
worker then pins its PyTorch threads to `cpus_per_trial` and, with `gpus_per_trial` > 0 and
CUDA, its GPU. A worker that dies (SIGKILL, the out-of-memory killer) breaks the whole pool:
the pool is started again and every trial that was in flight is submitted again. Only the
trial whose own worker died is charged for it (workers report which trial they run); after
`retries` such deaths its future fails with `WorkerDied` and the loop records the trial as
failed. Evaluations are seeded, so a trial run again gives the same result.

Each trial carries a `Shipment`: the driver's evaluator `state_dict` (what it learned in
`observe`, e.g. a pruner's curves) and the time left, so every worker evaluates with the
current state. A worker whose driver died (killed, the machine's OOM killer) exits by itself.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.execution.base import Executor, Resources, Shipment, WorkerDied
from archsearch.spaces.base import Architecture

__all__ = ["PoolExecutor"]

#: One trial as sent to a worker: architecture, seed, what the evaluator needs from the driver
_Job = tuple[Architecture, int, Shipment]
#: Seconds between a worker's checks that the driver is still alive.
ORPHAN_CHECK = 0.5
_evaluator: Evaluator | None = None  # the evaluator of this worker process
_started: Any = None  # where this worker says which trial it runs: (token, pid)


@dataclass
class PoolOptions(Resources):
    """`Resources`, plus how often a trial whose worker died is submitted again."""

    retries: int = 2
    limits = {**Resources.limits, "retries": (0, 100, True)}


def _start_worker(
    evaluator: Evaluator, threads: int, gpus: float, slot: Any, started: Any, driver: int
) -> None:
    """Pool initializer: keep the evaluator, pin threads and device, leave Ctrl-C to the
    parent (which abandons the trials in flight), and die with the parent."""
    global _evaluator, _started
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(driver,), daemon=True).start()
    _evaluator, _started = evaluator, started
    torch.set_num_threads(threads)
    with slot.get_lock():
        index, slot.value = slot.value, slot.value + 1
    if gpus > 0 and torch.cuda.is_available():
        torch.cuda.set_device(index % torch.cuda.device_count())


def _exit_with(driver: int) -> None:
    """End this worker once its parent is no longer `driver` (the search's process, whose
    pid the worker is given: it may have died before this worker got here): an orphaned
    worker would go on holding its dataset and maybe training a child nobody records."""
    while os.getppid() == driver:
        time.sleep(ORPHAN_CHECK)
    os._exit(1)


def _evaluate(token: int, arch: Architecture, seed: int, shipment: Shipment) -> Result:
    """One trial in a worker, with the evaluator its initializer left there, brought up to
    the driver's."""
    assert _evaluator is not None, "the pool initializer did not run"
    _started.put((token, os.getpid()))
    shipment.apply(_evaluator)
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
        self._reading = threading.Lock()
        self._started = self._context.SimpleQueue()
        self._tokens = itertools.count()
        self._ran_on: dict[int, int] = {}  # token -> pid of the worker that ran it
        self._token_of: dict[Future[Result], int] = {}  # a trial's future -> its last token
        self._workers: dict[int, Any] = {}  # pid -> its multiprocessing.Process

    def _new_pool(self, evaluator: Evaluator) -> ProcessPoolExecutor:
        slot = self._context.Value("i", 0)
        opts = self.options
        args = (
            evaluator,
            opts.cpus_per_trial,
            opts.gpus_per_trial,
            slot,
            self._started,
            os.getpid(),
        )
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
        self._run(outer, (arch, seed, Shipment.of(evaluator)), attempt=0)
        return outer

    def _run(self, outer: Future[Result], job: _Job, attempt: int) -> None:
        """Submit to the current pool; its outcome goes to `outer`, or, if the pool broke, the
        trial is submitted again to a new one (at most `retries` times)."""
        with self._lock:
            pool = self._pool
        if pool is None:  # closed meanwhile
            outer.set_exception(WorkerDied("the pool was closed"))
            return
        token = next(self._tokens)
        self._token_of[outer] = token
        try:
            inner = pool.submit(_evaluate, token, *job)
        except BrokenProcessPool:
            self._retry(outer, job, attempt, pool)
            return
        self._workers.update(getattr(pool, "_processes", None) or {})  # spawned on submit
        settle = lambda done: self._settle(done, token, outer, job, attempt, pool)  # noqa: E731
        inner.add_done_callback(settle)

    def _settle(
        self,
        inner: Future[Result],
        token: int,
        outer: Future[Result],
        job: _Job,
        attempt: int,
        pool: ProcessPoolExecutor,
    ) -> None:
        """Pass `inner`'s outcome to `outer`, unless the pool broke: then run it again,
        counting an attempt only if its own worker died."""
        self._drain()
        if self._token_of.get(outer) == token:
            del self._token_of[outer]
        if inner.cancelled():  # by `close`
            outer.set_exception(WorkerDied("the pool was closed"))
            return
        exc = inner.exception()
        if isinstance(exc, BrokenProcessPool):
            self._retry(outer, job, attempt + self._died_running(token), pool)
        elif exc is not None:
            outer.set_exception(exc)
        else:
            self._ran_on.pop(token, None)
            outer.set_result(inner.result())

    def _retry(
        self,
        outer: Future[Result],
        job: _Job,
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
        self._run(outer, job, attempt)

    def where(self, future: Future[Result]) -> str:
        """'pool worker pid N' once a worker has taken the trial."""
        self._drain()
        pid = self._ran_on.get(self._token_of.get(future, -1))
        return f"pool worker pid {pid}" if pid is not None else "pool (queued)"

    def _drain(self) -> None:
        """Read which worker runs which trial (often: the pipe must not fill up)."""
        with self._reading:  # the loop's thread and the pool's callbacks both read
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
