"""archsearch: neural architecture search on PyTorch, from Python as from the command line.

A search returns its run: the best architecture and its scores, the retrained network, every
trial, the summary and the run's folder (a 2-trial search of iris; a few seconds):

    >>> import tempfile, torch
    >>> import archsearch
    >>> run = archsearch.search(dataset="iris", space="mlp", strategy="random", trials=2,
    ...                         epochs=1, final_epochs=1, final_models=1, quiet=True,
    ...                         out=f"{tempfile.mkdtemp()}/iris")
    >>> run.status, len(run.trials), run.best.score, 0 <= run.best.test <= 1  # + the reference
    ('finished', 3, 'accuracy', True)
    >>> run.model(torch.zeros(5, 4)).shape  # 5 rows of iris's 4 columns -> 3 class scores
    torch.Size([5, 3])
    >>> archsearch.load(run.path).best == run.best
    True

Every name is imported on first use, so `import archsearch` (and `archsearch --help`) does
not load PyTorch. (The search loop itself lives in `archsearch.loop`.) Writing a space or
strategy of your own: see `archsearch.api`.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "SPACES",
    "STRATEGIES",
    "Architecture",
    "Best",
    "Categorical",
    "Inputs",
    "Result",
    "RunResult",
    "SearchConfig",
    "Space",
    "Strategy",
    "UsageError",
    "get_space",
    "get_strategy",
    "load",
    "resume",
    "search",
]

#: The module each public name comes from.
_HOMES = {
    **dict.fromkeys(("Best", "RunResult", "load", "resume", "search"), "archsearch.api"),
    **dict.fromkeys(("SPACES", "Space", "get_space", "Architecture"), "archsearch.spaces"),
    **dict.fromkeys(("Categorical", "Inputs"), "archsearch.spaces"),
    **dict.fromkeys(("STRATEGIES", "Strategy", "get_strategy"), "archsearch.strategies"),
    "Result": "archsearch.evaluation.result",
    "SearchConfig": "archsearch.config",
    "UsageError": "archsearch.errors",
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
