"""`RayExecutor` ("ray"): evaluate on a Ray cluster, or on a local Ray started for the run.

`workers` Ray actors, each holding `num_cpus=cpus_per_trial` and `num_gpus=gpus_per_trial`,
evaluate one trial at a time. The evaluator (with its dataset) is put into Ray's object store
once; each actor fetches it on its first trial and keeps it, so it crosses the network once
per actor, not once per trial; each trial carries only a `Shipment` (the evaluator's small
state and the time left).
An actor that dies is restarted by Ray and its trial run again, at most `retries` times; then
the trial's future fails and the loop records the trial as failed.

Ray is optional (`pip install 'archsearch[ray]'`) and imported only when this executor is
built. `address` "local" starts a local Ray, shut down again by `close`; "auto" or
HOST:PORT joins a running cluster, which `close` leaves running.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from archsearch.commands import setting
from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.execution.base import Executor, Resources, Shipment, WorkerDied
from archsearch.spaces.base import Architecture

__all__ = ["RayExecutor", "import_ray"]

INSTALL_HINT = "the ray executor needs Ray: pip install 'archsearch[ray]'"


def import_ray() -> Any:
    """The `ray` module; `ValueError` with the install command when it is missing."""
    try:
        import ray
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    return ray


@dataclass
class RayOptions(Resources):
    """`Resources`, the cluster to join, and how often a trial whose actor died is rerun."""

    address: str = setting(
        "local",
        "Ray cluster to run on with --executor ray: local starts one for the run (and stops "
        "it after), auto joins the one `ray start` runs on this machine, HOST:PORT another",
    )
    retries: int = 2
    limits = {**Resources.limits, "retries": (0, 100, True)}


class _Worker:
    """The body of one Ray actor: evaluates trial after trial with one evaluator, fetched
    from the object store on its first trial (and again after Ray restarts it)."""

    def __init__(self, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.evaluator: Evaluator | None = None

    def evaluate(
        self, boxed: list[Any], arch: Architecture, seed: int, shipment: Shipment
    ) -> Result:
        """`boxed` holds the evaluator's reference (boxed, so Ray passes it unresolved);
        `shipment` brings it up to the driver's."""
        if self.evaluator is None:
            import ray

            self.evaluator = ray.get(boxed[0])
        shipment.apply(self.evaluator)
        return self.evaluator.evaluate(arch, seed)

    def where(self) -> str:
        """'HOST pid N': where this actor runs."""
        import os
        import socket

        return f"{socket.gethostname()} pid {os.getpid()}"


class RayExecutor(Executor):
    """Evaluates up to `workers` architectures at once on Ray actors."""

    name = "ray"
    Options = RayOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.ray = import_ray()
        self.capacity = self.options.workers
        self._started_ray = False
        self._evaluator: Evaluator | None = None
        self._actors: list[Any] = []
        self._ref: Any = None
        self._busy: list[Future[Result] | None] = []
        self._places: list[Any] = []  # each actor's reply to `where`
        if self.options.address != "local":  # a cluster out of reach is an error up front
            self._connect()

    def _connect(self) -> None:
        """Join the cluster at `address`, or start a quiet local Ray."""
        if self.ray.is_initialized():
            return
        quiet = {"log_to_driver": False, "include_dashboard": False, "logging_level": "ERROR"}
        if self.options.address == "local":
            cpus = self.options.workers * self.options.cpus_per_trial
            self.ray.init(address="local", num_cpus=cpus, **quiet)  # never a stale cluster
            self._started_ray = True
            return
        try:
            self.ray.init(address=self.options.address, **quiet)
        except ConnectionError as exc:
            raise ValueError(
                f"no Ray cluster at --address {self.options.address} ({exc}); start one with "
                "`ray start --head`; a cluster with token authentication (the default of "
                "Ray >= 2.59) also needs RAY_AUTH_MODE=token and its token (`ray "
                "get-auth-token`) here; or leave --address out to run a local Ray"
            ) from None

    def _start_actors(self, evaluator: Evaluator) -> None:
        """Put the evaluator into the object store once; build `workers` actors from it."""
        self._connect()
        opts = self.options
        actor = self.ray.remote(_Worker).options(
            num_cpus=opts.cpus_per_trial,
            num_gpus=opts.gpus_per_trial,
            max_restarts=-1,
            max_task_retries=opts.retries,
        )
        self._ref = self.ray.put(evaluator)  # kept: a restarted actor reads it again
        self._actors = [actor.remote(opts.cpus_per_trial) for _ in range(opts.workers)]
        self._places = [a.where.remote() for a in self._actors]
        self._busy = [None] * opts.workers
        self._evaluator = evaluator

    def submit(self, evaluator: Evaluator, arch: Architecture, seed: int) -> Future[Result]:
        """Run `arch` on an idle actor; the first submit connects and builds the actors."""
        if evaluator is not self._evaluator:
            self._kill_actors()
            self._start_actors(evaluator)
        index = next((i for i, f in enumerate(self._busy) if f is None or f.done()), None)
        if index is None:
            raise RuntimeError(f"all {self.capacity} Ray workers are busy")
        shipment = Shipment.of(evaluator)
        inner = self._actors[index].evaluate.remote([self._ref], arch, seed, shipment).future()
        outer: Future[Result] = Future()
        outer.set_running_or_notify_cancel()
        inner.add_done_callback(lambda done: self._relay(done, outer))
        self._busy[index] = outer
        return outer

    def where(self, future: Future[Result]) -> str:
        """'ray worker I (HOST pid N)' for the actor running the trial of `future`."""
        index = next((i for i, f in enumerate(self._busy) if f is future), None)
        if index is None:
            return self.name
        ready, _ = self.ray.wait([self._places[index]], timeout=0)
        place = f" ({self.ray.get(ready[0])})" if ready else ""
        return f"ray worker {index}{place}"

    def _relay(self, inner: Future[Result], outer: Future[Result]) -> None:
        """Pass the outcome on: an evaluator's own exception unwrapped (`TimeUp` must stay
        `TimeUp`), an actor that died too often as a one-line `WorkerDied`."""
        exc = inner.exception()
        if exc is None:
            outer.set_result(inner.result())
        elif isinstance(exc, self.ray.exceptions.RayActorError):
            times = self.options.retries + 1
            outer.set_exception(WorkerDied(f"the Ray worker died during this trial {times} times"))
        elif isinstance(exc, self.ray.exceptions.RayTaskError):
            outer.set_exception(exc.cause if isinstance(exc.cause, Exception) else exc)
        else:
            outer.set_exception(exc)

    def _kill_actors(self) -> None:
        for actor in self._actors:
            self.ray.kill(actor)
        self._actors, self._busy, self._evaluator, self._ref = [], [], None, None
        self._places = []

    def close(self) -> None:
        """Stop the actors; shut Ray down only if this executor started it."""
        if self.ray.is_initialized():
            self._kill_actors()
        if self._started_ray:
            self.ray.shutdown()
            self._started_ray = False
