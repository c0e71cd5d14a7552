"""Child-network training: batches straight from tensors, a learning curve per epoch.

A network that diverges, is too large or crashes raises `TrainingFailed` with the reason; the
evaluator turns that into a failed trial so the search goes on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("cosine", "constant")


class TrainingFailed(RuntimeError):
    """Training could not produce a usable network; the message is the reason."""


@dataclass
class TrainConfig:
    """How a child network is trained. `lr=None` takes the optimiser's default (Adam 1e-3,
    SGD 0.05)."""

    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    max_params: int = 20_000_000
    device: str = "cpu"

    def validate(self) -> None:
        """Raise `ValueError` naming the first impossible value."""
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose {SCHEDULES}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"learning rate must be positive, got {self.lr}")
        if self.weight_decay < 0:
            raise ValueError(f"weight decay must be >= 0, got {self.weight_decay}")
        if self.max_params < 1:
            raise ValueError(f"max params must be positive, got {self.max_params}")

    def to_json(self) -> dict:
        return asdict(self)


Split = tuple[torch.Tensor, torch.Tensor]


def train(
    model: nn.Module,
    train_split: Split,
    val_split: Split | None,
    config: TrainConfig,
    seed: int,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train `model` in place for `config.epochs`; return the curve, one dict per epoch with
    train_loss, train_accuracy and (given a validation split) val_loss, val_accuracy."""
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if params > config.max_params:
        raise TrainingFailed(f"{params:,} parameters exceed max_params {config.max_params:,}")
    device = torch.device(config.device)
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    optimizer = _optimizer(model, config)
    x, y = train_split
    steps_per_epoch = math.ceil(len(y) / config.batch_size)
    scheduler = None
    if config.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=config.epochs * steps_per_epoch
        )
    curve: list[dict[str, float]] = []
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(y), generator=generator)
        total_loss, correct = 0.0, 0
        for begin in range(0, len(y), config.batch_size):
            rows = order[begin : begin + config.batch_size]
            xb, yb = x[rows].to(device, non_blocking=True), y[rows].to(device, non_blocking=True)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            if not torch.isfinite(loss):
                raise TrainingFailed(f"loss became {loss.item()} at epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total_loss += loss.item() * len(rows)
            correct += int((logits.argmax(1) == yb).sum())
        point = {
            "epoch": epoch,
            "train_loss": total_loss / len(y),
            "train_accuracy": correct / len(y),
        }
        if val_split is not None:
            val_loss, val_accuracy = evaluate(model, val_split, config)
            point.update(val_loss=val_loss, val_accuracy=val_accuracy)
        point["seconds"] = time.perf_counter() - start
        curve.append(point)
        if on_epoch is not None:
            on_epoch(point)
    return curve


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """Logits for every row of `x`, in evaluation mode and large batches."""
    device = torch.device(config.device)
    model.eval()
    batch = max(config.batch_size, 1024)
    return torch.cat(
        [model(x[i : i + batch].to(device)).float().cpu() for i in range(0, len(x), batch)]
    )


def evaluate(model: nn.Module, split: Split, config: TrainConfig) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of `model` on a split."""
    x, y = split
    logits = predict(model, x, config)
    loss = F.cross_entropy(logits, y).item()
    if not math.isfinite(loss):
        raise TrainingFailed(f"validation loss is {loss}")
    return loss, (logits.argmax(1) == y).float().mean().item()


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=config.lr or 0.05,
            momentum=config.momentum,
            nesterov=config.momentum > 0,
            weight_decay=config.weight_decay,
        )
    return torch.optim.Adam(params, lr=config.lr or 1e-3, weight_decay=config.weight_decay)
