"""The VAE losses against values computed by hand, and the VAE task's metrics."""

import math

import pytest
import torch

from archsearch.tasks import task_from_json
from archsearch.tasks.elbo import (
    gaussian_kl,
    reformulated_elbo,
    residual_kl,
    vanilla_elbo,
)
from archsearch.tasks.vae import VAE

# one sample, 2 latent dims: KL = 0.5 * ((1 + 1 - 1 - 0) + (0 + 2 - 1 - ln 2)) = 1 - ln(2) / 2
MU = torch.tensor([[1.0, 0.0]])
LOGVAR = torch.tensor([[0.0, math.log(2.0)]])
KL = 1.0 - math.log(2.0) / 2


def test_gaussian_kl_by_hand():
    assert gaussian_kl(MU, LOGVAR).item() == pytest.approx(KL)
    assert gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)).tolist() == [0.0, 0.0, 0.0]


def test_vanilla_elbo_with_bce_by_hand():
    recon = torch.full((1, 1, 2, 2), 0.5)
    target = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    # BCE of 0.5 is ln 2 per pixel; 4 pixels; the sum of both terms divided by the 4 pixels
    expected = (4 * math.log(2.0) + KL) / 4
    assert vanilla_elbo(recon, target, MU, LOGVAR, "bce").item() == pytest.approx(expected)


def test_vanilla_elbo_with_mse_by_hand():
    recon = torch.tensor([[[[0.2, 0.4], [0.6, 0.8]]]])
    target = torch.tensor([[[[0.0, 0.5], [0.5, 1.0]]]])
    squared = 0.04 + 0.01 + 0.01 + 0.04
    expected = (squared + KL) / 4
    assert vanilla_elbo(recon, target, MU, LOGVAR, "mse").item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="bce"):
        vanilla_elbo(recon, target, MU, LOGVAR, "l1")


def test_residual_kl_by_hand():
    target = torch.zeros(1, 1, 2, 2)
    # residual target - recon = (0.3, 0.1, 0.3, 0.1): mean 0.2, variance 0.01; eps 0.1:
    # 0.5 * (ln(0.01 / 0.01) + (0.01 + 0.04) / 0.01 - 1) = 2
    recon = -torch.tensor([[[[0.3, 0.1], [0.3, 0.1]]]])
    assert residual_kl(recon, target, 0.1).item() == pytest.approx(2.0, rel=1e-5)
    # a zero-mean residual whose spread is eps costs nothing
    recon = torch.tensor([[[[0.1, -0.1], [0.1, -0.1]]]])
    assert residual_kl(recon, target, 0.1).item() == pytest.approx(0.0, abs=1e-6)
    # spread 0.2 = 2 eps: 0.5 * (ln(1/4) + 4 - 1)
    assert residual_kl(2 * recon, target, 0.1).item() == pytest.approx(
        0.5 * (math.log(0.25) + 3.0), rel=1e-5
    )


def test_reformulated_elbo_normalises_each_term_by_its_dimensionality():
    target = torch.zeros(1, 1, 2, 2)
    recon = -torch.tensor([[[[0.3, 0.1], [0.3, 0.1]]]])
    # residual KL 2 (per pixel already) + latent KL / 2 latent dims
    expected = 2.0 + KL / 2
    assert reformulated_elbo(recon, target, MU, LOGVAR, 0.1).item() == pytest.approx(expected)
    perfect = reformulated_elbo(target, target, MU, LOGVAR, 0.1).item()
    assert math.isfinite(perfect)
    with pytest.raises(ValueError, match="eps"):
        reformulated_elbo(recon, target, MU, LOGVAR, 0.0)


def test_the_vae_task_trains_on_its_loss_and_reports_the_same_metrics_for_every_loss():
    x = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])  # normalised with low 0, high 1
    outputs = (torch.full_like(x, 0.5), MU, LOGVAR)
    metrics = {}
    for loss in ("bce", "mse", "reformulated"):
        task = VAE((1, 2, 2), [0.0], [1.0], loss=loss, eps=0.1)
        metrics[loss] = task.metrics(task.batch_sums(outputs, x), 1)
        assert task.loss(outputs, x).item() == pytest.approx(metrics[loss]["loss"])
    assert metrics["bce"]["loss"] == pytest.approx((4 * math.log(2.0) + KL) / 4)
    for loss in ("mse", "reformulated"):
        same = {k: v for k, v in metrics[loss].items() if k != "loss"}
        assert same == pytest.approx({k: v for k, v in metrics["bce"].items() if k != "loss"})
    m = metrics["bce"]
    assert m["mse"] == pytest.approx(0.25) and m["kl"] == pytest.approx(KL)
    assert m["nelbo_bits"] == pytest.approx((4 * math.log(2.0) + KL) / (4 * math.log(2.0)))
    assert m["likelihood"] == pytest.approx(2 ** -m["nelbo_bits"])


def test_the_vae_task_maps_normalised_targets_to_pixels_and_round_trips_as_json():
    task = VAE((1, 1, 2), [-1.0], [3.0], loss="mse", eps=0.2)
    assert task.to_unit(torch.tensor([[[[-1.0, 1.0]]]])).tolist() == [[[[0.0, 0.5]]]]
    again = task_from_json(task.to_json())
    assert isinstance(again, VAE) and again.to_json() == task.to_json()
    assert task.output_spec().latent and task.output_spec().shape == (1, 1, 2)
    with pytest.raises(ValueError, match="unknown VAE loss"):
        VAE((1, 1, 2), [0.0], [1.0], loss="l1")


def test_fit_takes_the_pixel_range_of_raw_images_from_their_normalisation():
    x = torch.zeros(4, 1, 2, 2, dtype=torch.uint8)
    task = VAE.fit(x, ((127.5,), (127.5,)))
    assert task.low == [-1.0] and task.high == [1.0]
