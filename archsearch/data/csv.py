"""User data from a CSV file: numeric features and a target column (numbers or strings)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from archsearch.data.dataset import DataError


def load_csv(path: str | Path, target: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features, labels, class names) from `path`. `target` is a column name when the file has
    a header row, or a 0-based column index when it has none (detected from the first rows)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; give --data the path of a CSV file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a readable CSV text file ({exc})") from None
    if len(rows) < 2:
        raise DataError(f"{path}: needs at least two rows of data")
    width = len(rows[0])
    for number, row in enumerate(rows, 1):
        if len(row) != width:
            raise DataError(
                f"{path}: line {number} has {len(row)} fields, the first line has {width}"
            )
    header = rows[0] if _has_header(rows) else None
    body = rows[1:] if header else rows
    column = _target_column(path, target, header, width)
    labels = [row[column].strip() for row in body]
    features = []
    for number, row in enumerate(body, 2 if header else 1):
        values = []
        for index, cell in enumerate(row):
            if index == column:
                continue
            try:
                value = float(cell)
            except ValueError:
                name = header[index] if header else f"column {index}"
                raise DataError(
                    f"{path}: line {number}, {name!r}: {cell!r} is not a number; features must "
                    "be numeric (encode or drop this column)"
                ) from None
            if not np.isfinite(value):
                raise DataError(f"{path}: line {number}, column {index}: {cell!r} is not finite")
            values.append(value)
        features.append(values)
    if width < 2:
        raise DataError(f"{path}: needs at least one feature column besides the target")
    classes = sorted(set(labels), key=_label_key)
    if len(classes) < 2:
        raise DataError(f"{path}: the target column has a single class {classes[0]!r}")
    lookup = {label: i for i, label in enumerate(classes)}
    y = np.array([lookup[label] for label in labels], dtype=np.int64)
    return np.asarray(features, dtype=np.float32), y, classes


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _has_header(rows: list[list[str]]) -> bool:
    """A header row has a non-numeric cell above a numeric one, or is all text above data
    rows that are not."""
    first, rest = rows[0], rows[1:6]
    for index, cell in enumerate(first):
        if not _is_number(cell) and any(_is_number(row[index]) for row in rest):
            return True
    return False


def _target_column(path: Path, target: str, header: list[str] | None, width: int) -> int:
    if header is not None:
        names = [h.strip() for h in header]
        if target in names:
            return names.index(target)
        raise DataError(f"{path}: no column named {target!r}; the header has: {', '.join(names)}")
    if not target.lstrip("-").isdigit():
        raise DataError(
            f"{path}: the file has no header row, so --target must be a 0-based column index "
            f"(0..{width - 1}), not {target!r}"
        )
    column = int(target)
    if not 0 <= column < width:
        raise DataError(f"{path}: --target {column} is out of range; columns are 0..{width - 1}")
    return column


def _label_key(label: str) -> tuple[int, float | str]:
    return (0, float(label)) if _is_number(label) else (1, label)
