"""Plug-in discovery: every concrete subclass of a base class in a package, by its `name`.

Adding a space or a strategy is adding one file to its package; nothing else is edited.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import TypeVar

T = TypeVar("T")


def discover(package: str, base: type[T]) -> dict[str, type[T]]:
    """Import every module of `package` and return its concrete `base` subclasses by name."""
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        importlib.import_module(f"{package}.{info.name}")
    found: dict[str, type[T]] = {}
    pending = list(base.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not inspect.isabstract(cls) and "name" in vars(cls):
            found[cls.name] = cls
    return dict(sorted(found.items()))


def lookup(kind: str, registry: dict[str, type[T]], name: str) -> type[T]:
    """The class registered as `name`, or a `ValueError` listing the valid names."""
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; choose one of: {', '.join(registry)}")
    return registry[name]
