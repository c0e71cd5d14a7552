"""ENAS: its controller learns from rewards (a known function standing in for the supernet),
it trains real shared weights, derives a valid architecture, and resumes exactly."""

import io
import json
import random

import pytest
import torch

from archsearch.cli import main
from archsearch.data.dataset import Dataset
from archsearch.evaluation.result import Result
from archsearch.evaluation.trainer import TrainConfig
from archsearch.oneshot import ONESHOTS
from archsearch.oneshot.enas import ENAS
from archsearch.spaces.cell import NB201Space
from archsearch.spaces.enas import ENASSpace
from archsearch.strategies.reinforce import Reinforce
from archsearch.tasks.classification import Classification
from tests.helpers import write_image_folder


def tiny_data(n=48, classes=3, side=8, seed=0):
    """Random images whose class is the sign pattern of their mean per channel: learnable."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2 * n, 3, side, side, generator=g)
    y = (x.mean(dim=(2, 3))[:, :2] > 0).long().sum(dim=1) % classes
    task = Classification(classes)
    return Dataset("tiny", task, x[:n], y[:n], x[n:], y[n:], None, None, ["a", "b", "c"])


def make(cls=ENAS, seed=0, **options):
    """A search of the 4-layer, 4-channel ENAS space on `tiny_data`."""
    data = tiny_data()
    train = TrainConfig(epochs=3, batch_size=16, device="cpu")
    return cls(ENASSpace(layers=4, channels=4), data.task, data, train, seed, **options)


class KnownReward(ENAS):
    """ENAS with the supernet's score replaced by a known function of the architecture: the
    fraction of layers using sepconv3x3, plus a bonus per skip from layer 1."""

    def reward(self, arch, batch):
        layers = self.space.layers
        ops = sum(arch[f"op_{i}"] == "sepconv3x3" for i in range(1, layers + 1)) / layers
        skips = sum(1 in arch[f"skips_{i}"] for i in range(2, layers + 1)) / (layers - 1)
        return 0.7 * ops + 0.3 * skips


def test_registered_under_its_name():
    assert ONESHOTS.get("enas") is ENAS


def test_controller_improves_on_a_known_reward():
    # a faster controller than the paper's (Adam 3.5e-4 over thousands of steps) keeps the
    # test short; every other setting is ENAS's (temperature, tanh, entropy, skip KL)
    search = make(KnownReward, lr=0.02, weight_steps=1, controller_steps=10, skip_weight=0.0)

    def policy_reward():
        return sum(search.reward(search.sample(), None) for _ in range(40)) / 40

    first = policy_reward()
    for _ in range(3):
        stats = search.epoch()
    last = policy_reward()
    # a uniform policy scores 0.7/6 + 0.3/2 = 0.27 in expectation
    assert first < 0.4
    assert last > first + 0.2, (first, last)
    assert stats["entropy"] < stats["entropy_max"]
    derived = search.derive()
    search.space.validate(derived)
    assert search.reward(derived, None) >= last


def test_real_search_trains_the_supernet_and_derives_a_member_of_the_space():
    search = make(controller_steps=2, batch_size=4, derive_samples=8)
    before = search.supernet.stem[0].weight.detach().clone()
    stats = [search.epoch() for _ in range(2)]
    assert not torch.equal(before, search.supernet.stem[0].weight)
    assert stats[1]["train_loss"] == pytest.approx(stats[1]["train_loss"])  # finite
    assert 0.0 <= stats[1]["reward"] <= 1.0
    assert search.controller.updates == 4
    derived = search.derive()
    search.space.validate(derived)
    assert derived == search.derive(), "derive does not move the search's random state"


def test_resume_continues_exactly():
    options = {"controller_steps": 1, "batch_size": 3, "weight_steps": 2, "derive_samples": 4}
    whole = make(**options)
    whole.epoch()
    buffer = io.BytesIO()
    torch.save(whole.state_dict(), buffer)
    expected = whole.epoch()
    buffer.seek(0)
    resumed = make(seed=5, **options)  # another seed: everything comes from the state
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    again = resumed.epoch()
    expected.pop("seconds"), again.pop("seconds")
    assert again == expected
    assert resumed.derive() == whole.derive()


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="skip_target"):
        make(skip_target=1.5)
    with pytest.raises(ValueError, match="unknown option"):
        make(bogus=1)


def test_skip_penalty_pulls_edge_probabilities_to_the_target():
    space = ENASSpace(layers=5, channels=4)
    arch = space.sample(random.Random(0))

    def mean_edge(strategy):
        probs = strategy.probabilities(arch)
        edges = [p for name, ps in probs.items() if name.startswith("skips") for p in ps]
        return sum(edges) / len(edges)

    means = {}
    for target in (0.1, 0.9):
        strategy = Reinforce(space, 0, lr=0.05, batch_size=2, skip_target=target, skip_weight=1)
        start = mean_edge(strategy)
        for _ in range(30):  # a constant reward: only the penalty moves the policy
            strategy.learn(strategy.propose(), Result(0.5))
        means[target] = (start, mean_edge(strategy))
    assert means[0.1][1] < min(0.2, means[0.1][0])
    assert means[0.9][1] > max(0.8, means[0.9][0])


def test_searches_the_nb201_space_too():
    data = tiny_data()
    train = TrainConfig(epochs=1, batch_size=16, device="cpu")
    space = NB201Space(channels=4, cells_per_stage=1)
    search = ENAS(
        space,
        data.task,
        data,
        train,
        0,
        controller_steps=1,
        batch_size=3,
        derive_samples=4,
        weight_steps=2,
    )
    stats = search.epoch()
    assert 0.0 <= stats["reward"] <= 1.0 and "baseline" in stats
    space.validate(search.derive())


def test_the_search_command_runs_enas_end_to_end(tmp_path, capsys):
    """`archsearch search --strategy enas --space enas`: the one-shot driver, then the final
    training of the derived child and its test."""
    folder = write_image_folder(tmp_path / "images", counts=(("train", 12), ("test", 3)))
    out = tmp_path / "run"
    code = main(["search", "--data-dir", str(folder), "--space", "enas", "--strategy", "enas",
                 "--space-option", "layers=3", "--space-option", "channels=4",
                 "--strategy-option", "controller_steps=1", "--strategy-option", "batch_size=2",
                 "--strategy-option", "derive_samples=3", "--epochs", "2", "--trials", "2",
                 "--final-epochs", "1", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "enas" and summary["oneshot"]["epochs"] == 2
    derived = ENASSpace(layers=3, channels=4).from_json(summary["oneshot"]["derived"])
    assert derived.space == "enas" and "test_accuracy" in summary["best"]
