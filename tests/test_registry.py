"""Plug-in registries: only the project's own modules are discovered, names are unique,
outside classes join only when registered."""

import pytest

from archsearch.evaluation import EVALUATORS
from archsearch.execution import EXECUTORS
from archsearch.registry import DuplicateName, Registry
from archsearch.spaces import SPACES
from archsearch.strategies import STRATEGIES
from archsearch.strategies.random import RandomSearch
from archsearch.tasks import TASKS


class Elsewhere(RandomSearch):
    """A strategy defined outside the package, as a user or a test would."""

    name = "elsewhere"


class Impostor(RandomSearch):
    name = "random"


def test_each_kind_finds_its_own_plugins():
    assert {"mlp", "cnn", "nb201"} <= set(SPACES.names())
    assert {"random", "reinforce", "qlearning", "evolution", "genetic", "bayesopt"} <= set(
        STRATEGIES.names()
    )
    assert {"classification", "regression", "reconstruction", "vae"} == set(TASKS.names())
    assert {"train", "tabular"} <= set(EVALUATORS.names())
    assert "inline" in EXECUTORS.names()


def test_classes_defined_elsewhere_are_not_discovered_only_registered():
    assert "elsewhere" not in STRATEGIES
    STRATEGIES.register(Elsewhere)
    try:
        assert STRATEGIES.get("elsewhere") is Elsewhere
    finally:
        STRATEGIES.unregister("elsewhere")
    assert "elsewhere" not in STRATEGIES


def test_a_duplicate_name_raises_and_changes_nothing():
    with pytest.raises(DuplicateName, match="two strategy plug-ins are named 'random'"):
        STRATEGIES.register(Impostor)
    assert STRATEGIES.get("random") is RandomSearch


def test_two_modules_of_a_package_with_one_name_raise(tmp_path, monkeypatch):
    package = tmp_path / "plugpkg"
    package.mkdir()
    (package / "__init__.py").write_text("class Base:\n    pass\n")
    for module in ("one", "two"):
        (package / f"{module}.py").write_text(
            "from plugpkg import Base\n\n\nclass Thing(Base):\n    name = 'same'\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    import plugpkg

    registry = Registry("thing", "plugpkg", plugpkg.Base)
    with pytest.raises(
        DuplicateName,
        match="plugpkg.one.Thing and plugpkg.two.Thing|plugpkg.two.Thing and plugpkg.one.Thing",
    ):
        registry.names()


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match="unknown evaluator 'nope'; choose one of: .*train"):
        EVALUATORS.get("nope")
