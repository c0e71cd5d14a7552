"""The `Strategy` interface: propose architectures, learn from their results.

Strategies see decisions and rewards only, never `torch.nn`. Each keeps all its randomness in
its own seeded generators so that `state_dict()` / `load_state_dict()` resume a search exactly
where it stopped.

Proposals may be evaluated in parallel: `ask` can be called again before earlier proposals are
told, and results are told in the order they finish, not the order they were asked. The base
class keeps the proposals in flight (asked, not yet told) and its `ask` does not return one of
them again: it draws again from the subclass's `propose` up to `REDRAWS` times, then tries
mutations and neighbours of the last draw, and only when all of those are in flight too (a
tiny or exhausted space) returns the draw anyway (the loop then waits for its twin's result).
A discarded draw only advances the strategy's generators: no strategy keeps per-proposal state
between `propose` and `learn` (each learns from the told architecture itself), so nothing has
to be undone. With nothing in flight — one worker — `ask` is exactly one `propose`, so a
sequential search is unchanged by all this.

Two mechanisms every strategy gets from this class: a warm-start queue (`warm_start`, e.g. the
architectures a zero-cost proxy scores best), which `ask` returns before any proposal; and, for
strategies whose options include `ScreeningOptions` (random, evolution, reinforce), predictor
screening (`screening.py`): `ask` draws `screen` proposals and returns the one a model fitted to
the told results predicts best. Both are in `state_dict`.
"""

from __future__ import annotations

import random
from abc import ABC
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

from archsearch.evaluation.result import Result
from archsearch.options import Options, parse_options
from archsearch.spaces.base import Architecture, Space, Value
from archsearch.strategies.screening import Screen

#: Fresh draws from `propose` before `ask` looks at mutations of a proposal already in flight.
REDRAWS = 10
#: Random mutations of the last draw tried before its neighbours are listed.
MUTATIONS = 10


class Strategy(ABC):
    """Proposes architectures (`ask`) and learns from their results (`tell`). Subclasses define
    `propose` and `learn`; the base class keeps track of what is in flight."""

    name: ClassVar[str]
    Options: ClassVar[type] = Options

    def __init__(self, space: Space, seed: int = 0, **options: Any) -> None:
        self.space = space
        self.seed = seed
        self.options = parse_options(self.name, self.Options, options)
        self.rng = random.Random(seed)
        #: hash -> how many proposals of that architecture were asked and not yet told
        self.in_flight: Counter[str] = Counter()
        #: architectures `ask` returns before any proposal (a warm start), first first
        self.queue: list[Architecture] = []
        #: the accuracy predictor that screens proposals (strategy option `screen`), or None
        self.screen = Screen.of(space, self.options, seed, self.name)

    def warm_start(self, archs: list[Architecture]) -> None:
        """Have `ask` return `archs`, in order, before its own proposals (e.g. the
        best-scored of many architectures by a zero-cost proxy: `evaluation.warm_start`); the
        strategy learns from their results through `tell` like from any other. Kept in
        `state_dict`, so a resumed search continues the queue."""
        for arch in archs:
            self.space.validate(arch)
        self.queue = list(archs)

    def ask(self) -> Architecture:
        """The next architecture to evaluate: the next queued one not in flight, else the
        predicted best of `screen` proposals (when screening), else one not in flight
        whenever `propose`, or a mutation or neighbour of its draw, finds one."""
        while self.queue:
            arch = self.queue.pop(0)
            if arch.hash not in self.in_flight:
                self.mark_in_flight(arch)
                return arch
        if self.screen is not None and self.screen.ready:
            candidates = [self.propose() for _ in range(self.screen.options.screen)]
            arch = self.screen.pick(candidates, self.in_flight)
            self.mark_in_flight(arch)
            return arch
        arch = self.propose()
        for _ in range(REDRAWS):
            if arch.hash not in self.in_flight:
                break
            arch = self.propose()
        else:
            arch = self._off_flight(arch)
        self.mark_in_flight(arch)
        return arch

    def mark_in_flight(self, arch: Architecture) -> None:
        """Count `arch` as a proposal in flight (`ask` does; a resumed search for what it
        submits again without asking)."""
        self.in_flight[arch.hash] += 1

    def tell(self, arch: Architecture, result: Result) -> None:
        """Learn from the result of `arch` (told in the order results finish)."""
        self.withdraw(arch)
        if self.screen is not None:
            self.screen.record(arch, result.reward)
        self.learn(arch, result)

    def withdraw(self, arch: Architecture) -> None:
        """Forget one proposal of `arch` that will not be told (e.g. stopped by a time limit)."""
        self.in_flight[arch.hash] -= 1
        if self.in_flight[arch.hash] <= 0:
            del self.in_flight[arch.hash]

    def propose(self) -> Architecture:
        """A draw of the strategy's next architecture (it may be in flight: `ask` filters)."""
        raise NotImplementedError(f"strategy {self.name!r} must define propose() or ask()")

    def learn(self, arch: Architecture, result: Result) -> None:
        """Learn from the result of an architecture (this strategy's proposal or not)."""
        raise NotImplementedError(f"strategy {self.name!r} must define learn() or tell()")

    def _off_flight(self, arch: Architecture) -> Architecture:
        """A random mutation of `arch` not in flight, else its first neighbour not in flight,
        else `arch` itself (every architecture near it is being evaluated)."""
        for _ in range(MUTATIONS):
            mutant = self.space.mutate(arch, self.rng)
            if mutant.hash not in self.in_flight:
                return mutant
        free = (n for n in self.space.neighbours(arch) if n.hash not in self.in_flight)
        return next(free, arch)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly as an uninterrupted run would. Values must be
        tensors, numbers, strings, bools, None, or lists/tuples/dicts of them (saved with
        `torch.save`, loaded with `weights_only=True`). Subclasses extend this dict. What is in
        flight is not in it: the loop saves its own list and marks it again on resume."""
        state: dict[str, Any] = {
            "rng": self.rng.getstate(),
            "queue": [arch.to_json() for arch in self.queue],
        }
        if self.screen is not None:
            state["screen"] = self.screen.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rng.setstate(_as_tuple(state["rng"]))
        self.queue = [self.space.from_json(arch) for arch in state.get("queue", [])]
        if self.screen is not None:
            self.screen.load_state_dict(state.get("screen", {"told": []}))

    def stats(self) -> dict[str, float]:
        """Diagnostics recorded with each trial (e.g. the controller's entropy)."""
        return {}

    def fixed_values(self, child: int) -> dict[str, Value]:
        """Decisions this strategy fixes for its `child`-th proposal (counting from 0)
        whatever it learns, e.g. REINFORCE's depth schedule; none by default. The time
        estimate samples children with them, so that it prices the children a search trains."""
        return {}


def _as_tuple(state: Any) -> Any:
    """`random.Random.setstate` needs tuples back where serialisation may give lists."""
    if isinstance(state, list):
        return tuple(_as_tuple(s) for s in state)
    if isinstance(state, tuple):
        return tuple(_as_tuple(s) for s in state)
    return state
