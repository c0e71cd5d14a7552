"""User CSV files: header detection, target by name or index, string labels, clear errors."""

import numpy as np
import pytest

from archsearch.data import DataError, load_dataset
from archsearch.data.csv import load_csv


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def rows(n, label=lambda i: ["a", "b", "c"][i % 3]):
    return "".join(f"{i * 0.5},{i % 7},{label(i)}\n" for i in range(n))


def test_header_row_and_target_by_name_with_string_labels(tmp_path):
    path = write(tmp_path, "x1,x2,species\n" + rows(30))
    x, y, classes = load_csv(path, "species")
    assert x.shape == (30, 2) and classes == ["a", "b", "c"]
    assert y.tolist()[:4] == [0, 1, 2, 0]
    assert x[2].tolist() == [1.0, 2.0]


def test_no_header_and_target_by_index(tmp_path):
    path = write(tmp_path, "".join(f"{i % 2},{i},{i * 2}\n" for i in range(20)))
    x, y, classes = load_csv(path, "0")
    assert x.shape == (20, 2) and classes == ["0", "1"]
    assert np.array_equal(y, np.arange(20) % 2)


def test_numeric_labels_sort_numerically(tmp_path):
    path = write(tmp_path, "f,label\n" + "".join(f"{i},{[2, 10, 1][i % 3]}\n" for i in range(9)))
    _, _, classes = load_csv(path, "label")
    assert classes == ["1", "2", "10"]


@pytest.mark.parametrize(
    "text, target, message",
    [
        ("x1,x2,y\n" + rows(12), "label", "no column named 'label'"),
        (rows(12), "y", "no header row"),
        (rows(12), "7", "out of range"),
        ("x1,x2,y\n1,2,a\n1,oops,b\n3,4,a\n", "y", "'x2': 'oops' is not a number"),
        ("x1,x2,y\n1,2,a\n1,2\n", "y", "line 3 has 2 fields"),
        ("x1,y\n1,a\n2,a\n", "y", "single class"),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path, text, target, message):
    with pytest.raises(DataError, match=message):
        load_csv(write(tmp_path, text), target)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "none.csv", "y")


def test_fewer_rows_than_classes_is_an_error(tmp_path):
    text = "f,y\n" + "".join(f"{i},{i}\n" for i in range(8))
    with pytest.raises(DataError, match="8 rows for 8 classes"):
        load_dataset(csv=str(write(tmp_path, text)), target="y")


def test_splits_are_stratified_seeded_and_normalised_on_train(tmp_path):
    path = write(tmp_path, "x1,x2,y\n" + rows(90))
    a = load_dataset(csv=str(path), target="y", seed=1)
    b = load_dataset(csv=str(path), target="y", seed=1)
    assert torch_equal(a.x_test, b.x_test)
    assert a.sizes() == {"train": 58, "val": 14, "test": 18}
    assert np.bincount(a.y_test.numpy()).tolist() == [6, 6, 6]
    assert abs(a.x_train.mean().item()) < 1e-5 and abs(a.x_train.std(0).mean().item() - 1) < 0.02


def torch_equal(a, b):
    return bool((a == b).all())
