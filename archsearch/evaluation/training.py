"""`TrainingEvaluator`: train each child network from scratch and reward its validation score."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from archsearch.estimate import GIB, memory_limit, training_memory
from archsearch.evaluation.base import Context, Evaluator, TimeUp
from archsearch.evaluation.result import Result
from archsearch.evaluation.rewards import REWARDS, check_reward
from archsearch.evaluation.trainer import (
    TrainConfig,
    TrainingFailed,
    TrainingStopped,
    resolve_device,
    train,
)
from archsearch.spaces.base import Architecture, Space
from archsearch.tasks.base import OutputSpec


def too_large(
    space: Space,
    arch: Architecture,
    input_shape: Sequence[int],
    output: OutputSpec,
    config: TrainConfig,
) -> str:
    """Why `arch` must not be trained under `config` (too many parameters, or more memory
    than allowed), or "" if it may; nothing is allocated to find out."""
    params = space.count_params(arch, input_shape, output)
    if params > config.max_params:
        return f"{params:,} parameters exceed max_params {config.max_params:,}"
    need = training_memory(space, arch, input_shape, output, config.batch_size)
    allowed = memory_limit(config.max_memory, resolve_device(config.device))
    if need > allowed:
        return (
            f"training needs about {need / GIB:.1f} GiB (batch {config.batch_size}), more than "
            f"the {allowed / GIB:.1f} GiB allowed (--max-memory)"
        )
    return ""


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

    def _time_is_up(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def evaluate(self, arch: Architecture, seed: int) -> Result:
        start = time.perf_counter()
        space, data = self.context.space, self.data
        reason = too_large(space, arch, data.input_shape, self.output, self.config)
        params = space.count_params(arch, data.input_shape, self.output)
        if reason:
            return self.failed(reason, params=params)
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
                stop=self._time_is_up,
            )
        except TrainingStopped:
            raise TimeUp(f"the time limit passed while training {arch.hash}") from None
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
