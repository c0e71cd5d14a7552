"""The obvious baseline every search must beat: scikit-learn's default multi-layer perceptron
(`MLPClassifier` or `MLPRegressor`, all settings at their defaults) on the same split.

Its inputs are the same for a dataset whatever space is searched: the network inputs, flattened
and standardised per feature with the rows it is fitted on. Standardising per feature undoes
any per-feature affine preprocessing, so a per-channel image normalisation (cnn) and a per-feature
one (mlp) give the baseline identical inputs.
"""

from __future__ import annotations

import contextlib
import signal
import warnings
from collections.abc import Iterator

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from archsearch.data.dataset import Dataset

#: Larger training sets are subsampled (seeded) so the baseline stays a matter of seconds.
MAX_ROWS = 10_000
NAMES = {"classification": "MLPClassifier", "regression": "MLPRegressor"}


def baseline_name(task: str) -> str | None:
    """The scikit-learn model that is the baseline of `task`, or None if it has none."""
    return NAMES.get(task)


def sklearn_baseline(data: Dataset, seed: int = 0) -> dict[str, float] | None:
    """The default scikit-learn MLP's test scores (the task's `test_<metric>` names), fitted
    on the same train+validation rows the final network is trained on; None for a task
    without a baseline (reconstruction) or data without a test split."""
    outputs = baseline_test_outputs(data, seed)
    return None if outputs is None else data.task.test_scores(outputs, data.test_targets())


def baseline_test_outputs(data: Dataset, seed: int = 0) -> torch.Tensor | None:
    """What the default scikit-learn MLP, fitted on the train+validation rows, outputs for the
    test rows (as `model_outputs`), so that its answers can be compared row by row with a
    network's; None where `sklearn_baseline` is None."""
    name = baseline_name(data.task.name)
    if name is None or not data.has_test():
        return None
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val]).numpy()
    if len(y) > MAX_ROWS:
        rows = np.random.default_rng(seed).choice(len(y), MAX_ROWS, replace=False)
        x, y = x[torch.from_numpy(rows)], y[rows]
    scaler = StandardScaler().fit(_flat(data, x))
    model = (MLPClassifier if name == "MLPClassifier" else MLPRegressor)(random_state=seed)
    with warnings.catch_warnings(), interrupts_deferred():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(
            scaler.transform(_flat(data, x)), y.ravel() if y.ndim > 1 and y.shape[1] == 1 else y
        )
    return model_outputs(model, scaler.transform(_flat(data, data.x_test)))


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C inside the block takes effect when it ends. scikit-learn's MLPs catch
    `KeyboardInterrupt` and return half-trained, which would put a wrong baseline into the
    summary; here the fit runs to its end and the interrupt is raised after it."""
    received: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def model_outputs(model: MLPClassifier | MLPRegressor, x: np.ndarray) -> torch.Tensor:
    """What a network would output for `x`: class log-probabilities, or (N, k) predictions."""
    if isinstance(model, MLPClassifier):
        return torch.from_numpy(np.log(np.clip(model.predict_proba(x), 1e-12, 1.0))).float()
    prediction = np.asarray(model.predict(x), dtype=np.float32)
    return torch.from_numpy(prediction.reshape(len(x), -1))


def _flat(data: Dataset, x: torch.Tensor) -> np.ndarray:
    """Rows of features as the networks see them (raw images normalised), flattened."""
    x = data.prepare(x)
    return x.reshape(len(x), -1).double().numpy()
