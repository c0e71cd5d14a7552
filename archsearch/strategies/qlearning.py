"""Q-learning over decision sequences: MetaQNN (Baker et al., 2016).

An action is the next active decision's value (a subset of candidates for an `Inputs`
decision). The state it is chosen in is one of two (`state` option):
- "prefix": the whole partial architecture, the values of every active decision taken so far.
  Every prefix is its own state, so nothing learnt about one architecture's layer carries over
  to another whose earlier choices differ.
- "layer": MetaQNN's state. For a decision of layer L (`Space.layer`) it is L, the previous
  active layer P (or "start" before the first layer) with the values of P's decisions, and the
  values already chosen within L (so a layer's decisions condition on each other). Two
  architectures with the same layer P share the states of layer L whatever came before P.
  (L itself follows from P where layers come in order, as in every built-in space; it is kept
  so that, in a space where a layer may be skipped, two decisions never share a state.)
  On spaces without layers (NAS-Bench-201) each decision is its own layer: the state is the
  previous decision and its value.

Each architecture is built by walking the decisions, choosing each action epsilon-greedily from a
tabular Q. Epsilon follows a schedule over the number of distinct architectures seen: 1 (pure
exploration) for `warmup` of them, then the `steps` of (epsilon, architectures), then
`epsilon` for the rest of the search.

After every result a random sample of at most `replay` distinct past architectures is replayed,
each from its last step back to its first (so a reward reaches the first step in one replay):
    Q(s, a) <- (1 - alpha) Q(s, a) + alpha [r_t + gamma max_a' Q(s', a')]
where r_t is the reward on the last step and 0 before it, and the last step has no s'
(`update="q"`, MetaQNN's rule). `update="greedy"` instead keeps the best reward seen through
each (s, a): Q(s, a) <- max(Q(s, a), r), so the greedy policy follows the best architecture and
exploration becomes a local search around it.

The table stores tried actions only; an untried action is worth `q_init` (0.5, as in MetaQNN,
for rewards in [0, 1]), so Inputs decisions with many subsets are never enumerated. Where most
rewards lie below `q_init` (ImageNet16-120 accuracies are at most 0.47, or the Zoph & Le reward
acc^3), every untried action looks better than every tried one and the search stays close to
random: set `q_init` below the typical reward there.

With evaluations in parallel, nothing of an episode is kept between ask and tell: `tell`
recomputes the steps (states and actions) from the told architecture, so results may arrive in
any order, and a draw `ask` discards (in flight) or replaces by a mutation only advanced the
generator. Q-learning is off-policy, so learning from a mutated proposal is sound.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from archsearch.evaluation.result import Result
from archsearch.options import Options
from archsearch.spaces.base import (
    Architecture,
    Decision,
    Inputs,
    Space,
    Value,
    sample_value,
    value_count,
)
from archsearch.strategies.base import Strategy

STATES = ("prefix", "layer")
Step = tuple[str, str, int]  # (state key, action key, number of actions in that state)


@dataclass
class QLearningOptions(Options):
    """MetaQNN's knobs. The epsilon schedule, counted in distinct architectures, suits a budget
    of 100-200: explore fully for `warmup`, then each (epsilon, count) of `steps` in turn
    (a flat list epsilon, count, epsilon, count, ... on the command line), then `epsilon`.

    `alpha` is 0.1, not MetaQNN's 0.01: MetaQNN trained thousands of networks, while within
    100-200 results Q moves too slowly at 0.01 for new, better architectures to steer the
    greedy policy (measured on NAS-Bench-201; see the README).

    `state` is "layer", MetaQNN's per-layer state, by default; "prefix" is the whole partial
    architecture (see the module docstring). The two tied on NAS-Bench-201 at seeds held out
    from tuning (README; benchmarks/results/qlearning_state_seeds100-119*.json), so the default
    is MetaQNN's definition."""

    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        "warmup": (0, 10**9, True),
        "epsilon": (0.0, 1.0, False),
        "alpha": (0.0, 1.0, False),
        "gamma": (0.0, 1.0, False),
        "q_init": (-1e6, 1e6, False),
        "replay": (0, 10**6, True),
    }
    warmup: int = 25
    steps: tuple = ((0.5, 15), (0.3, 15), (0.2, 15))
    epsilon: float = 0.1
    alpha: float = 0.1
    gamma: float = 1.0
    q_init: float = 0.5
    replay: int = 100
    update: str = "q"
    state: str = "layer"


class QLearning(Strategy):
    """Tabular epsilon-greedy Q-learning with experience replay (MetaQNN)."""

    name = "qlearning"
    Options = QLearningOptions

    def __init__(self, space: Space, seed: int = 0, **options: Any) -> None:
        super().__init__(space, seed, **options)
        o = self.options
        if o.update not in ("q", "greedy"):
            raise ValueError(f"qlearning option update={o.update!r}; choose 'q' or 'greedy'")
        if o.state not in STATES:
            raise ValueError(f"qlearning option state={o.state!r}; choose 'prefix' or 'layer'")
        self.schedule = _pairs(o.steps)
        if o.warmup < 0 or o.replay < 0 or not 0 <= o.alpha <= 1:
            raise ValueError("qlearning options warmup and replay must be >= 0, alpha in [0, 1]")
        if any(not 0 <= e <= 1 for e, _ in self.schedule) or not 0 <= o.epsilon <= 1:
            raise ValueError("qlearning epsilons must lie in [0, 1]")
        self.q: dict[str, dict[str, float]] = {}  # state -> action -> value
        self.memory: list[tuple[list[Step], float]] = []  # distinct architectures and rewards
        self.seen: set[str] = set()
        #: decision name -> its layer (`Space.layer`), for the "layer" state
        self.layers = {d.name: space.layer(i) for i, d in enumerate(space.decisions)}

    def epsilon(self) -> float:
        """The exploration rate for the next architecture."""
        n = len(self.memory) - self.options.warmup
        if n < 0:
            return 1.0
        for epsilon, count in self.schedule:
            if n < count:
                return epsilon
            n -= count
        return self.options.epsilon

    def propose(self) -> Architecture:
        epsilon = self.epsilon()

        def choose(decision: Decision, chosen: dict[str, Value]) -> Value:
            if self.rng.random() < epsilon:
                return sample_value(decision, self.rng)
            return self._greedy(decision, self.state(decision.name, chosen))

        return self.space.walk(choose)

    def learn(self, arch: Architecture, result: Result) -> None:
        if arch.canonical not in self.seen:
            self.seen.add(arch.canonical)
            self.memory.append((self._steps(arch), result.reward))
        count = min(self.options.replay, len(self.memory))
        for steps, reward in self.rng.sample(self.memory, count):
            self.update(steps, reward)

    def update(self, steps: list[Step], reward: float) -> None:
        """Replay one architecture's steps, last first."""
        o = self.options
        for t in reversed(range(len(steps))):
            state, action, _ = steps[t]
            values = self.q.setdefault(state, {})
            old = values.get(action, o.q_init)
            if o.update == "greedy":
                values[action] = max(old, reward)
                continue
            if t == len(steps) - 1:
                target = reward
            else:
                next_state, _, actions = steps[t + 1]
                target = o.gamma * self._max_q(next_state, actions)
            values[action] = (1 - o.alpha) * old + o.alpha * target

    def _max_q(self, state: str, actions: int) -> float:
        """max_a Q(state, a), with untried actions at `q_init`."""
        values = self.q.get(state, {})
        best = max(values.values(), default=-math.inf)
        return max(best, self.options.q_init) if len(values) < actions else best

    def _greedy(self, decision: Decision, state: str) -> Value:
        """An action of highest Q in `state`, ties broken at random."""
        values = self.q.get(state, {})
        best = self._max_q(state, value_count(decision))
        ties = [action for action, q in values.items() if q == best]
        untried = value_count(decision) - len(values) if best == self.options.q_init else 0
        pick = self.rng.randrange(len(ties) + untried)
        if pick < len(ties):
            value = json.loads(ties[pick])
            return tuple(value) if isinstance(decision, Inputs) else value
        while True:  # uniform over the untried actions, without enumerating them
            value = sample_value(decision, self.rng)
            if _key(value) not in values:
                return value

    def state(self, name: str, chosen: Mapping[str, Value]) -> str:
        """The Q-table key of the state in which decision `name` is chosen, given the values
        `chosen` before it (in space order): the whole prefix, or MetaQNN's layer state
        `[L, P, P's values, L's values so far]` with P = "start" before the first layer."""
        if self.options.state == "prefix":
            return _key(list(chosen.values()))
        layer = self.layers[name]
        own: list[Value] = []
        previous: Any = "start"
        before: list[Value] = []
        for other, value in reversed(list(chosen.items())):
            at = self.layers[other]
            if at == layer and previous == "start":
                own.append(value)  # L's decisions are the last ones chosen
            elif previous in ("start", at):
                previous = at
                before.append(value)
            else:
                break
        return _key([layer, previous, before[::-1], own[::-1]])

    def _steps(self, arch: Architecture) -> list[Step]:
        """(state, action, number of actions) of each active decision of `arch`, in order:
        the same states `ask` chooses in."""
        steps: list[Step] = []
        chosen: dict[str, Value] = {}
        for _, decision, value in self.space.active_decisions(arch):
            state = self.state(decision.name, chosen)
            steps.append((state, _key(value), value_count(decision)))
            chosen[decision.name] = value
        return steps

    def stats(self) -> dict[str, float]:
        return {"epsilon": self.epsilon()}

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "q": self.q,
            "memory": [[[list(s) for s in steps], reward] for steps, reward in self.memory],
            "seen": sorted(self.seen),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.q = {s: dict(actions) for s, actions in state["q"].items()}
        self.memory = [([tuple(s) for s in steps], reward) for steps, reward in state["memory"]]
        self.seen = set(state["seen"])


def _key(value: Any) -> str:
    """A Q-table key for a state (list of values) or an action (one value)."""
    return json.dumps(value, separators=(",", ":"))


def _pairs(steps: Any) -> list[tuple[float, int]]:
    """(epsilon, count) pairs from nested pairs or a flat list epsilon, count, ..."""
    flat = [x for step in steps for x in (step if isinstance(step, (list, tuple)) else [step])]
    if len(flat) % 2:
        raise ValueError(f"qlearning option steps needs (epsilon, count) pairs, got {steps!r}")
    return [(float(e), int(n)) for e, n in zip(flat[::2], flat[1::2])]
