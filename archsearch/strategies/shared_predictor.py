"""The accuracy predictor that shares the REINFORCE controller's LSTM (`screen_model=lstm`).

The survey's toy system reads a candidate's accuracy off the controller itself: the controller
re-reads the architecture's decisions (teacher forcing, as in its policy-gradient update),
takes one more LSTM step on the last choice, and a linear head on that final hidden state
predicts the reward. The head is trained by mean squared error on the (architecture, reward)
pairs told so far, with the rewards standardised (mean 0, std 1 over those pairs; predictions
are mapped back to reward units).

Sharing means the MSE gradient trains the LSTM too (its cells, the start and choice
embeddings, W_prev of the anchor attention: everything on the path to the hidden state; not
the policy's softmax heads nor the edge scores), so the policy and the predictor shape one
representation of architectures. The predictor has its own Adam optimizer over the head and
those shared parameters, and `Reinforce` interleaves the two: after each policy-gradient step (every
`batch_size` results) it takes `screen_steps` predictor steps, each on a mini-batch of at most
`BATCH` told pairs drawn with the predictor's own seeded generator. With `screen_share=false`
the LSTM's state is read without gradient and only the head learns (the ablation).

Everything that determines it (the head, its optimizer, its generator, the reward scale) is
in `state_dict`; the shared LSTM is in the controller's, which `Reinforce` saves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from archsearch.spaces.base import Architecture

__all__ = ["BATCH", "SharedPredictor"]

#: Told pairs per predictor step at most (a random mini-batch once more are told): a walk of
#: the controller costs about a millisecond forward and backward each, so fitting every pair
#: at every step would make the predictor the search's main cost.
BATCH = 32


class SharedPredictor:
    """A linear head on the controller's final hidden state, fitted to the told rewards.

    Args:
        encode: architecture -> the controller's final hidden state, shape (1, hidden).
        hidden: the size of that state.
        shared: the controller parameters the MSE gradient also trains (when `share`).
        lr: the predictor's Adam learning rate.
        steps: Adam steps per `fit`.
        share: whether the gradient reaches the LSTM (else only the head learns).
        seed: seeds the head's initialisation and the mini-batch draws.
    """

    def __init__(
        self,
        encode: Callable[[Architecture], torch.Tensor],
        hidden: int,
        shared: Iterable[nn.Parameter],
        lr: float,
        steps: int,
        share: bool,
        seed: int,
    ) -> None:
        with torch.random.fork_rng(devices=[]):  # seeded, global RNG untouched
            torch.manual_seed(seed)
            self.head = nn.Linear(hidden, 1)
        self.encode, self.steps, self.share = encode, steps, share
        params = [*self.head.parameters(), *(shared if share else ())]
        self.optimizer = torch.optim.Adam(params, lr=lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.scale = (0.0, 1.0)  # (mean, std) of the rewards at the last fit
        self.fits = 0
        self.last_loss: float | None = None

    def _forward(self, archs: Sequence[Architecture]) -> torch.Tensor:
        """Standardised predictions, with the graph to the head (and the LSTM if shared)."""
        with torch.set_grad_enabled(self.share and torch.is_grad_enabled()):
            states = torch.cat([self.encode(arch) for arch in archs])
        return self.head(states)[:, 0]

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predicted rewards of `archs` (reward units)."""
        with torch.no_grad():
            out = self._forward(archs).numpy().astype(float)
        mean, std = self.scale
        return out * std + mean

    def fit(self, told: Sequence[tuple[Architecture, float]]) -> None:
        """`steps` Adam steps of MSE between the predictions and the standardised rewards of
        `told`, each on a random mini-batch of at most `BATCH` pairs."""
        if not told:
            return
        rewards = torch.tensor([r for _, r in told], dtype=torch.float32)
        std = float(rewards.std()) if len(told) > 1 else 0.0
        self.scale = (float(rewards.mean()), std if std > 1e-12 else 1.0)
        target = (rewards - self.scale[0]) / self.scale[1]
        for _ in range(self.steps):
            picked = torch.randperm(len(told), generator=self.generator)[:BATCH].tolist()
            self.optimizer.zero_grad()
            loss = F.mse_loss(self._forward([told[i][0] for i in picked]), target[picked])
            loss.backward()
            self.optimizer.step()
            self.last_loss = float(loss.detach())
        self.fits += 1

    def state_dict(self) -> dict[str, Any]:
        return {
            "head": self.head.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "scale": list(self.scale),
            "fits": self.fits,
            "last_loss": self.last_loss,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.head.load_state_dict(state["head"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.scale = (float(state["scale"][0]), float(state["scale"][1]))
        self.fits = int(state["fits"])
        self.last_loss = state["last_loss"]
