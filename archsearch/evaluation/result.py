"""`Result`: what evaluating one architecture produced."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OK = "ok"
FAILED = "failed"
PRUNED = "pruned"


@dataclass
class Result:
    """Reward (what the strategy maximises), metrics (val_accuracy or val_r2, val_loss,
    params, train_seconds, ...), the per-epoch learning curve, and status `ok`/`failed`/
    `pruned` with a reason. A failed result carries its task's failed reward, below every
    working one, so every strategy learns to avoid it."""

    reward: float
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)
    status: str = OK
    reason: str = ""

    @classmethod
    def failed(cls, reason: str, reward: float, **metrics: float) -> Result:
        return cls(reward=reward, metrics=dict(metrics), status=FAILED, reason=reason)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        return cls(**data)
