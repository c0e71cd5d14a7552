"""Small datasets that ship with scikit-learn: digits, iris, wine, breast_cancer."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as sk

LOADERS = {
    "digits": sk.load_digits,
    "iris": sk.load_iris,
    "wine": sk.load_wine,
    "breast_cancer": sk.load_breast_cancer,
}


def load_bundled(name: str, images: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features, labels, class names). `digits` comes as 1x8x8 images when `images` is true,
    as 64 features otherwise; the others are tabular only."""
    data = LOADERS[name]()
    x = np.asarray(data.data, dtype=np.float32)
    if images:
        if name != "digits":
            raise ValueError(
                f"dataset {name!r} is tabular; image spaces (cnn) need an image dataset "
                "such as digits"
            )
        x = x.reshape(-1, 1, 8, 8)
    names = [str(n) for n in getattr(data, "target_names", np.unique(data.target))]
    return x, np.asarray(data.target, dtype=np.int64), names
