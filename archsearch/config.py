"""Typed configurations of runs, their validation, their JSON form, and presets.

Everything a run needs to be repeated or resumed is here; `config.json` in a run directory is
one of these dataclasses as JSON.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsearch.data import BUNDLED, Dataset, check_download, load_dataset
from archsearch.errors import UsageError
from archsearch.evaluation.rewards import REWARDS
from archsearch.evaluation.trainer import TrainConfig
from archsearch.spaces import spaces
from archsearch.strategies import strategies


@dataclass
class DataSpec:
    """Where the data comes from and how it is split: a bundled dataset, a CSV file, or an
    image directory (CIFAR batches, MNIST idx files or class folders)."""

    dataset: str | None = None
    csv: str | None = None
    target: str | None = None
    data_dir: str | None = None
    train_subset: int | None = None
    test_subset: int | None = None
    test_fraction: float = 0.2
    val_fraction: float = 0.2
    download: str | None = None

    def validate(self) -> None:
        sources = [s for s in (self.dataset, self.csv, self.data_dir) if s is not None]
        if len(sources) != 1:
            raise UsageError("give exactly one of --dataset NAME, --data CSV or --data-dir DIR")
        if self.dataset is not None and self.dataset not in BUNDLED:
            raise UsageError(
                f"unknown dataset {self.dataset!r}; choose one of: {', '.join(BUNDLED)} "
                "(or --data FILE.csv --target COLUMN, or --data-dir DIR)"
            )
        if self.csv is not None and self.target is None:
            raise UsageError("--data needs --target COLUMN (a column name or 0-based index)")
        if self.download is not None:
            if self.data_dir is None:
                raise UsageError("--download needs --data-dir DIR to download into")
            check_download(self.download)
        for label, fraction in (("test", self.test_fraction), ("val", self.val_fraction)):
            if not 0 < fraction < 1:
                raise UsageError(f"--{label}-fraction must lie in (0, 1), got {fraction}")
        for label, subset in (("train", self.train_subset), ("test", self.test_subset)):
            if subset is not None and subset < 1:
                raise UsageError(f"--{label}-subset must be at least 1, got {subset}")

    def load(self, images: bool, seed: int) -> Dataset:
        """The split, normalised dataset (`DataError`, a `UsageError`, for bad data)."""
        return load_dataset(
            name=self.dataset,
            csv=self.csv,
            target=self.target,
            images=images,
            seed=seed,
            test_fraction=self.test_fraction,
            val_fraction=self.val_fraction,
            data_dir=self.data_dir,
            train_subset=self.train_subset,
            test_subset=self.test_subset,
            download=self.download,
        )


@dataclass
class SearchConfig:
    """One search: data, space, strategy, budget, child training and final training.
    `train` is how each child is trained; the final network gets the same recipe for
    `final_epochs` on all training rows (`train.train_subset` applies to children only)."""

    data: DataSpec = field(default_factory=DataSpec)
    space: str = "mlp"
    space_options: dict[str, Any] = field(default_factory=dict)
    strategy: str = "reinforce"
    strategy_options: dict[str, Any] = field(default_factory=dict)
    trials: int | None = 20
    time_limit: float | None = None
    final_epochs: int = 30
    reward: str = "val_accuracy"
    seed: int = 0
    reevaluate: bool = False
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> None:
        """Raise `UsageError` with a one-line fix for the first impossible value."""
        self.data.validate()
        if self.space not in spaces():
            raise UsageError(f"unknown space {self.space!r}; choose one of: {', '.join(spaces())}")
        if self.strategy not in strategies():
            raise UsageError(
                f"unknown strategy {self.strategy!r}; choose one of: {', '.join(strategies())}"
            )
        if self.reward not in REWARDS:
            raise UsageError(f"unknown reward {self.reward!r}; choose one of: {', '.join(REWARDS)}")
        if self.trials is None and self.time_limit is None:
            raise UsageError("give a budget: --trials N and/or --time-limit SECONDS")
        if self.trials is not None and self.trials < 1:
            raise UsageError(f"--trials must be >= 1, got {self.trials}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise UsageError(f"--time-limit must be positive, got {self.time_limit}")
        if self.final_epochs < 0:
            raise UsageError(f"--final-epochs must be >= 0, got {self.final_epochs}")
        try:
            self.train.validate()
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def final_train_config(self) -> TrainConfig:
        return dataclasses.replace(self.train, epochs=self.final_epochs, train_subset=None)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchConfig:
        return from_json(cls, data)


#: Configurations of known experiments; explicit flags override them. Values are partial
#: `SearchConfig` JSON (nested dicts merge).
PRESETS: dict[str, dict[str, Any]] = {
    # Zoph & Le (2016), CIFAR-10: 12,800 children of up to 20 layers (6 at first, +2 every
    # 1,600 samples), each trained 50 epochs with Nesterov SGD on 45,000 images and rewarded
    # with the cubed best validation accuracy of its last 5 epochs (5,000 images); the
    # controller (2x35 LSTM, Adam 6e-4) learns from batches of 8. For a GPU cluster.
    "zoph2016": {
        "data": {"val_fraction": 0.1},
        "space": "cnn",
        "space_options": {"layers": 20, "min_layers": 6, "filters": [24, 36, 48, 64]},
        "strategy": "reinforce",
        "strategy_options": {"batch_size": 8, "lr": 6e-4, "depth_schedule": [6, 2, 1600]},
        "reward": "zoph",
        "trials": 12800,
        "final_epochs": 300,
        "train": {
            "epochs": 50,
            "batch_size": 128,
            "optimizer": "sgd",
            "lr": 0.1,
            "momentum": 0.9,
            "weight_decay": 1e-4,
            "schedule": "cosine",
        },
    },
    # The same search scaled down for about an hour on 2 CPU cores: CIFAR-10 subsets (20,000
    # training + validation images, the full 10,000 test images), children of 3 to 6 layers
    # with optional strides (+1 layer every 15 samples), 3 epochs each on 4,000 images, up to
    # 100 children within 45 minutes, then the best retrained 30 epochs on all 20,000.
    # Measured on ../shared/data/cifar10-jpg (2 shared cores, seed 0): 88 children, 53.5
    # minutes end to end, retrained best child 0.707 test top-1 (scikit-learn's MLP: 0.406).
    "cifar-cpu": {
        "data": {"train_subset": 20000, "test_subset": 10000, "val_fraction": 0.2},
        "space": "cnn",
        "space_options": {
            "layers": 6,
            "min_layers": 3,
            "heights": [1, 3, 5],
            "widths": [1, 3, 5],
            "filters": [16, 24, 32, 48],
            "strides": [1, 2],
        },
        "strategy": "reinforce",
        "strategy_options": {"batch_size": 5, "depth_schedule": [3, 1, 15]},
        "reward": "val_accuracy",
        "trials": 100,
        "time_limit": 2700,
        "final_epochs": 30,
        "train": {
            "epochs": 3,
            "batch_size": 64,
            "optimizer": "adam",
            "lr": 3e-3,
            "schedule": "onecycle",
            "train_subset": 4000,
        },
    },
}


def apply_preset(name: str, base: dict[str, Any]) -> dict[str, Any]:
    """`base` (partial SearchConfig JSON) on top of preset `name`."""
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return merge(PRESETS[name], base)


def merge(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    """`high` over `low`, merging nested dicts."""
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def from_json(cls: type, data: Any) -> Any:
    """A (nested) config dataclass from its JSON; `UsageError` naming unknown keys."""
    if not isinstance(data, dict):
        raise UsageError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UsageError(f"unknown setting(s) {unknown} for {cls.__name__}")
    values = {}
    for name, value in data.items():
        default = (
            fields[name].default_factory
            if fields[name].default_factory is not (dataclasses.MISSING)
            else None
        )
        nested = default() if default is not None else None
        is_config = dataclasses.is_dataclass(nested)
        values[name] = from_json(type(nested), value) if is_config else value
    return cls(**values)


def save_json(config: Any, path: Path) -> None:
    path.write_text(json.dumps(dataclasses.asdict(config), indent=2) + "\n")


def load_json(cls: type, path: Path) -> Any:
    """The configuration saved at `path`; `UsageError` if it is not one."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable configuration ({exc})") from None
    try:
        return from_json(cls, data)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


def cifar_recipe() -> TrainConfig:
    """The CIFAR recipe of the Zoph & Le paper family: SGD with Nesterov momentum 0.9,
    lr 0.1, weight decay 5e-4, batch 128, cosine decay, crop + flip augmentation."""
    return TrainConfig(
        epochs=100,
        batch_size=128,
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        weight_decay=5e-4,
        schedule="cosine",
    )


@dataclass
class TrainJob:
    """`archsearch train`: one architecture (an architecture JSON file, a run's best, or a
    reference model), trained on a 90/10 train/val split with early stopping, tested once."""

    arch: str | None = None
    run: str | None = None
    model: str | None = None
    data: DataSpec = field(default_factory=lambda: DataSpec(val_fraction=0.1))
    train: TrainConfig = field(default_factory=cifar_recipe)
    patience: int | None = 20
    seed: int = 0

    def validate(self) -> None:
        if sum(s is not None for s in (self.arch, self.run, self.model)) != 1:
            raise UsageError("give exactly one of --arch JSON, --run DIR or --model NAME")
        self.data.validate()
        if self.patience is not None and self.patience < 1:
            raise UsageError(f"--patience must be at least 1, got {self.patience}")
        try:
            self.train.validate()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
