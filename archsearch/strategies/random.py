"""Random search: uniform samples of the space, the baseline every strategy must beat."""

from __future__ import annotations

from archsearch.evaluation.result import Result
from archsearch.spaces.base import Architecture
from archsearch.strategies.base import Strategy
from archsearch.strategies.screening import ScreeningOptions


class RandomSearch(Strategy):
    """Samples every decision uniformly, independently of past results."""

    name = "random"
    #: Only the `screen` options (`screening.py`): a predictor picks among several samples.
    Options = ScreeningOptions

    def propose(self) -> Architecture:
        return self.space.sample(self.rng)

    def learn(self, arch: Architecture, result: Result) -> None:
        pass
