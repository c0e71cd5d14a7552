"""`archsearch predict`: on exactly a run's test rows (a CSV in the real format, rebuilt from
the same seeded split) or test images, its predictions score what `summary.json` says the run
scored; bad columns and bad images are one line and exit code 2."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_iris

from archsearch.cli import main
from archsearch.data.dataset import split_rows
from archsearch.data.table import drop_missing_targets, encode_classes, read_table
from archsearch.data.tabular import target_bins
from archsearch.export import RunModel
from archsearch.predict import read_images
from tests.helpers import write_image_folder

TINY = ["--strategy", "random", "--trials", "2", "--epochs", "2", "--final-epochs", "3"]
SEED = 3


def write_csv(path, header, rows, delimiter=","):
    with path.open("w", newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows([header, *rows])


def iris_rows():
    """Iris with a text column, some missing cells and a regression target (sepal length)."""
    data = load_iris()
    header = ["sepal width", "petal length", "petal width", "colour", "sepal length", "species"]
    rows = []
    for i, (x, y) in enumerate(zip(data.data, data.target)):
        colour = ["blue", "white", "purple"][y] if i % 7 else ""
        width = "" if i % 11 == 0 else str(x[1])
        rows.append([width, str(x[2]), str(x[3]), colour, str(x[0]), data.target_names[y]])
    return header, rows


def split_test_rows(csv_path, target, regression=False):
    """The data rows (0-based, in file order) of the run's test split, rebuilt the way a
    search splits its CSV: the same functions, seed and fractions."""
    read = read_table(csv_path, target)
    table, kept = drop_missing_targets(read)
    assert len(kept) == len(read)
    if regression:
        strata, labels = target_bins(table.target.astype(float)), None
    else:
        strata, labels = encode_classes(table.target)
    return split_rows(strata, SEED, 0.2, 0.2, None, None, None, "data", labels)[2]


def predict_cli(run, source, out, flag="--data"):
    """`archsearch predict RUN FLAG SOURCE --out OUT`'s exit code (`flag`: --data or
    --data-dir)."""
    return main(["predict", str(run), flag, str(source), "--out", str(out)])


def read_predictions(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


def predicted_r2(run, rows_csv, truth):
    """R² of `archsearch predict` of `run` on the rows of `rows_csv` against `truth`."""
    out = rows_csv.with_name("predictions.csv")
    assert predict_cli(run, rows_csv, out) == 0
    predicted = np.array([float(p["prediction"]) for p in read_predictions(out)])
    return 1 - ((predicted - truth) ** 2).sum() / ((truth - truth.mean()) ** 2).sum()


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("iris")
    header, rows = iris_rows()
    write_csv(root / "iris.csv", header, rows)
    args = ["--data", root / "iris.csv", "--target", "species", "--space", "mlp"]
    args += ["--final-models", "2", "--seed", str(SEED), "--out", root / "run", *TINY]
    assert main(["search", *map(str, args)]) == 0
    return root


def european_rows():
    """Iris for regression as a spreadsheet in many countries exports it: semicolons between
    cells, decimal commas, and a column of ISO dates (one measurement a day, some missing)."""
    header, rows = iris_rows()
    header = [*header[:-1], "measured"]
    start = np.datetime64("2024-03-01")
    rows = [
        [cell.replace(".", ",") for cell in row[:-1]] + ["" if i % 13 == 0 else str(start + i)]
        for i, row in enumerate(rows)
    ]
    return header, rows


def test_decimal_commas_and_dates_search_and_predict_end_to_end(tmp_path):
    header, rows = european_rows()
    path = tmp_path / "data.csv"
    write_csv(path, header, rows, delimiter=";")
    args = ["--data", path, "--target", "sepal length", "--space", "mlp", "--final-models", "1"]
    assert main(["search", *map(str, [*args, "--seed", SEED, "--out", tmp_path / "r", *TINY])]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["task"] == "regression"
    assert "column 'sepal length': read as numbers ('5,1' as 5.1)" in summary["notes"]
    assert (
        "column 'measured': dates, read as a day number and its place in the year, week and day"
        in summary["notes"]
    )
    model = torch.load(tmp_path / "r" / "best_model.pt", weights_only=True)
    kinds = {c["name"]: c["kind"] for c in model["preprocessing"]["columns"]}
    assert kinds == {
        "sepal width": "numeric",
        "petal length": "numeric",
        "petal width": "numeric",
        "colour": "categorical",
        "measured": "date",
    }
    test = split_test_rows(path, "sepal length", regression=True)
    write_csv(tmp_path / "test.csv", header, [rows[r] for r in test], delimiter=";")
    truth = np.array([float(rows[r][4].replace(",", ".")) for r in test])
    r2 = predicted_r2(tmp_path / "r", tmp_path / "test.csv", truth)
    assert r2 == pytest.approx(summary["best"]["test_r2"], abs=1e-4)


@pytest.mark.parametrize("keep_target", [True, False])
def test_predict_reproduces_the_runs_test_accuracy_on_its_test_rows(iris_run, keep_target):
    header, rows = iris_rows()
    test = split_test_rows(iris_run / "iris.csv", "species")
    columns = list(range(len(header))) if keep_target else list(range(len(header) - 1))
    columns.reverse()  # columns are found by name, in any order
    write_csv(
        iris_run / "test.csv",
        [header[c] for c in columns],
        [[rows[r][c] for c in columns] for r in test],
    )
    out = iris_run / "predictions.csv"
    assert predict_cli(iris_run / "run", out.with_name("test.csv"), out) == 0
    predicted = read_predictions(out)
    assert [p["id"] for p in predicted] == [str(i) for i in range(1, len(test) + 1)]
    correct = sum(p["prediction"] == rows[r][-1] for p, r in zip(predicted, test))
    summary = json.loads((iris_run / "run" / "summary.json").read_text())
    # summary.json keeps 6 digits; one row of 30 is 0.033
    assert correct / len(test) == pytest.approx(summary["best"]["test_accuracy"], abs=1e-6)
    probabilities = [
        [float(p[f"probability_{c}"]) for c in ("setosa", "versicolor", "virginica")]
        for p in predicted
    ]
    assert np.allclose(np.sum(probabilities, axis=1), 1.0, atol=1e-5)


def test_a_runs_test_predictions_name_each_test_row_as_predict_would(iris_run):
    header, rows = iris_rows()
    test = split_test_rows(iris_run / "iris.csv", "species")
    write_csv(iris_run / "test.csv", header, [rows[r] for r in test])
    out = iris_run / "predictions.csv"
    assert predict_cli(iris_run / "run", iris_run / "test.csv", out) == 0
    written = read_predictions(iris_run / "run" / "test_predictions.csv")
    assert [w["id"] for w in written] == [str(r + 1) for r in test]  # rows of iris.csv
    assert [w["true"] for w in written] == [rows[r][-1] for r in test]
    for mine, theirs in zip(written, read_predictions(out)):
        assert mine["prediction"] == theirs["prediction"]
        probabilities = [k for k in theirs if k.startswith("probability_")]
        assert [float(mine[k]) for k in probabilities] == pytest.approx(
            [float(theirs[k]) for k in probabilities], abs=1e-5
        )
    summary = json.loads((iris_run / "run" / "summary.json").read_text())
    correct = np.mean([w["true"] == w["prediction"] for w in written])
    assert correct == pytest.approx(summary["best"]["test_accuracy"], abs=1e-6)


def test_a_training_of_a_runs_best_predicts_too(iris_run):
    trained = iris_run / "trained"
    assert main(["train", "--run", str(iris_run / "run"), "--epochs", "2", "--out",
                 str(trained)]) == 0  # fmt: skip
    header, rows = iris_rows()
    write_csv(iris_run / "new.csv", header[:-1], [row[:-1] for row in rows[:6]])
    assert predict_cli(trained, iris_run / "new.csv", iris_run / "trained.csv") == 0
    predicted = read_predictions(iris_run / "trained.csv")
    assert [p["id"] for p in predicted] == ["1", "2", "3", "4", "5", "6"]
    assert {p["prediction"] for p in predicted} <= {"setosa", "versicolor", "virginica"}


def test_cells_read_as_missing_or_unknown_are_named(iris_run, capsys):
    header, rows = iris_rows()
    new = [row[:-1] for row in rows[1:6]]
    new[1][1], new[3][0], new[4][0], new[2][3] = "abc", "inf", "1e400", "green"
    write_csv(iris_run / "typos.csv", header[:-1], new)
    assert predict_cli(iris_run / "run", iris_run / "typos.csv", iris_run / "typos_out.csv") == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    where = f"archsearch: warning: {iris_run / 'typos.csv'}: column"
    assert warnings == [
        f"{where} 'sepal width': 2 cell(s) read as missing (not finite numbers; the training "
        "median stands in), such as 'inf' in row 4",
        f"{where} 'petal length': 1 cell(s) read as missing (not finite numbers; the training "
        "median stands in), such as 'abc' in row 2",
        f"{where} 'colour': 1 cell(s) read as none of the known categories (never seen in "
        "training), such as 'green' in row 3",
    ]
    assert len(read_predictions(iris_run / "typos_out.csv")) == 5  # predicted all the same


def test_regression_predictions_are_in_the_targets_units(tmp_path):
    header, rows = iris_rows()
    header, rows = header[:-1], [row[:-1] for row in rows]  # sepal length is the target
    write_csv(tmp_path / "data.csv", header, rows)
    args = ["--data", tmp_path / "data.csv", "--target", "sepal length", "--task", "regression"]
    args += ["--space", "mlp", "--final-models", "1", "--seed", str(SEED), "--out", tmp_path / "r"]
    assert main(["search", *map(str, [*args, *TINY])]) == 0
    test = split_test_rows(tmp_path / "data.csv", "sepal length", regression=True)
    write_csv(tmp_path / "test.csv", header[:-1], [rows[r][:-1] for r in test])
    truth = np.array([float(rows[r][-1]) for r in test])
    r2 = predicted_r2(tmp_path / "r", tmp_path / "test.csv", truth)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert r2 == pytest.approx(summary["best"]["test_r2"], abs=1e-4)
    # the run's own test_predictions.csv holds the same rows, truths and predictions, each
    # test row named by its data row number in the file, as predict names rows
    written = read_predictions(tmp_path / "r" / "test_predictions.csv")
    predicted = read_predictions(tmp_path / "predictions.csv")  # predicted_r2's output
    assert [w["id"] for w in written] == [str(r + 1) for r in test]
    assert [float(w["true sepal length"]) for w in written] == pytest.approx(truth, rel=1e-5)
    assert [float(w["prediction"]) for w in written] == pytest.approx(
        [float(p["prediction"]) for p in predicted], rel=1e-5
    )
    assert (tmp_path / "r" / "predictions.png").stat().st_size > 1000


def test_missing_columns_are_named_in_one_line(iris_run, capsys):
    header, rows = iris_rows()
    write_csv(iris_run / "bad.csv", header[2:], [row[2:] for row in rows[:5]])
    code = predict_cli(iris_run / "run", iris_run / "bad.csv", iris_run / "never.csv")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "trained on: 'sepal width', 'petal length' (the file has: 'petal width'," in err
    assert not (iris_run / "never.csv").exists()


def test_one_new_row_is_predicted_as_it_is_among_others(iris_run):
    header, rows = iris_rows()
    write_csv(iris_run / "many.csv", header[:-1], [row[:-1] for row in rows[:9]])
    write_csv(iris_run / "one.csv", header[:-1], [rows[8][:-1]])
    for name in ("many", "one"):
        out = str(iris_run / f"{name}_predictions.csv")
        assert predict_cli(iris_run / "run", f"{iris_run}/{name}.csv", out) == 0
    alone = read_predictions(iris_run / "one_predictions.csv")
    assert (
        len(alone) == 1
        and alone[0] | {"id": "9"} == read_predictions(iris_run / "many_predictions.csv")[8]
    )


def test_a_file_without_its_header_row_is_told_to_add_it(iris_run, capsys):
    header, rows = iris_rows()
    (iris_run / "bare.csv").write_text(",".join(rows[8][:-1]) + "\n")
    code = predict_cli(iris_run / "run", iris_run / "bare.csv", iris_run / "x.csv")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "(the file has no header row; make its first line the column names" in err


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    write_image_folder(root / "data", size=8)
    Image.new("RGB", (11, 9), (30, 30, 30)).save(root / "data" / "train" / "dark" / "odd.png")
    args = ["--data-dir", root / "data", "--image-size", "8", "--space", "cnn"]
    args += ["--space-option", "layers=2"]
    args += ["--final-models", "1", "--out", root / "run", *TINY]
    assert main(["search", *map(str, args)]) == 0
    return root


def test_predict_reproduces_the_test_accuracy_on_the_test_images(image_run):
    """The folder's test/ split is the run's test split, read here file by file."""
    out = image_run / "predictions.csv"
    assert predict_cli(image_run / "run", image_run / "data" / "test", out, flag="--data-dir") == 0
    predicted = read_predictions(out)
    assert len(predicted) == 12 and predicted[0]["id"].startswith("dark/")
    correct = sum(p["prediction"] == p["id"].split("/")[0] for p in predicted)
    summary = json.loads((image_run / "run" / "summary.json").read_text())
    assert correct / len(predicted) == pytest.approx(summary["best"]["test_accuracy"], abs=1e-6)
    # the run's own test predictions name the same files within its --data-dir
    written = read_predictions(image_run / "run" / "test_predictions.csv")
    assert [(w["id"], w["prediction"]) for w in written] == [
        (f"test/{p['id']}", p["prediction"]) for p in predicted
    ]


def test_images_of_another_size_are_resized_to_the_models(image_run, tmp_path, capsys):
    test = image_run / "data" / "test"
    for path in sorted(test.rglob("*.*")):
        target = tmp_path / "big" / path.relative_to(test).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        image = Image.open(path)
        image.resize((20, 12), Image.Resampling.NEAREST).save(target)  # and not square
    Image.new("L", (8, 8), 128).save(tmp_path / "big" / "grey.png")  # widened, as in training
    (tmp_path / "big" / ".thumbnails").mkdir()  # hidden: not read, as a search would not
    Image.new("L", (8, 8), 0).save(tmp_path / "big" / ".thumbnails" / "x.png")
    predicted = {}
    for name, folder in (("same", test), ("big", tmp_path / "big")):
        out = tmp_path / f"{name}.csv"
        assert predict_cli(image_run / "run", folder, out, flag="--data-dir") == 0
        predicted[name] = {
            str(Path(p["id"]).with_suffix("")): p["prediction"] for p in read_predictions(out)
        }
    assert "archsearch: resized 12 of 13 images to the model's 8x8 pixels and 3 channel(s)" in (
        capsys.readouterr().err
    )
    grey = predicted["big"].pop("grey")
    assert predicted["big"] == predicted["same"] and grey in ("dark", "light")


def test_colour_images_for_a_greyscale_model_are_made_greyscale(tmp_path, capsys):
    Image.new("RGB", (6, 4), (200, 100, 50)).save(tmp_path / "colour.png")
    Image.new("L", (6, 4), 90).save(tmp_path / "grey.png")
    grey_model = RunModel(None, {"input_shape": [1, 4, 6]}, "images", lambda: None)
    ids, x = read_images(grey_model, tmp_path)
    assert ids == ["colour.png", "grey.png"] and x.shape == (2, 1, 4, 6)
    luminance = round(200 * 0.299 + 100 * 0.587 + 50 * 0.114)  # Pillow's L conversion
    assert x[0].unique().tolist() == [luminance] and x[1].unique().tolist() == [90]
    err = capsys.readouterr().err
    assert "greyscaled 1 of 2 images to the model's 6x4 pixels and 1 channel(s)" in err


def test_a_table_run_refuses_images_and_an_image_run_refuses_rows(iris_run, image_run, capsys):
    assert predict_cli(iris_run / "run", image_run, image_run / "p.csv", flag="--data-dir") == 2
    assert predict_cli(image_run / "run", iris_run / "iris.csv", image_run / "p.csv") == 2
    assert capsys.readouterr().err.count("\n") == 2


def test_a_run_on_a_csv_without_header_takes_rows_without_the_target(tmp_path):
    """Columns of such a file are known by position ("column 2"), counted with the target:
    rows that leave the target out are renumbered, not shifted onto the wrong columns."""
    header, rows = iris_rows()
    rows = [[row[-1], *row[1:3], row[4]] for row in rows]  # target first, numbers only
    with (tmp_path / "train.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    args = ["--data", tmp_path / "train.csv", "--target", "0", "--space", "mlp"]
    args += ["--final-models", "1", "--out", tmp_path / "run", *TINY]
    assert main(["search", *map(str, args)]) == 0
    predictions = []
    for name, cut in (("with.csv", 0), ("without.csv", 1)):
        with (tmp_path / name).open("w", newline="") as handle:
            csv.writer(handle).writerows(row[cut:] for row in rows[::5])
        out = tmp_path / f"{name}.predictions"
        assert predict_cli(tmp_path / "run", tmp_path / name, out) == 0
        predictions.append(read_predictions(out))
    assert predictions[0] == predictions[1] and len(predictions[0]) == 30
