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
"""

from __future__ import annotations

import random
from abc import ABC
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

from archsearch.evaluation.result import Result
from archsearch.options import Options, parse_options
from archsearch.spaces.base import Architecture, Space

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

    def ask(self) -> Architecture:
        """The next architecture to evaluate: one not in flight whenever `propose`, or a
        mutation or neighbour of its draw, finds one."""
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
        return {"rng": self.rng.getstate()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rng.setstate(_as_tuple(state["rng"]))

    def stats(self) -> dict[str, float]:
        """Diagnostics recorded with each trial (e.g. the controller's entropy)."""
        return {}


def _as_tuple(state: Any) -> Any:
    """`random.Random.setstate` needs tuples back where serialisation may give lists."""
    if isinstance(state, list):
        return tuple(_as_tuple(s) for s in state)
    if isinstance(state, tuple):
        return tuple(_as_tuple(s) for s in state)
    return state
