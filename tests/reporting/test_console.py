"""The console's closing line: the best trial, its scores, scikit-learn's, and a second line
when scikit-learn's default scores better (a tie, as at accuracy 1.0 on both, is no loss)."""

import io

import pytest

from archsearch.reporting.console import report


def summary(test: float, baseline: float) -> dict:
    best = {"trial": 4, "val_accuracy": 0.95, "test_accuracy": test, "params": 1234, "reward": 0.95}
    return {
        "best": best,
        "baseline": {"model": "MLPClassifier", "test_accuracy": baseline},
        "beats_baseline": test > baseline,
    }


@pytest.mark.parametrize(("test", "loses"), [(0.97, False), (0.96, False), (0.90, True)])
def test_a_network_losing_to_scikit_learn_is_told_so(test, loses):
    log = io.StringIO()
    report(summary(test, 0.96), "accuracy", log)
    lines = log.getvalue().splitlines()
    assert lines[0] == (
        f"archsearch: best trial 4: val accuracy 0.9500, test accuracy {test:.4f}, 1,234 params; "
        "scikit-learn MLPClassifier 0.9600"
    )
    if not loses:
        assert len(lines) == 1
    else:
        assert len(lines) == 2 and "found network loses to scikit-learn's default" in lines[1]
        assert "--trials" in lines[1] and "scikit-learn's MLPClassifier" in lines[1]
