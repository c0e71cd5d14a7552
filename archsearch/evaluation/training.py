"""`TrainingEvaluator`: train each child network from scratch and reward its validation score."""

from __future__ import annotations

import time
from typing import Any

import torch

from archsearch.evaluation.base import Context, Evaluator
from archsearch.evaluation.result import Result
from archsearch.evaluation.rewards import REWARDS, check_reward
from archsearch.evaluation.trainer import TrainConfig, TrainingFailed, train
from archsearch.spaces.base import Architecture


class TrainingEvaluator(Evaluator):
    """Builds the child network, trains it on the train split with the context's
    `TrainConfig`, measures it on the validation split every epoch, and rewards it with the
    context's reward (clipped to the task's floor)."""

    name = "train"

    def __init__(self, context: Context, **options: Any) -> None:
        super().__init__(context, **options)
        if context.data is None:
            raise ValueError("the train evaluator needs data")
        check_reward(context.reward, context.task)
        self.data = context.data
        self.config = context.train or TrainConfig()
        self.output = self.task.output_spec()

    def evaluate(self, arch: Architecture, seed: int) -> Result:
        start = time.perf_counter()
        space, data = self.context.space, self.data
        params = space.count_params(arch, data.input_shape, self.output)
        if params > self.config.max_params:
            return self.failed(
                f"{params:,} parameters exceed max_params {self.config.max_params:,}",
                params=params,
            )
        try:
            torch.manual_seed(seed)
            model = space.build(arch, data.input_shape, self.output)
            curve = train(
                model,
                self.task,
                (data.x_train, data.y_train),
                (data.x_val, data.y_val),
                self.config,
                seed,
                norm=data.norm,
            )
        except TrainingFailed as exc:
            return self.failed(str(exc), params=params)
        except (RuntimeError, ValueError, MemoryError) as exc:
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return self.failed(reason, params=params)
        last = {k: v for k, v in curve[-1].items() if k.startswith("val_")}
        score = f"val_{self.task.score}"
        metrics = {
            **last,
            f"best_{score}": max(p[score] for p in curve),
            "params": params,
            "train_seconds": time.perf_counter() - start,
        }
        reward = REWARDS[self.context.reward](curve, metrics, self.task)
        return Result(reward=max(reward, self.task.reward_floor), metrics=metrics, curve=curve)
