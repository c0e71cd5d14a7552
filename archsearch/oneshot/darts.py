"""DARTS (Liu, Simonyan & Yang, 2019): differentiable architecture search.

Every decision of the space becomes a softmax over architecture parameters alpha; the
supernet runs on each edge the softmax-weighted mixture of its operations. Each search step
takes one architecture step (Adam on alpha, on a validation batch: first order, or the
paper's second-order unrolled step) and one weight step (SGD with momentum on a training
batch). The derived architecture is the argmax of alpha on each decision.

Defaults are the paper's: weights SGD lr 0.025 (cosine to 0.001), momentum 0.9, weight decay
3e-4, gradient clipping 5; alpha Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3; batch
64 (`--batch-size 64`); 50 epochs (`--epochs 50`). `order` 1 is DARTS-V1 (the default: on
NAS-Bench-201 the second order collapses alike at two to three times the cost), 2 DARTS-V2.

Plain DARTS collapses onto parameter-free operations (skip connections, pooling, none): on
NAS-Bench-201 both versions derive the all-skip cell (54.30% test). The collapse guard
(`guard`, see `archsearch.oneshot.guards`) is on by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from archsearch.oneshot.base import OneShot
from archsearch.oneshot.guards import GUARDS, PARAMETER_FREE, Guard, check_guard, make_guard
from archsearch.oneshot.weights import WEIGHT_LIMITS, WeightOptions, WeightTrainer
from archsearch.spaces.base import Architecture, Categorical

__all__ = ["Darts", "DartsOptions"]


@dataclass
class DartsOptions(WeightOptions):
    """DARTS's knobs (the paper's values): the weights' (`WeightOptions`), the architecture
    step's order and Adam, and the collapse `guard` with its strength (see `guards`)."""

    order: int = 1
    arch_lr: float = 3e-4
    arch_weight_decay: float = 1e-3
    guard: str = "beta-cap"
    beta_max: float = 10.0
    max_free: int = 2
    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        **WEIGHT_LIMITS,
        "order": (1, 2, True),
        "arch_lr": ((0.0,), 100.0, False),
        "arch_weight_decay": (0.0, 10.0, False),
        "beta_max": (0.0, 1e6, False),
        "max_free": (0, 1000, True),
    }


class Darts(OneShot):
    """DARTS over any space whose supernet mixes operations (nb201, darts)."""

    name = "darts"
    Options = DartsOptions

    def setup(self) -> None:
        """The supernet, alpha, its optimiser and the collapse guard."""
        o = self.options
        check_guard(o.guard, GUARDS)
        if not all(isinstance(d, Categorical) for d in self.space.decisions):
            name = self.space.name
            raise ValueError(f"DARTS needs a space of categorical decisions, not {name!r}")
        self.supernet = self.make_supernet()
        width = max(len(d.choices) for d in self.space.decisions)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 1)
            alpha = 1e-3 * torch.randn(len(self.space.decisions), width)
        self.mask = torch.tensor(
            [[k < len(d.choices) for k in range(width)] for d in self.space.decisions]
        ).to(self.device)
        self.alpha = nn.Parameter(alpha.to(self.device))
        self.w_train = WeightTrainer(self.supernet, o, self.train.epochs)
        self.a_opt = torch.optim.Adam(
            [self.alpha], o.arch_lr, betas=(0.5, 0.999), weight_decay=o.arch_weight_decay
        )
        self.guard: Guard = make_guard(o.guard, self)
        self.free = torch.tensor(
            [[str(c) in PARAMETER_FREE for c in _padded(d, width)] for d in self.space.decisions]
        ).to(self.device)
        self.notice = self.fit_memory(self.supernet, self.weights().detach(), copies=o.order)

    # -- the relaxation ------------------------------------------------------------------------
    def weights(self) -> torch.Tensor:
        """softmax(alpha) per decision (padding choices weigh 0)."""
        return torch.softmax(self.alpha.masked_fill(~self.mask, float("-inf")), dim=-1)

    def derive(self) -> Architecture:
        """The argmax of alpha on every decision (the guard may pick an earlier one)."""
        return self.guard.derive() or self.argmax()

    def argmax(self) -> Architecture:
        best = self.weights().argmax(dim=-1).tolist()
        return self.space.make(
            {d.name: d.choices[k] for d, k in zip(self.space.decisions, best)}  # type: ignore[union-attr]
        )

    # -- one epoch -----------------------------------------------------------------------------
    def epoch(self) -> dict[str, float]:
        """One pass over the training split: per batch an architecture step on a validation
        batch, then a weight step. Returns the mean losses, alpha's entropy, how many decisions
        argmax a parameter-free operation, and each choice's weight."""
        self.supernet.train()
        val = self.batches("val")
        # summed on the device, read once at the end
        totals = {key: torch.zeros((), device=self.device) for key in ("train_loss", "val_loss")}
        steps = 0
        for xb, yb in self.batches("train"):
            try:
                xv, yv = next(val)
            except StopIteration:
                val = self.batches("val")
                xv, yv = next(val)
            if not self.guard.frozen:
                totals["val_loss"] += self.arch_step(xb, yb, xv, yv)
            totals["train_loss"] += self.weight_step(xb, yb)
            steps += 1
        self.w_train.end_epoch()
        self.epochs_done += 1
        stats = {k: float(v) / max(steps, 1) for k, v in totals.items()}
        stats.update(self.describe_alpha())
        stats.update(self.guard.after_epoch(self.argmax()))
        return stats

    def weight_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.w_train.step(self.loss(self.supernet(x, self.weights().detach()), y))

    def arch_step(
        self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor
    ) -> torch.Tensor:
        """One Adam step on alpha; the validation loss (before the step), on the device."""
        self.a_opt.zero_grad(set_to_none=True)
        if self.options.order == 2:
            loss = self._unrolled_grad(xt, yt, xv, yv)
        else:
            loss = self.loss(self.supernet(xv, self.weights()), yv)
            loss.backward()
        penalty = self.guard.penalty()
        if penalty is not None:
            penalty.backward()
        self.a_opt.step()
        self.supernet.zero_grad(set_to_none=True)
        return loss.detach()

    def _unrolled_grad(
        self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor
    ) -> torch.Tensor:
        """DARTS's second-order gradient of alpha: the validation loss at the weights after one
        virtual SGD step, minus lr times a finite-difference Hessian-vector product."""
        params = self.w_train.params
        lr = self.w_train.lr
        saved = [p.detach().clone() for p in params]
        grads = torch.autograd.grad(
            self.loss(self.supernet(xt, self.weights().detach()), yt), params
        )
        with torch.no_grad():
            wd = self.options.w_weight_decay
            for p, g in zip(params, grads):
                p.sub_(lr * (g + wd * p))
        loss = self.loss(self.supernet(xv, self.weights()), yv)
        d_alpha, *d_w = torch.autograd.grad(loss, [self.alpha, *params])
        eps = 0.01 / torch.cat([g.reshape(-1) for g in d_w]).norm().clamp_min(1e-12)
        hessian = []
        for sign in (1.0, -1.0):  # gradients of alpha at w + eps * d_w and w - eps * d_w
            with torch.no_grad():
                for p, s, g in zip(params, saved, d_w):
                    p.copy_(s + sign * eps * g)
            train_loss = self.loss(self.supernet(xt, self.weights()), yt)
            hessian.append(torch.autograd.grad(train_loss, self.alpha)[0])
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)
        self.alpha.grad = d_alpha - lr * (hessian[0] - hessian[1]) / (2 * eps)
        return loss.detach()

    def describe_alpha(self) -> dict[str, float]:
        """Mean entropy of the softmax per decision, parameter-free argmaxes, and each
        choice's weight as `alpha/<decision>/<choice>` (the per-edge plot)."""
        w = self.weights().detach()
        logs = torch.where(w > 0, w.log(), torch.zeros_like(w))
        stats = {"alpha_entropy": float(-(w * logs).sum(-1).mean())}
        best = w.argmax(-1)
        stats["parameter_free"] = float(self.free.gather(1, best[:, None]).sum())
        for row, decision in zip(w.tolist(), self.space.decisions):
            for choice, value in zip(decision.choices, row):  # type: ignore[union-attr]
                stats[f"alpha/{decision.name}/{choice}"] = value
        return stats

    # -- resume --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "supernet": self.supernet.state_dict(),
            "alpha": self.alpha.detach().cpu(),
            "weights": self.w_train.state_dict(),
            "a_opt": self.a_opt.state_dict(),
            "guard": self.guard.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.supernet.load_state_dict(state["supernet"])
        with torch.no_grad():
            self.alpha.copy_(state["alpha"].to(self.device))
        self.w_train.load_state_dict(state["weights"])
        self.a_opt.load_state_dict(state["a_opt"])
        self.guard.load_state_dict(state["guard"])


def _padded(decision: Categorical, width: int) -> list[Any]:
    return list(decision.choices) + [None] * (width - len(decision.choices))
