"""Evolutionary search: regularized evolution and a genetic algorithm.

Both only ever propose architectures made by the space's own operators (`Space.sample`,
`Space.mutate`, `Space.crossover`, all of which end in `Space.complete`), so every proposal is
valid in every space.

- `evolution` — regularized evolution (Real et al., 2019): a population of the `population`
  most recent architectures; each child is a mutation of the best of `sample` members drawn at
  random; the oldest member dies when a child joins. Ageing rather than killing the worst keeps
  the search moving and robust to lucky evaluations.
- `genetic` — a steady-state genetic algorithm: the population is the `population` best distinct
  architectures seen; a child splices two tournament winners at a decision boundary and is
  mutated with probability `mutation` (always when it equals a parent, which would be a repeat).

Both are asynchronous as Real et al.'s workers were: a child joins the population when its
result is told, in the order results finish; a proposal `ask` discards because it is in flight
changes nothing but the generator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from archsearch.evaluation.result import Result
from archsearch.options import Options
from archsearch.spaces.base import Architecture, Space
from archsearch.strategies.base import Strategy
from archsearch.strategies.screening import ScreeningOptions

Member = tuple[Architecture, float]


@dataclass
class EvolutionOptions(ScreeningOptions):
    """Population size and tournament sample size. The defaults suit budgets of 100-200: a
    strong selection (half the population per tournament) measured best on NAS-Bench-201 among
    (P, S) in (10, 3), (20, 5), (20, 10), (30, 10), (50, 10), on all three datasets. The
    `screen` options (`screening.py`) let a predictor pick among several mutations."""

    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        **ScreeningOptions.limits,
        "population": (1, 10**6, True),
        "sample": (1, 10**6, True),
    }
    population: int = 20
    sample: int = 10


@dataclass
class GeneticOptions(Options):
    """Population size, tournament size and the probability of mutating a child. A small elite
    measured best on NAS-Bench-201 at 50-100 queries (population 10 against 20, tournaments of
    2-5, mutation 0.3-1.0, all three datasets)."""

    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        "population": (1, 10**6, True),
        "tournament": (1, 10**6, True),
        "mutation": (0.0, 1.0, False),
    }
    population: int = 10
    tournament: int = 3
    mutation: float = 0.5


class Evolution(Strategy):
    """Regularized (ageing) evolution."""

    name = "evolution"
    Options = EvolutionOptions

    def __init__(self, space: Space, seed: int = 0, **options: Any) -> None:
        super().__init__(space, seed, **options)
        if not 1 <= self.options.sample <= self.options.population:
            raise ValueError("evolution needs 1 <= sample <= population")
        self.population: list[Member] = []  # oldest first

    def propose(self) -> Architecture:
        if len(self.population) < self.options.population:
            return self.space.sample(self.rng)
        contenders = self.rng.sample(self.population, self.options.sample)
        parent, _ = max(contenders, key=lambda member: member[1])
        return self.space.mutate(parent, self.rng)

    def learn(self, arch: Architecture, result: Result) -> None:
        self.population.append((arch, result.reward))
        if len(self.population) > self.options.population:
            self.population.pop(0)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "population": _members_json(self.population)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.population = _members(self.space, state["population"])


class Genetic(Strategy):
    """Steady-state genetic algorithm with crossover and mutation."""

    name = "genetic"
    Options = GeneticOptions

    def __init__(self, space: Space, seed: int = 0, **options: Any) -> None:
        super().__init__(space, seed, **options)
        o = self.options
        if not 1 <= o.tournament <= o.population or not 0 <= o.mutation <= 1:
            raise ValueError("genetic needs 1 <= tournament <= population and mutation in [0, 1]")
        self.population: list[Member] = []  # best first, distinct

    def propose(self) -> Architecture:
        if len(self.population) < self.options.population:
            return self.space.sample(self.rng)
        first, second = self._tournament(), self._tournament()
        child = self.space.crossover(first, second, self.rng)
        if child in (first, second) or self.rng.random() < self.options.mutation:
            child = self.space.mutate(child, self.rng)
        return child

    def learn(self, arch: Architecture, result: Result) -> None:
        if any(member == arch for member, _ in self.population):
            return
        self.population.append((arch, result.reward))
        self.population.sort(key=lambda member: -member[1])  # stable: earlier first on ties
        del self.population[self.options.population :]

    def _tournament(self) -> Architecture:
        contenders = self.rng.sample(self.population, self.options.tournament)
        return max(contenders, key=lambda member: member[1])[0]

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "population": _members_json(self.population)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.population = _members(self.space, state["population"])


def _members_json(members: list[Member]) -> list[list[Any]]:
    return [[arch.to_json(), reward] for arch, reward in members]


def _members(space: Space, data: list[list[Any]]) -> list[Member]:
    return [(space.from_json(arch), float(reward)) for arch, reward in data]
