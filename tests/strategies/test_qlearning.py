"""MetaQNN Q-learning: the update rule by hand, the epsilon schedule, greedy choice, and the two
states (whole prefix, MetaQNN's per layer): their keys, sharing and exact resume."""

import io
import json
import random

import pytest
import torch

from archsearch.evaluation.result import Result
from archsearch.spaces.base import Categorical, Space
from archsearch.spaces.cell import NB201Space
from archsearch.spaces.cnn import CNNSpace
from archsearch.spaces.mlp import MLPSpace
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
    strategy = QLearning(
        space, replay=1, alpha=0.01, state="prefix"
    )  # MetaQNN: gamma 1, Q init 0.5
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
    strategy = QLearning(space, replay=1, alpha=0.5, gamma=0.9, q_init=0.0, state="prefix")
    strategy.tell(space.make({"a": "y", "b": 3}), Result(0.8))
    assert strategy.q['["y"]']["3"] == pytest.approx(0.5 * 0.0 + 0.5 * 0.8)
    # untried actions in ["y"] hold 0.0 < 0.4, so the max is the tried one
    assert strategy.q["[]"]['"y"'] == pytest.approx(0.5 * 0.0 + 0.5 * 0.9 * 0.4)


def test_greedy_update_keeps_the_best_reward_through_each_step():
    space = TwoStep()
    strategy = QLearning(space, replay=10, update="greedy", state="prefix")
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
    [
        {"update": "sarsa"},
        {"steps": "0.5,10,0.3"},
        {"epsilon": 1.5},
        {"alpha": -1},
        {"state": "tree"},
    ],
)
def test_bad_options_are_rejected(options):
    with pytest.raises(ValueError):
        get_strategy("qlearning", TwoStep(), **options)


# -- the state: whole prefix or MetaQNN's per layer ---------------------------------------------
class Layered(Space):
    """Three layers of decisions `<kind>_<layer>`; layer 2 is inactive when b_1 == 2."""

    decisions = (
        Categorical("a_1", ("x", "y")),
        Categorical("b_1", (1, 2)),
        Categorical("a_2", ("x", "y")),
        Categorical("b_2", (1, 2)),
        Categorical("a_3", ("x", "y", "z")),
    )

    def __init__(self):
        self.name = "layered"

    def options(self):
        return {}

    def build(self, arch, input_shape, output):
        raise NotImplementedError

    def layer(self, index):
        return int(self.decisions[index].name.rsplit("_", 1)[1])

    def is_active(self, index, chosen):
        return self.layer(index) != 2 or chosen.get("b_1") != 2


X = {"a_1": "x", "b_1": 1, "a_2": "y", "b_2": 1, "a_3": "z"}
X_PREFIX = {k: v for k, v in X.items() if k != "a_3"}
Y_PREFIX = {"a_1": "y", "b_1": 1, "a_2": "y", "b_2": 1}  # other layer 1, same layer 2 as X


def test_layer_state_keys_follow_the_spec():
    strategy = QLearning(Layered(), state="layer")
    keys = [state for state, _, _ in strategy._steps(Layered().make(X))]
    assert [json.loads(k) for k in keys] == [
        [1, "start", [], []],
        [1, "start", [], ["x"]],
        [2, 1, ["x", 1], []],
        [2, 1, ["x", 1], ["y"]],
        [3, 2, ["y", 1], []],
    ]
    # layer 2 inactive: layer 3 follows layer 1, the previous layer among active decisions
    skipped = Layered().make({"a_1": "y", "b_1": 2, "a_3": "x"})
    assert json.loads(strategy._steps(skipped)[-1][0]) == [3, 1, ["y", 2], []]
    prefix = QLearning(Layered(), state="prefix")
    assert [s for s, _, _ in prefix._steps(Layered().make(X))][-1] == '["x",1,"y",1]'


def test_layer_state_on_the_real_spaces():
    """mlp: depth is layer 0; cnn: Inputs values as lists; nb201: each edge its own layer."""
    mlp = MLPSpace(max_layers=2, widths=(8, 16), activations=("relu",), dropouts=(0.0, 0.5))
    arch = mlp.make(
        {
            "depth": 2,
            "width_1": 8,
            "activation_1": "relu",
            "dropout_1": 0.5,
            "width_2": 16,
            "activation_2": "relu",
            "dropout_2": 0.0,
        }
    )
    keys = [json.loads(s) for s, _, _ in QLearning(mlp, state="layer")._steps(arch)]
    assert keys[:3] == [[0, "start", [], []], [1, 0, [2], []], [1, 0, [2], [8]]]
    assert keys[-1] == [2, 1, [8, "relu", 0.5], [16, "relu"]]

    cnn = CNNSpace(layers=2, heights=(1, 3), widths=(1,), filters=(4,))
    arch = cnn.make(
        {
            "filter_height_1": 3,
            "filter_width_1": 1,
            "filters_1": 4,
            "inputs_1": [],
            "filter_height_2": 1,
            "filter_width_2": 1,
            "filters_2": 4,
            "inputs_2": [1],
        }
    )
    keys = [json.loads(s) for s, _, _ in QLearning(cnn, state="layer")._steps(arch)]
    assert keys[4] == [2, 1, [3, 1, 4, []], []] and keys[-1] == [2, 1, [3, 1, 4, []], [1, 1, 4]]

    nb201 = NB201Space()
    arch = nb201.sample(random.Random(0))
    ops = [value for _, _, value in nb201.active_decisions(arch)]
    keys = [json.loads(s) for s, _, _ in QLearning(nb201, state="layer")._steps(arch)]
    assert keys == [[0, "start", [], []]] + [[i, i - 1, [ops[i - 1]], []] for i in range(1, 6)]


@pytest.mark.parametrize("state", ["prefix", "layer"])
def test_ask_chooses_in_the_states_tell_replays(state):
    """Greedy after one result rebuilds it: the walk's states are the replayed ones."""
    space = NB201Space()
    strategy = QLearning(
        space, seed=1, warmup=0, steps=(), epsilon=0.0, update="greedy", state=state
    )
    best = space.sample(random.Random(5))
    strategy.tell(best, Result(0.9))
    assert all(strategy.propose() == best for _ in range(5))  # the policy itself


def greedy_third_layer(strategy, prefix):
    """The greedy value of a_3 after the layer-1 and layer-2 values `prefix`."""
    return strategy._greedy(Layered.decisions[4], strategy.state("a_3", prefix))


def test_layer_state_shares_what_one_architecture_taught_with_another():
    """X and Y differ in layer 1 only: in "layer" mode X's reward steers Y's layer 3, in
    "prefix" mode Y's layer-3 state was never visited and the choice stays uniform."""
    space = Layered()
    picks = {}
    for state in ("layer", "prefix"):
        strategy = QLearning(space, seed=0, update="greedy", state=state)
        strategy.tell(space.make(X), Result(0.9))  # above q_init: z becomes the greedy a_3
        picks[state] = {greedy_third_layer(strategy, Y_PREFIX) for _ in range(30)}
        shared = strategy.state("a_3", Y_PREFIX) == strategy.state("a_3", X_PREFIX)
        assert shared == (state == "layer")
    assert picks["layer"] == {"z"}
    assert picks["prefix"] == {"x", "y", "z"}


def test_layer_state_q_update_by_hand():
    """The update rule is unchanged; only the keys differ (TwoStep: a is layer 0, b layer 1)."""
    space = TwoStep()
    strategy = QLearning(space, replay=1, alpha=0.5, gamma=1.0, q_init=0.0, state="layer")
    strategy.tell(space.make({"a": "y", "b": 3}), Result(0.8))
    assert strategy.q == {'[1,0,["y"],[]]': {"3": 0.4}, '[0,"start",[],[]]': {'"y"': 0.2}}


def drive(strategy, space, steps):
    asked = []
    for _ in range(steps):
        arch = strategy.ask()
        asked.append(arch.canonical)
        strategy.tell(arch, Result(int(arch.hash[:8], 16) / 2**32))
    return asked


@pytest.mark.parametrize("state", ["prefix", "layer"])
@pytest.mark.parametrize("space", [NB201Space(), MLPSpace(max_layers=3)], ids=["nb201", "mlp"])
def test_exact_resume(state, space):
    options = {"warmup": 3, "steps": (0.5, 3), "epsilon": 0.1, "state": state}
    whole = drive(QLearning(space, seed=4, **options), space, 20)
    first = QLearning(space, seed=4, **options)
    before = drive(first, space, 10)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = QLearning(space, seed=99, **options)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    assert resumed.q == first.q and resumed.memory == first.memory
    assert before + drive(resumed, space, 10) == whole


def test_layer_state_is_the_default():
    """benchmarks/results/qlearning_state_seeds100-119.json: the measured choice."""
    assert QLearning(TwoStep()).options.state == "layer"


def test_invalid_state_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"state='tree'; choose 'prefix' or 'layer'$"):
        QLearning(TwoStep(), state="tree")
