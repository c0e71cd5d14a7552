"""`ProxyEvaluator`: score an architecture without training it (zero-cost proxies).

`--evaluator proxy --evaluator-option proxy=NAME` (names: `zero_cost.PROXIES` and `params`)
rewards each architecture by a score of its untrained network on a few training rows, in
seconds instead of a training's minutes. The score is the mean over `inits` initialisations
(seeded by the trial's seed): one random initialisation is a noisy judge of an architecture.

From score to reward (what every strategy maximises; higher is better):

- `head` already is a validation score (accuracy, R²) of a linear head on frozen random
  features, so its reward is that score, clipped to the task's floor like a trained child's.
- the other proxies are unbounded (a log-determinant, a log-synflow, a parameter count), so
  their reward is floor + (1 - floor) * Phi((score - mu) / sigma), mu and sigma being the mean
  and standard deviation of the scores of `calibration` random architectures of the space
  (a fixed seed, scored on first use and kept in the evaluator's state): about the share of
  random architectures that score lower. The map is strictly increasing and lies inside
  (floor, 1), so rank order is kept, a failed child (the task's failed reward, below the
  floor) stays below every working one, and the rewards are on the scale REINFORCE's
  baseline and the trained rewards use. A score of -inf (a singular NASWOT kernel, a synflow
  of zero: a network whose output ignores its input) is the floor.

A network that cannot be built, or a score that is not a number, is a failed result with the
reason. Only the train and validation splits are used.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from archsearch.data.dataset import stratified_subset
from archsearch.evaluation.base import Context, Evaluator
from archsearch.evaluation.result import Result
from archsearch.evaluation.trainer import resolve_device
from archsearch.evaluation.zero_cost import PROXIES, Batch
from archsearch.options import Options
from archsearch.spaces.base import Architecture

__all__ = ["PROXY_NAMES", "ProxyEvaluator", "ProxyOptions"]

PROXY_NAMES = (*PROXIES, "params")
#: Seed of the calibration architectures and of the rows a proxy sees (the same for every
#: architecture, so that their scores are comparable).
CALIBRATION_SEED = 0


@dataclass
class ProxyOptions(Options):
    """`proxy`: which score (head, naswot, synflow, gradnorm, params); `samples`: training
    rows a proxy sees (and validation rows `head` scores); `inits`: initialisations averaged;
    `calibration`: random architectures that fix the reward scale; `device`: auto, cpu, cuda."""

    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        "samples": (2, 100_000, True),
        "inits": (1, 1000, True),
        "calibration": (2, 100_000, True),
    }
    proxy: str = "naswot"
    samples: int = 64
    inits: int = 3
    calibration: int = 16
    device: str = "cpu"


class ProxyEvaluator(Evaluator):
    """Rewards an architecture by a zero-cost proxy of its untrained network (see module)."""

    name = "proxy"
    Options = ProxyOptions

    def __init__(self, context: Context, **options: Any) -> None:
        super().__init__(context, **options)
        o = self.options
        if o.proxy not in PROXY_NAMES:
            raise ValueError(f"unknown proxy {o.proxy!r}; choose one of: {', '.join(PROXY_NAMES)}")
        if context.data is None:
            raise ValueError("the proxy evaluator needs data")
        self.data = context.data
        self.device = resolve_device(o.device)
        self.output = self.task.output_spec()
        self.batch = self._batch()
        self.scale: tuple[float, float] | None = None  # (mu, sigma) of the calibration scores

    def _batch(self) -> Batch:
        """`samples` training and validation rows, the same for every architecture."""
        data, n = self.data, self.options.samples
        x, y = _rows(data.x_train, data.y_train, n, self.task.name)
        xv, yv = _rows(data.x_val, data.y_val, n, self.task.name)
        to = self.device
        return Batch(
            data.prepare(x).float().to(to), y.to(to), data.prepare(xv).float().to(to), yv.to(to)
        )

    def score(self, arch: Architecture, seed: int) -> float:
        """The raw proxy score of `arch` (mean over `inits` initialisations seeded from
        `seed`); raises what building or running the network raises."""
        space, shape = self.context.space, self.data.input_shape
        if self.options.proxy == "params":
            return math.log10(max(space.count_params(arch, shape, self.output), 1))
        proxy, scores = PROXIES[self.options.proxy], []
        for init in range(self.options.inits):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed * 1000 + init)
                model = space.build(arch, shape, self.output).to(self.device)
            scores.append(proxy(model, self.batch, self.task))
        return float(np.mean(scores))

    def evaluate(self, arch: Architecture, seed: int) -> Result:
        start = time.perf_counter()
        try:
            value = self.score(arch, seed)
        except (ValueError, RuntimeError, KeyError) as exc:
            return self.failed(f"the proxy could not score this network: {exc}".splitlines()[0])
        if math.isnan(value):
            return self.failed(f"the {self.options.proxy} score is not a number")
        metrics = {
            f"proxy_{self.options.proxy}": value,
            "params": float(
                self.context.space.count_params(arch, self.data.input_shape, self.output)
            ),
            "proxy_seconds": time.perf_counter() - start,
        }
        return Result(reward=self.reward(value), metrics=metrics)

    def reward(self, value: float) -> float:
        """The reward of a raw score: the score itself for `head`, else the calibrated
        squash (module docstring); always in [floor, 1]."""
        floor = self.task.reward_floor
        if self.options.proxy == "head":
            return max(value, floor)
        if value == -math.inf:
            return floor
        mu, sigma = self._calibrated()
        if value == math.inf:
            return 1.0
        phi = 0.5 * (1 + math.erf((value - mu) / (sigma * math.sqrt(2))))
        return floor + (1 - floor) * phi

    def _calibrated(self) -> tuple[float, float]:
        """(mu, sigma) of the finite scores of `calibration` seeded random architectures."""
        if self.scale is None:
            rng, values = random.Random(CALIBRATION_SEED), []
            for i in range(self.options.calibration):
                try:
                    values.append(self.score(self.context.space.sample(rng), CALIBRATION_SEED + i))
                except (ValueError, RuntimeError, KeyError):
                    continue
            finite = [v for v in values if math.isfinite(v)]
            mu = float(np.mean(finite)) if finite else 0.0
            sigma = float(np.std(finite)) if len(finite) > 1 else 1.0
            self.scale = (mu, sigma if sigma > 0 else 1.0)
        return self.scale

    def state_dict(self) -> dict[str, Any]:
        return {"scale": list(self.scale) if self.scale is not None else None}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        scale = state.get("scale")
        self.scale = (float(scale[0]), float(scale[1])) if scale is not None else None


def _rows(x: torch.Tensor, y: torch.Tensor, n: int, task: str) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` rows of a split: stratified by class for classification, else a seeded sample."""
    if task == "classification":
        index = stratified_subset(y.numpy(), n, CALIBRATION_SEED)
    else:
        index = np.sort(np.random.default_rng(CALIBRATION_SEED).permutation(len(y))[:n])
    index_t = torch.as_tensor(index, dtype=torch.long)
    return x[index_t], y[index_t]
