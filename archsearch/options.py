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
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass
class Options:
    """A plug-in's tunable knobs. Subclasses add fields with defaults."""


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
    return cls(**values)


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
