"""Small datasets that ship with scikit-learn: digits, iris, wine, breast_cancer (classification)
and diabetes (regression)."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as sk

from archsearch.data.table import RawTable, table_from_arrays

LOADERS = {
    "digits": sk.load_digits,
    "iris": sk.load_iris,
    "wine": sk.load_wine,
    "breast_cancer": sk.load_breast_cancer,
    "diabetes": sk.load_diabetes,
}


def bundled_table(name: str) -> RawTable:
    """The dataset as a table: named feature columns and the target (class names for the
    classification sets, numbers for diabetes)."""
    data = LOADERS[name]()
    x = np.asarray(data.data, dtype=np.float64)
    names = [str(n) for n in getattr(data, "feature_names", [f"x{i}" for i in range(x.shape[1])])]
    classes = getattr(data, "target_names", None)
    target = np.asarray(data.target)
    if classes is not None:
        target = np.asarray([str(classes[i]) for i in target], dtype=object)
    return table_from_arrays(x, target, names, "target", source=f"bundled dataset {name}")


def bundled_images(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images (N, 1, 8, 8), labels, class names) of `digits`; `ValueError` for the tabular
    ones."""
    if name != "digits":
        raise ValueError(
            f"dataset {name!r} is tabular; image spaces need an image dataset (digits, or "
            "--data-dir DIR); for a table use --space mlp"
        )
    data = sk.load_digits()
    x = np.asarray(data.data, dtype=np.float32).reshape(-1, 1, 8, 8)
    names = [str(n) for n in data.target_names]
    return x, np.asarray(data.target, dtype=np.int64), names
