"""Plug-in registries: spaces, strategies, tasks, evaluators and executors found by name.

Adding a space (or strategy, task, evaluator, executor) to archsearch is adding one file to its
package: `Registry` imports every module of the package and registers the concrete subclasses of
the base class defined there. Classes defined anywhere else (a test, a notebook, a user's
package) are registered only by an explicit `register`, so importing someone's module never
changes what a name means. Two classes with one name are an error, never a silent override.

Example:
    >>> from archsearch.strategies import STRATEGIES
    >>> "random" in STRATEGIES.names()
    True
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Generic, TypeVar

T = TypeVar("T")


class DuplicateName(ValueError):
    """Two plug-ins claim the same name."""


class Registry(Generic[T]):
    """The `base` subclasses of `package`'s own modules, by their `name`, plus those
    registered explicitly. Discovery runs once, on first use."""

    def __init__(self, kind: str, package: str, base: type[T]) -> None:
        self.kind, self.package, self.base = kind, package, base
        self._classes: dict[str, type[T]] | None = None
        self._extra: dict[str, type[T]] = {}

    def _discover(self) -> dict[str, type[T]]:
        module = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module(f"{self.package}.{info.name}")
        found: dict[str, type[T]] = {}
        pending = list(self.base.__subclasses__())
        while pending:
            cls = pending.pop()
            pending.extend(cls.__subclasses__())
            own = cls.__module__.startswith(self.package + ".")
            if own and not inspect.isabstract(cls) and "name" in vars(cls):
                _add(found, self.kind, cls)
        return found

    def classes(self) -> dict[str, type[T]]:
        """Every registered class by name, sorted."""
        if self._classes is None:
            self._classes = self._discover()
        merged = dict(self._classes)
        for cls in self._extra.values():
            _add(merged, self.kind, cls)
        return dict(sorted(merged.items()))

    def names(self) -> list[str]:
        return list(self.classes())

    def __contains__(self, name: object) -> bool:
        return name in self.classes()

    def get(self, name: str) -> type[T]:
        """The class registered as `name`; `ValueError` listing the valid names."""
        classes = self.classes()
        if name not in classes:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(classes)}")
        return classes[name]

    def register(self, cls: type[T]) -> type[T]:
        """Add a class defined outside the package (usable as a decorator); `DuplicateName`
        if its name is taken."""
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(f"{cls!r} is not a subclass of {self.base.__name__}")
        if not isinstance(vars(cls).get("name"), str):
            raise TypeError(f"{cls.__name__} needs a class attribute `name`")
        _add(dict(self.classes()), self.kind, cls)
        self._extra[cls.name] = cls  # type: ignore[attr-defined]
        return cls

    def unregister(self, name: str) -> None:
        """Remove an explicitly registered class (the package's own stay)."""
        self._extra.pop(name, None)


def _add(found: dict[str, type], kind: str, cls: type) -> None:
    name = cls.name  # type: ignore[attr-defined]
    if name in found and found[name] is not cls:
        other = found[name]
        raise DuplicateName(
            f"two {kind} plug-ins are named {name!r}: {other.__module__}.{other.__qualname__} and "
            f"{cls.__module__}.{cls.__qualname__}"
        )
    found[name] = cls
