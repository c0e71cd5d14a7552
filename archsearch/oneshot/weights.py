"""How a supernet's shared weights are trained: the optimiser every one-shot method here
shares (DARTS's and NAS-Bench-201's one-shot recipe), with its knobs as options.

SGD with Nesterov-free momentum 0.9, learning rate 0.025 decayed by a cosine to 0.001 over the
search epochs, weight decay 3e-4, gradient norm clipped to 5 (Liu et al., 2019; Dong & Yang,
2020 used the same for every one-shot method they compared).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from archsearch.options import Options

__all__ = ["WEIGHT_LIMITS", "WeightOptions", "WeightTrainer"]

WEIGHT_LIMITS: dict[str, tuple[Any, Any, bool]] = {
    "w_lr": ((0.0,), 100.0, False),
    "w_lr_min": (0.0, 100.0, False),
    "w_momentum": (0.0, (1.0,), False),
    "w_weight_decay": (0.0, 10.0, False),
    "grad_clip": ((0.0,), 1e6, False),
}


@dataclass
class WeightOptions(Options):
    """The shared weights' optimiser: SGD lr `w_lr` (cosine to `w_lr_min` over the search
    epochs), momentum `w_momentum`, weight decay `w_weight_decay`, gradient norm clipped to
    `grad_clip`."""

    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: float = 5.0
    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = WEIGHT_LIMITS


class WeightTrainer:
    """SGD steps on a supernet's weights with a per-epoch cosine schedule."""

    def __init__(self, net: nn.Module, options: WeightOptions, epochs: int) -> None:
        self.clip = options.grad_clip
        #: the weights, listed once (walking a supernet's modules every step costs ~ms)
        self.params = list(net.parameters())
        self.optimizer = torch.optim.SGD(
            self.params,
            options.w_lr,
            momentum=options.w_momentum,
            weight_decay=options.w_weight_decay,
        )
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, max(epochs, 1), options.w_lr_min
        )

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def step(self, loss: torch.Tensor) -> torch.Tensor:
        """One clipped SGD step on `loss`; its value, detached and left on the device (a read
        per step would make the CPU wait for the GPU every step)."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, self.clip)
        self.optimizer.step()
        return loss.detach()

    def end_epoch(self) -> None:
        self.schedule.step()

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "schedule": self.schedule.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
