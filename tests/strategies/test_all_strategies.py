"""Every strategy works on every discrete space through the same ask / tell / state_dict:
it proposes only valid architectures, resumes exactly from a saved state, and drives the real
search loop to its budget without getting stuck on repeats."""

import io

import pytest
import torch

from archsearch.evaluation.base import Context, Evaluator
from archsearch.evaluation.result import Result
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.spaces.cell import NB201Space
from archsearch.spaces.cnn import CNNSpace
from archsearch.spaces.mlp import MLPSpace
from archsearch.strategies import STRATEGIES, get_strategy
from archsearch.tasks.classification import Classification

SPACES = {
    "mlp": MLPSpace(max_layers=3, widths=(8, 16, 32), activations=("relu", "tanh")),
    "cnn": CNNSpace(layers=3, heights=(1, 3), widths=(1, 3), filters=(4, 8)),
    "nb201": NB201Space(),
}
STEPS = 12  # per half of a resumed run
#: Short initial random phases, so that the resumed half runs each strategy's learned policy.
OPTIONS = {
    "qlearning": {"warmup": 4, "steps": (0.5, 4)},
    "bayesopt": {"initial": 5},
    "evolution": {"population": 6, "sample": 3},
    "genetic": {"population": 6},
}


def result(arch):
    """A deterministic synthetic reward in [0, 1); a tenth of the architectures fail."""
    value = int(arch.hash[:8], 16) / 2**32
    return Result.failed("synthetic failure", -0.1) if value < 0.1 else Result(value)


class SyntheticEvaluator(Evaluator):
    name = "synthetic"

    def __init__(self):
        super().__init__(Context(SPACES["nb201"], Classification(10)))

    def evaluate(self, arch, seed):
        return result(arch)


def drive(strategy, space, steps):
    asked = []
    for _ in range(steps):
        arch = strategy.ask()
        space.validate(arch)
        asked.append(arch.canonical)
        strategy.tell(arch, result(arch))
    return asked


def round_trip(state):
    """Through bytes, as the ledger stores it: tensors and plain data only."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("space_name", SPACES)
@pytest.mark.parametrize("name", STRATEGIES.names())
def test_valid_proposals_and_exact_resume(name, space_name):
    space = SPACES[space_name]
    options = OPTIONS.get(name, {})
    whole = drive(get_strategy(name, space, seed=7, **options), space, 2 * STEPS)

    first = get_strategy(name, space, seed=7, **options)
    before = drive(first, space, STEPS)
    resumed = get_strategy(name, space, seed=99, **options)  # the state must carry on
    resumed.load_state_dict(round_trip(first.state_dict()))
    after = drive(resumed, space, STEPS)

    assert before + after == whole
    assert len(set(whole)) > STEPS // 2  # not a single architecture over and over


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_search_loop_reaches_the_budget_and_resumes_exactly(name, tmp_path):
    space = SPACES["nb201"]

    def search(path, trials):
        with Ledger(path) as ledger:
            strategy = get_strategy(name, space, seed=3)
            reason = run_search(strategy, SyntheticEvaluator(), ledger, Budget(trials=trials))
            return reason, [t.arch.canonical for t in ledger]

    reason, straight = search(tmp_path / "straight.db", 40)
    assert reason == "budget" and len(set(straight)) == 40
    search(tmp_path / "resumed.db", 25)
    _, resumed = search(tmp_path / "resumed.db", 40)
    assert resumed == straight
