"""Child-network training: the whole split on the device, batches cut from it, a learning curve.

The training split is moved to the device once per training; each batch is indexed there,
normalised there (raw uint8 images travel and stay as bytes), augmented there in one vectorised
step (`augment.py`) and, on CUDA, run in mixed precision and channels-last memory layout.
Losses and accuracies are summed on the device and read once per epoch: on a GPU, reading a
value every step would make the host wait for the device every step.

A network that diverges, is too large or crashes raises `TrainingFailed` with the reason; the
evaluator turns that into a failed trial so the search goes on.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from archsearch.commands import setting
from archsearch.data.dataset import Normalization, stratified_subset
from archsearch.evaluation.augment import AUGMENT, MIN_AUGMENT_SIZE, BatchAugment, augments
from archsearch.evaluation.outputs import Outputs, concat, each
from archsearch.options import check_number
from archsearch.tasks.base import Task

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("cosine", "constant", "onecycle", "plateau")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
ONECYCLE_WARMUP = 0.3  # share of a one-cycle schedule spent rising, unless warmup_epochs says
SUBSET_SEED = 0  # the same train subset for every child: their scores stay comparable
DEFAULT_SMOOTHING = 0.1  # label smoothing of classification when the config leaves it unset


class TrainingFailed(RuntimeError):
    """Training could not produce a usable network; the message is the reason."""


class TrainingStopped(Exception):
    """Training was stopped between epochs because `stop(curve)` said so: `reason` is its
    answer, `curve` the epochs trained."""

    def __init__(self, reason: str, curve: list[dict[str, float]] | None = None) -> None:
        super().__init__(reason)
        self.reason, self.curve = reason, list(curve or [])


@dataclass
class TrainConfig:
    """How a child network is trained.

    `lr=None` takes the optimiser's default (Adam 1e-3, SGD 0.05). `schedule` decays the
    learning rate per step: "cosine" to zero, "constant", or "onecycle" (linear rise, then
    linear fall to zero); `warmup_epochs` adds a linear warm-up (a one-cycle rises for 30% of
    training unless it is set). `train_subset` trains on that many training rows (seeded,
    stratified, the same for every child). `augment` ("auto": images of at least 16x16) turns
    on random crops from `crop_padding`-padded images, horizontal flips (`flip`: off unless
    asked, since a mirrored digit or letter is another class) and a
    `cutout` square (0 = none). `device` "auto" is CUDA when available; `precision` and
    `channels_last` apply on CUDA only ("auto" precision: bf16 where supported, else fp16
    with loss scaling); CPU training is always fp32. "plateau" divides the learning rate by 5
    after `plateau_patience` epochs without a better validation score (no warm-up).

    `max_params` and `max_memory` (GiB; unset: three quarters of this machine's memory, or
    of the GPU's) bound a child: one over either fails before it is built.

    `weight_decay` 1e-4 (an L2 penalty, scikit-learn's MLP default) and `label_smoothing`
    None, which is 0.1 for classification (nothing for other tasks), are the defaults because
    children trained so make default searches on small tables beat scikit-learn's MLP (tuned
    on seeds 100-109, reported on others: see the README)."""

    #: Each field's help is its command-line flag's help (see `commands.setting`).
    epochs: int = setting(10, "epochs of training")
    batch_size: int = setting(64, "rows per training step")
    optimizer: str = setting(
        "adam", "optimizer (sgd: with Nesterov --momentum)", choices=OPTIMIZERS
    )
    lr: float | None = setting(None, "learning rate", unset="by optimizer: Adam 1e-3, SGD 0.05")
    momentum: float = setting(0.9, "SGD's Nesterov momentum (0: none; Adam ignores it)")
    weight_decay: float = setting(1e-4, "L2 penalty on the weights")
    schedule: str = setting(
        "cosine",
        "learning rate per step: cosine decays to zero, onecycle rises then falls linearly to "
        "zero, plateau divides it by 5 after --plateau-patience epochs without a better "
        "validation score",
        choices=SCHEDULES,
    )
    plateau_patience: int = setting(
        5, "epochs without a better validation score before plateau cuts the lr"
    )
    warmup_epochs: float = setting(
        0.0,
        "epochs of linear learning-rate warm-up (0: none, but a onecycle schedule rises for "
        f"{ONECYCLE_WARMUP:.0%} of training)",
    )
    label_smoothing: float | None = setting(
        None,
        "label smoothing of classification targets",
        unset=f"{DEFAULT_SMOOTHING} for classification, 0 for other tasks",
    )
    train_subset: int | None = setting(
        None,
        "train on this many of the training rows (seeded, stratified, the same for every child "
        "of a search; a search's final network uses all)",
        unset="all",
    )
    augment: str = setting(
        "auto",
        "random crops (--crop-padding), flips (--flip) and cutout (--cutout); auto: on for "
        f"images of at least {MIN_AUGMENT_SIZE}x{MIN_AUGMENT_SIZE}",
        choices=AUGMENT,
    )
    crop_padding: int = setting(4, "pixels of padding each side of a random crop (0: no crops)")
    flip: bool = setting(
        False,
        "random horizontal flips when augmenting (not for digits or letters: mirrored, they are "
        "another class)",
    )
    cutout: int = setting(0, "side of a square blanked in each augmented image (0: none)")
    max_params: int = setting(20_000_000, "networks with more parameters fail before training")
    max_memory: float | None = setting(
        None,
        "GiB a network may need; larger ones fail before training",
        unset="three quarters of this machine's memory, or of the GPU's",
    )
    device: str = setting("auto", "auto (CUDA when available), cpu, cuda or cuda:N")
    precision: str = setting(
        "auto",
        "precision on CUDA (auto: bf16 where supported, else fp16 with loss scaling); CPU "
        "training is always fp32",
        choices=PRECISIONS,
    )
    channels_last: bool = setting(True, "channels-last memory layout on CUDA")

    def validate(self) -> None:
        """Raise `ValueError` naming the first impossible value: a number out of its range
        (or not finite, or not whole where it must be), an unknown choice, a device this
        machine does not have."""
        for name, low, high, whole in LIMITS:
            value = getattr(self, name)
            if value is None and name in OPTIONAL:
                continue
            check_number(LABELS.get(name, name.replace("_", " ")), value, low, high, whole)
        if not self.warmup_epochs < self.epochs:
            raise ValueError(f"warmup epochs must be below epochs, got {self.warmup_epochs}")
        for name in ("flip", "channels_last"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for label, value, choices in (
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("schedule", self.schedule, SCHEDULES),
            ("augment setting", self.augment, AUGMENT),
            ("precision", self.precision, PRECISIONS),
        ):
            if value not in choices:
                raise ValueError(f"unknown {label} {value!r}; choose one of {choices}")
        if str(self.device).split(":")[0] not in DEVICES:
            raise ValueError(f"unknown device {self.device!r}; choose auto, cpu, cuda or cuda:N")
        resolve_device(self.device)

    def to_json(self) -> dict:
        return asdict(self)

    def describe_augmentation(self, input_shape: Sequence[int]) -> str:
        """One line for the log: which augmentations training applies to inputs of this shape."""
        if len(input_shape) != 3:
            return "no augmentation (the inputs are not images)"
        if not augments(self.augment, input_shape):
            small = " (images under 16x16; --augment on adds it)" * (self.augment == "auto")
            return "no augmentation" + small
        parts = [f"random crops ({self.crop_padding} px padding)"] if self.crop_padding else []
        parts.append(
            "horizontal flips" if self.flip else "no flips (--flip true for natural photos)"
        )
        if self.cutout:
            parts.append(f"{self.cutout}x{self.cutout} cutout")
        return "augmentation: " + ", ".join(parts)


#: (field, lowest, highest, whole number) of every numeric setting; a bound given as a
#: one-element tuple is exclusive.
LIMITS: tuple[tuple[str, Any, Any, bool], ...] = (
    ("epochs", 1, 1_000_000, True),
    ("batch_size", 1, 10_000_000, True),
    ("lr", (0.0,), 100.0, False),
    ("momentum", 0.0, (1.0,), False),
    ("weight_decay", 0.0, 10.0, False),
    ("plateau_patience", 1, 1_000_000, True),
    ("warmup_epochs", 0.0, 1_000_000, False),
    ("label_smoothing", 0.0, (1.0,), False),
    ("train_subset", 1, 10**12, True),
    ("crop_padding", 0, 1024, True),
    ("cutout", 0, 100_000, True),
    ("max_params", 1, 10**13, True),
    ("max_memory", (0.0,), 1e6, False),
)
OPTIONAL = ("lr", "label_smoothing", "train_subset", "max_memory")
LABELS = {"lr": "learning rate", "max_params": "max params"}


Split = tuple[torch.Tensor, torch.Tensor]
Curve = list[dict[str, float]]


def train(
    model: nn.Module,
    task: Task,
    train_split: Split,
    val_split: Split | None,
    config: TrainConfig,
    seed: int,
    *,
    norm: Normalization | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    resume: dict[str, Any] | None = None,
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
    patience: int | None = None,
    stop: Callable[[Curve], str] | None = None,
) -> Curve:
    """Train `model` in place for `config.epochs` on `task`; return the curve, one dict per
    epoch with epoch, train_loss and the task's other metrics as train_<metric>, lr (reached
    at the epoch's end), (given a validation split) val_<metric> for each of the task's
    metrics, and seconds. Raw uint8 images need their `norm` (`Dataset.norm`). `seed` fixes
    batch order and augmentation; the model's initial weights are the caller's.

    `on_checkpoint` gets, after every epoch, a state (tensors and plain data: saves with
    `torch.save`, loads with `weights_only=True`) that `resume` continues from exactly. With
    `patience` and a validation split, training stops early once the validation score
    (`task.score`) has not improved for that many epochs. `stop(curve)` is asked after every
    epoch but the last with the curve so far (a pruner's checkpoint, a time limit); a
    non-empty answer is raised as `TrainingStopped` with that reason and the curve."""
    config.validate()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if params > config.max_params:
        raise TrainingFailed(f"{params:,} parameters exceed max_params {config.max_params:,}")
    x, y = train_split
    if config.train_subset is not None and config.train_subset < len(y):
        rows = torch.from_numpy(subset_rows(y.cpu().numpy(), config.train_subset, SUBSET_SEED))
        x, y = x.index_select(0, rows.to(x.device)), y.index_select(0, rows.to(y.device))
    session = _Session(model, task, config, seed, norm, x, y)
    if val_split is not None:
        val_split = (val_split[0].to(session.device), val_split[1].to(session.device))
    curve = session.load(resume) if resume is not None else []
    score = f"val_{task.score}"
    for epoch in range(len(curve) + 1, config.epochs + 1):
        if patience is not None and val_split is not None and stale(curve, score) >= patience:
            break
        start = time.perf_counter()
        point = session.run_epoch(epoch)
        if val_split is not None:
            metrics = measure(model, task, val_split, session.runner)
            point.update({f"val_{k}": v for k, v in metrics.items()})
        if config.schedule == "plateau":
            session.plateau.step(point.get(score, -point["train_loss"]))
        point["seconds"] = time.perf_counter() - start
        curve.append(point)
        if on_epoch is not None:
            on_epoch(point)
        if on_checkpoint is not None:
            on_checkpoint(session.state(curve))
        if stop is not None and epoch < config.epochs:
            reason = stop(curve)
            if reason:
                raise TrainingStopped(reason, curve)
    return curve


def subset_rows(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of `size` rows: stratified for class labels, a seeded random choice for
    numeric targets; a smaller subset is part of a larger one with the same seed."""
    if y.ndim == 1 and y.dtype == np.int64:
        return stratified_subset(y, size, seed)
    return np.sort(np.random.default_rng(seed).permutation(len(y))[:size])


class _Session:
    """One training: the model on its device, the data there, the optimiser, the learning-rate
    schedules, the loss scaler and the generator of batch order and augmentation."""

    def __init__(
        self,
        model: nn.Module,
        task: Task,
        config: TrainConfig,
        seed: int,
        norm: Normalization | None,
        x: torch.Tensor,
        y: torch.Tensor,
    ) -> None:
        self.model, self.task, self.config = model, task, config
        self.runner = _Runner(config, norm, x)
        self.runner.place(model)
        self.device = self.runner.device
        self.x, self.y = x.to(self.device), y.to(self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.augment = None
        if augments(config.augment, x.shape[1:]):
            self.augment = BatchAugment(
                self.generator, config.crop_padding, config.flip, config.cutout
            )
        self.optimizer = _optimizer(model, config)
        steps = math.ceil(len(y) / config.batch_size)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_factor(config, steps))
        self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="max", factor=0.2, patience=config.plateau_patience
        )
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.runner.amp == torch.float16
        )
        self.check_each_step = self.device.type == "cpu"  # free there; a GPU would wait
        self.smoothing = label_smoothing(config, task)

    def parts(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "plateau": self.plateau,
            "scaler": self.scaler,
        }

    def state(self, curve: Curve) -> dict[str, Any]:
        state = {name: part.state_dict() for name, part in self.parts().items()}
        return {**state, "generator": self.generator.get_state(), "curve": curve}

    def load(self, state: dict[str, Any]) -> Curve:
        for name, part in self.parts().items():
            part.load_state_dict(state[name])
        self.generator.set_state(state["generator"])
        return [dict(point) for point in state["curve"]]

    def run_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training rows in a seeded order; the epoch's training metrics."""
        model, task, config, runner = self.model, self.task, self.config, self.runner
        model.train()
        sums: dict[str, torch.Tensor] = {}
        order = torch.randperm(len(self.y), generator=self.generator, device=self.device)
        for rows in batch_rows(order, config.batch_size):
            # index_select: plain indexing of uint8 images is ~100x slower on CPU (torch 2.13)
            xb = runner.prepare(self.x.index_select(0, rows))
            if self.augment is not None:
                xb = self.augment(xb)
            yb = xb if task.targets_are_inputs else self.y.index_select(0, rows)
            with runner.autocast():
                outputs = model(runner.layout(xb))
                loss = task.loss(outputs, yb, self.smoothing)
            if self.check_each_step:
                _check_finite(loss, epoch)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if config.schedule != "plateau":  # LambdaLR would undo the plateau's reductions
                self.scheduler.step()
            _accumulate(sums, task.batch_sums(each(torch.Tensor.detach, outputs), yb))
        metrics = task.metrics(sums, len(self.y))
        _check_finite(torch.tensor(metrics["loss"]), epoch)
        point: dict[str, float] = {"epoch": epoch}
        point.update({f"train_{k}": v for k, v in metrics.items()})
        point["lr"] = self.optimizer.param_groups[0]["lr"]
        return point


def seconds_per_sample(
    model: nn.Module,
    task: Task,
    config: TrainConfig,
    norm: Normalization | None,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int = 3,
) -> float:
    """Seconds per training sample of `model` as `train` would run it (its device, precision,
    memory layout, augmentation and batch size), timed over `steps` batches after the same
    number untimed (first-use costs: kernel selection, allocation)."""
    rows = min(len(y), config.batch_size * steps)
    session = _Session(model, task, config, 0, norm, x[:rows], y[:rows])
    session.run_epoch(0)
    if session.device.type == "cuda":
        torch.cuda.synchronize(session.device)
    start = time.perf_counter()
    session.run_epoch(1)
    if session.device.type == "cuda":
        torch.cuda.synchronize(session.device)
    return (time.perf_counter() - start) / rows


def label_smoothing(config: TrainConfig, task: Task) -> float:
    """The label smoothing that applies: the config's, or 0.1 for classification if unset."""
    if config.label_smoothing is not None:
        return config.label_smoothing
    return DEFAULT_SMOOTHING if task.name == "classification" else 0.0


def batch_rows(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """`order` cut into batches; a last batch of one row joins the one before it (batch norm
    cannot train on a single sample)."""
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def _accumulate(total: dict[str, torch.Tensor], sums: dict[str, torch.Tensor]) -> None:
    for key, value in sums.items():
        total[key] = total[key] + value if key in total else value


def stale(curve: Curve, score: str) -> int:
    """Epochs since the best `score` so far (0 when the last is the best)."""
    if not curve:
        return 0
    values = [point[score] for point in curve]
    return len(curve) - 1 - values.index(max(values))


@torch.no_grad()
def predict(
    model: nn.Module, x: torch.Tensor, config: TrainConfig, norm: Normalization | None = None
) -> Outputs:
    """Outputs (float32, on the CPU) for every row of `x`, in evaluation mode, in batches, on
    the config's device (the model is moved there); a tuple of them for a network that
    answers with several tensors (a VAE's)."""
    runner = _Runner(config, norm, x)
    runner.place(model)
    model.eval()
    return concat([each(_float_cpu, runner.forward(model, xb)) for xb in runner.batches(x)])


def _float_cpu(t: torch.Tensor) -> torch.Tensor:
    return t.float().cpu()


def evaluate(
    model: nn.Module,
    task: Task,
    split: Split,
    config: TrainConfig,
    norm: Normalization | None = None,
) -> dict[str, float]:
    """The task's metrics of `model` on a split."""
    runner = _Runner(config, norm, split[0])
    runner.place(model)
    return measure(model, task, split, runner)


@torch.no_grad()
def measure(model: nn.Module, task: Task, split: Split, runner: _Runner) -> dict[str, float]:
    """The task's metrics of `model` on a split, in evaluation mode; `TrainingFailed` when
    the loss is not finite."""
    x, y = split
    if len(x) == 0:
        raise ValueError("cannot evaluate on an empty split")
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    for xb, yb in zip(runner.batches(x), runner.batches(y)):
        outputs = each(torch.Tensor.float, runner.forward(model, xb))
        target = runner.prepare(xb) if task.targets_are_inputs else yb.to(runner.device)
        _accumulate(sums, task.batch_sums(outputs, target))
    metrics = task.metrics(sums, len(x))
    if not math.isfinite(metrics["loss"]):
        raise TrainingFailed(f"validation loss is {metrics['loss']}")
    return metrics


class _Runner:
    """Where and how batches run: the device, the autocast type (None: fp32), the memory
    layout, and the input normalisation as a multiply-add by tensors made once."""

    def __init__(self, config: TrainConfig, norm: Normalization | None, x: torch.Tensor) -> None:
        self.device = resolve_device(config.device)
        cuda = self.device.type == "cuda"
        self.amp = _amp_dtype(config.precision) if cuda else None
        self.channels_last = cuda and config.channels_last and x.dim() == 4
        self.eval_batch = max(256, 2 * config.batch_size)
        if norm is None and x.dtype == torch.uint8:
            raise ValueError("inputs are raw uint8 images: pass norm=Dataset.norm to normalise")
        self.affine = norm.affine(self.device) if norm is not None else None

    def place(self, model: nn.Module) -> None:
        model.to(self.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)

    def prepare(self, xb: torch.Tensor) -> torch.Tensor:
        """A batch on the device as float network input (normalised if `norm` was given)."""
        xb = xb.to(self.device, non_blocking=True)
        if self.affine is None:
            return xb
        scale, shift = self.affine
        return (xb * scale).add_(shift)

    def layout(self, xb: torch.Tensor) -> torch.Tensor:
        return xb.contiguous(memory_format=torch.channels_last) if self.channels_last else xb

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def forward(self, model: nn.Module, xb: torch.Tensor) -> Outputs:
        with self.autocast():
            return model(self.layout(self.prepare(xb)))

    def batches(self, t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return t.split(self.eval_batch)


def resolve_device(name: str) -> torch.device:
    """ "auto" is CUDA when available, else the CPU; asking for CUDA without it is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but CUDA is not available here")
    return device


def lr_factor(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The learning-rate multiplier at each optimiser step (for `LambdaLR`)."""
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if config.schedule == "onecycle" and warmup == 0:
        warmup = round(ONECYCLE_WARMUP * total)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(total - warmup, 1)
        if config.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        if config.schedule == "onecycle":
            return max(1.0 - progress, 0.0)
        return 1.0

    return factor


def _amp_dtype(precision: str) -> torch.dtype | None:
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def _check_finite(loss: torch.Tensor, epoch: int) -> None:
    if not torch.isfinite(loss):
        raise TrainingFailed(f"loss became {loss.item()} in epoch {epoch}")


def default_lr(config: TrainConfig) -> float:
    """The learning rate when the config leaves it unset: Adam 1e-3, SGD 0.05."""
    return 0.05 if config.optimizer == "sgd" else 1e-3


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    lr = config.lr or default_lr(config)
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=config.momentum,
            nesterov=config.momentum > 0,
            weight_decay=config.weight_decay,
        )
    return torch.optim.Adam(params, lr=lr, weight_decay=config.weight_decay)
