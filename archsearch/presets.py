"""Presets: the settings of known experiments, as partial `SearchConfig` JSON. Explicit flags
override them; nested dicts merge.
"""

from __future__ import annotations

from typing import Any

from archsearch.errors import UsageError

#: Known experiments by name.
PRESETS: dict[str, dict[str, Any]] = {
    # Zoph & Le (2016), CIFAR-10: 12,800 children of up to 20 layers (6 at first, +2 every
    # 1,600 samples), each trained 50 epochs with Nesterov SGD on 45,000 images and rewarded
    # with the cubed best validation accuracy of its last 5 epochs (5,000 images); the
    # controller (2x35 LSTM, Adam 6e-4) learns from batches of 8. For a GPU cluster.
    "zoph2016": {
        "data": {"val_fraction": 0.1},
        "space": "cnn",
        "space_options": {
            "layers": 20,
            "min_layers": 6,
            "filters": [24, 36, 48, 64],
            "strides": [1],
            "pooling": False,
        },
        "strategy": "reinforce",
        "strategy_options": {"batch_size": 8, "lr": 6e-4, "depth_schedule": [6, 2, 1600]},
        "reward": "zoph",
        "trials": 12800,
        "final_epochs": 300,
        "final_models": 1,  # one network, as the paper's
        "final_rerank": 1,
        "train": {
            "epochs": 50,
            "batch_size": 128,
            "optimizer": "sgd",
            "lr": 0.1,
            "momentum": 0.9,
            "weight_decay": 1e-4,
            "label_smoothing": 0.0,
            "schedule": "cosine",
            "flip": True,
        },
    },
    # The same search scaled down for about an hour on 2 CPU cores: CIFAR-10 subsets (20,000
    # training + validation images, the full 10,000 test images), children of 3 to 6 layers
    # with optional strides (+1 layer every 15 samples), 3 epochs each on 4,000 images, up to
    # 100 children within 45 minutes, then the best retrained 30 epochs on all 20,000.
    # Measured on ../shared/data/cifar10-jpg (2 shared cores, seed 0): 88 children, 53.5
    # minutes end to end, retrained best child 0.707 test top-1 (scikit-learn's MLP: 0.406).
    "cifar-cpu": {
        "data": {"train_subset": 20000, "test_subset": 10000, "val_fraction": 0.2},
        "space": "cnn",
        "space_options": {
            "layers": 6,
            "min_layers": 3,
            "heights": [1, 3, 5],
            "widths": [1, 3, 5],
            "filters": [16, 24, 32, 48],
            "strides": [1, 2],
            "pooling": False,
        },
        "strategy": "reinforce",
        "strategy_options": {"batch_size": 5, "depth_schedule": [3, 1, 15]},
        "reward": "val_score",
        "trials": 100,
        "time_limit": 2700,
        "final_epochs": 30,
        "final_models": 1,  # as measured, whatever the data's size
        "final_rerank": 1,
        "train": {
            "epochs": 3,
            "batch_size": 64,
            "optimizer": "adam",
            "lr": 3e-3,
            "schedule": "onecycle",
            "train_subset": 4000,
            "weight_decay": 0.0,
            "label_smoothing": 0.0,
            "flip": True,
        },
    },
}


def apply_preset(name: str, base: dict[str, Any]) -> dict[str, Any]:
    """`base` (partial SearchConfig JSON) on top of preset `name`."""
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return merge(PRESETS[name], base)


def merge(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    """`high` over `low`, merging nested dicts."""
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
