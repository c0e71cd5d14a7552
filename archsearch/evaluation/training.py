"""`TrainingEvaluator`: train each child network from scratch and reward its validation score."""

from __future__ import annotations

import time

import torch

from archsearch.data.dataset import Dataset
from archsearch.evaluation.base import Evaluator
from archsearch.evaluation.result import Result
from archsearch.evaluation.rewards import REWARDS
from archsearch.evaluation.trainer import TrainConfig, TrainingFailed, train
from archsearch.spaces.base import Architecture, Space


class TrainingEvaluator(Evaluator):
    """Builds the child network, trains it on the train split within `config`'s budget,
    measures it on the validation split every epoch, and rewards it with `reward`."""

    def __init__(
        self, space: Space, data: Dataset, config: TrainConfig, reward: str = "val_accuracy"
    ) -> None:
        if reward not in REWARDS:
            raise ValueError(f"unknown reward {reward!r}; choose one of: {', '.join(REWARDS)}")
        self.space, self.data, self.config, self.reward = space, data, config, reward

    def evaluate(self, arch: Architecture, seed: int) -> Result:
        start = time.perf_counter()
        params = self.space.count_params(arch, self.data.input_shape, self.data.num_classes)
        if params > self.config.max_params:
            return Result.failed(
                f"{params:,} parameters exceed max_params {self.config.max_params:,}",
                params=params,
            )
        try:
            torch.manual_seed(seed)
            model = self.space.build(arch, self.data.input_shape, self.data.num_classes)
            curve = train(
                model,
                (self.data.x_train, self.data.y_train),
                (self.data.x_val, self.data.y_val),
                self.config,
                seed,
                norm=self.data.norm,
            )
        except TrainingFailed as exc:
            return Result.failed(str(exc), params=params)
        except (RuntimeError, ValueError, MemoryError) as exc:
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return Result.failed(reason, params=params)
        metrics = {
            "val_accuracy": curve[-1]["val_accuracy"],
            "best_val_accuracy": max(p["val_accuracy"] for p in curve),
            "val_loss": curve[-1]["val_loss"],
            "params": params,
            "train_seconds": time.perf_counter() - start,
        }
        return Result(reward=REWARDS[self.reward](curve), metrics=metrics, curve=curve)
