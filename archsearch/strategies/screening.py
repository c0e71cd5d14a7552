"""Predictor screening: an accuracy predictor fitted to the results so far picks which of many
proposals is trained.

With the strategy option `screen=K` (K >= 2; `reinforce`, `evolution` and `random` have it),
once `screen_after` results are told, each `ask` draws K proposals from the strategy (K
samples of the controller, K mutations of tournament winners, K uniform samples) and returns
the one a regression model of reward on `Space.encode(arch)`, fitted to every (architecture,
reward) told so far, predicts best; proposals already told or in flight are passed over while
others remain. The strategy then learns from that one's real result through the normal `tell`,
so only the most promising proposals cost a training.

The predictor is a separate scikit-learn model (`screen_model`: `forest`, a random forest, or
`gp`, a Gaussian process), refitted once the told results have grown by a tenth (at least one)
since the last fit: a fit per tell cost a quarter of a second on the shared CPUs, a hundred of
them per search, for predictions that barely move. It is fully determined by the results it was
fitted to and the strategy's seed, so the state to resume is those results and how many of them
the model saw. (Sharing the REINFORCE controller's LSTM as the predictor, as in the survey, is not
built.)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from archsearch.options import Options
from archsearch.spaces.base import Architecture, Space

__all__ = ["MODELS", "Screen", "ScreeningOptions"]

#: The predictor is refitted once the told results grew by this share since its last fit.
REFIT_GROWTH = 0.1


def _forest(seed: int) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=30, random_state=seed, n_jobs=1)


def _gp(seed: int) -> Any:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    kernel = ConstantKernel() * RBF(length_scale=2.0) + WhiteKernel(1e-2)
    return GaussianProcessRegressor(kernel, normalize_y=True, random_state=seed)


#: The predictors `screen_model` names: seed -> an unfitted scikit-learn regressor.
MODELS: dict[str, Callable[[int], Any]] = {"forest": _forest, "gp": _gp}


@dataclass
class ScreeningOptions(Options):
    """`screen`: proposals drawn per ask, of which the predicted best is returned (0: off);
    `screen_model`: the predictor (forest, gp); `screen_after`: results told before the
    predictor is trusted (until then every ask is one plain proposal)."""

    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        "screen": (0, 100_000, True),
        "screen_after": (2, 10**9, True),
    }
    screen: int = 0
    screen_model: str = "forest"
    screen_after: int = 10


class Screen:
    """The told (architecture, reward) pairs and the predictor fitted to them."""

    def __init__(self, space: Space, options: ScreeningOptions, seed: int) -> None:
        if options.screen_model not in MODELS:
            raise ValueError(
                f"unknown screen_model {options.screen_model!r}; choose one of: {', '.join(MODELS)}"
            )
        self.space, self.options, self.seed = space, options, seed
        self.told: list[tuple[Architecture, float]] = []
        self.model: Any = None
        self.fitted_on = 0  # how many told results the model was fitted to

    @classmethod
    def of(cls, space: Space, options: Any, seed: int) -> Screen | None:
        """A screen if `options` (a strategy's) turn screening on, else None."""
        if not isinstance(options, ScreeningOptions) or options.screen < 2:
            return None
        return cls(space, options, seed)

    @property
    def ready(self) -> bool:
        return len(self.told) >= self.options.screen_after

    def record(self, arch: Architecture, reward: float) -> None:
        self.told.append((arch, float(reward)))

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predicted rewards of `archs` from a model fitted to every told result."""
        if self.model is None and self.fitted_on:  # resumed: first the model as it was
            self._fit(self.fitted_on)
        if self.model is None or len(self.told) >= self.fitted_on * (1 + REFIT_GROWTH) + 1:
            self._fit(len(self.told))
        return np.asarray(self.model.predict(np.array([self.space.encode(a) for a in archs])))

    def _fit(self, count: int) -> None:
        """Fit a fresh predictor to the first `count` told results."""
        from sklearn.exceptions import ConvergenceWarning

        x = np.array([self.space.encode(a) for a, _ in self.told[:count]])
        y = np.array([r for _, r in self.told[:count]])
        with warnings.catch_warnings():  # a GP's kernel bound reached: harmless here
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model = MODELS[self.options.screen_model](self.seed).fit(x, y)
        self.fitted_on = count

    def pick(self, candidates: Sequence[Architecture], busy: Mapping[str, int]) -> Architecture:
        """The candidate predicted best among those neither told nor in `busy` (all of them
        when none is new); the first on ties."""
        seen = {a.hash for a, _ in self.told} | set(busy)
        fresh = [a for a in candidates if a.hash not in seen] or list(candidates)
        return fresh[int(np.argmax(self.predict(fresh)))]

    def state_dict(self) -> dict[str, Any]:
        return {"told": [[a.to_json(), r] for a, r in self.told], "fitted_on": self.fitted_on}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.told = [(self.space.from_json(a), float(r)) for a, r in state["told"]]
        self.model, self.fitted_on = None, int(state.get("fitted_on", 0))
