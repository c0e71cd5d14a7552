"""REINFORCE with an LSTM controller: the method of Zoph & Le (2016), "Neural Architecture
Search with Reinforcement Learning", with the logit controls of ENAS (Pham et al. 2018).

The controller is a stacked LSTM stepped once per active decision of the space, in space order
(inactive decisions are skipped, so variable-depth spaces work). At a `Categorical` decision a
linear head of that decision gives a softmax over its choices, and the embedding of the chosen
value is the next input. At an `Inputs` decision (the anchor point of layer k) each candidate
layer j is an independent Bernoulli edge with

    P(j -> k) = sigmoid(v' tanh(W_prev h_j + W_curr h_k)),

h_j being the hidden state at layer j's anchor; the next input is the mean of W_prev h_j over
the chosen j, or a learned "no input" embedding when none is chosen.

Training is REINFORCE with an exponential-moving-average baseline b: once `batch_size` results
are in, the controller re-reads those architectures (teacher forcing, deterministic) and takes
one Adam step on

    loss = -mean_i [ log pi(arch_i) * (R_i - b) ] - entropy_weight * mean_i H(arch_i).

Because log-probabilities are recomputed from the architectures, `tell` works the same for any
architecture of the space (also ones this strategy did not just ask), and the state between
updates is only the pending architectures (as JSON) and their rewards.

This is also what makes parallel evaluation sound (the asynchronous parameter-server design of
Zoph & Le): results are told in the order they finish, which may differ from the order asked,
and the controller may have been updated between a proposal's ask and its tell. Nothing is kept
from the ask (no stale log-probabilities): the update after every `batch_size` results, in the
order they arrive, re-reads each told architecture under the controller as it is then. A draw
that `ask` discards because it is in flight only advanced the sampling generator.

Two choices differ from the paper's text, both measured on synthetic rewards (see the tests):
the LSTM cells and the softmax heads have no bias (as in ENAS's controller), and parameters
start at PyTorch's defaults (embeddings N(0, 1)) instead of U(-0.08, 0.08). With the paper's
small initialisation the hidden states at different anchors are nearly equal, so every edge
gets the same probability and the controller cannot learn which skip connections to make.

With `screen=K screen_model=lstm` the controller is also the accuracy predictor that screens
its K samples (`shared_predictor.py`): a linear head on its final hidden state, trained on the
told rewards, its gradient shared with the LSTM; its steps follow each policy-gradient step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.evaluation.result import Result
from archsearch.spaces.base import Architecture, Categorical, Decision, Inputs, Space, Value
from archsearch.strategies.base import Strategy
from archsearch.strategies.screening import ScreeningOptions
from archsearch.strategies.shared_predictor import SharedPredictor


@dataclasses.dataclass
class Options(ScreeningOptions):
    """Knobs of the controller and of its training. Defaults follow Zoph & Le (2016) (2 x 35
    LSTM, EMA baseline) except the learning rate: the paper's Adam 6e-4 (kept by the
    `zoph2016` preset) was tuned for 12,800 samples and barely moves the policy in the tens
    to hundreds of trials of a laptop search; 1e-2 beats random search on NAS-Bench-201 at
    100 and 200 queries on all three datasets, 6e-4 does not (benchmarks/nb201.py)."""

    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        **ScreeningOptions.limits,
        "lstm_layers": (1, 16, True),
        "hidden": (1, 4096, True),
        "lr": ((0.0,), 100.0, False),
        "batch_size": (1, 1_000_000, True),
        "baseline_decay": (0.0, (1.0,), False),
        "entropy_weight": (0.0, 1000.0, False),
        "temperature": ((0.0,), 1e6, False),
        "tanh_constant": ((0.0,), 1e6, False),
        "grad_clip": ((0.0,), 1e9, False),
        "skip_target": ((0.0,), (1.0,), False),
        "skip_weight": (0.0, 1000.0, False),
        "screen_lr": ((0.0,), 100.0, False),
        "screen_steps": (1, 100_000, True),
    }
    lstm_layers: int = 2  # stacked LSTM cells (1 learns skip patterns more reliably: tests)
    hidden: int = 35  # units per LSTM layer (also the embedding size)
    lr: float = 1e-2  # Adam learning rate (the paper: 6e-4 for 12,800 samples)
    batch_size: int = 5  # architectures per policy-gradient step (the paper's m)
    baseline_decay: float = 0.95  # EMA decay of the reward baseline, applied once per reward
    entropy_weight: float = 0.0  # weight of the entropy bonus (ENAS used 1e-4); 0 = off
    temperature: float | None = None  # divide logits by this (ENAS: 5.0); None = off
    tanh_constant: float | None = None  # logits -> C * tanh(logits) (ENAS: 2.5); None = off
    grad_clip: float | None = None  # clip the gradient norm to this; None = off
    # ENAS's skip sparsity: + skip_weight * KL(P(edge) || skip_target) per architecture
    skip_target: float | None = None  # prior P(edge) (ENAS: 0.4); None = off
    skip_weight: float = 0.0  # weight of that KL term (ENAS: 0.8)
    # (start, step, every): the space's "depth" decision is not sampled but set to
    # start + step * (results told // every), within its choices (Zoph & Le: 6, 2, 1600)
    depth_schedule: tuple[int, ...] = ()
    # the shared-LSTM predictor (screen_model=lstm): Adam learning rate (3e-3: chosen on
    # NAS-Bench-201 seeds 100-109 against 1e-2 and 1e-3, docs/proxies.md), steps after each
    # policy-gradient step, and whether its gradient trains the LSTM (false: the head only)
    screen_lr: float = 3e-3
    screen_steps: int = 10
    screen_share: bool = True


Walk = tuple[dict[str, Value], torch.Tensor, torch.Tensor, dict[str, list[float]]]


class Controller(nn.Module):
    """The LSTM policy over one space's decisions."""

    def __init__(self, space: Space, layers: int, hidden: int) -> None:
        super().__init__()
        self.space = space
        self.hidden = hidden
        self.start = nn.Parameter(torch.randn(1, hidden))  # first input, like an embedding
        self.no_input = nn.Parameter(torch.randn(1, hidden))  # input after an empty Inputs
        self.cells = nn.ModuleList(nn.LSTMCell(hidden, hidden, bias=False) for _ in range(layers))
        self.heads = nn.ModuleDict()
        self.embeddings = nn.ModuleDict()
        self.anchor_layer: dict[int, int] = {}  # index of an Inputs decision -> its layer
        for index, decision in enumerate(space.decisions):
            if isinstance(decision, Categorical):
                self.heads[f"d{index}"] = nn.Linear(hidden, len(decision.choices), bias=False)
                self.embeddings[f"d{index}"] = nn.Embedding(len(decision.choices), hidden)
            else:
                self.anchor_layer[index] = len(self.anchor_layer) + 1
        self.w_prev = nn.Linear(hidden, hidden, bias=False)
        self.w_curr = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, 1, bias=False)

    def walk(
        self,
        given: Mapping[str, Value] | None = None,
        generator: torch.Generator | None = None,
        forced: Mapping[str, Value] | None = None,
        greedy: bool = False,
        temperature: float | None = None,
        tanh_constant: float | None = None,
    ) -> Walk:
        """Step through the active decisions (the space's walk). Each value comes from
        `given` (teacher forcing), else is the most probable one (`greedy`), else is drawn with
        `generator`; decisions in `forced` take that value and add nothing to the
        log-probability. Returns the values, their total log-probability, the summed entropy
        of the distributions stepped through, and each decision's distribution (choice
        probabilities, or P(edge) per candidate)."""
        values, step = self.trace(given, generator, forced, greedy, temperature, tanh_constant)
        return values, step.log_prob, step.entropy, step.dists

    def trace(self, *args: Any) -> tuple[dict[str, Value], _Step]:
        """`walk` (same arguments, positional) returning the values and the finished step
        itself, whose `edge_probs` keep the graph for penalties on the edge probabilities."""
        step = _Step(self, *args)
        return self.space.walk(step.choose).as_dict(), step


class _Step:
    """The state of one walk of the controller: LSTM states, anchor keys, the running
    log-probability and entropy. `choose` is the space walk's callback."""

    def __init__(
        self,
        controller: Controller,
        given: Mapping[str, Value] | None,
        generator: torch.Generator | None,
        forced: Mapping[str, Value] | None,
        greedy: bool,
        temperature: float | None,
        tanh_constant: float | None,
    ) -> None:
        self.c, self.given, self.generator, self.forced = controller, given, generator, forced
        self.greedy, self.temperature, self.tanh_constant = greedy, temperature, tanh_constant
        zeros = torch.zeros(1, controller.hidden)
        self.state = [(zeros, zeros) for _ in controller.cells]
        self.x = controller.start
        self.anchors: dict[int, torch.Tensor] = {}  # layer -> W_prev h at its anchor point
        self.log_prob, self.entropy = torch.zeros(()), torch.zeros(())
        self.dists: dict[str, list[float]] = {}
        self.edge_probs: list[torch.Tensor] = []  # P(edge) of each Inputs decision, with grad
        self.index = {d.name: i for i, d in enumerate(controller.space.decisions)}

    def skip_kl(self, target: float) -> torch.Tensor:
        """Summed KL(Bernoulli(P(edge)) || Bernoulli(target)) over every candidate edge of the
        walk: ENAS's penalty that keeps skip connections sparse (target 0.4)."""
        if not self.edge_probs:
            return torch.zeros(())
        p = torch.cat(self.edge_probs).clamp(1e-6, 1 - 1e-6)
        return (p * (p / target).log() + (1 - p) * ((1 - p) / (1 - target)).log()).sum()

    def shape(self, logits: torch.Tensor) -> torch.Tensor:
        if self.temperature is not None:
            logits = logits / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * torch.tanh(logits)
        return logits

    def advance(self) -> None:
        """One step of the stacked LSTM on the current input; `x` becomes its output."""
        for i, cell in enumerate(self.c.cells):
            self.state[i] = cell(self.x, self.state[i])
            self.x = self.state[i][0]

    def final_state(self) -> torch.Tensor:
        """After the walk: one more step on the last choice, so the output, shape
        (1, hidden), has read every decision (what the shared predictor's head reads)."""
        self.advance()
        return self.x

    def choose(self, decision: Decision, chosen: dict[str, Value]) -> Value:
        self.advance()
        index = self.index[decision.name]
        if self.forced is not None and decision.name in self.forced:
            assert isinstance(decision, Categorical), "only Categoricals can be forced"
            choice = _index_of(decision, self.forced)
            self.x = self.c.embeddings[f"d{index}"].weight[choice].unsqueeze(0)
            return decision.choices[choice]
        if isinstance(decision, Categorical):
            return self.categorical(decision, index)
        return self.inputs(decision, index)

    def categorical(self, decision: Categorical, index: int) -> Value:
        h = self.x
        logp = F.log_softmax(self.shape(self.c.heads[f"d{index}"](h))[0], dim=-1)
        if self.given is not None:
            choice = _index_of(decision, self.given)
        elif self.greedy:
            choice = int(logp.argmax())
        else:
            choice = int(torch.multinomial(logp.exp(), 1, generator=self.generator))
        self.log_prob = self.log_prob + logp[choice]
        self.entropy = self.entropy - (logp.exp() * logp).sum()
        self.dists[decision.name] = logp.exp().tolist()
        self.x = self.c.embeddings[f"d{index}"].weight[choice].unsqueeze(0)
        return decision.choices[choice]

    def inputs(self, decision: Inputs, index: int) -> Value:
        """Anchor-point attention: each candidate edge an independent Bernoulli."""
        h = self.x
        missing = [j for j in decision.candidates if j not in self.anchors]
        if missing:
            raise ValueError(f"{decision.name}: no anchor for earlier layer(s) {missing}")
        self.x, value = self.c.no_input, ()
        if decision.candidates:
            keys = torch.cat([self.anchors[j] for j in decision.candidates])
            logits = self.shape(self.c.v(torch.tanh(keys + self.c.w_curr(h)))[:, 0])
            p = torch.sigmoid(logits)
            if self.given is not None:
                on = _edges_of(decision, self.given)
            elif self.greedy:
                on = p > 0.5
            else:
                on = torch.rand(len(p), generator=self.generator) < p
            log_on, log_off = F.logsigmoid(logits), F.logsigmoid(-logits)
            self.log_prob = self.log_prob + torch.where(on, log_on, log_off).sum()
            self.entropy = self.entropy - (p * log_on + (1 - p) * log_off).sum()
            self.dists[decision.name] = p.tolist()
            self.edge_probs.append(p)
            value = tuple(j for j, bit in zip(decision.candidates, on.tolist()) if bit)
            if on.any():
                self.x = keys[on].mean(dim=0, keepdim=True)
        self.anchors[self.c.anchor_layer[index]] = self.c.w_prev(h)
        return value


class Reinforce(Strategy):
    """Zoph & Le's REINFORCE controller (strategy name "reinforce")."""

    name = "reinforce"
    Options = Options

    def __init__(self, space: Space, seed: int = 0, **options: Any) -> None:
        super().__init__(space, seed, **options)
        o = self.options
        if isinstance(o.depth_schedule, str):
            o.depth_schedule = tuple(int(v) for v in o.depth_schedule.split(",") if v)
        o.depth_schedule = tuple(int(v) for v in o.depth_schedule)
        if o.depth_schedule:
            names = [d.name for d in space.decisions]
            if len(o.depth_schedule) != 3 or o.depth_schedule[2] < 1:
                raise ValueError("reinforce option depth_schedule is START,STEP,EVERY")
            if "depth" not in names:
                raise ValueError(
                    f"reinforce option depth_schedule needs a space with a depth decision "
                    f"(for cnn: --space-option min_layers=N); {space.name!r} has none"
                )
        with torch.random.fork_rng(devices=[]):  # seeded initialisation, global RNG untouched
            torch.manual_seed(seed)
            self.controller = Controller(space, o.lstm_layers, o.hidden)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=o.lr)
        #: the predictor sharing the controller's LSTM (`screen_model=lstm`), or None
        self.predictor: SharedPredictor | None = None
        if self.screen is not None and o.screen_model == "lstm":
            self.predictor = SharedPredictor(
                self.final_state, o.hidden, self.controller.parameters(),
                o.screen_lr, o.screen_steps, o.screen_share, seed,
            )  # fmt: skip
            self.screen.supply(self.predictor)
        self.generator = torch.Generator().manual_seed(seed)
        self.baseline: float | None = None
        self.pending: list[tuple[Architecture, float]] = []
        self.updates = 0
        self.told = 0
        self.last_entropy: float | None = None
        self.last_entropy_max: float | None = None

    # -- the ask/tell interface ----------------------------------------------------------------
    def propose(self) -> Architecture:
        with torch.no_grad():
            values, _, entropy, dists = self._walk(
                generator=self.generator, forced=self.fixed_values(self.told)
            )
        self.last_entropy = float(entropy) / max(len(dists), 1)
        self.last_entropy_max = self.uniform_entropy(dists)
        return Architecture(self.space.name, tuple(values.items()))

    def learn(self, arch: Architecture, result: Result) -> None:
        """Queue (arch, reward); every `batch_size` results, in the order told, take one
        policy-gradient step with log-probabilities recomputed under the current controller."""
        self.space.validate(arch)
        self.told += 1
        self.pending.append((arch, float(result.reward)))
        if len(self.pending) >= self.options.batch_size:
            self._update()
            if self.predictor is not None and self.screen is not None:
                self.predictor.fit(self.screen.told)

    def _update(self) -> None:
        """One REINFORCE step on the pending batch, then fold its rewards into the baseline
        (the first batch's mean reward starts it)."""
        archs, rewards = zip(*self.pending)
        self.pending = []
        baseline = sum(rewards) / len(rewards) if self.baseline is None else self.baseline
        self.optimizer.zero_grad()
        loss = torch.zeros(())
        o = self.options
        for arch, reward in zip(archs, rewards):
            _, step = self._trace(given=arch.as_dict())
            loss = loss - step.log_prob * (reward - baseline) - o.entropy_weight * step.entropy
            if o.skip_target is not None:
                loss = loss + o.skip_weight * step.skip_kl(o.skip_target)
        (loss / len(archs)).backward()
        if self.options.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.controller.parameters(), self.options.grad_clip)
        self.optimizer.step()
        decay = self.options.baseline_decay
        for reward in rewards:
            baseline = decay * baseline + (1 - decay) * reward
        self.baseline = baseline
        self.updates += 1

    def fixed_values(self, child: int) -> dict[str, Value]:
        """{"depth": d} of the depth schedule at the `child`-th child told, {} without one."""
        if not self.options.depth_schedule:
            return {}
        start, step, every = self.options.depth_schedule
        choices = next(d for d in self.space.decisions if d.name == "depth").choices
        depth = start + step * (child // every)
        return {"depth": min(max(depth, min(choices)), max(choices))}

    # -- what the policy thinks ----------------------------------------------------------------
    def log_prob(self, arch: Architecture) -> float:
        """log pi(arch) under the current controller."""
        with torch.no_grad():
            return float(self._walk(given=arch.as_dict())[1])

    def probabilities(self, arch: Architecture) -> dict[str, list[float]]:
        """The controller's distribution at each active decision along `arch`: probabilities
        of a Categorical's choices, P(edge) of each candidate of an Inputs."""
        with torch.no_grad():
            return self._walk(given=arch.as_dict())[3]

    def sample_greedy(self) -> Architecture:
        """The most probable choice at every step (edges where P > 0.5); uses no randomness."""
        with torch.no_grad():
            values = self._walk(greedy=True, forced=self.fixed_values(self.told))[0]
        return Architecture(self.space.name, tuple(values.items()))

    def _walk(self, **kwargs: Any) -> Walk:
        """The controller's walk with this strategy's logit options; under a depth schedule
        the depth of a given architecture is forced too (it was never the policy's choice)."""
        o = self.options
        if o.depth_schedule and kwargs.get("given") is not None:
            kwargs["forced"] = {"depth": kwargs["given"]["depth"]}
        return self.controller.walk(
            temperature=o.temperature, tanh_constant=o.tanh_constant, **kwargs
        )

    def final_state(self, arch: Architecture) -> torch.Tensor:
        """The controller's final hidden state after reading `arch` (teacher forcing)."""
        return self._trace(given=arch.as_dict())[1].final_state()

    def _trace(self, given: Mapping[str, Value]) -> tuple[dict[str, Value], _Step]:
        """The teacher-forced walk along `given` with its step (for the loss terms)."""
        o = self.options
        forced = {"depth": given["depth"]} if o.depth_schedule else None
        return self.controller.trace(given, None, forced, False, o.temperature, o.tanh_constant)

    def uniform_entropy(self, dists: Mapping[str, list[float]]) -> float:
        """The mean per-decision entropy (nats) a uniform policy would have over the decisions
        of `dists` (those a walk sampled): log(choices) of a Categorical, n log 2 of an Inputs
        with n candidate edges (2^n subsets). Normalised as `stats()["entropy"]` is, so the
        two are comparable, also in spaces whose walks differ in length."""
        decisions = {d.name: d for d in self.space.decisions}
        total = sum(
            math.log(len(p)) if isinstance(decisions[name], Categorical) else len(p) * math.log(2)
            for name, p in dists.items()
        )
        return total / max(len(dists), 1)

    def stats(self) -> dict[str, float]:
        """Mean per-decision entropy (nats) of the policy along the last sample, the same of a
        uniform policy over those decisions (`entropy_max`, the most `entropy` can be), and the
        baseline; each is left out until it exists."""
        out = {}
        if self.last_entropy is not None:
            out["entropy"] = self.last_entropy
        if self.last_entropy_max is not None:
            out["entropy_max"] = self.last_entropy_max
        if self.baseline is not None:
            out["baseline"] = self.baseline
        return out

    # -- resume ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "controller": self.controller.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "baseline": self.baseline,
            "pending": [[arch.to_json(), reward] for arch, reward in self.pending],
            "updates": self.updates,
            "told": self.told,
            "last_entropy": self.last_entropy,
            "last_entropy_max": self.last_entropy_max,
            **({"predictor": self.predictor.state_dict()} if self.predictor is not None else {}),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.baseline = state["baseline"]
        self.pending = [(self.space.from_json(a), float(r)) for a, r in state["pending"]]
        self.updates = state["updates"]
        self.told = state["told"]
        self.last_entropy = state["last_entropy"]
        self.last_entropy_max = state.get("last_entropy_max")  # absent in older runs
        if self.predictor is not None and "predictor" in state:
            self.predictor.load_state_dict(state["predictor"])


def _index_of(decision: Categorical, given: Mapping[str, Value]) -> int:
    if decision.name not in given:
        raise ValueError(f"decision {decision.name!r} is missing")
    value = given[decision.name]
    if value not in decision.choices:
        raise ValueError(f"{decision.name}={value!r} is not in {decision.choices}")
    return decision.choices.index(value)


def _edges_of(decision: Inputs, given: Mapping[str, Value]) -> torch.Tensor:
    if decision.name not in given:
        raise ValueError(f"decision {decision.name!r} is missing")
    value = set(given[decision.name])
    if not value <= set(decision.candidates):
        raise ValueError(
            f"{decision.name}={sorted(value)} is not a subset of {decision.candidates}"
        )
    return torch.tensor([j in value for j in decision.candidates])
