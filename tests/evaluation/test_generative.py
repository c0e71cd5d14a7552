"""Autoencoder/VAE evaluation: the rewards, failed children below working ones, the
random-encoder proxy (the encoder really stays as initialised) and the rank agreement."""

import math
import random

import pytest
import torch

from archsearch.data import load_dataset
from archsearch.evaluation import Context, get_evaluator
from archsearch.evaluation.generative_rewards import elbo, inverse_kl, inverse_loss
from archsearch.evaluation.rewards import REWARDS, check_reward
from archsearch.evaluation.trainer import TrainConfig, train
from archsearch.retrain_top import rank_agreement
from archsearch.spaces import get_space
from archsearch.tasks.reconstruction import Reconstruction
from archsearch.tasks.vae import VAE

CURVE = [
    {"val_loss": 0.5, "val_kl": 2.0, "val_nelbo_bits": 1.0},
    {"val_loss": 0.25, "val_kl": 4.0, "val_nelbo_bits": 0.5},
    {"val_loss": 0.4, "val_kl": 1e-9, "val_nelbo_bits": 2.0},
]
TINY = TrainConfig(epochs=1, batch_size=32, device="cpu")


def vae_task():
    return VAE((1, 8, 8), [0.0], [1.0])


def test_the_rewards_by_hand():
    task = vae_task()
    assert inverse_loss(CURVE, {}, task) == pytest.approx(4.0)  # 1 / lowest loss 0.25
    assert inverse_kl(CURVE, {}, task) == pytest.approx(0.25)  # 1 / KL of that epoch
    assert elbo(CURVE, {}, task) == pytest.approx(2**-0.5)  # 2^-lowest nELBO bits
    collapsed = [{"val_loss": 0.3, "val_kl": 0.0, "val_nelbo_bits": 1.0}]
    assert math.isfinite(inverse_kl(collapsed, {}, task))
    for name in ("inverse_loss", "inverse_kl", "elbo"):
        assert name in REWARDS
        check_reward(name, task)
    check_reward("inverse_loss", Reconstruction((1, 8, 8)))
    with pytest.raises(ValueError, match="needs a VAE's"):
        check_reward("elbo", Reconstruction((1, 8, 8)))


@pytest.mark.parametrize("task", ["reconstruction", "vae"])
@pytest.mark.parametrize("reward", ["inverse_loss", "best_val_score", "elbo", "inverse_kl"])
def test_a_failed_child_is_rewarded_below_every_working_one(task, reward):
    data = load_dataset(name="digits", images=True, task=task, train_subset=200)
    if reward in ("elbo", "inverse_kl") and task == "reconstruction":
        return  # not offered (checked above)
    space = get_space("vae" if task == "vae" else "autoencoder", layers=1, filters=4)
    config = TrainConfig(epochs=1, batch_size=64, device="cpu", max_params=5_000)
    context = Context(space, data.task, data.without_test(), config, reward)
    evaluator = get_evaluator("train", context)
    rewards, failed = [], []
    for seed in range(6):
        result = evaluator.evaluate(space.sample(random.Random(seed)), seed)
        (rewards if result.ok else failed).append(result.reward)
    assert rewards and failed, "the parameter cap should fail some children, not all"
    assert max(failed) < min(rewards)
    assert max(failed) < data.task.reward_floor <= min(rewards)


def test_the_random_encoder_proxy_trains_the_decoder_only():
    data = load_dataset(name="digits", images=True, task="vae", train_subset=100)
    space = get_space("vae", layers=2, min_layers=2, filters=4)
    context = Context(space, data.task, data.without_test(), TINY, "elbo")
    evaluator = get_evaluator("random_encoder", context)
    arch = space.sample(random.Random(0))
    torch.manual_seed(0)
    model = evaluator.build(arch)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, data.task, (data.x_train, data.y_train), None, TINY, 0)
    after = model.state_dict()
    encoder = [k for k in before if k.startswith("encoder.")]
    decoder = [k for k in before if k.startswith("decoder.") and after[k].is_floating_point()]
    assert any("running_mean" in k for k in encoder)  # BatchNorm statistics are kept too
    assert all(torch.equal(before[k], after[k]) for k in encoder)
    assert all(not torch.equal(before[k], after[k]) for k in decoder)
    assert evaluator.evaluate(arch, 0).ok
    with pytest.raises(ValueError, match="no autoencoder|has none"):
        get_evaluator("random_encoder", Context(get_space("mlp"), data.task, data.without_test()))


def test_rank_agreement_by_hand():
    rows = [
        {"search_reward": 3.0, "full_reward": 30.0, "search_seconds": 1.0, "full_seconds": 4.0},
        {"search_reward": 2.0, "full_reward": 10.0, "search_seconds": 1.0, "full_seconds": 4.0},
        {"search_reward": 1.0, "full_reward": 20.0, "search_seconds": 1.0, "full_seconds": 4.0},
        {"search_reward": 0.5, "full_reward": None, "search_seconds": 1.0, "full_seconds": None},
    ]
    report = rank_agreement(rows)
    assert report["spearman"] == pytest.approx(0.5)  # ranks (1,2,3) vs (1,3,2)
    assert report["same_best"] is True
    assert report["search_seconds"] == 4.0 and report["full_seconds"] == 12.0
