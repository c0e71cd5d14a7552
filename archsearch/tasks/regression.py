"""Regression: numeric targets, squared error, R²."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from archsearch.tasks.base import MAX, MIN, OutputSpec, Task


class SquaredErrorTask(Task):
    """Shared by regression and reconstruction: mean squared error as the loss; MSE, MAE and
    R² (1 - SSE / SST, SST about each output's mean in the split) as metrics. Targets are
    held standardised; `scale` converts MSE and MAE back to the original units."""

    score = "r2"
    directions = {"loss": MIN, "mse": MIN, "mae": MIN, "r2": MAX}
    #: R² below -1 (twice the error of predicting the mean) counts as equally useless.
    reward_floor = -1.0
    scale: float = 1.0

    def loss(
        self, outputs: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0
    ) -> torch.Tensor:
        return torch.mean((outputs.float() - targets.float()) ** 2)

    def batch_sums(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        error = (outputs.float() - targets.float()).flatten(1)
        flat = targets.float().flatten(1)
        return {
            "sse": (error * error).sum(),
            "sae": error.abs().sum(),
            "sum_y": flat.sum(0),
            "sum_y2": (flat * flat).sum(0),
        }

    def metrics(self, sums: dict[str, torch.Tensor], count: int) -> dict[str, float]:
        outputs = sums["sum_y"].numel()
        sse = sums["sse"].item()
        sst = (sums["sum_y2"] - sums["sum_y"] ** 2 / count).sum().item()
        mse = sse / (count * outputs)
        return {
            "loss": mse,
            "mse": mse * self.scale**2,
            "mae": sums["sae"].item() / (count * outputs) * self.scale,
            "r2": 1.0 - sse / sst if sst > 1e-12 else 0.0,
        }


class Regression(SquaredErrorTask):
    """`len(names)` numeric outputs per sample (targets float32, shape (N, k)), standardised
    with the train split's `mean` and `std`; predictions are `outputs * std + mean`."""

    name = "regression"

    def __init__(
        self,
        mean: Sequence[float] = (0.0,),
        std: Sequence[float] = (1.0,),
        names: Sequence[str] = ("y",),
    ) -> None:
        if not len(mean) == len(std) == len(names) >= 1:
            raise ValueError("regression needs one mean, std and name per target")
        self.mean, self.std, self.names = list(mean), list(std), list(names)
        # one scale for MSE/MAE in original units (exact for one target, the mean otherwise)
        self.scale = float(sum(self.std) / len(self.std))

    def output_spec(self) -> OutputSpec:
        return OutputSpec((len(self.names),))

    def unscale(self, outputs: torch.Tensor) -> torch.Tensor:
        """Predictions in the target's original units."""
        return outputs * torch.tensor(self.std) + torch.tensor(self.mean)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "mean": self.mean, "std": self.std, "names": self.names}
