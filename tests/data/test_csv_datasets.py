"""CSV files and bundled tables as datasets: the task from the target, splits, preprocessing
learned from the train rows only, and clear errors."""

import numpy as np
import pytest
import torch

from archsearch.data import DataError, load_dataset
from archsearch.errors import UsageError


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def rows(n, label=lambda i: ["a", "b", "c"][i % 3]):
    return "".join(f"{i * 0.5},{i % 7},{label(i)}\n" for i in range(n))


def test_string_labels_make_a_classification_dataset(tmp_path):
    data = load_dataset(csv=str(write(tmp_path, "x1,x2,species\n" + rows(90))), target="species")
    assert data.task.name == "classification" and data.class_names == ["a", "b", "c"]
    assert data.input_shape == (2,) and data.y_train.dtype == torch.int64


def test_numeric_labels_sort_numerically(tmp_path):
    text = "f,label\n" + "".join(f"{i},{[2, 10, 1][i % 3]}\n" for i in range(30))
    assert load_dataset(csv=str(write(tmp_path, text)), target="label").class_names == [
        "1",
        "2",
        "10",
    ]


def test_a_numeric_target_with_many_values_is_regression_and_the_rule_is_noted(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = 100 + 20 * x[:, 0] + rng.normal(size=200)
    text = "a,b,c,price\n" + "".join(f"{r[0]},{r[1]},{r[2]},{t:.3f}\n" for r, t in zip(x, y))
    data = load_dataset(csv=str(write(tmp_path, text)), target="price", seed=3)
    assert data.task.name == "regression" and data.y_train.shape == (len(data.y_train), 1)
    assert any("regression" in note and "20 distinct" in note for note in data.notes)
    # targets standardised with the train rows; the task converts back
    assert abs(data.y_train.mean().item()) < 1e-5 and abs(data.y_train.std().item() - 1) < 0.02
    restored = data.task.unscale(data.y_test)
    assert restored.mean().item() == pytest.approx(100, abs=6)


def test_task_can_be_forced(tmp_path):
    text = "f,label\n" + "".join(f"{(i * 7) % 11},{i % 3}\n" for i in range(60))
    path = str(write(tmp_path, text))
    assert load_dataset(csv=path, target="label").task.name == "classification"
    assert load_dataset(csv=path, target="label", task="regression").task.name == "regression"


def test_categorical_and_missing_cells_are_encoded_from_the_train_rows(tmp_path):
    colours = ["red", "green", "blue"]
    lines = [
        f"{'' if i % 10 == 0 else i * 0.1},{colours[i % 3]},{'yes' if i % 2 else 'no'}"
        for i in range(120)
    ]
    data = load_dataset(csv=str(write(tmp_path, "num,colour,y\n" + "\n".join(lines))), target="y")
    names = [c["name"] for c in data.preprocessing["columns"]]
    assert names == ["num", "colour"]
    # numeric + missing indicator + three one-hot colours
    assert data.input_shape == (5,)
    assert not torch.isnan(data.x_train).any() and not torch.isnan(data.x_test).any()


def test_test_rows_are_named_by_their_data_row_in_the_file(tmp_path):
    # rows without a target are dropped, blank lines skipped: ids still count the file's rows
    lines = [f"{i / 2 + 0.25},{'' if i % 9 == 4 else 'ab'[i % 2]}" for i in range(60)]
    lines.insert(30, "")
    data = load_dataset(csv=str(write(tmp_path, "f,y\n" + "\n".join(lines))), target="y")
    rows = [line.split(",") for line in lines if line]
    assert len(data.test_ids) == len(data.y_test) == 11
    for i, label in zip(data.test_ids, data.y_test.tolist()):
        assert rows[int(i) - 1][1] == data.class_names[label]
    # f grows with the row: the test rows' (standardised) f orders them as their ids do
    order = data.x_test[:, 0].argsort().tolist()
    assert [int(data.test_ids[i]) for i in order] == sorted(map(int, data.test_ids))


def test_splits_are_stratified_seeded_and_normalised_on_train(tmp_path):
    path = write(tmp_path, "x1,x2,y\n" + rows(90))
    a = load_dataset(csv=str(path), target="y", seed=1)
    b = load_dataset(csv=str(path), target="y", seed=1)
    assert torch.equal(a.x_test, b.x_test)
    assert a.sizes() == {"train": 58, "val": 14, "test": 18}
    assert np.bincount(a.y_test.numpy()).tolist() == [6, 6, 6]
    assert abs(a.x_train.mean().item()) < 1e-5 and abs(a.x_train.std(0).mean().item() - 1) < 0.02


def test_the_bundled_regression_dataset(tmp_path):
    data = load_dataset("diabetes", seed=0)
    assert data.task.name == "regression" and data.input_shape == (10,)
    assert sum(data.sizes().values()) == 442


def test_fewer_rows_than_classes_is_an_error(tmp_path):
    text = "f,y\n" + "".join(f"{i},c{i}\n" for i in range(8))
    with pytest.raises(DataError, match="8 rows for 8 classes"):
        load_dataset(csv=str(write(tmp_path, text)), target="y")


@pytest.mark.parametrize(
    "text, target, message",
    [
        ("x1,x2,y\n" + rows(12), "label", "no column named 'label'"),
        ("x1,y\n1,a\n2,a\n3,a\n", "y", "single class 'a'"),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path, text, target, message):
    with pytest.raises(UsageError, match=message):
        load_dataset(csv=str(write(tmp_path, text)), target=target)
