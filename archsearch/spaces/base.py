"""Decisions, architectures and the `Space` interface every search space implements.

A space is an ordered sequence of decisions. The order is the RL controller's time steps and the
order in which every other strategy fills an architecture in. A decision may be *inactive* given
the choices before it (a layer beyond the chosen depth): inactive decisions are simply absent from
the architecture, so two networks that build identically have the same canonical string.
"""

from __future__ import annotations

import hashlib
import json
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from archsearch.errors import UsageError
from archsearch.tasks.base import OutputSpec

Value = Any  # a JSON scalar for Categorical, a sorted tuple of ints for Inputs
#: Upper bounds of space options: beyond them no network trains and a space's size stops
#: being computable in reasonable time.
MAX_LAYERS, MAX_WIDTH, MAX_KERNEL = 64, 65_536, 64


def listed(value: Any) -> list[Any]:
    """An option that lists choices, given one value or several (`widths=64`, `widths=32,64`)."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


@dataclass(frozen=True)
class Categorical:
    """Choose exactly one of `choices` (JSON scalars)."""

    name: str
    choices: tuple[Value, ...]

    def __post_init__(self) -> None:
        if not self.choices:
            raise ValueError(f"decision {self.name!r} has no choices")

    def valid(self, value: Value) -> bool:
        return value in self.choices


@dataclass(frozen=True)
class Inputs:
    """Choose any subset of earlier layers as inputs (skip connections).

    The k-th `Inputs` decision of a space is the *anchor point* of layer k (1-based); its
    `candidates` name earlier layers by that number. An empty choice is allowed.
    """

    name: str
    candidates: tuple[int, ...]

    def valid(self, value: Value) -> bool:
        return (
            isinstance(value, tuple)
            and all(v in self.candidates for v in value)
            and list(value) == sorted(set(value))
        )


Decision = Categorical | Inputs


@dataclass(frozen=True)
class Architecture:
    """Immutable, JSON-serialisable values of a space's active decisions, in space order."""

    space: str
    values: tuple[tuple[str, Value], ...]

    def __getitem__(self, name: str) -> Value:
        for key, value in self.values:
            if key == name:
                return value
        raise KeyError(name)

    def get(self, name: str, default: Value = None) -> Value:
        try:
            return self[name]
        except KeyError:
            return default

    def as_dict(self) -> dict[str, Value]:
        return dict(self.values)

    def to_json(self) -> dict[str, Any]:
        values = {k: list(v) if isinstance(v, tuple) else v for k, v in self.values}
        return {"space": self.space, "values": values}

    @property
    def canonical(self) -> str:
        """One string per distinct architecture: the ledger key and dedupe key."""
        return json.dumps(self.to_json(), separators=(",", ":"))

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical.encode()).hexdigest()[:16]

    def __str__(self) -> str:
        return self.canonical


@dataclass(frozen=True)
class GraphNode:
    """One box of an architecture drawing. `kind` picks its colour: "input", "output",
    "layer" (a searched layer or cell node) or "fixed" (a part the space does not search)."""

    id: str
    label: str
    kind: str = "layer"


@dataclass(frozen=True)
class GraphEdge:
    """Data flowing from node `src` to node `dst`, with an optional label (a cell's operation
    on the edge). An `inactive` edge carries nothing (a cell's `none` operation): it is drawn
    faint, so that the drawing still shows every decision."""

    src: str
    dst: str
    label: str = ""
    inactive: bool = False


@dataclass(frozen=True)
class ArchGraph:
    """An architecture as a graph, in the order data flows through it: the description that
    `archsearch.reporting.drawing` renders, kept free of any drawing so that each space says
    only what its decisions mean. `note` explains conventions (how inputs combine);
    `context` is a second graph drawn beside this one, such as the fixed network around a
    searched cell (it may have a context of its own: darts draws two cells, then the network)."""

    title: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    note: str = ""
    context: ArchGraph | None = None

    def node(self, node_id: str) -> GraphNode:
        """The node called `node_id`; KeyError if there is none."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


def chain_nodes(labels: Sequence[str], prefix: str, output: str) -> tuple[GraphNode, ...]:
    """Nodes "input", `prefix`1..n with `labels` (kind "layer"), then "output" labelled
    `output`: the column every layered space draws."""
    layers = [GraphNode(f"{prefix}{i}", label) for i, label in enumerate(labels, 1)]
    return (GraphNode("input", "input", "input"), *layers, GraphNode("output", output, "output"))


def consecutive(nodes: Sequence[GraphNode]) -> tuple[GraphEdge, ...]:
    """An edge from each node to the next: a chain."""
    return tuple(GraphEdge(a.id, b.id) for a, b in zip(nodes, nodes[1:]))


def chain_graph(
    title: str, labels: Sequence[str], prefix: str = "L", output: str = "output"
) -> ArchGraph:
    """A plain chain input → each layer → output, for spaces without skip connections."""
    nodes = chain_nodes(labels, prefix, output)
    return ArchGraph(title, nodes, consecutive(nodes))


def check_image_classifier(space: str, input_shape: Sequence[int], output: OutputSpec) -> None:
    """`ValueError` (one line) unless `input_shape` is an image's (C, H, W) and `output` a
    vector: what a space of image classifiers (regressors) builds for."""
    if len(input_shape) != 3:
        raise ValueError(f"the {space} space needs image inputs (C, H, W), got {input_shape}")
    if not output.is_vector:
        raise ValueError(f"the {space} space outputs vectors, not {output.shape}")


class Space(ABC):
    """A search space: its decisions, sampling, validation, network building and the operators
    strategies use (mutation, crossover, numeric encoding). Spaces know nothing of strategies.

    Example:
        >>> import random
        >>> from archsearch.spaces import get_space
        >>> from archsearch.tasks.base import OutputSpec
        >>> space = get_space("mlp", max_layers=2)
        >>> arch = space.sample(random.Random(0))
        >>> space.validate(arch)
        >>> model = space.build(arch, (4,), OutputSpec((3,)))
        >>> space.count_params(arch, (4,), OutputSpec((3,))) == sum(
        ...     p.numel() for p in model.parameters())
        True
    """

    name: ClassVar[str]
    #: Whether inputs must be images (C, H, W); otherwise any shape (flattened as needed).
    needs_images: ClassVar[bool] = False
    decisions: tuple[Decision, ...]

    # -- what every space defines ------------------------------------------------------------
    @abstractmethod
    def options(self) -> dict[str, Any]:
        """The keyword arguments that recreate this space (saved next to architectures)."""

    @abstractmethod
    def build(
        self, arch: Architecture, input_shape: Sequence[int], output: OutputSpec
    ) -> nn.Module:
        """A fresh `nn.Module` mapping inputs of `input_shape` (without batch) to `output`."""

    def is_active(self, index: int, chosen: Mapping[str, Value]) -> bool:
        """Whether decision `index` is taken, given the values chosen before it."""
        return True

    def layer(self, index: int) -> int:
        """The layer decision `index` belongs to (decisions of one layer are consecutive);
        a space without layers makes each decision its own."""
        return index

    def supports(self, output: OutputSpec) -> bool:
        """Whether networks of this space can produce `output` (most give vectors only)."""
        return output.is_vector

    def supernet(self, input_shape: Sequence[int], output: OutputSpec) -> nn.Module:
        """One network holding every architecture of the space (weight sharing, for one-shot
        search): `net(x, arch)` runs the `Architecture` arch and equals `build(arch, ...)`
        holding the same weights; `net(x, weights)`, a float tensor of shape
        (len(decisions), most choices), runs on each decision the mixture of its choices
        weighted by its row (DARTS). See `archsearch.oneshot.base`. This default: the space
        does not support weight sharing."""
        raise UsageError(
            f"space {self.name!r} does not support weight sharing (no supernet); use a space that "
            "does (nb201, darts, enas) or a strategy that trains each child (--strategy random)"
        )

    @classmethod
    def fitted_options(cls, input_shape: Sequence[int]) -> dict[str, Any]:
        """Default options that depend on the data (e.g. downsampling for large images);
        options the user gives override them."""
        return {}

    def graph(self, arch: Architecture) -> ArchGraph:
        """`arch` as a graph to draw. This generic one is a chain input → one node per layer
        (`layer()` groups the decisions; each node lists its `name=value`s) → output, so that
        any space can be drawn; spaces override it to show what their decisions mean."""
        groups: dict[int, list[str]] = {}
        for index, decision, value in self.active_decisions(arch):
            shown = ",".join(map(str, value)) if isinstance(value, tuple) else value
            groups.setdefault(self.layer(index), []).append(f"{decision.name}={shown}")
        labels = [", ".join(group) for group in groups.values()]
        return chain_graph(f"{self.name} architecture", labels)

    # -- generic machinery built on the above --------------------------------------------------
    def count_params(
        self, arch: Architecture, input_shape: Sequence[int], output: OutputSpec
    ) -> int:
        """Trainable parameters of `build(...)`, from a build on the meta device: no memory is
        allocated, whatever the size."""
        with torch.device("meta"):
            model = self.build(arch, input_shape, output)
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def walk(self, choose: Callable[[Decision, dict[str, Value]], Value]) -> Architecture:
        """The one walk over the decisions: in order, skipping inactive ones, each value given
        by `choose(decision, values chosen so far)`. Sampling, completing, `make` and the
        strategies' own walks are all this walk with another `choose`."""
        chosen: dict[str, Value] = {}
        for index, decision in enumerate(self.decisions):
            if self.is_active(index, chosen):
                chosen[decision.name] = choose(decision, chosen)
        return Architecture(self.name, tuple(chosen.items()))

    def active_decisions(self, arch: Architecture) -> Iterator[tuple[int, Decision, Value]]:
        """(index, decision, value) for each active decision of `arch`, in order."""
        values = arch.as_dict()
        for index, decision in enumerate(self.decisions):
            if decision.name in values:
                yield index, decision, values[decision.name]

    def complete(self, values: Mapping[str, Value], rng: random.Random) -> Architecture:
        """Keep each valid value given and sample the rest uniformly; inactive decisions are
        dropped. Every operator ends here, so every architecture a strategy proposes is valid
        by construction."""

        def choose(decision: Decision, chosen: dict[str, Value]) -> Value:
            value = normalise(decision, values.get(decision.name))
            return value if decision.valid(value) else sample_value(decision, rng)

        return self.walk(choose)

    def sample(self, rng: random.Random) -> Architecture:
        """A uniformly sampled architecture (uniform per decision)."""
        return self.complete({}, rng)

    def make(self, values: Mapping[str, Value]) -> Architecture:
        """The architecture with exactly these values; `ValueError` says what is wrong."""
        unknown = sorted(set(values) - {d.name for d in self.decisions})
        if unknown:
            raise ValueError(f"unknown decision(s) {unknown} for space {self.name!r}")

        def choose(decision: Decision, chosen: dict[str, Value]) -> Value:
            if decision.name not in values:
                raise ValueError(f"decision {decision.name!r} is missing")
            value = normalise(decision, values[decision.name])
            if not decision.valid(value):
                allowed = (
                    decision.choices
                    if isinstance(decision, Categorical)
                    else f"a subset of {list(decision.candidates)}"
                )
                raise ValueError(f"{decision.name}={values[decision.name]!r} is not in {allowed}")
            return value

        return self.walk(choose)

    def from_json(self, data: Mapping[str, Any]) -> Architecture:
        """Inverse of `Architecture.to_json`, validated against this space."""
        if data.get("space") != self.name:
            raise ValueError(f"architecture is for space {data.get('space')!r}, not {self.name!r}")
        return self.make(data.get("values", {}))

    def validate(self, arch: Architecture) -> None:
        """Raise `ValueError` unless `arch` is a canonical member of this space."""
        if self.from_json(arch.to_json()) != arch:
            raise ValueError(f"architecture {arch} is not canonical for space {self.name!r}")

    def reference(self) -> Architecture | None:
        """A plain architecture of the space that does well on most data, which re-ranking
        on small tables weighs beside the search's best (`archsearch.rerank`); None when the
        space has none."""
        return None

    def mutate(self, arch: Architecture, rng: random.Random) -> Architecture:
        """Change one active decision to a different value (dependent decisions are repaired)."""
        active = [(d, v) for _, d, v in self.active_decisions(arch) if value_count(d) > 1]
        if not active:
            return arch
        decision, old = rng.choice(active)
        new = old
        while new == old:
            new = sample_value(decision, rng)
        values = arch.as_dict()
        values[decision.name] = new
        return self.complete(values, rng)

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """Every architecture that differs from `arch` in one Categorical decision or one input
        edge; decisions this change activates take their first choice (deterministic)."""
        out: list[Architecture] = []
        values = arch.as_dict()
        for _, decision, old in self.active_decisions(arch):
            if isinstance(decision, Categorical):
                options = [c for c in decision.choices if c != old]
            else:
                options = [tuple(sorted(set(old) ^ {c})) for c in decision.candidates]
            for new in options:
                given = {**values, decision.name: new}
                out.append(self.walk(lambda d, _, given=given: _given_or_first(d, given)))
        return out

    def crossover(self, a: Architecture, b: Architecture, rng: random.Random) -> Architecture:
        """Splice two parents at a random decision boundary: decisions before it from `a`,
        from it on from `b`; anything left undefined is sampled."""
        cut = rng.randrange(1, len(self.decisions)) if len(self.decisions) > 1 else 0
        first, second = a.as_dict(), b.as_dict()
        values = {
            d.name: (first if i < cut else second).get(d.name) for i, d in enumerate(self.decisions)
        }
        return self.complete({k: v for k, v in values.items() if v is not None}, rng)

    def encode(self, arch: Architecture) -> list[float]:
        """Fixed-length numeric encoding: one-hot per Categorical, multi-hot per Inputs,
        zeros for inactive decisions."""
        values = arch.as_dict()
        code: list[float] = []
        for decision in self.decisions:
            value = values.get(decision.name)
            if isinstance(decision, Categorical):
                code.extend(float(value == c) for c in decision.choices)
            else:
                chosen = set(value or ())
                code.extend(float(c in chosen) for c in decision.candidates)
        return code

    def size(self) -> int:
        """Number of distinct architectures (exact; counts only reachable combinations)."""
        return self._count(0, {})

    def _count(self, index: int, chosen: dict[str, Value]) -> int:
        if index == len(self.decisions):
            return 1
        if not self.is_active(index, chosen):
            return self._count(index + 1, chosen)
        decision = self.decisions[index]
        if not self._later_depends_on(index):
            return value_count(decision) * self._count(index + 1, chosen)
        total = 0
        for value in _all_values(decision):
            total += self._count(index + 1, {**chosen, decision.name: value})
        return total

    def _later_depends_on(self, index: int) -> bool:
        """Whether activity of later decisions may depend on decision `index`. Spaces with
        conditional decisions override this to keep `size()` fast."""
        return False


def _given_or_first(decision: Decision, values: Mapping[str, Value]) -> Value:
    value = normalise(decision, values.get(decision.name))
    if decision.valid(value):
        return value
    return decision.choices[0] if isinstance(decision, Categorical) else ()


def normalise(decision: Decision, value: Value) -> Value:
    """An `Inputs` value given as any list of ints as its canonical sorted tuple."""
    if isinstance(decision, Inputs) and isinstance(value, (list, tuple)):
        try:
            return tuple(sorted(set(int(v) for v in value)))
        except (TypeError, ValueError):
            return value
    return value


def sample_value(decision: Decision, rng: random.Random) -> Value:
    """A uniform value of one decision (each candidate edge on with probability 1/2)."""
    if isinstance(decision, Categorical):
        return rng.choice(decision.choices)
    return tuple(c for c in decision.candidates if rng.random() < 0.5)


def value_count(decision: Decision) -> int:
    """How many values one decision has."""
    if isinstance(decision, Categorical):
        return len(decision.choices)
    return 2 ** len(decision.candidates)


def _all_values(decision: Decision) -> list[Value]:
    if isinstance(decision, Categorical):
        return list(decision.choices)
    n = len(decision.candidates)
    return [
        tuple(c for bit, c in enumerate(decision.candidates) if mask >> bit & 1)
        for mask in range(2**n)
    ]
