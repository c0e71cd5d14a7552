"""Classification: logits over classes, cross-entropy, accuracy."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from archsearch.tasks.base import MAX, MIN, OutputSpec, Task


class Classification(Task):
    """`num_classes` logits per sample; targets are int64 class indices. Reports loss
    (cross-entropy) and accuracy; on the test split also balanced accuracy (the mean of the
    per-class recalls over the classes present, which a model that always predicts the
    largest class cannot inflate) and top-5 accuracy when there are more than five classes
    (with five or fewer it is 1 by definition)."""

    name = "classification"
    score = "accuracy"
    directions = {"loss": MIN, "accuracy": MAX}
    reward_floor = 0.0
    ensemble_average = "probabilities"

    def __init__(self, num_classes: int) -> None:
        if num_classes < 2:
            raise ValueError(f"classification needs at least 2 classes, got {num_classes}")
        self.num_classes = num_classes

    def output_spec(self) -> OutputSpec:
        return OutputSpec((self.num_classes,))

    def loss(
        self, outputs: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0
    ) -> torch.Tensor:
        return F.cross_entropy(outputs, targets, label_smoothing=label_smoothing)

    def batch_sums(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        outputs = outputs.float()
        return {
            "loss": F.cross_entropy(outputs, targets, reduction="sum"),
            "correct": (outputs.argmax(1) == targets).sum(),
        }

    def metrics(self, sums: dict[str, torch.Tensor], count: int) -> dict[str, float]:
        return {"loss": sums["loss"].item() / count, "accuracy": sums["correct"].item() / count}

    def test_scores(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        scores = super().test_scores(outputs, targets)
        scores["test_balanced_accuracy"] = balanced_accuracy(outputs.argmax(1), targets)
        if self.num_classes > 5:
            top5 = outputs.topk(5, dim=1).indices
            scores["test_top5_accuracy"] = (top5 == targets[:, None]).any(1).float().mean().item()
        return scores

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "num_classes": self.num_classes}


def balanced_accuracy(predicted: torch.Tensor, targets: torch.Tensor) -> float:
    """The mean recall of the classes present in `targets` (scikit-learn's
    `balanced_accuracy_score`).

    Example:
        >>> balanced_accuracy(torch.tensor([0, 0, 0, 0]), torch.tensor([0, 0, 0, 1]))
        0.5
    """
    classes = int(max(predicted.max(), targets.max())) + 1
    totals = torch.bincount(targets, minlength=classes).double()
    hits = torch.bincount(targets[predicted == targets], minlength=classes).double()
    present = totals > 0
    return (hits[present] / totals[present]).mean().item()
