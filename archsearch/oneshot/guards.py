"""Collapse guards for DARTS: published remedies against its collapse onto parameter-free
operations, chosen by `--strategy-option guard=NAME`.

- `none`: plain DARTS.
- `beta`: beta-DARTS's Beta-Decay regularisation (Ye et al., 2022): the architecture loss
  gains lambda * mean over decisions of logsumexp(alpha), whose gradient is softmax(alpha),
  so that no operation's weight runs away; lambda rises linearly from 0 to `beta_max`
  over the search.
- `earlystop`: DARTS+'s early stopping on alpha dominance (Liang et al., 2019): once more than
  `max_free` decisions' argmax is a parameter-free operation, the architecture steps stop and
  the architecture derived just before that is kept.
- `cap`: P-DARTS's cap on parameter-free operations (Chen et al., 2019): at derivation, only
  the `max_free` parameter-free picks with the largest weight are kept; every other decision
  takes its best operation with weights.
- `beta-cap`: both: Beta-Decay on alpha during the search, the cap at derivation. On a larger
  supernet Beta-Decay alone still let one search in four collapse onto skip connections
  (see docs/oneshot.md); the cap catches what the regulariser lets through.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch

from archsearch.spaces.base import Architecture

if TYPE_CHECKING:
    from archsearch.oneshot.darts import Darts

__all__ = ["GUARDS", "PARAMETER_FREE", "Guard", "check_guard", "make_guard"]

#: Operations without weights: what DARTS collapses onto (nb201's and darts's names; the enas macro
#: space's pooling, which ENAS's `max_free` caps)
PARAMETER_FREE = frozenset(
    {"none", "skip_connect", "avg_pool_3x3", "max_pool_3x3", "identity"}
    | {"avgpool3x3", "maxpool3x3"}
)


class Guard:
    """No guard (plain DARTS); the hooks the others override."""

    def __init__(self, darts: Darts) -> None:
        self.darts = darts
        #: whether the architecture steps have stopped
        self.frozen = False

    def penalty(self) -> torch.Tensor | None:
        """A loss on alpha added to each architecture step, or None."""
        return None

    def after_epoch(self, arch: Architecture) -> dict[str, float]:
        """Called after each epoch with the argmax architecture; stats for the ledger."""
        return {}

    def derive(self) -> Architecture | None:
        """The architecture to derive instead of the plain argmax, or None."""
        return None

    def state_dict(self) -> dict[str, Any]:
        return {"frozen": self.frozen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.frozen = bool(state["frozen"])


class BetaDecay(Guard):
    """beta-DARTS: lambda(t) * mean logsumexp(alpha), lambda linear 0 -> beta_max."""

    def weight(self, epoch: int) -> float:
        """lambda in epoch `epoch` (0-based)."""
        return self.darts.options.beta_max * epoch / max(self.darts.train.epochs - 1, 1)

    def penalty(self) -> torch.Tensor | None:
        alpha = self.darts.alpha.masked_fill(~self.darts.mask, float("-inf"))
        return self.weight(self.darts.epochs_done) * torch.logsumexp(alpha, dim=-1).mean()

    def after_epoch(self, arch: Architecture) -> dict[str, float]:
        return {"beta_lambda": self.weight(self.darts.epochs_done - 1)}


class EarlyStop(Guard):
    """DARTS+: stop the architecture steps once more than `max_free` decisions pick a
    parameter-free operation; derive the last architecture before that."""

    def __init__(self, darts: Darts) -> None:
        super().__init__(darts)
        self.kept: Architecture | None = None

    def after_epoch(self, arch: Architecture) -> dict[str, float]:
        if not self.frozen:
            if free_count(arch) > self.darts.options.max_free:
                self.frozen = True
            else:
                self.kept = arch
        return {"guard_stopped": float(self.frozen)}

    def derive(self) -> Architecture | None:
        return self.kept if self.frozen else None

    def state_dict(self) -> dict[str, Any]:
        kept = None if self.kept is None else self.kept.to_json()
        return {**super().state_dict(), "kept": kept}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        kept = state.get("kept")
        self.kept = None if kept is None else self.darts.space.from_json(kept)


class Cap(Guard):
    """P-DARTS: at most `max_free` parameter-free operations in the derived architecture."""

    def derive(self) -> Architecture | None:
        darts = self.darts
        w = darts.weights().detach().cpu()
        free = darts.free.cpu()
        best = w.argmax(-1)
        picked_free = [i for i in range(len(best)) if free[i, best[i]]]
        picked_free.sort(key=lambda i: -float(w[i, best[i]]))
        for i in picked_free[darts.options.max_free :]:
            weighted = ~free[i] & darts.mask[i].cpu()
            if weighted.any():
                best[i] = int(w[i].masked_fill(~weighted, -1.0).argmax())
        decisions = darts.space.decisions
        return darts.space.make({d.name: d.choices[int(k)] for d, k in zip(decisions, best)})


class BetaCap(BetaDecay, Cap):
    """beta-DARTS's regulariser during the search, P-DARTS's cap at derivation."""


def check_guard(name: str, known: Iterable[str]) -> None:
    """A clear error when `name` is not one of the `known` guards of a method."""
    known = list(known)
    if name not in known:
        raise ValueError(f"unknown guard {name!r}; choose one of: {', '.join(known)}")


def free_count(arch: Architecture) -> int:
    """How many decisions of `arch` take a parameter-free operation."""
    return sum(str(value) in PARAMETER_FREE for _, value in arch.values)


GUARDS: dict[str, type[Guard]] = {
    "none": Guard,
    "beta": BetaDecay,
    "earlystop": EarlyStop,
    "cap": Cap,
    "beta-cap": BetaCap,
}


def make_guard(name: str, darts: Darts) -> Guard:
    """The guard called `name` for this DARTS search."""
    return GUARDS[name](darts)
