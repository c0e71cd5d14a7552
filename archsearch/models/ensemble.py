"""`Ensemble`: several trainings of one architecture that answer as one network."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from archsearch.evaluation.outputs import Outputs, concat

PROBABILITIES, OUTPUTS = "probabilities", "outputs"


class Ensemble(nn.Module):
    """The members' answers averaged: class probabilities (returned as log-probabilities,
    so the ensemble's output is used like logits), or the outputs themselves (regression,
    reconstruction). Averaging networks that differ only in their random initialisation and
    batch order removes much of the chance in one training's test score."""

    def __init__(self, members: Sequence[nn.Module], average: str = OUTPUTS) -> None:
        super().__init__()
        if average not in (PROBABILITIES, OUTPUTS):
            raise ValueError(f"average must be {PROBABILITIES!r} or {OUTPUTS!r}, not {average!r}")
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.average = average

    def forward(self, x: torch.Tensor) -> Outputs:
        if self.average == OUTPUTS:  # each tensor of a tuple (a VAE's) is averaged on its own
            return concat([member(x) for member in self.members], _mean)
        outputs = torch.stack([member(x) for member in self.members])
        return outputs.float().softmax(-1).mean(0).clamp_min(1e-12).log()


def _mean(parts: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack(parts).mean(0)
