"""Permutation importance of table columns: a column's inputs are shuffled together (a one-hot
block as one column), unused columns cost nothing, the figures are seeded, and a search and a
training report them."""

import json

import numpy as np
import torch

import archsearch
from archsearch.cli import main
from archsearch.data import load_dataset
from archsearch.data.table import TablePreprocessor
from archsearch.evaluation.importance import column_importance
from archsearch.evaluation.trainer import TrainConfig


def write_table(path, rows=240, seed=0):
    """A colour that decides the class, a number that does not, a number with missing cells."""
    rng = np.random.default_rng(seed)
    colours = rng.choice(["red", "green", "blue"], size=rows)
    lines = ["noise,colour,gappy,label"]
    for i, colour in enumerate(colours):
        gappy = "" if i % 5 == 0 else f"{rng.normal():.3f}"
        lines.append(f"{rng.normal():.3f},{colour},{gappy},{'warm' if colour == 'red' else 'cold'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def reader_of_red(data):
    """A linear model that answers "warm" exactly for red rows: it reads one input of the
    colour column's one-hot block and nothing else, as a trained network might."""
    specs = TablePreprocessor.from_json(data.preprocessing).columns
    names = [spec.name for spec in specs]
    start = sum(spec.width for spec in specs[: names.index("colour")])
    red = start + specs[names.index("colour")].categories.index("red")
    model = torch.nn.Linear(data.input_shape[0], data.num_classes)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
        model.weight[data.class_names.index("warm"), red] = 5.0
    return model


def test_a_one_hot_column_is_shuffled_as_one_and_unused_columns_cost_nothing(tmp_path):
    data = load_dataset(csv=str(write_table(tmp_path / "t.csv")), target="label", seed=0)
    model = reader_of_red(data)
    rows = column_importance(model, data, TrainConfig(), seed=1)
    assert [row["column"] for row in rows][0] == "colour"
    assert {row["column"] for row in rows} == {"noise", "colour", "gappy"}  # columns, not inputs
    drops = {row["column"]: row["drop"] for row in rows}
    assert drops["noise"] == drops["gappy"] == 0.0
    # a perfect model against one whose colour is shuffled: right about 1 - 2 * p(1 - p) of
    # the time, p the share of red (about 1/3), so about 0.44 is lost
    assert 0.3 < drops["colour"] < 0.6
    assert rows == column_importance(model, data, TrainConfig(), seed=1)  # seeded
    assert rows != column_importance(model, data, TrainConfig(), seed=2)


def test_regression_loses_r2_and_images_and_reconstruction_have_none(tmp_path):
    data = load_dataset("diabetes", seed=0)
    model = torch.nn.Linear(data.input_shape[0], 1)
    with torch.no_grad():
        model.weight.zero_()
        model.weight[0, 2] = 0.6  # bmi, the third column
    rows = column_importance(model, data, TrainConfig(), repeats=3)
    assert rows[0]["column"] == "bmi" and rows[0]["drop"] > 0.2 and rows[0]["std"] > 0
    assert all(row["drop"] == 0.0 for row in rows[1:])
    assert column_importance(model, load_dataset("digits", images=True), TrainConfig()) is None
    table = load_dataset("iris", task="reconstruction")
    assert column_importance(torch.nn.Linear(4, 4), table, TrainConfig()) is None
    assert column_importance(model, data.without_test(), TrainConfig()) is None


def test_a_search_and_a_training_of_its_best_report_it(tmp_path, capsys):
    csv = write_table(tmp_path / "t.csv")
    search = ["search", "--data", str(csv), "--target", "label", "--strategy", "random"]
    search += ["--trials", "2", "--epochs", "3", "--final-epochs", "3", "--out", f"{tmp_path}/r"]
    assert main(search) == 0
    assert main(["train", "--run", f"{tmp_path}/r", "--epochs", "3", "--out", f"{tmp_path}/t"]) == 0
    err = capsys.readouterr().err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert archsearch.load(tmp_path / "r").best.importance == summary["best"]["importance"]
    results = json.loads((tmp_path / "t" / "results.json").read_text())
    for rows in (summary["best"]["importance"], results["importance"]):
        assert {row["column"] for row in rows} == {"noise", "colour", "gappy"}
        line = f"archsearch: test accuracy lost when a column is shuffled: {rows[0]['column']} "
        assert line in err
