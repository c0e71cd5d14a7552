"""`TrainingEvaluator`: train each child network from scratch and reward its validation score."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from archsearch.estimate import GIB, memory_limit, training_memory
from archsearch.evaluation.base import Context, Evaluator, TimeUp
from archsearch.evaluation.cost import add_costs, count_flops
from archsearch.evaluation.pruners import get_pruner
from archsearch.evaluation.result import FAILED, PRUNED, Result
from archsearch.evaluation.rewards import REWARDS, check_reward
from archsearch.evaluation.trainer import (
    Curve,
    TrainConfig,
    TrainingFailed,
    TrainingStopped,
    resolve_device,
    train,
)
from archsearch.spaces.base import Architecture, Space
from archsearch.tasks.base import OutputSpec

TIME_UP = "the search's time limit passed"


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
    context's reward (clipped to the task's floor). After every epoch but the last the
    context's pruner (`--prune`) may stop the child: it is then a `pruned` result with its
    partial curve and a reward the pruner caps (see `pruners.py`). The pruner learns from
    every recorded trial in `observe`; what it learned is this evaluator's state."""

    name = "train"

    def __init__(self, context: Context, **options: Any) -> None:
        super().__init__(context, **options)
        if context.data is None:
            raise ValueError("the train evaluator needs data")
        check_reward(context.reward, context.task)
        self.data = context.data
        self.config = context.train or TrainConfig()
        self.output = self.task.output_spec()
        self.pruner = get_pruner(context.prune, self.config.epochs, context.prune_options)
        self.score = f"val_{self.task.score}"

    def _stop(self, curve: Curve, features: list[float], cost: float) -> str:
        """Asked after each epoch: TIME_UP, a pruner's reason, or "" to train on."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return TIME_UP
        return self.pruner.check([p[self.score] for p in curve], features, cost)

    def features(self, arch: Architecture, params: float) -> list[float]:
        """What a pruner that needs them knows of an architecture: log10 of its parameter
        count and its space's encoding; nothing for other pruners."""
        if not self.pruner.needs_features:
            return []
        return [math.log10(max(params, 1.0)), *self.context.space.encode(arch)]

    def evaluate(self, arch: Architecture, seed: int) -> Result:
        start = time.perf_counter()
        space, data = self.context.space, self.data
        reason = too_large(space, arch, data.input_shape, self.output, self.config)
        params = space.count_params(arch, data.input_shape, self.output)
        if reason:
            return self.failed(reason, params=params)
        features = self.features(arch, params)
        try:
            torch.manual_seed(seed)
            model = self.build(arch)
            cost = count_flops(model, data.input_shape) if self.pruner.needs_cost else 0.0
            curve = train(
                model,
                self.task,
                (data.x_train, data.y_train),
                (data.x_val, data.y_val),
                self.config,
                seed,
                norm=data.norm,
                stop=lambda so_far: self._stop(so_far, features, cost),
            )
        except TrainingStopped as exc:
            if exc.reason == TIME_UP:
                raise TimeUp(f"the time limit passed while training {arch.hash}") from None
            result = self._result(exc.curve, params, start, cost, pruned=exc.reason)
            return self._costed(arch, result)
        except TrainingFailed as exc:
            return self.failed(str(exc), params=params)
        except (RuntimeError, ValueError, MemoryError) as exc:
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return self.failed(reason, params=params)
        return self._costed(arch, self._result(curve, params, start, cost))

    def build(self, arch: Architecture) -> torch.nn.Module:
        """The child network to train (a subclass may freeze part of it)."""
        return self.context.space.build(arch, self.data.input_shape, self.output)

    def _costed(self, arch: Architecture, result: Result) -> Result:
        """With several objectives, `result` with the child's costs (FLOPs, latency on the
        search device) and its reward scaled by the cost targets (`cost.add_costs`)."""
        device = resolve_device(self.config.device)
        return add_costs(result, self.context, arch, self.data.input_shape, self.output, device)

    def _result(
        self, curve: Curve, params: int, start: float, cost: float, pruned: str = ""
    ) -> Result:
        """The result of a trained (or, with the pruner's reason `pruned`, stopped) child;
        its `flops` (`cost`) recorded when the pruner judged by them."""
        last = {k: v for k, v in curve[-1].items() if k.startswith("val_")}
        metrics = {
            **last,
            f"best_{self.score}": max(p[self.score] for p in curve),
            "params": params,
            "epochs": len(curve),
            "train_seconds": time.perf_counter() - start,
            **({"flops": cost} if self.pruner.needs_cost else {}),
        }
        floor = self.task.reward_floor
        reward = max(REWARDS[self.context.reward](curve, metrics, self.task), floor)
        if not pruned:
            return Result(reward=reward, metrics=metrics, curve=curve)
        reward = max(self.pruner.cap(reward, [p[self.score] for p in curve]), floor)
        return Result(reward=reward, metrics=metrics, curve=curve, status=PRUNED, reason=pruned)

    def observe(self, arch: Architecture, result: Result) -> None:
        """Let the pruner learn from a recorded trial that trained at least one epoch."""
        if result.status == FAILED or not result.curve:
            return
        features = self.features(arch, result.metrics.get("params", 1.0))
        scores = [p[self.score] for p in result.curve]
        cost = result.metrics.get("flops", 0.0)
        self.pruner.observe(scores, result.status, result.reward, features, cost)

    def state_dict(self) -> dict[str, Any]:
        return {"pruner": self.pruner.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.pruner.load_state_dict(state.get("pruner", {}))
