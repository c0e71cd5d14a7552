"""Plug-in options: a dataclass of typed knobs per strategy, evaluator or executor, filled from
Python values or from `KEY=VALUE` strings of the command line.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Knobs:
    ...     lr: float = 0.01
    ...     steps: tuple = (1, 2)
    >>> parse_options("demo", Knobs, {"lr": "0.5", "steps": "3,4"})
    Knobs(lr=0.5, steps=(3, 4))
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass
class Options:
    """A plug-in's tunable knobs. Subclasses add fields with defaults, and may bound numeric
    ones in `limits`: {field: (lowest, highest, whole)}, a bound given as a one-element tuple
    being exclusive; a field whose value is None (off) is not checked."""

    limits: typing.ClassVar[dict[str, tuple[Any, Any, bool]]] = {}


def parse_options(owner: str, cls: type, given: Mapping[str, Any]) -> Any:
    """Build the `cls` options dataclass from `given`, converting strings (from the command
    line) to each field's type; unknown names and unparsable values raise `ValueError`."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        known = ", ".join(fields) or "none"
        raise ValueError(f"unknown option(s) {unknown} for {owner}; known options: {known}")
    values = {}
    for key, value in given.items():
        default = getattr(cls(), key)
        values[key] = _convert(f"{owner} option {key}", value, default)
    options = cls(**values)
    for key, (low, high, whole) in getattr(cls, "limits", {}).items():
        if getattr(options, key) is not None:
            check_number(f"{owner} option {key}", getattr(options, key), low, high, whole)
    return options


def _convert(label: str, value: Any, default: Any) -> Any:
    if default is None:  # an optional number, off by default
        if value is None or (isinstance(value, str) and value.lower() in ("", "none", "off")):
            return None
        return _number(label, value, float)
    if isinstance(default, bool):
        return _boolean(label, value)
    if isinstance(default, (int, float)):
        return _number(label, value, type(default))
    if isinstance(default, (tuple, list)) and isinstance(value, str):
        try:
            return tuple(float(v) if "." in v else int(v) for v in value.split(",") if v)
        except ValueError:
            raise ValueError(f"{label}={value!r} is not a comma-separated list") from None
    if isinstance(default, (tuple, list)) and isinstance(value, list):
        return tuple(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise ValueError(f"{label}={value!r} is not text")
    return value


def _boolean(label: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ValueError(f"{label}={value!r} is not true or false")


def _number(label: str, value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{label}={value!r} is not a {kind.__name__}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{label}={value!r} is not a valid {kind.__name__}") from None
    if kind is int:
        if not number.is_integer():
            raise ValueError(f"{label}={value!r} is not a whole number")
        return int(number)
    return _finite(label, number)


def _finite(label: str, number: float) -> float:
    if not math.isfinite(number):
        raise ValueError(f"{label}={number!r} is not a finite number")
    return number


def check_number(label: str, value: Any, low: Any, high: Any, whole: bool = False) -> None:
    """`ValueError` unless `value` is a finite number (whole if `whole`) within [low, high];
    a bound given as a one-element tuple is exclusive.

    Example:
        >>> check_number("layers", 3, 1, 64, whole=True)
        >>> check_number("rate", 0.0, (0.0,), 1.0)
        Traceback (most recent call last):
        ValueError: rate must lie in (0, 1], got 0.0
    """
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{label} must be {kind}, got {value!r}")
    if not math.isfinite(value) or (whole and not float(value).is_integer()):
        raise ValueError(f"{label} must be {kind}, got {value!r}")
    lo, lo_open = (low[0], True) if isinstance(low, tuple) else (low, False)
    hi, hi_open = (high[0], True) if isinstance(high, tuple) else (high, False)
    if value < lo or value > hi or (lo_open and value == lo) or (hi_open and value == hi):
        span = f"{'(' if lo_open else '['}{_bound(lo)}, {_bound(hi)}{')' if hi_open else ']'}"
        raise ValueError(f"{label} must lie in {span}, got {value!r}")


def check_bool(label: str, value: Any) -> None:
    """`ValueError` unless `value` is True or False (not "maybe", not 1)."""
    if not isinstance(value, bool):
        raise ValueError(f"{label} must be true or false, got {value!r}")


def check_numbers(label: str, values: Any, low: Any, high: Any, whole: bool = False) -> None:
    """`check_number` for each of a non-empty list of values."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{label} must be a list of numbers, got {values!r}")
    values = list(values)
    if not values:
        raise ValueError(f"{label} must not be empty")
    for value in values:
        check_number(label, value, low, high, whole)


def _bound(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"
