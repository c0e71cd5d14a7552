"""Numbers as spreadsheets write them: "$5,774", "12%", "1 234,5 €", "0,5".

A column of such cells is a column of numbers to its author, but `float()` reads none of them,
so without this step it would become thousands of one-hot categories, or be dropped (a
regression target written with currency signs became hundreds of classes). `read_table`
rewrites such a column, when every one of its cells fits one notation, as plain numbers.

The notation depends on the file: in a comma-separated file the decimal mark is a point and
commas group thousands ("$5,774.50"); in a file separated by semicolons or tabs, as
spreadsheets in many countries save it, the decimal mark is a comma and points or spaces group
thousands ("1.234,5", "1 234,5"). Currency signs ($ € £ ¥) and a percent sign are dropped: a
percentage keeps its unit ("12%" reads as 12).

Example:
    >>> import numpy as np
    >>> cells = np.array(["$5,774", "$120.50", None], dtype=object)
    >>> plain_numbers(["price"], [cells], decimal=".")
    ["column 'price': read as numbers ('$5,774' as 5774)"]
    >>> cells.tolist()
    ['5774', '120.50', None]
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["plain_numbers"]

_SIGN, _SYMBOL = r"[-+]?", r"[$€£¥]"
_DIGITS = {
    ".": r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+",
    ",": r"\d{1,3}(?:[.\s]\d{3})+(?:,\d+)?|\d+(?:,\d+)?|,\d+",
}
_WRITTEN = {
    mark: re.compile(rf"{_SIGN}{_SYMBOL}?\s?{_SIGN}(?:{digits})\s?(?:%|{_SYMBOL})?")
    for mark, digits in _DIGITS.items()
}
_DROPPED = re.compile(rf"{_SYMBOL}|%|\s")


def plain_numbers(names: list[str], columns: list[np.ndarray], decimal: str) -> list[str]:
    """Rewrite, in place, each column of written numbers (`decimal`: "." or ",", the file's
    decimal mark) as plain ones, and return one note per column rewritten. A column is
    rewritten when every present cell fits the notation and some cell is not a plain number;
    columns of plain numbers and of text are left as they are."""
    pattern, notes = _WRITTEN[decimal], []
    for name, cells in zip(names, columns):
        present = cells.astype(bool)
        texts = cells[present]
        if not len(texts) or not pattern.fullmatch(texts[0]) or _all_numbers(texts):
            continue  # text (found at its first cell) or plain numbers
        written = texts.tolist()
        if not all(pattern.fullmatch(text) for text in written):
            continue
        plain = np.array([_plain(text, decimal) for text in written], dtype=object)
        if _all_numbers(plain):
            cells[present] = plain
            example, number = next((t, n) for t, n in zip(written, plain) if t != n)
            notes.append(f"column {name!r}: read as numbers ({example!r} as {float(number):.10g})")
    return notes


def _plain(text: str, decimal: str) -> str:
    """One written number as `float()` reads it: no signs of currency or percent, no
    thousands separators, a decimal point."""
    text = _DROPPED.sub("", text)
    if decimal == ",":
        return text.replace(".", "").replace(",", ".")
    return text.replace(",", "")


def _all_numbers(texts: np.ndarray) -> bool:
    """Whether every text reads as a finite number (one vectorised cast)."""
    try:
        return bool(np.isfinite(texts.astype(np.float64)).all())
    except (ValueError, TypeError):
        return False
