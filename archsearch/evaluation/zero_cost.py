"""Zero-cost proxies: scores of an untrained network that rank architectures in seconds.

Each proxy is a function `(model, batch, task) -> float` of a freshly initialised network and a
small `Batch` of training (and, for `head`, validation) rows; higher means "predicted better".
The `ProxyEvaluator` (`proxies.py`) builds the network, averages a proxy over initialisations
and turns the score into a reward.

- `head` — the thesis's random-weights score: the network's frozen random features (the input
  of its last linear layer) for training rows, a ridge-regression linear head fitted on them in
  closed form, and the task's validation score (accuracy, R²) of that head on validation rows.
- `naswot` — Mellor et al. (2021), "Neural Architecture Search without Training": the binary
  activation pattern c_i of each input i over every ReLU, the kernel
  K_ij = c_i·c_j + (1-c_i)·(1-c_j) (units where the two inputs agree), and log|det K|.
- `synflow` — Tanaka et al. (2020), as a proxy by Abdelfattah et al. (2021): all parameters
  replaced by their absolute values, an all-ones input, R = sum of the outputs, and
  sum over weights of |theta * dR/dtheta|, in float64 with BatchNorm as the identity (fresh
  running statistics in eval mode); reported as its natural log, the raw value spans hundreds
  of orders of magnitude.
- `gradnorm` — Abdelfattah et al. (2021): the sum over parameters of the L2 norm of the
  gradient of the task's loss on one batch.
- `params` — log10 of the number of parameters (no network is run).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.tasks.base import Task

__all__ = ["PROXIES", "Batch", "gradnorm", "head", "naswot", "synflow"]


@dataclass
class Batch:
    """What a proxy may look at: normalised training inputs and targets, and (for `head`)
    normalised validation inputs and targets. Never the test split."""

    x: torch.Tensor
    y: torch.Tensor
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None


Proxy = Callable[[nn.Module, Batch, Task], float]

#: Ridge penalty of the `head` proxy per training row, on standardised features.
RIDGE = 0.1


def naswot(model: nn.Module, batch: Batch, task: Task) -> float:
    """log|det K| of the ReLU activation-pattern kernel over the batch (Mellor et al. 2021);
    -inf when two inputs share one pattern (K singular). Networks without ReLUs are read at
    the outputs of their linear and convolution layers (the sign a ReLU would see)."""
    n = len(batch.x)
    kernel = torch.zeros(n, n, dtype=torch.float64)

    def record(codes: torch.Tensor) -> None:
        c = (codes.detach().reshape(n, -1) > 0).double()
        kernel.add_(c @ c.T).add_((1 - c) @ (1 - c).T)

    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if relus:
        hooks = [m.register_forward_pre_hook(lambda _m, a: record(a[0])) for m in relus]
    else:
        layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        hooks = [m.register_forward_hook(lambda _m, _a, out: record(out)) for m in layers]
    try:
        model.train()
        with torch.no_grad():
            model(batch.x)
    finally:
        for hook in hooks:
            hook.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) > 0 else -math.inf


def synflow(model: nn.Module, batch: Batch, task: Task) -> float:
    """log of sum |theta * dR/dtheta| over weight tensors (dim > 1) of the absolute-valued
    network, R the sum of its outputs for an all-ones input (Tanaka et al. 2020)."""
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.zero_grad()
    ones = torch.ones((1, *batch.x.shape[1:]), dtype=torch.float64, device=batch.x.device)
    model(ones).sum().backward()
    with torch.no_grad():
        total = sum(
            float((p * p.grad).abs().sum())
            for p in model.parameters()
            if p.dim() > 1 and p.grad is not None
        )
    return math.log(total) if total > 0 else -math.inf


def gradnorm(model: nn.Module, batch: Batch, task: Task) -> float:
    """Sum over parameters of the L2 norm of the loss gradient on the batch."""
    model.train()
    model.zero_grad()
    task.loss(model(batch.x), batch.y).backward()
    return sum(float(p.grad.norm()) for p in model.parameters() if p.grad is not None)


def head(model: nn.Module, batch: Batch, task: Task) -> float:
    """The task's validation score of a ridge linear head on the frozen random features of the
    training rows (the thesis's random-weights score; higher is better)."""
    if batch.x_val is None or batch.y_val is None:
        raise ValueError("the head proxy needs validation rows")
    n = len(batch.x)
    features = _features(model, torch.cat([batch.x, batch.x_val])).double()
    mean, std = features[:n].mean(0), features[:n].std(0).clamp_min(1e-8)
    z = torch.cat([(features - mean) / std, torch.ones(len(features), 1).to(features)], 1)
    targets = _targets(batch.y, task).to(z)
    gram = z[:n].T @ z[:n] + RIDGE * n * torch.eye(z.shape[1]).to(z)
    weights = torch.linalg.solve(gram, z[:n].T @ targets)
    outputs = (z[n:] @ weights).float()
    sums = task.batch_sums(outputs, batch.y_val)
    return float(task.metrics(sums, len(batch.y_val))[task.score])


def _features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The input of the network's last linear layer (its penultimate features), or its output
    flattened when it has no linear layer; one forward pass in eval mode without gradients.
    Eval mode, because fresh BatchNorm running statistics make it the identity, so the
    features are those of the random weights themselves; with the batch's statistics
    (training mode) every channel is renormalised, which hides the differences in scale
    between architectures (a small probe on nb201 cells, not kept, found that version's
    ranking no better than chance)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    seen: list[torch.Tensor] = []
    hook = None
    if linears:
        hook = linears[-1].register_forward_pre_hook(lambda _m, a: seen.append(a[0]))
    try:
        model.eval()
        with torch.no_grad():
            out = model(x)
    finally:
        if hook is not None:
            hook.remove()
    return (seen[-1] if seen else out).reshape(len(x), -1)


def _targets(y: torch.Tensor, task: Task) -> torch.Tensor:
    """Regression targets of the head: one-hot classes, or the (standardised) targets."""
    if task.name == "classification":
        return F.one_hot(y, task.output_spec().size).double()
    if task.targets_are_inputs:
        raise ValueError(f"the head proxy needs labels or targets; the {task.name} task has none")
    return y.double().reshape(len(y), -1)


#: The proxies that run a network, by name (`params` needs none: see `ProxyEvaluator`).
PROXIES: dict[str, Proxy] = {
    "head": head,
    "naswot": naswot,
    "synflow": synflow,
    "gradnorm": gradnorm,
}
