"""Warnings for data and budgets that make a search meaningless: in the log, one line each,
and in summary.json."""

import json
import re

import numpy as np
import pytest

from archsearch.cli import main
from archsearch.data import load_dataset
from archsearch.evaluation.trainer import TrainConfig, batch_rows
from archsearch.sanity import (
    MIN_STEPS,
    child_steps,
    class_warnings,
    spelling_warnings,
    step_warnings,
)


def search(tmp_path, capsys, *args):
    out = tmp_path / "run"
    code = main(["search", "--space", "mlp", "--strategy", "random", "--trials", "2",
                 "--final-epochs", "1", "--out", str(out), *map(str, args)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    return json.loads((out / "summary.json").read_text()), err


def write_csv(path, seed=0, rows=150, rare=0):
    """Three features, one of which lost its decimal point in a few rows; a class label
    with `rare` rows of a third class."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    label = np.where(x[:, 0] + x[:, 2] > 0, "yes", "no").astype(object)
    label[:rare] = "maybe"
    weight = 1.0 + 0.1 * x[:, 1]
    weight[[7, 11]] *= 1000
    lines = ["x0,weight,x2,label"]
    lines += [f"{a:.4f},{w:.4f},{c:.4f},{y}" for (a, _, c), w, y in zip(x, weight, label)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_column_with_lost_decimal_points_is_warned_about_in_log_and_summary(tmp_path, capsys):
    csv = write_csv(tmp_path / "t.csv")
    summary, err = search(tmp_path, capsys, "--data", csv, "--target", "label", "--epochs", "20")
    warned = [line for line in err.splitlines() if line.startswith("archsearch: warning:")]
    assert len(warned) == 1 and "column 'weight' has 2 extreme value(s)" in warned[0]
    assert summary["warnings"] == [warned[0].removeprefix("archsearch: warning: ")]


def test_few_steps_and_rare_classes_are_warned_about(tmp_path, capsys):
    csv = write_csv(tmp_path / "t.csv", rare=6)
    summary, err = search(tmp_path, capsys, "--data", csv, "--target", "label", "--epochs", "3",
                          "--scaling", "standard")  # fmt: skip
    text = " | ".join(summary["warnings"])
    assert "class 'maybe' has only" in text
    assert "optimiser steps" in text and "--epochs" in text
    assert "try --scaling robust" in text
    assert all(f"archsearch: warning: {w}" in err for w in summary["warnings"])


def test_an_imbalanced_table_is_warned_about_and_scored_by_balanced_accuracy(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    label = np.where(x[:, 0] + x[:, 1] > 1.4, "fraud", "fine")  # about 16% fraud, and b is
    x[:, 1] = rng.normal(size=200)  # replaced by noise: not separable from a alone
    lines = ["a,b,label", *(f"{a:.4f},{b:.4f},{y}" for (a, b), y in zip(x, label))]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    summary, err = search(tmp_path, capsys, "--data", tmp_path / "t.csv", "--target", "label",
                          "--epochs", "10")  # fmt: skip
    (warning,) = [w for w in summary["warnings"] if "of the training rows" in w]
    share = int(re.match(r"class 'fine' is (\d+)% of the training rows", warning).group(1))
    assert abs(share - 100 * (label == "fine").mean()) < 2  # the split is stratified
    assert f"archsearch: warning: {warning}" in err
    for scores in (summary["best"], summary["baseline"]):
        assert 0.0 < scores["test_balanced_accuracy"] < scores["test_accuracy"] <= 1.0
    (tmp_path / "b").mkdir()
    balanced = write_csv(tmp_path / "b" / "t.csv")  # yes/no about half each: no such warning
    summary, _ = search(tmp_path / "b", capsys, "--data", balanced, "--target", "label",
                        "--epochs", "20")  # fmt: skip
    assert not any("of the training rows" in w for w in summary["warnings"])


def test_iris_at_the_issue_s_budget_gets_the_few_steps_warning_and_enough_epochs_do_not():
    iris = load_dataset("iris")
    rows = len(iris.x_train)
    assert rows == 96
    (warning,) = step_warnings(rows, TrainConfig(epochs=5, batch_size=64))
    assert "only 10 optimiser steps" in warning and f"--epochs {MIN_STEPS // 2}" in warning
    assert step_warnings(rows, TrainConfig(epochs=10, batch_size=64)) == []
    assert step_warnings(rows, TrainConfig(epochs=10, batch_size=64, train_subset=40)) != []
    assert class_warnings(iris) == []


@pytest.mark.parametrize("rows,batch", [(96, 64), (65, 64), (64, 64), (1, 64), (130, 16)])
def test_child_steps_counts_the_batches_training_really_takes(rows, batch):
    import torch

    assert child_steps(rows, batch, 3) == 3 * len(batch_rows(torch.arange(rows), batch))


def test_class_names_spelt_two_ways_are_warned_about(tmp_path, capsys):
    csv = write_csv(tmp_path / "t.csv")
    lines = csv.read_text().splitlines()
    lines[1::4] = [line.replace(",yes", ",Yes") for line in lines[1::4]]  # a second spelling
    csv.write_text("\n".join(lines) + "\n")
    summary, err = search(tmp_path, capsys, "--data", csv, "--target", "label", "--epochs", "20")
    (warning,) = [w for w in summary["warnings"] if "differ only" in w]
    assert warning.startswith("classes 'Yes', 'yes' differ only in letter case or spacing")
    assert f"archsearch: warning: {warning}" in err
    assert (
        spelling_warnings(["a b", "A  B", "ab", "x", "X", "y"])
        == [
            spelling_warnings(["a b", "A  B"])[0],
            spelling_warnings(["x", "X"])[0],
        ]
        and spelling_warnings(["ab", "a b", "a-b"]) == []
    )
