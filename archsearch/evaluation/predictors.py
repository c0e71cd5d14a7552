"""Learning-curve prediction (Baker et al. 2017, "Accelerating Neural Architecture Search
using Performance Prediction") and the `predictor` pruner built on it.

`CurvePredictor` is Baker's sequential regression model for one prefix length t: a ν-SVR
(RBF kernel, the model Baker found best) on standardised features of a child (its first t
validation scores, their first and second differences, log10 of its parameter count and its
space's numeric encoding) that predicts the child's final validation score. It is trained on
the finished children seen so far; its error is estimated from cross-validated residuals
(k-fold, k <= 5), taken as Gaussian with that root-mean-square.

`PredictorPruner` stops a child at epoch t when the predicted final score is below the best
final score so far with probability at least `confidence`: prediction + z x error < best,
z the standard normal's `confidence` quantile (Baker's "terminate if the probability of
beating the best is below Δ").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import NuSVR

from archsearch.evaluation.pruners import Pruner
from archsearch.options import Options

__all__ = ["CurvePredictor", "PredictorPruner", "curve_features"]

MIN_ERROR = 1e-3  # a floor on the estimated error: a handful of residuals can all be tiny


def curve_features(scores: Sequence[float], features: Sequence[float] = ()) -> list[float]:
    """Baker's time-series features of a curve prefix (the scores, their first and second
    differences), followed by the architecture's `features`."""
    y = np.asarray(scores, dtype=float)
    return [*y, *np.diff(y), *np.diff(y, n=2), *features]


class CurvePredictor:
    """A ν-SVR from a curve prefix of a fixed length (plus architecture features) to the
    final validation score, with its cross-validated error (`error`)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.error = math.inf
        self.model: Any = None

    def _make(self) -> Any:
        svr = make_pipeline(StandardScaler(), NuSVR(kernel="rbf", nu=0.5, C=1.0))
        return TransformedTargetRegressor(svr, transformer=StandardScaler())

    def fit(self, x: Sequence[Sequence[float]], y: Sequence[float]) -> CurvePredictor:
        """Fit on rows `x` (`curve_features` of prefixes) and final scores `y`; at least two
        rows. The error is the root-mean-square of out-of-fold residuals."""
        xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        folds = KFold(min(5, len(ya)), shuffle=True, random_state=self.seed)
        held_out = cross_val_predict(self._make(), xa, ya, cv=folds)
        self.error = max(float(np.sqrt(np.mean((held_out - ya) ** 2))), MIN_ERROR)
        self.model = self._make().fit(xa, ya)
        return self

    def predict(self, row: Sequence[float]) -> float:
        """The predicted final score of one row."""
        return float(self.model.predict(np.asarray([row], dtype=float))[0])


@dataclass
class PredictorOptions(Options):
    """`confidence`: how sure the prediction must be that a child ends below the best;
    `warmup_epochs`: epochs a child always trains; `min_trials`: finished children the
    predictor must have learned from before it stops any."""

    confidence: float = 0.95
    warmup_epochs: int = 2
    min_trials: int = 8
    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        "confidence": ((0.5,), (1.0,), False),
        "warmup_epochs": (1, 1_000_000, True),
        "min_trials": (3, 1_000_000, True),
    }


class PredictorPruner(Pruner):
    """Stops a child whose predicted final validation score is, with probability at least
    `confidence`, below the best final score of the finished children (Baker et al. 2017).
    One predictor per prefix length, refitted when new finished children arrive."""

    name = "predictor"
    Options = PredictorOptions
    needs_features = True

    def __init__(self, epochs: int, **options: Any) -> None:
        super().__init__(epochs, **options)
        self._fitted: dict[tuple[int, int], CurvePredictor] = {}

    def predictor(self, epoch: int) -> CurvePredictor:
        """The predictor from `epoch`-long prefixes, trained on the finished children."""
        done = [h for h in self.finished() if len(h["scores"]) == self.epochs]
        key = (epoch, len(done))
        if key not in self._fitted:
            x = [curve_features(h["scores"][:epoch], h.get("features", ())) for h in done]
            y = [h["scores"][-1] for h in done]
            kept = {k: v for k, v in self._fitted.items() if k[1] == len(done)}
            self._fitted = {**kept, key: CurvePredictor().fit(x, y)}
        return self._fitted[key]

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self._fitted = {}

    def check(
        self, scores: Sequence[float], features: Sequence[float] = (), cost: float = 0.0
    ) -> str:
        epoch = len(scores)
        done = [h for h in self.finished() if len(h["scores"]) == self.epochs]
        if epoch <= self.options.warmup_epochs or len(done) < self.options.min_trials:
            return ""
        model = self.predictor(epoch)
        predicted = model.predict(curve_features(scores, features))
        best = max(h["scores"][-1] for h in done)
        z = NormalDist().inv_cdf(self.options.confidence)
        if predicted + z * model.error < best:
            return (
                f"pruned at epoch {epoch}: predicted final score {predicted:.4f} ± "
                f"{model.error:.4f} is below the best {best:.4f} with probability >= "
                f"{self.options.confidence:g}"
            )
        return ""
