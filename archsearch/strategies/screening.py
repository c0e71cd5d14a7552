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
the model saw.

A strategy may supply its own predictor instead (`Screen.supply`), one it trains itself: the
survey's predictor that shares the REINFORCE controller's LSTM, `screen_model=lstm`, is
`reinforce`'s (`shared_predictor.py`); other strategies refuse that name with a usage error.
Such a predictor's state is the strategy's to save; the screen then only records, picks, and
asks it for predictions. On NAS-Bench-201 it ranks unseen cells better than the forest but
screens REINFORCE's samples slightly worse, at eight times the cost (docs/proxies.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from archsearch.errors import UsageError
from archsearch.options import Options
from archsearch.spaces.base import Architecture, Space

__all__ = ["MODELS", "SUPPLIED", "Predictor", "Screen", "ScreeningOptions"]

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
#: Predictors a strategy supplies itself (`Screen.supply`): name -> the strategy that has it.
SUPPLIED: dict[str, str] = {"lstm": "reinforce"}


class Predictor(Protocol):
    """A predictor a strategy supplies and trains itself."""

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray: ...


@dataclass
class ScreeningOptions(Options):
    """`screen`: proposals drawn per ask, of which the predicted best is returned (0: off);
    `screen_model`: the predictor (forest, gp; lstm with reinforce only); `screen_after`:
    results told before the predictor is trusted (until then every ask is one plain
    proposal)."""

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
        self.space, self.options, self.seed = space, options, seed
        self.told: list[tuple[Architecture, float]] = []
        self.model: Any = None
        self.fitted_on = 0  # how many told results the model was fitted to
        self.supplied: Predictor | None = None  # the strategy's own predictor, if any

    @classmethod
    def of(cls, space: Space, options: Any, seed: int, owner: str = "") -> Screen | None:
        """A screen if `options` (those of strategy `owner`) turn screening on, else None;
        a `UsageError` for a `screen_model` that `owner` does not have."""
        if not isinstance(options, ScreeningOptions):
            return None
        model = options.screen_model
        if model not in MODELS and SUPPLIED.get(model, owner) != owner:
            raise UsageError(
                f"screen_model={model} shares the {SUPPLIED[model]} controller, so only "
                f"--strategy {SUPPLIED[model]} has it; use {' or '.join(MODELS)} with {owner}"
            )
        if model not in MODELS and model not in SUPPLIED:
            known = ", ".join([*MODELS, *SUPPLIED])
            raise UsageError(f"unknown screen_model {model!r}; choose one of: {known}")
        return cls(space, options, seed) if options.screen >= 2 else None

    def supply(self, predictor: Predictor) -> None:
        """Use `predictor`, trained and saved by the strategy, instead of a fitted model."""
        self.supplied = predictor

    @property
    def ready(self) -> bool:
        return len(self.told) >= self.options.screen_after

    def record(self, arch: Architecture, reward: float) -> None:
        self.told.append((arch, float(reward)))

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predicted rewards of `archs` from a model fitted to every told result (or from
        the strategy's own predictor)."""
        if self.supplied is not None:
            return np.asarray(self.supplied.predict(archs))
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
