"""Real-world CSV tables for machine learning: read without pandas, preprocessed with
statistics learned from the training rows only, and the preprocessing saved as plain JSON so
that new rows can be predicted later.

`read_table` keeps every cell as stripped text, with the usual missing markers (`MISSING`)
turned into None. Nothing about a column's type is decided until `TablePreprocessor.fit` sees
the training rows, so validation and test rows cannot leak into the preprocessing: numeric
columns are imputed with the training median, standardised and given a "was missing"
indicator; ISO dates become a day number and its cycles (`archsearch.data.dates`); text
columns are one-hot encoded over the training categories; constant, identifier, all-missing and
high-cardinality columns are dropped with a note that says why. Numbers as spreadsheets write
them ("$5,774", "12%", "0,5") are read as numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from archsearch.data.dates import CYCLES, cycles, date_column, day_text, parse_dates
from archsearch.data.numbers import plain_numbers
from archsearch.errors import DataError

__all__ = [
    "MISSING",
    "ColumnSpec",
    "RawTable",
    "TablePreprocessor",
    "detect_task",
    "drop_missing_targets",
    "encode_classes",
    "numeric_target",
    "read_table",
    "table_from_arrays",
]

MISSING: frozenset[str] = frozenset(
    {"", "?", "-", "na", "n/a", "nan", "null", "none", "#n/a", "missing"}
)
"""Cell texts that mean "missing", compared after strip() and lower(): an empty cell, "?"
(UCI datasets), "-", "NA" and "N/A" (R, spreadsheets), "NaN", "null" and "None" (pandas, JSON
and Python exports), "#N/A" (Excel) and "missing"."""

_MISSING_CATEGORY = "<missing>"  # the category of a missing cell in a text column
_BYTES_PER_CELL = 100  # a parsed cell: a Python str (~50-80 bytes), list and array pointers
_FALLBACK_LIMIT = 8 * 2**30  # the memory limit when the machine's memory is unknown
_CHECK_EVERY = 4096  # rows between memory checks while reading
_HEADER_LOOKAHEAD = 20  # data rows looked at to decide whether the first row is a header
_DISCRETE_LIMIT = 20  # distinct whole-number targets up to this many are classes
_ID_MIN_ROWS = 20  # a column needs more rows than this to be called an identifier
_ID_DENSITY = 4  # row numbers use at least 1 in this many whole numbers of their range
_CATEGORY_LIMIT = 50  # a text column may have max(this, half the rows) categories
_DELIMITERS = (",", ";", "\t")  # in order of preference when a line has as many of each
_JSON_VERSION = 3  # 2 added "clip" (version 1 files are read with no clipping), 3 "date"
_KINDS = ("numeric", "categorical", "date")
SCALINGS = ("auto", "standard", "robust")
#: A value this many robust deviations (IQR / 1.349) from the median is extreme: beyond any
#: heavy tail, most often a lost decimal point or a unit mix-up.
EXTREME = 50.0
ROBUST_CLIP = 5.0  # robustly scaled inputs are clipped to +-this
_SNIFF_BYTES = 4096  # how much of a file is looked at to tell a binary format from text
#: The first bytes of formats a table is often kept in instead of CSV text, and what to do.
_OTHER_FORMATS = (
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx or OpenDocument workbook?)", "excel"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or other Office file", "excel"),
    (b"PAR1", "a Parquet file", "export"),
    (b"SQLite format 3", "an SQLite database", "export"),
    (b"\x89HDF", "an HDF5 file", "export"),
    (b"\x93NUMPY", "a NumPy array file", "export"),
    (b"\x1f\x8b", "gzip-compressed", "decompress"),
    (b"\xff\xfe", "UTF-16 text (Excel's 'Unicode Text')", "excel"),
    (b"\xfe\xff", "UTF-16 text", "excel"),
)
_FIXES = {
    "excel": "save the sheet as CSV (in Excel: 'CSV UTF-8')",
    "export": "write the table as a CSV file (UTF-8)",
    "decompress": "decompress it (gunzip FILE) and give the CSV file",
}


@dataclass
class RawTable:
    """A table as read: feature columns and the target column, cells still text."""

    source: str  # the file path as given, for messages
    names: list[str]  # feature column names: from the header, or "column 3" without one
    columns: list[np.ndarray]  # one 1-D object array of stripped str per column; None = missing
    target_name: str
    target: np.ndarray  # 1-D object array of stripped str; None = missing
    notes: list[str] = field(default_factory=list)  # how reading interpreted cells

    def __len__(self) -> int:
        """The number of rows."""
        return len(self.target)

    def take(self, rows: np.ndarray) -> RawTable:
        """A new table of those rows (indices or a boolean mask), with the same columns."""
        rows = np.asarray(rows)
        return RawTable(
            self.source,
            list(self.names),
            [column[rows] for column in self.columns],
            self.target_name,
            self.target[rows],
            list(self.notes),
        )


def read_table(path: str | Path, target: str | None, max_bytes: int | None = None) -> RawTable:
    """Read a CSV file (comma-, semicolon- or tab-separated: whichever the first line has most
    of). `target` is a column name when the file has a header row, or a 0-based column index
    when it has none. The first row is a header when one of its text cells sits above a number
    in the rows below it, or when all its cells are text and `target` is one of them. Blank
    lines are skipped; rows with a missing target are kept (see `drop_missing_targets`). A
    column of numbers as spreadsheets write them ("$5,774", "12%", "0,5" in a file separated by
    semicolons or tabs) is read as plain numbers (`archsearch.data.numbers`), and the table's
    notes say so.
    `target` None reads rows to predict: every column is a feature, the target all missing.

    Reading refuses a table whose parsed cells would need more than `max_bytes` of memory,
    estimated at ~100 bytes a cell (default: half the machine's memory, else 8 GiB)."""
    path, target = Path(path), None if target is None else str(target).strip()
    _check_path(path)
    delimiter = _delimiter(path)
    rows = _read_rows(path, delimiter, _memory_limit(max_bytes))
    least = 2 if target is not None else 1  # one new row can be predicted, not learnt from
    if len(rows) < least:
        raise DataError(
            f"{path}: has {len(rows)} non-blank line(s); a table needs at least {least} data "
            "row(s), one example per row (plus an optional header row)"
        )
    width = len(rows[0])
    header = [cell.strip() for cell in rows[0]] if _has_header(rows, target) else None
    body = rows[1:] if header is not None else rows
    if len(body) < least:
        raise DataError(
            f"{path}: has {len(body)} data row(s) below the header; needs at least {least}"
        )
    if width < 2 and target is not None:
        raise DataError(
            f"{path}: has a single column; it needs at least one feature column besides the "
            "target (separate the columns with commas)"
        )
    names = _column_names(path, header, width)
    cells = [_clean(values) for values in zip(*body)]
    notes = plain_numbers(names, cells, decimal="." if delimiter == "," else ",")
    if target is None:
        missing = np.full(len(body), None, dtype=object)
        return RawTable(str(path), names, cells, "", missing, notes)
    column = _target_column(path, target, names if header is not None else None, width)
    target_cells = cells.pop(column)
    target_name = names.pop(column)
    return RawTable(str(path), names, cells, target_name, target_cells, notes)


def _check_path(path: Path) -> None:
    """Refuse a path that is not a readable file, or a file of another format than CSV text
    (a workbook, Parquet, JSON), naming the format when it can tell."""
    if path.is_dir():
        raise DataError(f"{path}: is a directory; give the path of a CSV file")
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the path of a CSV file")
    with path.open("rb") as handle:
        start = handle.read(_SNIFF_BYTES)
    found = next(((k, f) for magic, k, f in _OTHER_FORMATS if start.startswith(magic)), None)
    if found is None and b"\0" in start:
        found = ("a binary file", "export")
    if found is None and _looks_like_json(start):
        found = ("JSON", "export")
    if found is not None:
        raise DataError(f"{path}: is {found[0]}, not CSV text; {_FIXES[found[1]]}")


def _looks_like_json(start: bytes) -> bool:
    """Whether a file's first line is JSON: an opening bracket alone, or a whole object or
    array (JSON Lines); a CSV header such as "[time],value" is not."""
    first = start.decode("utf-8-sig", errors="replace").lstrip().split("\n", 1)[0].strip()
    if first in ("[", "{"):
        return True
    if first[:1] not in ("[", "{"):
        return False
    try:
        return isinstance(json.loads(first), (dict, list))
    except ValueError:
        return False


def _memory_limit(max_bytes: int | None) -> int:
    """`max_bytes`, or half the machine's physical memory (8 GiB when that is unknown)."""
    if max_bytes is not None:
        if max_bytes <= 0:
            raise DataError(f"max_bytes must be a positive number of bytes, not {max_bytes}")
        return max_bytes
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return _FALLBACK_LIMIT
    return total // 2 if total > 0 else _FALLBACK_LIMIT


def _read_rows(path: Path, delimiter: str, limit: int) -> list[list[str]]:
    """The non-blank rows of the file, all as wide as the first. While reading, the memory the
    whole table will need is projected from the bytes read so far, so that a file too large is
    refused early rather than after filling the machine's memory."""
    size = max(path.stat().st_size, 1)
    rows: list[list[str]] = []
    first_line = 0
    with path.open("rb") as raw:
        for line, row in _records(path, raw, delimiter):
            if not rows:
                first_line = line
            elif len(row) != len(rows[0]):
                raise DataError(
                    f"{path}: line {line} has {len(row)} fields but line {first_line} (the "
                    f"first row) has {len(rows[0])}; every row needs the same number of fields "
                    "(quote cells that contain the delimiter)"
                )
            rows.append(row)
            if len(rows) % _CHECK_EVERY == 0:
                projected = len(rows) * size / max(raw.tell(), 1)
                _check_memory(path, max(projected, len(rows)), len(row), limit)
    if rows:
        _check_memory(path, len(rows), len(rows[0]), limit)
    return rows


def _delimiter(path: Path) -> str:
    """The delimiter the first non-blank line has most of: ",", ";" or a tab (commas win
    ties), so that semicolon-separated exports from spreadsheets read as they look."""
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            for line in text:
                if line.strip():
                    return max(_DELIMITERS, key=line.count)
        except UnicodeDecodeError:
            raise DataError(_not_utf8(path)) from None
    return ","


def _records(path: Path, raw: BinaryIO, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each non-blank CSV record, decoded as UTF-8 (with or without
    a byte-order mark)."""
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield reader.line_num, row
    except UnicodeDecodeError:
        raise DataError(_not_utf8(path)) from None
    except csv.Error as exc:
        raise DataError(
            f"{path}: line {reader.line_num} is not valid CSV ({exc}); save the file as CSV"
        ) from None


def _not_utf8(path: Path) -> str:
    """A message naming the first line that is not UTF-8 text and the offending byte."""
    fix = "re-save the file as UTF-8 (in Excel: 'CSV UTF-8'); a spreadsheet must be exported as CSV"
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = line[exc.start]
                return f"{path}: line {number} is not UTF-8 text (byte 0x{byte:02x}); {fix}"
    return f"{path}: is not UTF-8 text; {fix}"


def _check_memory(path: Path, rows: float, width: int, limit: int) -> None:
    """Refuse a table whose parsed cells would need more than `limit` bytes."""
    need = rows * width * _BYTES_PER_CELL
    if need > limit:
        raise DataError(
            f"{path}: too large to load: about {rows:,.0f} rows x {width} columns need "
            f"~{_size(need)} of memory (~{_BYTES_PER_CELL} bytes a cell), over the limit of "
            f"{_size(limit)}; load a sample of the rows (e.g. head -n 100000) or drop columns"
        )


def _size(count: float) -> str:
    """A byte count for people: 512 B, 3.2 MiB, 1.5 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def _is_number(text: str) -> bool:
    """Whether the text reads as a finite number."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _is_text(cell: str) -> bool:
    """Whether a cell is neither a number nor a missing marker."""
    cell = cell.strip()
    return cell.lower() not in MISSING and not _is_number(cell)


def _has_header(rows: list[list[str]], target: str | None) -> bool:
    """Whether the first row names the columns: one of its text cells sits above a number in
    the next rows, or (a file of text only) all its cells are text and `target` names one."""
    first, rest = rows[0], rows[1 : 1 + _HEADER_LOOKAHEAD]
    for index, cell in enumerate(first):
        if _is_text(cell) and any(_is_number(row[index]) for row in rest):
            return True
    if target is not None and _is_index(target):
        return False
    names = [c.strip() for c in first]
    return all(_is_text(cell) for cell in first) and (target is None or target in names)


def _is_index(target: str) -> bool:
    """Whether `target` is written as a whole number (a column index)."""
    return target.lstrip("-").isdigit()


def _column_names(path: Path, header: list[str] | None, width: int) -> list[str]:
    """The header's names ("column N" for an empty one, or for all without a header)."""
    names = [(header[i] if header and header[i] else f"column {i}") for i in range(width)]
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise DataError(
                f"{path}: columns {seen[name]} and {index} are both named {name!r}; rename one "
                "so that every column name is unique"
            )
        seen[name] = index
    return names


def _target_column(path: Path, target: str, names: list[str] | None, width: int) -> int:
    """The 0-based index of the target column: by name with a header, by index without."""
    if names is not None:
        if target in names:
            return names.index(target)
        raise DataError(f"{path}: no column named {target!r}; the header has: {', '.join(names)}")
    if not _is_index(target):
        raise DataError(
            f"{path}: the file has no header row, so the target must be a 0-based column "
            f"index (0..{width - 1}), not {target!r}"
        )
    column = int(target)
    if not 0 <= column < width:
        raise DataError(
            f"{path}: target column {column} is out of range; columns are 0..{width - 1}"
        )
    return column


def _clean(cells: Sequence[str]) -> np.ndarray:
    """The cells as a 1-D object array, stripped, with missing markers as None."""
    out = np.empty(len(cells), dtype=object)
    out[:] = [None if (text := cell.strip()).lower() in MISSING else text for cell in cells]
    return out


def drop_missing_targets(table: RawTable) -> tuple[RawTable, np.ndarray]:
    """The rows whose target is present, and their 0-based positions in `table`: a row
    without a target can neither train nor score a model."""
    keep = np.flatnonzero(table.target.astype(bool))
    return table.take(keep), keep


def _where(source: str) -> str:
    """The prefix that names the file in a message, if there is one."""
    return f"{source}: " if source else ""


def _parse(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each cell as a float64 (NaN where missing, not a number or not finite) and a mask of
    the cells that are finite numbers. The whole column is cast at once; only a column with a
    bad cell is parsed cell by cell."""
    present = cells.astype(bool)
    numbers = np.full(len(cells), np.nan)
    try:
        numbers[present] = cells[present].astype(np.float64)
    except (ValueError, TypeError):
        numbers[present] = [_float(cell) for cell in cells[present]]
    ok = np.isfinite(numbers)
    numbers[~ok] = np.nan
    return numbers, ok


def _float(cell: Any) -> float:
    """The cell as a float, or NaN when it is not a number."""
    try:
        return float(cell)
    except (ValueError, TypeError):
        return math.nan


def detect_task(table: RawTable) -> tuple[str, str]:
    """("classification" or "regression", a line explaining why). A target is regression when
    all its cells are numbers and some are not whole or there are more than 20 distinct
    values: such a target is a quantity, not a handful of labels."""
    values = table.target[table.target.astype(bool)]
    name = table.target_name
    if len(values) == 0:
        raise DataError(
            f"{_where(table.source)}target column {name!r} has no values; choose another target"
        )
    rule = (
        f"(rule: a numeric target with non-integer values or more than {_DISCRETE_LIMIT} "
        "distinct values is regression; override with --task)"
    )
    numbers, ok = _parse(values)
    if not ok.all():
        distinct = len(set(values.tolist()))
        return "classification", (
            f"target {name!r} has {distinct} distinct values, not all numbers: "
            f"classification {rule}"
        )
    distinct = len(np.unique(numbers))
    if not np.all(numbers == np.round(numbers)):
        return "regression", (
            f"target {name!r} is numeric with {distinct} distinct values, not all whole "
            f"numbers: regression {rule}"
        )
    task = "regression" if distinct > _DISCRETE_LIMIT else "classification"
    return task, f"target {name!r} is numeric with {distinct} distinct values: {task} {rule}"


def encode_classes(values: np.ndarray, source: str = "") -> tuple[np.ndarray, list[str]]:
    """int64 class indices and the class names, sorted numerically when every label is a
    number ("2" before "10") and as text otherwise, so that class indices are stable."""
    values = np.asarray(values, dtype=object)
    missing = len(values) - int(values.astype(bool).sum())
    if missing:
        raise DataError(
            f"{_where(source)}the target has {missing} missing cell(s); drop those rows first"
        )
    labels, inverse = np.unique(values, return_inverse=True)
    labels = labels.tolist()
    if len(labels) < 2:
        found = f"a single class {labels[0]!r}" if labels else "no values"
        raise DataError(
            f"{_where(source)}the target has {found}; a classifier needs at least two classes "
            "(choose another target, or use --task regression)"
        )
    numeric = all(_is_number(label) for label in labels)
    order = sorted(
        range(len(labels)),
        key=lambda i: (float(labels[i]), labels[i]) if numeric else (0.0, labels[i]),
    )
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels))
    return rank[inverse.reshape(-1)], [labels[i] for i in order]


def numeric_target(values: np.ndarray, source: str = "", name: str = "") -> np.ndarray:
    """float64 regression targets. Refuses a missing, non-numeric or non-finite cell, naming
    the first one by its data row (1-based, header not counted)."""
    values = np.asarray(values, dtype=object)
    numbers, ok = _parse(values)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        cell = values[row]
        what = "is missing" if cell is None else f"{cell!r} is not a finite number"
        raise DataError(
            f"{_where(source)}target {name!r}, data row {row + 1}: {what}; a regression "
            "target must be numeric (use --task classification for labels)"
        )
    return numbers


@dataclass
class ColumnSpec:
    """How one kept input column becomes model inputs; JSON-able via dataclasses.asdict."""

    name: str
    kind: str  # "numeric", "categorical" or "date" (numeric statistics of the day numbers)
    mean: float = 0.0  # numeric: of the imputed training values
    std: float = 1.0  # numeric: of the imputed training values (1.0 when ~0)
    median: float = 0.0  # numeric: the imputation value, the training median
    indicator: bool = False  # numeric: add a 0/1 "was missing" input (training had missing cells)
    categories: list[str] = field(default_factory=list)  # categorical: most frequent first
    clip: float = 0.0  # numeric: inputs clipped to [-clip, clip] after scaling (0: not clipped)

    @property
    def width(self) -> int:
        """The number of model inputs this column becomes."""
        if self.kind == "categorical":
            return len(self.categories)
        return 1 + 2 * len(CYCLES) * (self.kind == "date") + self.indicator


@dataclass
class TablePreprocessor:
    """Turns a RawTable into a float32 matrix with statistics learned from the training rows.

    Numeric columns: missing cells, and cells that are not finite numbers (a stray "n.a." in
    new rows), are imputed with the training median, then standardised; an indicator input
    flags them when the training rows had missing cells. Categorical columns: one-hot over the
    training categories; a category never seen in training (or a missing cell where training
    had none) gives all zeros, which the network reads as "none of the known ones"."""

    columns: list[ColumnSpec]
    dropped: list[tuple[str, str]]  # (column name, why)
    warnings: list[str] = field(default_factory=list)  # what fitting found odd; not saved

    @classmethod
    def fit(cls, table: RawTable, scaling: str = "auto") -> TablePreprocessor:
        """Learn the preprocessing from the training rows (pass `table.take(train_rows)`), so
        that no statistic of the validation or test rows leaks into the model's inputs.
        `scaling` of numeric columns: "standard" (mean and standard deviation), "robust"
        (median and interquartile range, clipped to +-5), or "auto": robust for columns with
        extreme values, standard for the others."""
        if scaling not in SCALINGS:
            raise DataError(f"unknown scaling {scaling!r}; choose one of: {', '.join(SCALINGS)}")
        columns: list[ColumnSpec] = []
        dropped: list[tuple[str, str]] = []
        warnings: list[str] = []
        for name, cells in zip(table.names, table.columns):
            spec = _fit_column(name, cells)
            if isinstance(spec, str):
                dropped.append((name, spec))
                continue
            if spec.kind != "categorical":
                spec = _scale(spec, cells, scaling, warnings)
            columns.append(spec)
        if not columns:
            reasons = "; ".join(f"{name!r}: {why}" for name, why in dropped)
            raise DataError(
                f"{_where(table.source)}no usable feature columns, all were dropped "
                f"({reasons or 'there are none'}); the target needs columns to be predicted from"
            )
        return cls(columns, dropped, warnings)

    @property
    def feature_names(self) -> list[str]:
        """One name per output column: "age", "age (missing)", "colour=red", ..."""
        names: list[str] = []
        for spec in self.columns:
            if spec.kind != "categorical":
                names.append(spec.name)
                if spec.kind == "date":
                    names.extend(f"{spec.name} ({c} {f})" for c in CYCLES for f in ("sin", "cos"))
                if spec.indicator:
                    names.append(f"{spec.name} (missing)")
            else:
                names.extend(f"{spec.name}={category}" for category in spec.categories)
        return names

    def notes(self) -> list[str]:
        """One line per date column, saying how it is read, and per dropped column, why."""
        dates = [
            f"column {spec.name!r}: dates, read as a day number and its place in the year, "
            "week and day"
            for spec in self.columns
            if spec.kind == "date"
        ]
        return dates + [f"dropped column {name!r}: {why}" for name, why in self.dropped]

    def transform(self, table: RawTable, max_bytes: int | None = None) -> np.ndarray:
        """The model inputs of `table`: float32, C-contiguous, (rows, features). Columns are
        found by name, in any order. Refuses an output larger than `max_bytes` (the same
        default limit as `read_table`)."""
        lookup = {name: index for index, name in enumerate(table.names)}
        absent = [spec.name for spec in self.columns if spec.name not in lookup]
        if absent:
            raise DataError(
                f"{_where(table.source)}missing column(s) {', '.join(map(repr, absent))} that "
                "the preprocessing was fitted with; add them (their cells may be empty)"
            )
        rows, width = len(table), sum(spec.width for spec in self.columns)
        limit, need = _memory_limit(max_bytes), rows * width * 4
        if need > limit:
            raise DataError(
                f"{_where(table.source)}the {rows:,} x {width} model inputs need ~{_size(need)} "
                f"of memory, over the limit of {_size(limit)}; drop high-cardinality columns "
                "or sample rows"
            )
        out = np.empty((rows, width), dtype=np.float32)
        start = 0
        for spec in self.columns:
            block = out[:, start : start + spec.width]
            cells = table.columns[lookup[spec.name]]
            if spec.kind != "categorical":
                _encode_numeric(spec, cells, block)
            else:
                _one_hot(spec, cells, block)
            start += spec.width
        return out

    def unread_cells(self, table: RawTable) -> list[str]:
        """One line per column of `table` in which `transform` reads a filled cell as missing
        (not a finite number, not a date) or as none of the known categories (never seen in
        training): how many, the first such cell and its data row (1-based). New rows are
        predicted anyway; these lines tell the user which answers rest on a typo."""
        lookup = {name: index for index, name in enumerate(table.names)}
        lines = []
        for spec in self.columns:
            cells = table.columns[lookup[spec.name]]
            if spec.kind == "categorical":
                unread = cells.astype(bool) & (_codes(spec, cells) < 0)
                meaning = "read as none of the known categories (never seen in training)"
            else:
                unread = cells.astype(bool) & ~_values(spec, cells)[1]
                kind = "dates" if spec.kind == "date" else "finite numbers"
                meaning = f"read as missing (not {kind}; the training median stands in)"
            if unread.any():
                first = int(np.flatnonzero(unread)[0])
                lines.append(
                    f"column {spec.name!r}: {int(unread.sum())} cell(s) {meaning}, such as "
                    f"{cells[first]!r} in row {first + 1}"
                )
        return lines

    def to_json(self) -> dict[str, Any]:
        """The preprocessing as plain JSON data (dicts, lists, str, float, bool); the fitting
        warnings are not part of it."""
        return {
            "version": _JSON_VERSION,
            "columns": [asdict(spec) for spec in self.columns],
            "dropped": [[name, why] for name, why in self.dropped],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TablePreprocessor:
        """The exact inverse of `to_json`; refuses malformed data rather than guessing."""
        if not isinstance(data, dict) or data.get("version") not in range(1, _JSON_VERSION + 1):
            raise _malformed(f'expected an object with "version": {_JSON_VERSION}')
        columns, dropped = data.get("columns"), data.get("dropped")
        if not isinstance(columns, list) or not columns:
            raise _malformed('"columns" must be a non-empty list')
        specs = [_spec_from_json(index, item) for index, item in enumerate(columns)]
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise _malformed('"columns" names a column twice')
        if not isinstance(dropped, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)
            for pair in dropped
        ):
            raise _malformed('"dropped" must be a list of [column name, reason] pairs')
        return cls(specs, [(name, why) for name, why in dropped])


def _fit_column(name: str, cells: np.ndarray) -> ColumnSpec | str:
    """The spec of one training column, or why it is dropped."""
    missing = len(cells) - int(cells.astype(bool).sum())
    if missing == len(cells):
        return "all missing"
    numbers, ok = _parse(cells)
    if int(ok.sum()) == len(cells) - missing:
        return _fit_numeric(name, numbers, ok)
    dates = date_column(cells)
    if dates is not None:
        return _fit_numeric(name, *dates, kind="date")
    return _fit_categorical(name, cells, missing, int(ok.sum()))


def _fit_numeric(
    name: str, numbers: np.ndarray, ok: np.ndarray, kind: str = "numeric"
) -> ColumnSpec | str:
    """Median imputation, standardisation and a missing indicator, learned from training (for
    a date column, of its day numbers; dates one per row are a trend, not an identifier)."""
    values = numbers[ok]
    distinct = np.unique(values)
    complete = bool(ok.all())
    if len(distinct) == 1 and complete:
        return "constant"
    if kind == "numeric" and complete and _row_numbers(distinct, len(numbers)):
        return "an identifier (distinct whole numbers, like row numbers)"
    median = float(np.median(values))
    filled = np.where(ok, numbers, median)
    std = float(filled.std())
    return ColumnSpec(
        name,
        kind,
        mean=float(filled.mean()),
        std=std if std >= 1e-12 else 1.0,
        median=median,
        indicator=not complete,
    )


def _row_numbers(distinct: np.ndarray, rows: int) -> bool:
    """Whether sorted distinct values, one per row, look like row numbers: whole numbers that
    fill at least a quarter of their range. (The training rows are a sample of the file, so
    its row numbers are dense in their range but not consecutive.)"""
    if rows <= _ID_MIN_ROWS or len(distinct) != rows:
        return False
    whole = bool(np.all(distinct == np.floor(distinct)))
    return whole and distinct[-1] - distinct[0] + 1 <= _ID_DENSITY * rows


def _fit_categorical(name: str, cells: np.ndarray, missing: int, numbers: int) -> ColumnSpec | str:
    """One-hot categories from the training rows, most frequent first (ties by text), with
    "<missing>" as a category when training had missing cells."""
    rows = len(cells)
    counts = Counter(cells[cells.astype(bool)].tolist())
    if len(counts) == 1 and not missing:
        return "constant"
    if len(counts) == rows and rows > _ID_MIN_ROWS:
        return "an identifier (a distinct value in every row)" + _mostly_numbers(cells, numbers)
    if len(counts) > max(_CATEGORY_LIMIT, rows / 2):
        return (
            f"too many categories ({len(counts)} distinct values in {rows} rows)"
            + _mostly_numbers(cells, numbers)
        )
    if missing:
        counts[_MISSING_CATEGORY] += missing
    categories = sorted(counts, key=lambda category: (-counts[category], category))
    return ColumnSpec(name, "categorical", categories=categories)


def _mostly_numbers(cells: np.ndarray, numbers: int) -> str:
    """A hint for a dropped text column whose cells are mostly numbers."""
    present = cells[cells.astype(bool)]
    if numbers * 2 < len(present):
        return ""
    _, ok = _parse(present)
    example = present[~ok][0]
    return (
        f"; it is mostly numbers but has text such as {example!r}: empty such cells to use it "
        "as a numeric column"
    )


def _scale(spec: ColumnSpec, cells: np.ndarray, scaling: str, warnings: list[str]) -> ColumnSpec:
    """`spec` with robust scaling (median, IQR / 1.349, clipped) when `scaling` asks for it, or
    is "auto" and the column has extreme values, which are reported in `warnings`."""
    numbers, ok = _values(spec, cells)
    values = numbers[ok]
    q05, q1, median, q3, q95 = (float(v) for v in np.percentile(values, [5, 25, 50, 75, 95]))
    spread = (q3 - q1) / 1.349 or spec.std
    # extreme beside the middle half and the middle 90% (each a standard deviation for normal
    # data): a column of mostly zeros, whose middle half is all zero, has no extreme counts
    typical = max(spread, (q95 - q05) / 3.29)
    extreme = np.abs(values - median) > EXTREME * typical
    robust = scaling == "robust" or (scaling == "auto" and bool(extreme.any()))
    if extreme.any():
        show = day_text if spec.kind == "date" else (lambda value: f"{value:.4g}")
        largest = float(values[np.argmax(np.abs(values - median))])
        warnings.append(
            f"column {spec.name!r} has {int(extreme.sum())} extreme value(s) (largest "
            f"{show(largest)}, median {show(median)}): "
            + (
                "a placeholder date? "
                if spec.kind == "date"
                else "a lost decimal point or a unit mix-up? "
            )
            + ("scaled robustly and clipped" if robust else "try --scaling robust")
        )
    if not robust:
        return spec
    return replace(spec, mean=median, std=spread if spread > 1e-12 else 1.0, clip=ROBUST_CLIP)


def _values(spec: ColumnSpec, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The numbers of a numeric or date column's cells (NaN where unusable) and their mask."""
    return parse_dates(cells) if spec.kind == "date" else _parse(cells)


def _encode_numeric(spec: ColumnSpec, cells: np.ndarray, out: np.ndarray) -> None:
    """Impute, scale (and clip) and flag one numeric or date column into `out` (rows,
    `spec.width`): the value, a date's cycles, the "was missing" flag."""
    numbers, ok = _values(spec, cells)
    filled = np.where(ok, numbers, spec.median)
    out[:, 0] = (filled - spec.mean) / spec.std
    if spec.clip:
        np.clip(out[:, 0], -spec.clip, spec.clip, out=out[:, 0])
    if spec.kind == "date":
        out[:, 1 : 1 + 2 * len(CYCLES)] = cycles(filled)
    if spec.indicator:
        out[:, -1] = ~ok


def _one_hot(spec: ColumnSpec, cells: np.ndarray, out: np.ndarray) -> None:
    """One-hot encode one categorical column into `out` (rows, categories); an unknown
    category gives all zeros."""
    codes = _codes(spec, cells)
    out.fill(0.0)
    rows = np.flatnonzero(codes >= 0)
    out[rows, codes[rows]] = 1.0


def _codes(spec: ColumnSpec, cells: np.ndarray) -> np.ndarray:
    """Each cell's index among the column's training categories; -1 for one never seen."""
    index = {category: i for i, category in enumerate(spec.categories)}
    present = cells.astype(bool)
    codes = np.full(len(cells), index.get(_MISSING_CATEGORY, -1), dtype=np.int64)
    if present.any():
        texts, inverse = np.unique(cells[present], return_inverse=True)
        lookup = np.array([index.get(text, -1) for text in texts.tolist()], dtype=np.int64)
        codes[present] = lookup[inverse.reshape(-1)]
    return codes


_SPEC_KEYS = frozenset(f.name for f in fields(ColumnSpec))


def _malformed(detail: str) -> DataError:
    """The error for preprocessing data that `to_json` did not write."""
    return DataError(
        f"malformed table preprocessing data: {detail}; fit the preprocessing again to re-create it"
    )


def _spec_from_json(index: int, item: Any) -> ColumnSpec:
    """One ColumnSpec from its JSON object, every field checked."""
    where = f"columns[{index}]"
    if isinstance(item, dict) and "clip" not in item:  # written by format version 1
        item = {**item, "clip": 0.0}
    if not isinstance(item, dict) or set(item) != _SPEC_KEYS:
        raise _malformed(f"{where} must be an object with the keys {', '.join(sorted(_SPEC_KEYS))}")
    if not isinstance(item["name"], str) or item["kind"] not in _KINDS:
        raise _malformed(f'{where} needs a text "name" and a "kind" of {", ".join(_KINDS)}')
    for key in ("mean", "std", "median", "clip"):
        value = item[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise _malformed(f"{where}.{key} must be a finite number, not {value!r}")
    if item["std"] <= 0 or not isinstance(item["indicator"], bool):
        raise _malformed(f"{where} needs a positive std and a true/false indicator")
    categories = item["categories"]
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise _malformed(f"{where}.categories must be a list of text")
    if len(set(categories)) != len(categories) or (
        (item["kind"] == "categorical") != bool(categories)
    ):
        raise _malformed(
            f"{where}.categories must be distinct, and present for categorical columns only"
        )
    return ColumnSpec(
        item["name"],
        item["kind"],
        float(item["mean"]),
        float(item["std"]),
        float(item["median"]),
        item["indicator"],
        list(categories),
        float(item["clip"]),
    )


def table_from_arrays(
    x: np.ndarray,
    y: np.ndarray | None,
    names: Sequence[str],
    target_name: str = "target",
    source: str = "",
) -> RawTable:
    """A RawTable from arrays (scikit-learn's bundled datasets), so that they go through the
    same preprocessing as CSV files. Numbers are written as Python writes them, which reads
    back exactly; NaN becomes missing. `y` None gives an all-missing target."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != len(names):
        raise DataError(
            f"{_where(source)}features of shape {x.shape} do not match {len(names)} column "
            "names; give a 2-D array with one name per column"
        )
    if y is not None and len(y) != len(x):
        raise DataError(f"{_where(source)}{len(y)} targets for {len(x)} rows; give one per row")
    columns = [_texts(x[:, j]) for j in range(x.shape[1])]
    target = np.full(len(x), None, dtype=object) if y is None else _texts(np.asarray(y))
    return RawTable(source, [str(name) for name in names], columns, target_name, target)


def _texts(values: np.ndarray) -> np.ndarray:
    """Array values as cells: str() of Python numbers is exact, and "nan" reads as missing."""
    return _clean([str(value) for value in values.tolist()])
