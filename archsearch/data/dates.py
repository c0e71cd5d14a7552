"""Calendar dates in table cells, as model inputs.

A column of ISO 8601 dates ("2024-03-15", or with a time: "2024-03-15T08:30:00",
"2024-03-15 08:30") carries a trend (when) and cycles (the season, the day of the week, the
hour). One-hot encoding its text would keep neither, and would drop the column once it has
more distinct days than categories allowed; `TablePreprocessor` reads such a column as the
day number (days since 1970-01-01, the time of day as a fraction) plus the sine and cosine of
its position in the year, the week and the day. Other layouts ("03/15/2024", "15.03.2024")
are ambiguous between countries and stay text.

Example:
    >>> import numpy as np
    >>> cells = np.array(["1970-01-02", "1970-01-01 12:00", None], dtype=object)
    >>> parse_dates(cells)[0].tolist()
    [1.0, 0.5, nan]
    >>> cycles(np.array([0.0])).round(3).tolist()  # a Thursday at midnight, 1 January
    [[0.0, 1.0, 0.434, -0.901, 0.0, 1.0]]
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["CYCLES", "cycles", "date_column", "day_text", "parse_dates"]

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?")
_DAY = np.timedelta64(86_400_000_000, "us")
_YEAR = 365.2425  # days in a mean Gregorian year
_THURSDAY = 3  # 1970-01-01 was a Thursday: weekday 3 with Monday 0
CYCLES = ("year", "week", "day")
"""The periods a date's position is encoded in, each as a sine and a cosine input."""


def date_column(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """`parse_dates(cells)` when every present cell is an ISO 8601 date of the calendar, else
    None; the check stops at the first cell that is not ISO, so text columns cost one test."""
    texts = cells[cells.astype(bool)].tolist()
    if not texts or not all(_ISO.fullmatch(text) for text in texts):
        return None
    days, ok = parse_dates(cells)
    return (days, ok) if int(ok.sum()) == len(texts) else None


def parse_dates(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each cell as days since 1970-01-01 (float64; NaN where missing, not an ISO date or not
    a date of the calendar, such as 2024-02-30) and the mask of the cells that are dates."""
    days = np.full(len(cells), np.nan)
    index = [i for i, cell in enumerate(cells.tolist()) if cell and _ISO.fullmatch(cell)]
    texts = [cells[i] for i in index]
    try:
        stamps = np.array(texts, dtype="datetime64[us]")
    except ValueError:  # one cell is not a real date: parse them one by one
        stamps = np.array([_stamp(text) for text in texts], dtype="datetime64[us]")
    if index:
        days[index] = (stamps - np.datetime64(0, "us")) / _DAY
    ok = np.isfinite(days)
    return days, ok


def _stamp(text: str) -> np.datetime64:
    """One cell as a timestamp, or NaT when it names no date of the calendar."""
    try:
        return np.datetime64(text, "us")
    except ValueError:
        return np.datetime64("NaT", "us")


def cycles(days: np.ndarray) -> np.ndarray:
    """(rows, 6) float64: the sine and cosine of each day number's position in the year, the
    week (Monday to Sunday) and the day (midnight to midnight), in the order of `CYCLES`."""
    whole = np.floor(days)
    phases = [days / _YEAR, ((whole + _THURSDAY) % 7) / 7, days - whole]
    angles = 2 * np.pi * np.stack(phases, axis=1)
    return np.stack([np.sin(angles), np.cos(angles)], axis=2).reshape(len(days), 6)


def day_text(days: float) -> str:
    """A day number as the ISO date it falls on, for messages: 0.5 -> "1970-01-01"."""
    return str(np.datetime64(int(np.floor(days)), "D"))
