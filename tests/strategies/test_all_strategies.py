"""Every strategy works on every discrete space through the same ask / tell / state_dict:
it proposes only valid architectures, resumes exactly from a saved state, drives the real
search loop to its budget without getting stuck on repeats, does not propose what is in flight
and takes results in any order."""

import io

import pytest
import torch

from archsearch.evaluation.base import Context, Evaluator
from archsearch.evaluation.result import Result
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.spaces.cell import NB201Space
from archsearch.spaces.cnn import CNNSpace
from archsearch.spaces.darts import DartsSpace
from archsearch.spaces.enas import ENASSpace
from archsearch.spaces.mlp import MLPSpace
from archsearch.strategies import STRATEGIES, get_strategy
from archsearch.tasks.classification import Classification

SPACES = {
    "mlp": MLPSpace(max_layers=3, widths=(8, 16, 32), activations=("relu", "tanh")),
    "cnn": CNNSpace(layers=3, heights=(1, 3), widths=(1, 3), filters=(4, 8)),
    "enas": ENASSpace(layers=4, channels=4),
    "nb201": NB201Space(),
    "darts": DartsSpace(),
}
#: Two architectures only: the third proposal in flight cannot be new.
TINY = MLPSpace(max_layers=1, widths=(8, 16), activations=("relu",), dropouts=())
IN_FLIGHT = 8
STEPS = 12  # per half of a resumed run
#: Short initial random phases, so that the resumed half runs each strategy's learned policy.
OPTIONS = {
    "qlearning": {"warmup": 4, "steps": (0.5, 4)},
    "bayesopt": {"initial": 5},
    "evolution": {"population": 6, "sample": 3},
    "genetic": {"population": 6},
    "nsga2": {"population": 6},
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


def drive(strategy, space, steps, judge=None):
    """Ask and tell `steps` times, each told `judge(arch)` (default `result`); the asked."""
    judge = judge or result
    asked = []
    for _ in range(steps):
        arch = strategy.ask()
        space.validate(arch)
        asked.append(arch.canonical)
        strategy.tell(arch, judge(arch))
    return asked


def drive_raw(strategy, space, steps):
    """`drive` through the subclass's own methods, bypassing the in-flight bookkeeping."""
    asked = []
    for _ in range(steps):
        arch = strategy.propose()
        asked.append(arch.canonical)
        strategy.learn(arch, result(arch))
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


@pytest.mark.parametrize("space_name", SPACES)
@pytest.mark.parametrize("name", STRATEGIES.names())
def test_asks_avoid_proposals_in_flight_and_results_come_in_any_order(name, space_name):
    """Asked IN_FLIGHT + 1 times without a result, no proposal repeats one in flight; told in
    reverse order, the strategy learns and does the same again, round after round (also once
    its policy has converged onto a few architectures)."""
    space = SPACES[space_name]
    strategy = get_strategy(name, space, seed=7, **OPTIONS.get(name, {}))
    drive(strategy, space, STEPS)  # past the initial random phases
    for _ in range(3):
        asked = [strategy.ask() for _ in range(IN_FLIGHT + 1)]
        assert len({arch.hash for arch in asked}) == IN_FLIGHT + 1
        assert sum(strategy.in_flight.values()) == IN_FLIGHT + 1
        for arch in reversed(asked):
            space.validate(arch)
            strategy.tell(arch, result(arch))
        assert not strategy.in_flight


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_with_everything_in_flight_ask_returns_a_twin(name):
    """In a space of two architectures with both in flight, redraws, mutations and neighbours
    all fail: `ask` returns a proposal in flight (the loop waits for its twin's result)."""
    strategy = get_strategy(name, TINY, seed=0)
    first, second, third = (strategy.ask() for _ in range(3))
    assert first != second and third in (first, second)
    assert strategy.in_flight[third.hash] == 2
    for arch in (third, second, first):
        strategy.tell(arch, result(arch))
    assert not strategy.in_flight


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_with_nothing_in_flight_ask_is_one_proposal(name):
    """One worker: ask/tell make exactly the sequence of propose/learn, so a sequential search
    is the same as before strategies knew what is in flight."""
    space = SPACES["nb201"]
    options = OPTIONS.get(name, {})
    raw = drive_raw(get_strategy(name, space, seed=5, **options), space, 2 * STEPS)
    assert drive(get_strategy(name, space, seed=5, **options), space, 2 * STEPS) == raw
