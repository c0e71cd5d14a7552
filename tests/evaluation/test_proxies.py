"""Zero-cost proxies: deterministic for a seed, different for different architectures, a
failed result for a network that cannot be built, rewards that keep the proxy's order inside
[floor, 1] above the failed reward, and the warm-start queue of the best-scored architectures."""

import math
import random

import pytest
import torch

from archsearch.data.dataset import Dataset, Normalization
from archsearch.errors import UsageError
from archsearch.evaluation import get_evaluator
from archsearch.evaluation.base import Context
from archsearch.evaluation.proxies import PROXY_NAMES, ProxyEvaluator
from archsearch.evaluation.warm_start import check_warm_start, warm_start_queue
from archsearch.spaces.cell import NB201Space
from archsearch.spaces.mlp import MLPSpace
from archsearch.tasks.classification import Classification
from archsearch.tasks.regression import Regression

SPACE = NB201Space(channels=4, cells_per_stage=1)
CONV = SPACE.make({d.name: "nor_conv_3x3" for d in SPACE.decisions})
POOL = SPACE.make({d.name: "avg_pool_3x3" for d in SPACE.decisions})
EMPTY = SPACE.make({d.name: "none" for d in SPACE.decisions})


def images(n=48, classes=3, size=8, seed=0):
    """Noisy images whose mean brightness is their class: a signal a random network keeps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    x = (y.view(-1, 1, 1, 1) * 80 + torch.randint(0, 60, (n, 3, size, size), generator=g)).byte()
    task = Classification(classes)
    half = n // 2
    norm = Normalization((100.0,) * 3, (60.0,) * 3)
    names = [str(c) for c in range(classes)]
    data = Dataset("toy", task, x[:half], y[:half], x[half:], y[half:], None, None, names, norm)
    return Context(SPACE, task, data)


CONTEXT = images()


def evaluator(proxy, **options):
    return get_evaluator("proxy", CONTEXT, proxy=proxy, samples=12, inits=2, calibration=4,
                         **options)  # fmt: skip


@pytest.mark.parametrize("proxy", PROXY_NAMES)
def test_each_proxy_is_deterministic_for_a_seed_and_tells_architectures_apart(proxy):
    ev = evaluator(proxy)
    first, again = ev.evaluate(CONV, seed=3), ev.evaluate(CONV, seed=3)
    assert first.ok, first.reason
    assert first.reward == again.reward
    assert first.metrics[f"proxy_{proxy}"] == again.metrics[f"proxy_{proxy}"]
    other = EMPTY if proxy == "head" else POOL  # head: both separate the toy classes fully
    assert ev.score(CONV, 3) != ev.score(other, 3)
    fresh = evaluator(proxy)  # another evaluator: the same calibration, the same reward
    assert fresh.evaluate(CONV, seed=3).reward == first.reward


@pytest.mark.parametrize("proxy", ["naswot", "synflow", "gradnorm", "head"])
def test_the_score_depends_on_the_initialisation_seed(proxy):
    ev = evaluator(proxy)
    assert ev.score(CONV, 0) != ev.score(CONV, 1)


def test_rewards_keep_the_proxy_order_inside_floor_and_one_above_the_failed_reward():
    ev = evaluator("synflow")
    archs = [SPACE.sample(random.Random(i)) for i in range(6)] + [CONV, EMPTY]
    scores = [ev.score(a, 0) for a in archs]
    rewards = [ev.evaluate(a, 0).reward for a in archs]
    task = CONTEXT.task
    assert all(task.failed_reward < task.reward_floor <= r <= 1 for r in rewards)
    order = sorted(range(len(archs)), key=lambda i: scores[i])
    assert [rewards[i] for i in order] == sorted(rewards)
    assert scores[-1] == -math.inf and rewards[-1] == task.reward_floor  # output ignores input


def test_a_network_that_cannot_be_built_is_a_failed_result_with_its_reason():
    flat = Dataset(
        "flat", CONTEXT.task, torch.randn(12, 5), torch.arange(12) % 3, torch.randn(12, 5),
        torch.arange(12) % 3, None, None, ["a", "b", "c"],
    )  # fmt: skip
    ev = ProxyEvaluator(Context(SPACE, CONTEXT.task, flat), proxy="naswot", samples=6)
    result = ev.evaluate(CONV, seed=0)
    assert result.status == "failed" and "image inputs" in result.reason
    assert result.reward == CONTEXT.task.failed_reward


def test_the_head_proxy_is_a_validation_score_and_works_for_regression_and_mlps():
    ev = evaluator("head")
    result = ev.evaluate(CONV, seed=0)
    assert result.reward == result.metrics["proxy_head"] and 0 <= result.reward <= 1
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 4, generator=g)
    y = x[:, :1] * 2 + 0.1 * torch.randn(40, 1, generator=g)
    task = Regression()
    data = Dataset("reg", task, x[:20], y[:20], x[20:], y[20:], None, None)
    space = MLPSpace(max_layers=2, widths=(16, 32), activations=("relu",), dropouts=())
    ev = ProxyEvaluator(Context(space, task, data), proxy="head", samples=20, inits=2)
    arch = space.sample(random.Random(0))
    result = ev.evaluate(arch, seed=0)
    assert result.ok and result.reward > 0.5  # a linear target survives random ReLU features


def test_the_evaluator_never_holds_the_test_split_and_rejects_unknown_proxies():
    with pytest.raises(ValueError, match="unknown proxy 'magic'"):
        evaluator("magic")
    data = CONTEXT.data
    with_test = Dataset("t", data.task, data.x_train, data.y_train, data.x_val, data.y_val,
                        data.x_val, data.y_val, data.class_names, data.norm)  # fmt: skip
    with pytest.raises(ValueError, match="test split"):
        ProxyEvaluator(Context(SPACE, data.task, with_test), proxy="params")


def test_calibration_survives_state_dict():
    ev = evaluator("naswot")
    reward = ev.evaluate(CONV, seed=0).reward
    state = ev.state_dict()
    fresh = evaluator("naswot")
    fresh.load_state_dict(state)
    assert fresh.scale == ev.scale and fresh.evaluate(CONV, seed=0).reward == reward


def test_the_warm_start_queue_is_the_best_scored_of_the_pool_best_first():
    queue = warm_start_queue(CONTEXT, top=3, pool=8, seed=5, proxy="params")
    assert queue == warm_start_queue(CONTEXT, top=3, pool=8, seed=5, proxy="params")
    ev = evaluator("params")
    from archsearch.evaluation.warm_start import distinct_samples

    pool = distinct_samples(SPACE, 8, random.Random(5))
    best = sorted((ev.score(a, 0) for a in pool), reverse=True)[:3]
    assert [ev.score(a, 0) for a in queue] == best


def test_bad_warm_start_settings_are_usage_errors():
    check_warm_start(0, 0, "anything")  # off: nothing checked
    with pytest.raises(UsageError, match="--warm-start-pool"):
        check_warm_start(10, 5, "synflow")
    with pytest.raises(UsageError, match="--warm-start-proxy"):
        check_warm_start(1, 5, "magic")


def test_a_search_runs_with_the_proxy_evaluator_and_a_warm_start(tmp_path, capsys):
    from archsearch.cli import main
    from archsearch.ledger import Ledger

    out = tmp_path / "run"
    argv = ["search", "--dataset", "iris", "--space", "mlp", "--strategy", "evolution",
            "--evaluator", "proxy", "--evaluator-option", "proxy=head",
            "--warm-start", "2", "--warm-start-pool", "6", "--warm-start-proxy", "params",
            "--trials", "4", "--final-epochs", "1", "--final-models", "1",
            "--out", str(out)]  # fmt: skip
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "warm start: the 2 of 6 random architectures params scores best" in err
    with Ledger.open(out / "ledger.sqlite", readonly=True) as ledger:
        trials = list(ledger)
    params = [t.result.metrics["params"] for t in trials]
    assert params[0] >= params[1] >= min(params[2:])  # the queue, best first, came first
    assert all(t.result.reward == t.result.metrics["proxy_head"] for t in trials)
