"""`SharedWeightsEvaluator`: score architectures on a trained supernet instead of training
each child (one-shot evolution, random search with weight sharing, ...).

Any strategy's ask/tell loop can use it (`--evaluator shared`): on its first evaluation the
evaluator trains the space's supernet for `warmup_epochs` by random sampling with parameter
sharing (`archsearch.oneshot.rsps`), then scores each proposal by running it through the
shared weights on the validation split — seconds instead of a training per child. With
`steps` > 0 the supernet keeps training (that many uniformly sampled weight steps after each
evaluation), so an architecture scored again later may score differently: the evaluator then
says so (`rescores`) and the loop scores repeats again instead of answering them from the
ledger. Its state is the supernet's weights, too big to send to worker processes with every
trial: `parallel_safe` is False (the inline executor only).

With `supernet=RUN` it skips the warm-up and starts from the supernet a one-shot search
(`--strategy darts|enas|rsps`) trained in run directory RUN: a strategy then searches, in
seconds per proposal, the supernet that search paid for (e.g. evolution on ENAS's weights).
The run must be of the same space, space options and data shape.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from archsearch.errors import UsageError
from archsearch.evaluation.base import Context, Evaluator
from archsearch.evaluation.result import Result
from archsearch.evaluation.rewards import REWARDS
from archsearch.evaluation.trainer import TrainConfig
from archsearch.ledger import Ledger
from archsearch.oneshot import ONESHOTS
from archsearch.oneshot.rsps import RandomSharing, RandomSharingOptions
from archsearch.spaces.base import Space

__all__ = ["SharedWeightsEvaluator", "SharedWeightsOptions"]


@dataclass
class SharedWeightsOptions(RandomSharingOptions):
    """`warmup_epochs` of supernet training before the first score; `steps` weight steps
    after each evaluation (0: the weights stay fixed, and repeats are answered from the
    ledger); `val_rows` validation rows each score uses (None: all); `seed` of the supernet's
    initialisation and sampling; `supernet`, a one-shot run directory whose trained supernet
    replaces the warm-up ("": none). The weights' optimiser: `WeightOptions`."""

    warmup_epochs: int = 10
    steps: int = 0
    val_rows: int | None = None
    seed: int = 0
    supernet: str = ""
    limits: ClassVar[dict[str, tuple[Any, Any, bool]]] = {
        **RandomSharingOptions.limits,
        "warmup_epochs": (0, 1_000_000, True),
        "steps": (0, 10**9, True),
        "val_rows": (1, 10**12, True),
        "seed": (0, 2**32 - 1, True),
    }


class SharedWeightsEvaluator(Evaluator):
    """Rewards an architecture with its validation score on a shared, trained supernet."""

    name = "shared"
    Options = SharedWeightsOptions
    parallel_safe = False

    def __init__(self, context: Context, **options: Any) -> None:
        super().__init__(context, **options)
        if context.data is None:
            raise ValueError("the shared-weights evaluator needs data")
        o = self.options
        train = dataclasses.replace(context.train or TrainConfig(), epochs=max(o.warmup_epochs, 1))
        method_options = {
            f.name: getattr(o, f.name) for f in dataclasses.fields(RandomSharingOptions)
        }
        self.sharing = RandomSharing(
            context.space, context.task, context.data, train, o.seed, **method_options
        )
        self.rescores = o.steps > 0
        #: weight steps the supernet has taken: a score is of the weights at that count
        self.weight_steps = 0
        if o.supernet:
            supernet = self.sharing.supernet
            supernet.load_state_dict(trained_supernet(Path(o.supernet), context.space, supernet))
            self.sharing.epochs_done = o.warmup_epochs  # trained: no warm-up

    def warm_up(self) -> None:
        """Train the supernet for the warm-up epochs it has not had yet."""
        while self.sharing.epochs_done < self.options.warmup_epochs:
            self.sharing.epoch()
            self.weight_steps += -(-len(self.sharing.data.y_train) // self.sharing.batch_size)

    def evaluate(self, arch: Any, seed: int) -> Result:
        try:
            self.warm_up()
            metrics = self.sharing.score(self.sharing.supernet, arch, rows=self.options.val_rows)
        except (RuntimeError, ValueError) as exc:
            return self.failed(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        point = {f"val_{k}": v for k, v in metrics.items()}
        space, shape = self.context.space, self.sharing.data.input_shape
        params = space.count_params(arch, shape, self.task.output_spec())
        values = {**point, "params": params, "weight_steps": float(self.weight_steps)}
        reward = max(
            REWARDS[self.context.reward]([point], values, self.task), self.task.reward_floor
        )
        self.train_more()
        return Result(reward=reward, metrics=values, curve=[point])

    def train_more(self) -> None:
        """`steps` weight steps of uniformly sampled architectures (none by default)."""
        if not self.options.steps:
            return
        self.sharing.supernet.train()
        done = 0
        while done < self.options.steps:
            for x, y in self.sharing.batches("train"):
                self.sharing.train_step(x, y)
                done += 1
                if done == self.options.steps:
                    break
        self.weight_steps += done

    def state_dict(self) -> dict[str, Any]:
        return {"sharing": self.sharing.state_dict(), "weight_steps": self.weight_steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "sharing" in state:
            self.sharing.load_state_dict(state["sharing"])
            self.weight_steps = int(state["weight_steps"])


def trained_supernet(run: Path, space: Space, target: nn.Module) -> dict[str, torch.Tensor]:
    """The supernet weights the one-shot search in run directory `run` saved with its last
    epoch, for `target` (this run's supernet of `space`); `UsageError` (one line) if `run` is
    not such a search of this space, or its supernet has other shapes than `target` (other
    space options or data)."""
    try:
        config = json.loads((run / "config.json").read_text())
        with Ledger.open(run / "ledger.sqlite", readonly=True) as ledger:
            state = ledger.load_state()
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"supernet={run}: not a readable run directory ({type(exc).__name__}); give the "
            "directory of a finished `--strategy darts|enas|rsps` search"
        ) from None
    method = config.get("strategy")
    if method not in ONESHOTS or not state or "oneshot" not in state:
        raise UsageError(
            f"supernet={run}: a {method} search has no trained supernet; give the directory "
            "of a `--strategy darts|enas|rsps` search with at least one epoch"
        )
    if config.get("space") != space.name:
        raise UsageError(f"supernet={run}: its space is {config.get('space')}, not {space.name}")
    weights = state["oneshot"]["supernet"]
    shapes = {k: tuple(v.shape) for k, v in target.state_dict().items()}
    if shapes != {k: tuple(v.shape) for k, v in weights.items()}:
        raise UsageError(
            f"supernet={run}: its supernet has other shapes than this run's; use the same "
            "--space-option values and data as that search"
        )
    return weights
