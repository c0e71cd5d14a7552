"""Prediction tables: the rows `archsearch predict` and a run's test_predictions.csv hold."""

import numpy as np
import pytest
import torch

from archsearch.predictions import (
    prediction_table,
    read_mistakes,
    read_true_and_predicted,
    write_table,
)


def test_classification_rows_hold_truth_prediction_and_probabilities(tmp_path):
    logits = torch.tensor([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    ids = ["4", "7", "9", "12"]
    header, rows = prediction_table(ids, logits, ["a", "b", "c"], truth=torch.tensor([0, 2, 1, 0]))
    assert header == ["id", "true", "prediction", "probability_a", "probability_b", "probability_c"]
    assert [row[:3] for row in rows] == [["4", "a", "a"], ["7", "c", "b"], ["9", "b", "c"],
                                         ["12", "a", "a"]]  # fmt: skip
    expected = logits.softmax(1).numpy()
    written = np.array([[float(p) for p in row[3:]] for row in rows])
    assert written == pytest.approx(expected, abs=1e-6)  # six significant digits
    write_table(tmp_path / "p.csv", header, rows)
    mistakes = read_mistakes(tmp_path / "p.csv")
    assert (mistakes.wrong, mistakes.total) == (2, 4)
    # the surer mistake first: row 7 was predicted b at e²/(e²+2), row 9 c at e/(e+2)
    assert [m[:3] for m in mistakes.rows] == [("7", "c", "b"), ("9", "b", "c")]
    assert mistakes.rows[0][3] == pytest.approx(expected[1, 1], abs=1e-5)
    assert read_mistakes(tmp_path / "p.csv", limit=1).rows == mistakes.rows[:1]
    assert read_true_and_predicted(tmp_path / "p.csv") is None  # not a regression's


def test_regression_rows_in_the_targets_units(tmp_path):
    truth = torch.tensor([[1.5, -2.0], [3.25, 4.0]], dtype=torch.float64)
    predicted = torch.tensor([[1.0, -1.0], [3.0, 5.0]])
    header, rows = prediction_table(["1", "2"], predicted, target_names=["x", "y"], truth=truth)
    assert header == ["id", "true x", "true y", "x", "y"]
    write_table(tmp_path / "r.csv", header, rows)
    true, guessed, names = read_true_and_predicted(tmp_path / "r.csv")
    assert names == ["x", "y"] and true == pytest.approx(truth.numpy())
    assert guessed == pytest.approx(predicted.numpy())
    assert read_mistakes(tmp_path / "r.csv") is None  # not a classification's
    # new rows: no truth, one target is "prediction"
    header, rows = prediction_table(["1"], torch.tensor([[2.5]]), target_names=["price"])
    assert header == ["id", "prediction"] and rows == [["1", "2.5"]]
    assert read_true_and_predicted(tmp_path / "missing.csv") is None
