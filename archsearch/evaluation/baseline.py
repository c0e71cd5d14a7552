"""The obvious baseline every search must beat: scikit-learn's default `MLPClassifier`."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from archsearch.data.dataset import Dataset

#: Larger training sets are subsampled (seeded) so the baseline stays a matter of seconds.
MAX_ROWS = 10_000


def sklearn_mlp_accuracy(data: Dataset, seed: int = 0) -> float:
    """Test accuracy of `MLPClassifier(random_state=seed)` with default settings, fitted on
    the same train+validation rows the final network is trained on."""
    x = np.concatenate([_flat(data, data.x_train), _flat(data, data.x_val)])
    y = np.concatenate([data.y_train.numpy(), data.y_val.numpy()])
    if len(y) > MAX_ROWS:
        rows = np.random.default_rng(seed).choice(len(y), MAX_ROWS, replace=False)
        x, y = x[rows], y[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(random_state=seed).fit(x, y)
    return float(model.score(_flat(data, data.x_test), data.y_test.numpy()))


def _flat(data: Dataset, x: torch.Tensor) -> np.ndarray:
    """Rows of features as the networks see them: raw images normalised per channel."""
    x = data.prepare(x)
    return x.reshape(len(x), -1).float().numpy()
