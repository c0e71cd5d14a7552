"""The typed configuration of a search run, its validation, and its JSON form.

Everything a run needs to be repeated or resumed is here; `config.json` in the run directory
is this dataclass as JSON.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsearch.data import BUNDLED
from archsearch.errors import UsageError
from archsearch.evaluation.rewards import REWARDS
from archsearch.evaluation.trainer import TrainConfig
from archsearch.spaces import spaces
from archsearch.strategies import strategies


@dataclass
class SearchConfig:
    """One search: data, space, strategy, budget, child training and final training."""

    dataset: str | None = None
    data: str | None = None
    target: str | None = None
    space: str = "mlp"
    space_options: dict[str, Any] = field(default_factory=dict)
    strategy: str = "reinforce"
    strategy_options: dict[str, Any] = field(default_factory=dict)
    trials: int | None = 20
    time_limit: float | None = None
    epochs: int = 10
    final_epochs: int = 30
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float | None = None
    weight_decay: float = 0.0
    reward: str = "val_accuracy"
    max_params: int = 20_000_000
    device: str = "cpu"
    seed: int = 0
    test_fraction: float = 0.2
    val_fraction: float = 0.2
    reevaluate: bool = False

    def validate(self) -> None:
        """Raise `UsageError` with a one-line fix for the first impossible value."""
        if (self.dataset is None) == (self.data is None):
            raise UsageError("give exactly one of --dataset NAME or --data CSV")
        if self.dataset is not None and self.dataset not in BUNDLED:
            raise UsageError(
                f"unknown dataset {self.dataset!r}; choose one of: {', '.join(BUNDLED)} "
                "(or --data FILE.csv --target COLUMN)"
            )
        if self.data is not None and self.target is None:
            raise UsageError("--data needs --target COLUMN (a column name or 0-based index)")
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
        checks = [
            (self.trials is None or self.trials >= 1, f"--trials must be >= 1, got {self.trials}"),
            (
                self.time_limit is None or self.time_limit > 0,
                f"--time-limit must be positive, got {self.time_limit}",
            ),
            (self.final_epochs >= 0, f"--final-epochs must be >= 0, got {self.final_epochs}"),
            (
                0 < self.test_fraction < 1,
                f"--test-fraction must lie in (0, 1), got {self.test_fraction}",
            ),
            (
                0 < self.val_fraction < 1,
                f"--val-fraction must lie in (0, 1), got {self.val_fraction}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        try:
            self.train_config().validate()
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def train_config(self, epochs: int | None = None) -> TrainConfig:
        """How each child network (or, with `epochs`, the final network) is trained."""
        return TrainConfig(
            epochs=self.epochs if epochs is None else epochs,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            lr=self.lr,
            weight_decay=self.weight_decay,
            max_params=self.max_params,
            device=self.device,
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> SearchConfig:
        """The config saved at `path`; `UsageError` if it is not one."""
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"{path}: not a readable run configuration ({exc})") from None
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or not set(data) <= names:
            raise UsageError(f"{path}: not an archsearch run configuration")
        return cls(**data)
