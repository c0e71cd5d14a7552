"""`--retrain-top K`: after a search, train its top K children fully and compare the rankings.

A proxy evaluator (the random-encoder proxy above all, `evaluation/random_encoder.py`) ranks
children cheaply; whether that ranking can be trusted is what this step measures. The K
children with the highest search rewards are trained again by the `train` evaluator (the same
child training, the same seeds, every weight trained); the report gives both rewards of each,
the Spearman rank correlation between them, whether both pick the same best child, and the
seconds each evaluation took (what the proxy saves).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from scipy.stats import spearmanr

from archsearch.evaluation import Evaluator, get_evaluator
from archsearch.ledger import Trial

__all__ = ["rank_agreement", "retrain_top"]


def retrain_top(
    evaluator: Evaluator, trials: Sequence[Trial], k: int, log: TextIO | None = None
) -> dict[str, Any]:
    """Train the `k` working trials of highest reward fully (the `train` evaluator on
    `evaluator`'s context) and compare; see the module. `log` gets a line per child."""
    top = sorted((t for t in trials if t.result.ok), key=lambda t: -t.result.reward)[:k]
    full = get_evaluator("train", evaluator.context)
    rows = []
    for rank, trial in enumerate(top, 1):
        result = full.evaluate(trial.arch, trial.seed)
        rows.append(
            {
                "trial": trial.number,
                "search_reward": trial.result.reward,
                "full_reward": result.reward if result.ok else None,
                "search_seconds": trial.result.metrics.get("train_seconds"),
                "full_seconds": result.metrics.get("train_seconds"),
                "full_status": result.status,
            }
        )
        if log is not None:
            print(
                f"archsearch: retrained {rank}/{len(top)} (trial {trial.number}): search reward "
                f"{trial.result.reward:.4g}, full training {result.reward:.4g}",
                file=log,
            )
    report = {"k": len(rows), "children": rows, **rank_agreement(rows)}
    if log is not None:
        rho = "n/a" if report["spearman"] is None else f"{report['spearman']:.3f}"
        print(
            f"archsearch: top {len(rows)} retrained: Spearman rho {rho}, same best child: "
            f"{report['same_best']}, {report['search_seconds']:.0f} s searched vs "
            f"{report['full_seconds']:.0f} s fully trained",
            file=log,
        )
    return report


def rank_agreement(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Spearman's rho of search vs full rewards over rows whose full training worked, whether
    both rankings have the same best child, and the total seconds of each."""
    done = [r for r in rows if r["full_reward"] is not None]
    proxy = [r["search_reward"] for r in done]
    full = [r["full_reward"] for r in done]
    rho = float(spearmanr(proxy, full).statistic) if len(done) >= 3 else None
    rho = None if rho is None or rho != rho else rho  # NaN: one of the rankings is all ties
    same = None
    if done:
        same = max(done, key=lambda r: r["search_reward"]) is max(
            done, key=lambda r: r["full_reward"]
        )
    return {
        "spearman": rho,
        "same_best": same,
        "search_seconds": sum(r["search_seconds"] or 0.0 for r in rows),
        "full_seconds": sum(r["full_seconds"] or 0.0 for r in rows),
    }
