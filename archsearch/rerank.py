"""Re-ranking the search's best architectures by cross-validation before the final training.

On a small table the validation split is a few dozen rows: many children tie or differ by
one row, and the search's best child is then one of several near-equal architectures picked
by chance. `rerank` trains each of the best `k` distinct architectures on `FOLDS` folds of
train+validation with the final recipe and keeps the one of best mean held-out score: every
row is judged once, by networks trained as the final one will be. On ties the search's
order stands (its best first). A run adds the space's reference architecture
(`Space.reference`, `--final-reference`) as the last candidate, so that a plain, well-known
network is chosen where none of the search's cross-validates better.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any, TextIO

import torch

from archsearch.data.dataset import Dataset
from archsearch.evaluation.trainer import TrainConfig, TrainingFailed, predict, train
from archsearch.ledger import Trial
from archsearch.spaces import Architecture, Space

__all__ = [
    "FOLDS",
    "RERANK_ROWS",
    "SMALL_DATA_RERANK",
    "cv_score",
    "final_rerank",
    "rerank",
    "top_distinct",
]

#: Data of at most this many train+validation rows gets `SMALL_DATA_RERANK` candidates.
RERANK_ROWS = 1_000
SMALL_DATA_RERANK = 3  # chosen on tuning seeds 100-119 (benchmarks/selection.py)
#: Folds of train+validation each candidate is trained and scored on.
FOLDS = 3


def final_rerank(data: Dataset, rerank: int | None) -> int:
    """How many of the best distinct architectures are re-ranked: `rerank`, or when unset
    `SMALL_DATA_RERANK` on data of at most `RERANK_ROWS` train+validation rows (a validation
    split of at most about 200 rows) and 1 (none) otherwise."""
    if rerank is not None:
        return rerank
    rows = data.sizes()["train"] + data.sizes()["val"]
    return SMALL_DATA_RERANK if rows <= RERANK_ROWS else 1


def top_distinct(trials: Sequence[Trial], k: int) -> list[Trial]:
    """The `k` working trials of highest reward with distinct architectures, earliest first
    on equal rewards (as `Ledger.best`), each architecture's first trial."""
    ranked = sorted((t for t in trials if t.result.ok), key=lambda t: (-t.result.reward, t.number))
    seen: set[str] = set()
    top = []
    for trial in ranked:
        if trial.arch.hash not in seen:
            seen.add(trial.arch.hash)
            top.append(trial)
    return top[:k]


def cv_score(
    space: Space, arch: Architecture, data: Dataset, config: TrainConfig, seed: int, folds: int
) -> float:
    """The mean held-out score (`task.score`) of `arch` trained with `config` on each of
    `folds` folds of train+validation (rows shuffled by `seed`; fold i trains with seed+i)."""
    task = data.task
    x, y = torch.cat([data.x_train, data.x_val]), torch.cat([data.y_train, data.y_val])
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    scores = []
    for fold in range(folds):
        held = order[fold::folds]
        keep = torch.ones(len(y), dtype=torch.bool)
        keep[held] = False
        torch.manual_seed(seed + fold)
        model = space.build(arch, data.input_shape, task.output_spec())
        train(model, task, (x[keep], y[keep]), None, config, seed + fold, norm=data.norm)
        outputs = predict(model, x[held], config, norm=data.norm)
        scores.append(task.test_scores(outputs, y[held])[f"test_{task.score}"])
    return statistics.mean(scores)


def rerank(
    space: Space,
    data: Dataset,
    candidates: Sequence[Trial],
    config: TrainConfig,
    seed: int,
    log: TextIO | None = None,
) -> tuple[Trial, dict[str, Any]]:
    """(the candidate of best cross-validated score, a report for summary.json: each
    candidate's trial, validation reward and `cv_<score>`, the folds and the chosen trial)."""
    score = f"cv_{data.task.score}"
    rows = []
    for trial in candidates:
        try:
            value: float | None = cv_score(space, trial.arch, data, config, seed, FOLDS)
            said = f"{value:.4g}"
        except TrainingFailed as exc:  # ranked last; the final training has its own retry
            value, said = None, f"failed ({exc})"
        rows.append({"trial": trial.number, "reward": trial.result.reward, score: value})
        if log is not None:
            print(
                f"archsearch: re-ranking trial {trial.number} (reward {trial.result.reward:.4f}): "
                f"{FOLDS}-fold {score} {said}",
                file=log,
            )
    values = [-math.inf if row[score] is None else row[score] for row in rows]
    chosen = candidates[values.index(max(values))]
    return chosen, {"folds": FOLDS, "candidates": rows, "chosen": chosen.number}
