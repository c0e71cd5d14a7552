"""The predictor that shares the REINFORCE controller's LSTM (`screen_model=lstm`): it learns
the told rewards, its gradient trains the LSTM only when shared, it is reinforce's alone, and a
screened search with it resumes exactly and runs through the command line."""

import random

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from archsearch.cli import main
from archsearch.errors import UsageError
from archsearch.evaluation.result import Result
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.spaces.cell import NB201Space
from archsearch.spaces.mlp import MLPSpace
from archsearch.strategies import get_strategy
from tests.helpers import EncodingEvaluator

SPACE = NB201Space()
LSTM = {"screen": 4, "screen_model": "lstm"}


def reward(arch):
    """A learnable synthetic reward: the share of 3x3 convolutions among the six edges."""
    return sum(v == "nor_conv_3x3" for _, v in arch.values) / 6


def rank_correlation(strategy, archs):
    return spearmanr(strategy.predictor.predict(archs), [reward(a) for a in archs]).statistic


def test_the_head_learns_to_rank_architectures_by_the_told_reward():
    strategy = get_strategy("reinforce", SPACE, seed=0, **LSTM)
    rng = random.Random(0)
    told = [(a, reward(a)) for a in (SPACE.sample(rng) for _ in range(30))]
    unseen = [SPACE.sample(rng) for _ in range(60)]
    before = rank_correlation(strategy, unseen)  # a random projection: any sign, by chance
    for _ in range(3):
        strategy.predictor.fit(told)
    after = rank_correlation(strategy, unseen)
    assert after > 0.7 and after > before + 0.3
    predicted = strategy.predictor.predict([a for a, _ in told])
    assert abs(predicted.mean() - np.mean([r for _, r in told])) < 0.05  # in reward units


@pytest.mark.parametrize("share", [True, False])
def test_the_predictor_trains_the_shared_lstm_only_when_sharing(share):
    strategy = get_strategy("reinforce", SPACE, seed=1, screen_share=share, **LSTM)
    cell = strategy.controller.cells[0].weight_hh.detach().clone()
    head = strategy.predictor.head.weight.detach().clone()
    archs = [SPACE.sample(random.Random(i)) for i in range(8)]
    strategy.predictor.fit([(a, reward(a)) for a in archs])
    assert not torch.equal(strategy.predictor.head.weight, head)
    assert torch.equal(strategy.controller.cells[0].weight_hh, cell) is not share


def test_it_is_fitted_after_each_policy_gradient_step_and_screens_with_its_predictions():
    strategy = get_strategy("reinforce", SPACE, seed=2, batch_size=3, screen_after=3, **LSTM)
    for count in range(1, 7):
        arch = strategy.ask()
        strategy.tell(arch, Result(reward(arch)))
        assert strategy.predictor.fits == strategy.updates == count // 3
    twin = get_strategy("reinforce", SPACE, seed=2, batch_size=3, screen_after=3, **LSTM)
    twin.load_state_dict(strategy.state_dict())
    candidates = [twin.propose() for _ in range(4)]
    told = {a.hash for a, _ in strategy.screen.told}
    fresh = [a for a in candidates if a.hash not in told] or candidates
    assert strategy.ask() == fresh[int(np.argmax(twin.predictor.predict(fresh)))]


@pytest.mark.parametrize("name", ["random", "evolution", "bayesopt"])
def test_only_reinforce_has_the_lstm_predictor(name):
    if name == "bayesopt":  # no screening at all: an unknown option, as before
        with pytest.raises(ValueError, match="unknown option"):
            get_strategy(name, SPACE, seed=0, **LSTM)
        return
    with pytest.raises(UsageError, match="only --strategy reinforce has it; use forest or gp"):
        get_strategy(name, SPACE, seed=0, **LSTM)


def test_a_search_screened_by_the_lstm_resumes_exactly(tmp_path):
    space = MLPSpace(max_layers=3, widths=(8, 16, 32), activations=("relu", "tanh"))
    options = {**LSTM, "screen_after": 3, "batch_size": 2, "screen_steps": 3}

    def search(ledger, trials):
        strategy = get_strategy("reinforce", space, seed=4, **options)
        run_search(strategy, EncodingEvaluator(space), ledger, Budget(trials), 4)
        return strategy

    full = Ledger(":memory:")
    whole = search(full, 12)
    assert whole.predictor.fits == whole.updates > 2
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        search(ledger, 7)  # stopped after 7 results (mid-batch), resumed from its saved state
    with Ledger(path) as ledger:
        resumed = search(ledger, 12)
        assert [t.arch for t in ledger] == [t.arch for t in full]
    same = zip(resumed.predictor.head.parameters(), whole.predictor.head.parameters())
    assert all(torch.equal(a, b) for a, b in same)


def test_the_command_line_runs_a_screened_search_and_refuses_lstm_for_others(tmp_path, capsys):
    common = ["search", "--dataset", "iris", "--trials", "5", "--epochs", "1",
              "--final-epochs", "1", "--final-models", "1", "--strategy-option", "screen=3",
              "--strategy-option", "screen_model=lstm"]  # fmt: skip
    out = tmp_path / "run"
    assert main([*common, "--strategy", "reinforce", "--strategy-option", "screen_after=2",
                 "--strategy-option", "batch_size=2", "--out", str(out)]) == 0  # fmt: skip
    assert (out / "summary.json").is_file()
    capsys.readouterr()
    assert main([*common, "--strategy", "random", "--out", str(tmp_path / "no")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "only --strategy reinforce has it" in err[0]
