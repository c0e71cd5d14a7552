"""Every docstring example in the package runs and prints what it says (the API's, which run
searches, are checked with their runs redirected in test_api.py)."""

import doctest
import importlib
import pkgutil

import pytest

import archsearch

MODULES = sorted(
    module.name
    for module in pkgutil.walk_packages(archsearch.__path__, "archsearch.")
    if module.name != "archsearch.api"
)


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_in_its_docstrings_hold(name):
    results = doctest.testmod(importlib.import_module(name), report=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples fail in {name}"


def test_there_are_examples_to_check():
    attempted = sum(
        doctest.testmod(importlib.import_module(n), report=False).attempted for n in MODULES
    )
    assert attempted >= 40
