"""The `OneShot` interface: a search that trains shared weights while it searches.

A one-shot method (ENAS, DARTS) owns a **supernet** — one network that holds every
architecture of its space — and its architecture parameters (DARTS's alpha, ENAS's
controller). The one-shot driver (`archsearch.oneshot.driver`) calls `epoch()` once per search
epoch, records what it returns in the ledger, saves `state_dict()` after every epoch (so that a
killed search resumes from the last finished one), and finally hands `derive()` to the same
final training as every other search.

The supernet protocol (`Space.supernet(input_shape, output)`, see `archsearch.spaces.base`):

- `supernet(x, arch)` with an `Architecture` of the space runs that one architecture (ENAS,
  random sampling with shared weights, the shared-weights evaluator). It must give what
  `space.build(arch, ...)` gives when that network holds the same weights.
- `supernet(x, weights)` with a float tensor of shape `(len(space.decisions), n)` runs, on
  every decision's edge, the mixture sum_k weights[d, k] * op_k (DARTS); row d weighs the
  choices of decision d in their order (n = the largest number of choices). Spaces that cannot
  mix (ENAS macro) may raise `UsageError` for a tensor.

Every method sees the train and validation splits only (`data.x_test` is None): weights train
on the train split, architecture parameters learn on the validation split.
"""

from __future__ import annotations

import contextlib
import math
import random
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from archsearch.errors import UsageError
from archsearch.estimate import BYTES_PER_PARAM, GIB, memory_limit
from archsearch.evaluation.trainer import TrainConfig, batch_rows, label_smoothing, resolve_device
from archsearch.options import Options, parse_options
from archsearch.spaces.base import Architecture, Space
from archsearch.tasks.base import Task

if TYPE_CHECKING:
    from archsearch.data.dataset import Dataset

__all__ = ["SCORE_SEED", "OneShot", "batch_statistics", "supernet_memory"]

#: seed of the fixed row order in which `OneShot.score` runs a split
SCORE_SEED = 0


class OneShot(ABC):
    """One one-shot search: a supernet, its architecture parameters and their optimisers.

    Subclasses set `name` and `Options` (a dataclass of their knobs, parsed as strategies'
    options are: `--strategy-option KEY=VALUE`), build their supernet in `__init__` (after
    `super().__init__`) as `self.supernet = self.make_supernet()`, and implement `epoch` and
    `derive`. The driver runs `train.epochs` search epochs (`--epochs`). Subclasses extend
    `state_dict`/`load_state_dict` with their own parts (calling `super()`): the base keeps
    the epoch count and the seeded generators."""

    name: ClassVar[str]
    Options: ClassVar[type] = Options
    #: the supernet (`make_supernet`); the driver and the shared-weights evaluator use it
    supernet: nn.Module

    def __init__(
        self,
        space: Space,
        task: Task,
        data: Dataset,
        train: TrainConfig,
        seed: int = 0,
        **options: Any,
    ) -> None:
        if data.x_test is not None:
            raise ValueError("a one-shot search must not hold the test split: pass without_test()")
        self.space, self.task, self.data, self.train, self.seed = space, task, data, train, seed
        self.options = parse_options(f"one-shot method {self.name}", self.Options, options)
        self.device = resolve_device(train.device)
        #: batch order of both splits (on the CPU, so that it is the same on every device)
        self.generator = torch.Generator().manual_seed(seed)
        #: the method's own Python-level randomness (sampled paths, controller draws)
        self.rng = random.Random(seed)
        self.epochs_done = 0
        #: the batch of weight and architecture steps (`fit_memory` may lower it)
        self.batch_size = train.batch_size
        #: what the method decided for the user (a reduced batch), said once by the driver
        self.notice = ""
        #: bytes a training step needs, once `fit_memory` has checked it
        self.memory_need: int | None = None
        self.smoothing = label_smoothing(train, task)
        self._affine = data.norm.affine(self.device) if data.norm is not None else None
        #: split name -> (x, y, x on the device, y on the device)
        self._on_device: dict[str, tuple[torch.Tensor, ...]] = {}
        self.setup()

    # -- what every method defines -------------------------------------------------------------
    @abstractmethod
    def setup(self) -> None:
        """Build the supernet and the method's own parts (called once, at the end of
        `__init__`, when the fields above exist)."""

    @abstractmethod
    def epoch(self) -> dict[str, float]:
        """One search epoch (weight steps and architecture steps); plain numbers for the ledger
        and the plots (losses, the validation score, alpha entropy or controller reward).
        Implementations increment `self.epochs_done`."""

    @abstractmethod
    def derive(self) -> Architecture:
        """The architecture the method currently picks (a valid member of the space)."""

    # -- resume --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything to continue after a kill; subclasses add weights, optimisers, alpha or
        the controller (tensors and plain data: `torch.save`-able, loads `weights_only`)."""
        return {
            "epochs_done": self.epochs_done,
            "generator": self.generator.get_state(),
            "rng": _rng_state(self.rng),
            "torch_rng": torch.get_rng_state(),
            "batch_size": self.batch_size,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a `state_dict`."""
        self.epochs_done = int(state["epochs_done"])
        self.generator.set_state(state["generator"])
        self.rng.setstate(_rng_from(state["rng"]))
        torch.set_rng_state(state["torch_rng"])
        self.batch_size = int(state["batch_size"])

    # -- shared machinery ----------------------------------------------------------------------
    def make_supernet(self) -> nn.Module:
        """The space's supernet for this data and task, initialised from the seed, on the
        device (the space raises `UsageError` if it has none)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = self.space.supernet(self.data.input_shape, self.task.output_spec())
        return net.to(self.device)

    def batches(self, split: str, batch_size: int | None = None) -> Iterator[tuple[Any, Any]]:
        """Normalised (x, y) batches of the "train" or "val" split on the device, in a seeded
        random order (the base generator: resumes exactly)."""
        x, y = self.split(split)
        order = torch.randperm(len(y), generator=self.generator).to(self.device)
        for rows in batch_rows(order, batch_size or self.batch_size):
            xb = self.prepare(x.index_select(0, rows))
            yb = xb if self.task.targets_are_inputs else y.index_select(0, rows)
            yield xb, yb

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The (x, y) tensors of the "train" or "val" split on the device (moved there once,
        not a batch at a time)."""
        if name == "train":
            x, y = self.data.x_train, self.data.y_train
        elif name == "val":
            x, y = self.data.x_val, self.data.y_val
        else:
            raise ValueError(f"unknown split {name!r}; a one-shot search has train and val")
        held = self._on_device.get(name)
        if held is None or held[0] is not x or held[1] is not y:
            held = self._on_device[name] = (x, y, x.to(self.device), y.to(self.device))
        return held[2], held[3]

    def prepare(self, xb: torch.Tensor) -> torch.Tensor:
        """A batch of inputs on the device as normalised float network input."""
        xb = xb.to(self.device)
        if self._affine is None:
            return xb.float()
        scale, shift = self._affine
        return (xb * scale).add_(shift)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The task's training loss (with the run's label smoothing)."""
        return self.task.loss(outputs, targets, self.smoothing)

    def fit_memory(self, net: nn.Module, choice: Any, copies: int = 1) -> str:
        """Check, before training, that a step of `net` running `choice` fits the memory
        allowed (`--max-memory`, else three quarters of the GPU's or the machine's); halve
        `self.batch_size` until it does. Returns what was reduced ("" if nothing);
        `UsageError` saying what to reduce when not even a batch of 2 fits. `copies`: extra
        copies of the weights a step keeps (2 for DARTS's second order)."""
        allowed = memory_limit(self.train.max_memory, self.device)
        need = supernet_memory(net, choice, self.data.input_shape, self.batch_size, copies)
        first = self.batch_size
        while need > allowed and self.batch_size > 2:
            self.batch_size //= 2
            need = supernet_memory(net, choice, self.data.input_shape, self.batch_size, copies)
        if need > allowed:
            raise UsageError(
                f"the {self.space.name} supernet needs about {need / GIB:.1f} GiB even at batch "
                f"{self.batch_size}, more than the {allowed / GIB:.1f} GiB allowed: reduce "
                "--space-option channels or the cells (cells_per_stage for nb201, cells for "
                "darts), or raise --max-memory"
            )
        self.memory_need = need
        if self.batch_size == first:
            return ""
        return (
            f"the supernet would not fit at batch {first}: batch reduced to {self.batch_size} "
            f"(about {need / GIB:.1f} GiB of {allowed / GIB:.1f} GiB allowed)"
        )

    @torch.no_grad()
    def score(
        self, net: nn.Module, choice: Any, split: str = "val", rows: int | None = None
    ) -> dict[str, float]:
        """The task's metrics of the supernet running `choice` (an architecture or mixture
        weights) on a split (`rows` of its rows if given). BatchNorm normalises with each
        batch's own statistics: the running ones mix every architecture the supernet ran (the
        usual one-shot practice). The rows go in one fixed shuffled order (the same for every
        call, the search's generators untouched): a split stored class by class would
        otherwise give batches of one class, whose own statistics wreck the score, and its
        first `rows` rows would be one class."""
        x, y = self.split(split)
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(SCORE_SEED))
        order = order[:rows].to(self.device)
        sums: dict[str, torch.Tensor] = {}
        with batch_statistics(net):
            for chunk in order.split(max(256, 2 * self.batch_size)):
                xb = self.prepare(x.index_select(0, chunk))
                yb = xb if self.task.targets_are_inputs else y.index_select(0, chunk)
                outputs = net(xb, choice).float()
                _add(sums, self.task.batch_sums(outputs, yb))
        return self.task.metrics(sums, len(order))


#: the networks inside a `batch_statistics` block now
_IN_BATCH_STATISTICS: weakref.WeakSet[nn.Module] = weakref.WeakSet()


@contextlib.contextmanager
def batch_statistics(net: nn.Module) -> Iterator[None]:
    """Within: `net` in training mode with every BatchNorm's momentum 0, so that batches are
    normalised by their own statistics and the running statistics stay as they were. A block
    nested in another for the same network costs nothing (entering one walks every module of
    a supernet, about as long as a forward pass of it on a GPU), so loops that score many
    architectures enter it once around the loop."""
    if net in _IN_BATCH_STATISTICS:
        yield
        return
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved, mode = [m.momentum for m in norms], net.training
    for m in norms:
        m.momentum = 0.0
    net.train()
    _IN_BATCH_STATISTICS.add(net)
    try:
        yield
    finally:
        _IN_BATCH_STATISTICS.discard(net)
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
        net.train(mode)


def supernet_memory(
    net: nn.Module, choice: Any, input_shape: tuple[int, ...], batch: int, copies: int = 1
) -> int:
    """Bytes a training step of `net` running `choice` needs, measured on a batch of 2 (no
    gradients): parameters with their gradients and optimiser state (`BYTES_PER_PARAM`, plus
    `copies` - 1 more copies of the weights), and twice the float32 output of every leaf
    module per sample (what autograd keeps, and the gradients flowing back) times `batch`."""
    per_sample: list[int] = []

    def keep(module: nn.Module, inputs: object, out: object) -> None:
        if isinstance(out, torch.Tensor):
            per_sample.append(out[0].numel())

    leaves = [m for m in net.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(keep) for m in leaves]
    param = next(net.parameters())
    try:
        with torch.no_grad(), batch_statistics(net):
            net(torch.zeros(2, *input_shape, device=param.device), choice)
    finally:
        for hook in hooks:
            hook.remove()
    params = sum(p.numel() for p in net.parameters())
    weights = BYTES_PER_PARAM * params + 4 * params * (copies - 1)
    return weights + 4 * batch * (math.prod(input_shape) + 2 * sum(per_sample))


def _add(total: dict[str, torch.Tensor], sums: Mapping[str, torch.Tensor]) -> None:
    for key, value in sums.items():
        total[key] = total[key] + value if key in total else value


def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_from(state: Any) -> tuple[Any, ...]:
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
