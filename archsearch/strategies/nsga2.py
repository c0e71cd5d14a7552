"""`nsga2`: Pareto search over several objectives (Deb et al., 2002), steady-state.

The population is the `population` best distinct working architectures seen, ranked as NSGA-II
ranks them: by non-dominated front first, then by crowding distance inside a front (the ends of
a front and lonely points are preferred, so the population spreads along the front instead of
crowding one corner). A child splices two tournament winners at a decision boundary with
probability `crossover` and is mutated with probability `mutation` (always when it equals a
parent, which would be a repeat). When a child's result is told it joins the population, and
the worst member — last front, most crowded — leaves: NSGA-II's elitist (mu + 1) replacement,
asynchronous like the other evolutionary strategies (results join in the order they finish).

The objectives are read from the told results' metrics (`evaluation/objectives.py`):
`accuracy` (the task's score, maximised) and the costs `params`, `flops`, `latency`
(minimised). A run passes its `--objectives` to this strategy; on its own it optimises
accuracy and parameters. Failed and pruned children never join the population.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from archsearch.evaluation.objectives import DIRECTIONS, objective_values, parse_objectives
from archsearch.evaluation.result import Result
from archsearch.options import Options
from archsearch.pareto import crowding_distance, non_dominated_sort, oriented
from archsearch.spaces.base import Architecture, Space
from archsearch.strategies.base import Strategy

__all__ = ["NSGA2", "NSGA2Options"]

Member = tuple[Architecture, tuple[float, ...]]


@dataclass
class NSGA2Options(Options):
    """`objectives`: comma-separated, from accuracy, params, flops, latency (a run sets them
    from `--objectives`); `population`: members kept; `tournament`: members drawn per parent
    choice; `crossover`, `mutation`: probabilities. The defaults measured best on NAS-Bench-201
    (CIFAR-10 accuracy, params, FLOPs; hypervolume above 90% accuracy at 100 and 200 queries,
    seeds 100-109) among population 10/20/30, crossover 0/0.5, mutation 0.5/1
    (benchmarks/results/multiobjective_tune_ref0.9_seeds100-109.json)."""

    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        "population": (2, 10**6, True),
        "tournament": (1, 10**6, True),
        "crossover": (0.0, 1.0, False),
        "mutation": (0.0, 1.0, False),
    }
    objectives: str = "accuracy,params"
    population: int = 20
    tournament: int = 2
    crossover: float = 0.5
    mutation: float = 0.5


class NSGA2(Strategy):
    """Steady-state NSGA-II: non-dominated sorting, crowding distance, elitist replacement."""

    name = "nsga2"
    Options = NSGA2Options

    def __init__(self, space: Space, seed: int = 0, **options: Any) -> None:
        super().__init__(space, seed, **options)
        o = self.options
        self.objectives = parse_objectives(o.objectives)
        self.directions = [DIRECTIONS[name] for name in self.objectives]
        if o.tournament > o.population:
            raise ValueError("nsga2 needs tournament <= population")
        self.population: list[Member] = []  # in the order they joined
        self.ranks: list[tuple[int, float]] = []  # per member: (front, -crowding)

    def propose(self) -> Architecture:
        if len(self.population) < self.options.population:
            return self.space.sample(self.rng)
        first, second = self._tournament(), self._tournament()
        child = first
        if self.rng.random() < self.options.crossover:
            child = self.space.crossover(first, second, self.rng)
        if child in (first, second) or self.rng.random() < self.options.mutation:
            child = self.space.mutate(child, self.rng)
        return child

    def learn(self, arch: Architecture, result: Result) -> None:
        if not result.ok or any(member == arch for member, _ in self.population):
            return
        self.population.append((arch, objective_values(result, self.objectives)))
        self._rank()
        if len(self.population) > self.options.population:
            worst = max(range(len(self.population)), key=lambda i: (self.ranks[i], -i))
            del self.population[worst]
            self._rank()

    def front(self) -> list[Architecture]:
        """The population's non-dominated members."""
        return [arch for (arch, _), rank in zip(self.population, self.ranks) if rank[0] == 0]

    def _rank(self) -> None:
        """(front, -crowding distance) of every member: lower is better."""
        values = [values for _, values in self.population]
        ranks: list[tuple[int, float]] = [(0, 0.0)] * len(values)
        for level, front in enumerate(non_dominated_sort(values, self.directions)):
            points = oriented([values[i] for i in front], self.directions)
            for i, distance in zip(front, crowding_distance(points)):
                ranks[i] = (level, -distance)
        self.ranks = ranks

    def _tournament(self) -> Architecture:
        drawn = self.rng.sample(range(len(self.population)), self.options.tournament)
        return self.population[min(drawn, key=lambda i: (self.ranks[i], i))][0]

    def state_dict(self) -> dict[str, Any]:
        members = [[arch.to_json(), list(values)] for arch, values in self.population]
        return {**super().state_dict(), "population": members}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.population = [
            (self.space.from_json(arch), tuple(float(v) for v in values))
            for arch, values in state["population"]
        ]
        self._rank()
