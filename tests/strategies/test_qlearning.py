"""MetaQNN Q-learning: the update rule by hand, the epsilon schedule, greedy choice."""

import json

import pytest

from archsearch.evaluation.result import Result
from archsearch.spaces.base import Categorical, Space
from archsearch.spaces.cell import NB201Space
from archsearch.strategies import get_strategy
from archsearch.strategies.qlearning import QLearning


class TwoStep(Space):
    """Two decisions: a in (x, y), then b in (1, 2, 3). Named per instance, so that plug-in
    discovery (which looks for a class attribute `name`) does not list this test space."""

    decisions = (Categorical("a", ("x", "y")), Categorical("b", (1, 2, 3)))

    def __init__(self):
        self.name = "twostep"

    def options(self):
        return {}

    def build(self, arch, input_shape, num_classes):
        raise NotImplementedError

    def count_params(self, arch, input_shape, num_classes):
        return 0


S0, S1 = "[]", '["x"]'  # states: nothing chosen; a = x chosen
A0, A1 = '"x"', "2"  # actions: a = x; b = 2


def test_q_update_matches_a_hand_computed_example():
    space = TwoStep()
    strategy = QLearning(space, replay=1, alpha=0.01)  # MetaQNN: gamma 1, Q init 0.5
    arch = space.make({"a": "x", "b": 2})

    strategy.tell(arch, Result(1.0))
    # replayed last step first: terminal Q = 0.99 * 0.5 + 0.01 * 1.0
    assert strategy.q[S1][A1] == pytest.approx(0.505)
    # then the first step: target = gamma * max(Q(s1, .)) = max(0.505, 0.5 for untried b)
    assert strategy.q[S0][A0] == pytest.approx(0.99 * 0.5 + 0.01 * 0.505)

    strategy.tell(arch, Result(1.0))  # the same architecture again: replayed once more
    q1 = 0.99 * 0.505 + 0.01 * 1.0
    assert strategy.q[S1][A1] == pytest.approx(q1)
    assert strategy.q[S0][A0] == pytest.approx(0.99 * (0.99 * 0.5 + 0.01 * 0.505) + 0.01 * q1)
    assert len(strategy.memory) == 1  # a repeat is not stored twice


def test_discount_and_learning_rate_enter_as_in_the_formula():
    space = TwoStep()
    strategy = QLearning(space, replay=1, alpha=0.5, gamma=0.9, q_init=0.0)
    strategy.tell(space.make({"a": "y", "b": 3}), Result(0.8))
    assert strategy.q['["y"]']["3"] == pytest.approx(0.5 * 0.0 + 0.5 * 0.8)
    # untried actions in ["y"] hold 0.0 < 0.4, so the max is the tried one
    assert strategy.q["[]"]['"y"'] == pytest.approx(0.5 * 0.0 + 0.5 * 0.9 * 0.4)


def test_greedy_update_keeps_the_best_reward_through_each_step():
    space = TwoStep()
    strategy = QLearning(space, replay=10, update="greedy")
    strategy.tell(space.make({"a": "x", "b": 2}), Result(0.9))
    strategy.tell(space.make({"a": "x", "b": 1}), Result(0.7))
    assert strategy.q[S1] == {"2": 0.9, "1": 0.7}
    assert strategy.q[S0] == {A0: 0.9}
    strategy.tell(space.make({"a": "y", "b": 1}), Result(0.1))
    assert strategy.q[S0]['"y"'] == 0.5  # max(Q init, 0.1)


def test_epsilon_schedule_counts_distinct_architectures():
    space = NB201Space()
    strategy = get_strategy(
        "qlearning", space, warmup="2", steps="0.4,1,0.2,2", epsilon="0.05", replay="0"
    )
    seen = []
    for _ in range(7):
        seen.append(strategy.epsilon())
        arch = strategy.ask()
        strategy.tell(arch, Result(0.5))
        strategy.tell(arch, Result(0.5))  # a repeat moves nothing
    assert seen == [1.0, 1.0, 0.4, 0.2, 0.2, 0.05, 0.05]
    assert strategy.stats() == {"epsilon": 0.05}


def test_greedy_policy_rebuilds_the_best_architecture():
    space = NB201Space()
    strategy = QLearning(space, seed=3, warmup=0, steps=(), epsilon=0.0, update="greedy")
    best = space.from_string(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|avg_pool_3x3~1|none~2|"
    )
    strategy.tell(best, Result(0.95))
    for _ in range(5):
        strategy.tell(strategy.ask(), Result(0.2))  # untried actions (0.5) beat these
    assert strategy.ask() == best


def test_state_dict_is_plain_data():
    strategy = QLearning(TwoStep(), replay=5)
    strategy.tell(TwoStep().make({"a": "x", "b": 2}), Result(0.6))
    state = strategy.state_dict()
    json.dumps({k: v for k, v in state.items() if k != "rng"})
    clone = QLearning(TwoStep())
    clone.load_state_dict(state)
    assert clone.q == strategy.q and clone.memory == strategy.memory


@pytest.mark.parametrize(
    "options",
    [{"update": "sarsa"}, {"steps": "0.5,10,0.3"}, {"epsilon": 1.5}, {"alpha": -1}],
)
def test_bad_options_are_rejected(options):
    with pytest.raises(ValueError):
        get_strategy("qlearning", TwoStep(), **options)
