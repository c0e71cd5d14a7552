"""Child training: curves, normalisation of raw images, seeding, failures, schedules, subsets."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from archsearch.data.dataset import Normalization
from archsearch.evaluation.trainer import (
    TrainConfig,
    TrainingFailed,
    batch_rows,
    evaluate,
    lr_factor,
    predict,
    seconds_per_sample,
    train,
)
from archsearch.tasks.classification import Classification

cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def blobs(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two well-separated Gaussian blobs in 4 dimensions."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 4, generator=g) + (y[:, None].float() * 2 - 1) * 3
    return x, y


def images(n: int = 48, size: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 3, size, size) images whose class is whether channel 0 is bright."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randint(0, 128, (n, 3, size, size), generator=g, dtype=torch.uint8)
    x[:, 0] += (y * 120).to(torch.uint8).view(n, 1, 1)
    return x, y


NORM = Normalization((120.0, 64.0, 64.0), (70.0, 37.0, 37.0))
TASK = Classification(2)


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    )


class Recorder(nn.Module):
    """Wraps a model and keeps every training batch it is given."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.seen = model, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.append(x.detach().clone())
        return self.model(x)


def test_curve_has_every_epoch_and_the_network_learns():
    torch.manual_seed(0)
    config = TrainConfig(epochs=4, batch_size=32, lr=0.01)
    curve = train(mlp(), TASK, blobs(), blobs(seed=1), config, seed=0)
    assert [p["epoch"] for p in curve] == [1, 2, 3, 4]
    keys = {"epoch", "train_loss", "train_accuracy", "lr", "val_loss", "val_accuracy", "seconds"}
    assert all(set(p) == keys for p in curve)
    assert curve[-1]["val_accuracy"] > 0.95 and curve[-1]["train_loss"] < curve[0]["train_loss"]


def test_raw_images_are_normalised_on_the_fly_with_train_statistics():
    x, y = images()
    model = cnn()
    config = TrainConfig(epochs=1)
    with pytest.raises(ValueError, match="norm=Dataset.norm"):
        evaluate(model, TASK, (x, y), config)
    assert evaluate(model, TASK, (x, y), config, norm=NORM) == pytest.approx(
        evaluate(model, TASK, (NORM.apply(x), y), config)
    )
    model.eval()
    expected = model(NORM.apply(x))
    assert torch.allclose(predict(model, x, config, norm=NORM), expected, atol=1e-6)


def test_same_seed_same_training_with_augmentation():
    def run(seed: int) -> tuple[list[dict], torch.Tensor]:
        torch.manual_seed(0)
        model = cnn()
        config = TrainConfig(epochs=2, batch_size=16, augment="on", cutout=4)
        curve = train(model, TASK, images(), images(seed=1), config, seed=seed, norm=NORM)
        return [{k: v for k, v in p.items() if k != "seconds"} for p in curve], model[0].weight

    first, again, other = run(3), run(3), run(4)
    assert first[0] == again[0] and torch.equal(first[1], again[1])
    assert first[0] != other[0]


def test_auto_augmentation_changes_16_pixel_inputs_only_when_on():
    x, y = images(n=16)
    normalised = NORM.apply(x)

    def inputs(augment: str) -> torch.Tensor:
        model = Recorder(cnn())
        train(
            model,
            TASK,
            (x, y),
            None,
            TrainConfig(epochs=1, batch_size=16, augment=augment),
            0,
            norm=NORM,
        )
        return model.seen[0]

    def originals(batch: torch.Tensor) -> int:
        return sum(any(torch.allclose(b, o) for o in normalised) for b in batch)

    assert originals(inputs("off")) == 16
    assert originals(inputs("auto")) < 16


def test_train_subset_trains_on_that_many_rows():
    model = Recorder(mlp())
    train(model, TASK, blobs(), None, TrainConfig(epochs=2, batch_size=8, train_subset=30), seed=0)
    assert sum(len(b) for b in model.seen) == 60


def test_nan_loss_fails_the_training():
    class Diverged(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x) * float("nan")

    with pytest.raises(TrainingFailed, match="loss became nan in epoch 1"):
        train(Diverged(), TASK, blobs(), None, TrainConfig(epochs=1), seed=0)


def test_too_many_parameters_fail_the_training():
    with pytest.raises(TrainingFailed, match="exceed max_params 10"):
        train(mlp(), TASK, blobs(), None, TrainConfig(epochs=1, max_params=10), seed=0)


def test_label_smoothing_keeps_the_loss_above_its_floor():
    def final_loss(smoothing: float) -> float:
        torch.manual_seed(0)
        config = TrainConfig(epochs=8, batch_size=20, lr=0.05, label_smoothing=smoothing)
        return train(mlp(), TASK, blobs(), None, config, seed=0)[-1]["train_loss"]

    # smoothing 0.2 over 2 classes: the best the network can do is P(true class) = 0.9, so
    # the (unsmoothed) cross-entropy it reports stays above -log 0.9
    floor = -math.log(0.9)
    assert final_loss(0.0) < floor / 2
    assert final_loss(0.2) > floor - 1e-3


def test_schedules():
    config = TrainConfig(epochs=10, schedule="cosine")
    cosine = [lr_factor(config, 10)(step) for step in range(100)]
    assert cosine[0] == 1.0 and cosine[-1] < 0.01
    assert all(a >= b for a, b in zip(cosine, cosine[1:]))
    onecycle = [lr_factor(TrainConfig(epochs=10, schedule="onecycle"), 10)(s) for s in range(100)]
    assert onecycle.index(max(onecycle)) == 29 and max(onecycle) == 1.0
    assert onecycle[0] < 0.05 and onecycle[-1] < 0.05
    warm = lr_factor(TrainConfig(epochs=10, schedule="constant", warmup_epochs=2), 10)
    assert [warm(s) for s in (0, 9, 19, 20, 99)] == [0.05, 0.5, 1.0, 1.0, 1.0]


def test_schedule_reaches_the_optimizer_and_on_epoch_sees_each_point():
    config = TrainConfig(epochs=4, batch_size=50, lr=0.1, optimizer="sgd", schedule="cosine")
    seen = []
    curve = train(mlp(), TASK, blobs(), None, config, seed=0, on_epoch=seen.append)
    assert seen == curve
    expected = [0.1 * 0.5 * (1 + math.cos(math.pi * epoch / 4)) for epoch in (1, 2, 3, 4)]
    assert [p["lr"] for p in curve] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("schedule", "step", "unknown schedule"),
        ("precision", "fp8", "unknown precision"),
        ("device", "tpu", "unknown device"),
        ("augment", "maybe", "unknown augment"),
        ("warmup_epochs", 10, "warmup epochs"),
        ("label_smoothing", 1.0, "label smoothing"),
        ("train_subset", 0, "train subset"),
    ],
)
def test_config_validation_names_the_bad_value(field, value, message):
    config = TrainConfig(epochs=10)
    setattr(config, field, value)
    with pytest.raises(ValueError, match=message):
        config.validate()


def test_config_json_round_trip():
    config = TrainConfig(schedule="onecycle", cutout=8, train_subset=100, precision="bf16")
    assert TrainConfig(**config.to_json()) == config


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_asking_for_cuda_without_it_is_an_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        train(mlp(), TASK, blobs(), None, TrainConfig(epochs=1, device="cuda"), seed=0)


@cuda_only
@pytest.mark.parametrize("precision", ["bf16", "fp16", "fp32"])
def test_cuda_mixed_precision_and_channels_last(precision):
    torch.manual_seed(0)
    model = cnn()
    config = TrainConfig(epochs=2, batch_size=16, device="cuda", precision=precision, lr=0.01)
    curve = train(model, TASK, images(), images(seed=1), config, seed=0, norm=NORM)
    assert all(math.isfinite(p["train_loss"]) for p in curve)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    logits = predict(model, images()[0], config, norm=NORM)
    assert logits.device.type == "cpu" and logits.dtype == torch.float32


def test_a_last_batch_of_one_row_joins_the_one_before():
    sizes = [len(b) for b in batch_rows(torch.arange(65), 32)]
    assert sizes == [32, 33] and sum(sizes) == 65
    assert [len(b) for b in batch_rows(torch.arange(66), 32)] == [32, 32, 2]
    assert [len(b) for b in batch_rows(torch.arange(1), 32)] == [1]
    # a batch-normalised network trains on 65 rows with batches of 32 (alone, the 65th fails)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    x, y = blobs(65)
    assert len(train(model, TASK, (x, y), None, TrainConfig(epochs=1, batch_size=32), 0)) == 1


def test_seconds_per_sample_times_the_steps_train_would_run():
    x, y = images()
    model = Recorder(cnn())
    config = TrainConfig(epochs=1, batch_size=8)
    seconds = seconds_per_sample(model, TASK, config, NORM, x, y, steps=2)
    assert math.isfinite(seconds) and seconds > 0
    # an untimed pass, then the timed one, over two batches of the configured size...
    assert [len(batch) for batch in model.seen] == [8, 8, 8, 8]
    # ...of raw uint8 images normalised on the fly, as in training (raw pixels average ~120)
    assert all(batch.dtype == torch.float32 for batch in model.seen)
    assert all(abs(batch.mean().item()) < 1.5 for batch in model.seen)
