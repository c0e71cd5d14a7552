"""What the pool and Ray tests share: a tiny iris search through the command line, a search
through the API, and an evaluator that kills its own worker process, as the out-of-memory
killer would."""

import os
import signal
import time
from pathlib import Path

from archsearch.cli import main
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.spaces.mlp import MLPSpace
from archsearch.strategies import get_strategy
from tests.helpers import EncodingEvaluator, trials_of

__all__ = ["SPACE", "DyingEvaluator", "api_search", "cli_search"]

SPACE = MLPSpace(max_layers=3, widths=(8, 16), activations=("relu", "tanh"), dropouts=())
TINY = ["--strategy", "random", "--epochs", "1", "--final-epochs", "1", "--final-models", "1"]


def cli_search(out, trials, *flags):
    """(number, arch, reward, seed) of each trial of a tiny iris search with `flags`."""
    args = ["search", "--dataset", "iris", *TINY, "--trials", str(trials), "--out", str(out)]
    assert main([*args, *map(str, flags)]) == 0
    return trials_of(out)


def api_search(executor, evaluator, trials):
    """The trials of a random search of `SPACE` run through `executor`, which is closed."""
    ledger = Ledger(":memory:")
    try:
        strategy = get_strategy("random", SPACE, 0)
        run_search(strategy, evaluator, ledger, Budget(trials), 0, executor=executor)
    finally:
        executor.close()
    return list(ledger)


class DyingEvaluator(EncodingEvaluator):
    """`EncodingEvaluator` taking `delay` seconds per trial, whose process SIGKILLs itself
    when it evaluates seed `victim`: every time, or with `marker` only the first time (the
    marker file says it happened)."""

    def __init__(self, space, victim, marker=None, delay=0.0):
        super().__init__(space)
        self.victim, self.marker, self.delay = victim, marker, delay

    def evaluate(self, arch, seed):
        time.sleep(self.delay)
        if seed == self.victim and (self.marker is None or not Path(self.marker).exists()):
            if self.marker is not None:
                Path(self.marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().evaluate(arch, seed)
