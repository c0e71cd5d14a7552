"""CSV tables: reading, train-only preprocessing, JSON round trips and one-line errors."""

import gzip
import json
import sqlite3
import zipfile

import numpy as np
import pytest

from archsearch.data.table import (
    MISSING,
    DataError,
    RawTable,
    TablePreprocessor,
    detect_task,
    drop_missing_targets,
    encode_classes,
    numeric_target,
    read_table,
    table_from_arrays,
)
from archsearch.errors import UsageError


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_text(header, rows):
    lines = [",".join(header)] if header else []
    lines += [",".join(str(cell) for cell in row) for row in rows]
    return "\n".join(lines) + "\n"


def raw(columns, target=None):
    """A RawTable from {name: list of cells}; None or "" cells are missing."""
    names = list(columns)
    n = len(next(iter(columns.values())))
    cells = []
    for name in names:
        array = np.empty(n, dtype=object)
        array[:] = [None if cell in (None, "") else str(cell) for cell in columns[name]]
        cells.append(array)
    y = np.empty(n, dtype=object)
    y[:] = target if target is not None else ["a", "b"] * (n // 2) + ["a"] * (n % 2)
    return RawTable("t.csv", names, cells, "y", y)


def error_of(call, *args, **kwargs):
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and isinstance(info.value, UsageError)
    return message


# Reading


def test_header_and_target_by_name(tmp_path):
    path = write(tmp_path, csv_text(["age", "colour", "label"], [[30, "red", "yes"]] * 3))
    table = read_table(path, "label")
    assert table.names == ["age", "colour"] and table.target_name == "label"
    assert len(table) == 3 and table.columns[1].tolist() == ["red"] * 3
    assert table.target.dtype == object and table.source == str(path)


def test_no_header_target_by_index(tmp_path):
    path = write(tmp_path, csv_text(None, [[i, i * 2.5, i % 2] for i in range(5)]))
    table = read_table(path, "2")
    assert table.names == ["column 0", "column 1"] and table.target_name == "column 2"
    assert len(table) == 5 and table.target.tolist() == ["0", "1", "0", "1", "0"]


def test_text_only_file_has_a_header_when_the_target_names_a_first_row_cell(tmp_path):
    path = write(tmp_path, csv_text(["colour", "label"], [["red", "a"], ["blue", "b"]]))
    assert read_table(path, "label").names == ["colour"]
    assert len(read_table(path, "1")) == 3  # by index: no header, the first row is data


def test_bom_blank_lines_whitespace_and_missing_markers(tmp_path):
    path = tmp_path / "bom.csv"
    text = "x, y ,t\n\n1, NA ,a\n\n2,?,b\n , , \n3, z ,\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    table = read_table(path, "t")
    assert table.names == ["x", "y"]
    assert table.columns[1].tolist() == [None, None, "z"]
    assert table.target.tolist() == ["a", "b", None]  # a missing target is kept here
    assert {"", "na", "n/a", "nan", "null", "none", "?"} <= MISSING


def test_semicolon_separated_file(tmp_path):
    path = write(tmp_path, "a;b;quality\n1.5;2;5\n2.5;3;6\n")
    table = read_table(path, "quality")
    assert table.names == ["a", "b"] and table.columns[0].tolist() == ["1.5", "2.5"]


def test_decimal_commas_read_as_numbers_in_semicolon_and_tab_files(tmp_path):
    rows = ["a;b;c;price", "0,5;1;x,y;10,25", "-1,25;2;z;12", "3;,5;x,y;NA", "2;1,0;z;-0,5"]
    table = read_table(write(tmp_path, "\n".join(rows) + "\n"), "price")
    assert table.columns[0].tolist() == ["0.5", "-1.25", "3", "2"]
    assert table.columns[1].tolist() == ["1", "2", ".5", "1.0"]
    assert table.columns[2].tolist() == ["x,y", "z", "x,y", "z"]  # text keeps its commas
    assert table.target.tolist() == ["10.25", "12", None, "-0.5"]  # the target too
    assert table.notes == [
        "column 'a': read as numbers ('0,5' as 0.5)",
        "column 'b': read as numbers (',5' as 0.5)",
        "column 'price': read as numbers ('10,25' as 10.25)",
    ]
    assert table.take(np.array([1])).notes == table.notes
    tabbed = read_table(write(tmp_path, "a\tt\n0,5\t1\n1.234,5 €\t2\n", "t.tsv"), "t")
    assert tabbed.columns[0].tolist() == ["0.5", "1234.5"]  # points group thousands there
    quoted = read_table(write(tmp_path, 'a,t\n"0,5",1\n"1,5",2\n'), "t")  # comma files: text
    assert quoted.columns[0].tolist() == ["0,5", "1,5"] and quoted.notes == []
    mixed = read_table(write(tmp_path, "a;t\n1,5;1\n2.5;2\n"), "t")  # not one notation
    assert mixed.columns[0].tolist() == ["1,5", "2.5"] and mixed.notes == []


def test_currency_percent_and_thousands_separators_read_as_numbers(tmp_path):
    text = 'price,rate,code,t\n"$5,774",12%,A1,1\n-$120.50,0.5 %,B2,2\n"1,234,567",3%,C3,3\n'
    table = read_table(write(tmp_path, text), "t")
    assert table.columns[0].tolist() == ["5774", "-120.50", "1234567"]
    assert table.columns[1].tolist() == ["12", "0.5", "3"]  # a percentage keeps its unit
    assert table.columns[2].tolist() == ["A1", "B2", "C3"]
    assert table.notes == [
        "column 'price': read as numbers ('$5,774' as 5774)",
        "column 'rate': read as numbers ('12%' as 12)",
    ]
    odd = read_table(write(tmp_path, 'a,t\n"1,23",1\n$5,2\n'), "t")  # "1,23" groups nothing
    assert odd.columns[0].tolist() == ["1,23", "$5"] and odd.notes == []
    target = read_table(write(tmp_path, 'rooms,price\n2,"$5,774.50"\n3,"$6,100"\n'), "price")
    assert detect_task(target)[0] == "regression"


def test_drop_missing_targets_counts(tmp_path):
    path = write(tmp_path, csv_text(["x", "t"], [[1, "a"], [2, ""], [3, "b"], [4, "n/a"]]))
    kept, rows = drop_missing_targets(read_table(path, "t"))
    assert rows.tolist() == [0, 2] and kept.target.tolist() == ["a", "b"]
    assert kept.columns[0].tolist() == ["1", "3"]


# Reading errors: one line, naming the file and what to fix


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"name,t\ncaf\xe9,1\nx,2\n")
    message = error_of(read_table, path, "t")
    assert str(path) in message and "UTF-8" in message and "line 2" in message


def test_ragged_rows(tmp_path):
    path = write(tmp_path, "a,b,t\n1,2,3\n1,2\n")
    message = error_of(read_table, path, "t")
    assert "line 3 has 2 fields" in message and "has 3" in message


def test_no_such_column_lists_the_header(tmp_path):
    path = write(tmp_path, csv_text(["a", "b"], [[1, 2], [3, 4]]))
    message = error_of(read_table, path, "price")
    assert "'price'" in message and "a, b" in message


def test_bad_index_without_header(tmp_path):
    path = write(tmp_path, csv_text(None, [[1, 2], [3, 4]]))
    assert "0-based column index" in error_of(read_table, path, "label")
    assert "out of range" in error_of(read_table, path, "5")


def test_too_large_for_memory(tmp_path):
    path = write(tmp_path, csv_text(["a", "t"], [[i, i % 2] for i in range(50)]))
    message = error_of(read_table, path, "t", max_bytes=1000)
    assert "too large" in message and "sample" in message and "drop columns" in message
    assert len(read_table(path, "t", max_bytes=10**6)) == 50


def test_too_few_data_rows_and_missing_files(tmp_path):
    assert "at least 2" in error_of(read_table, write(tmp_path, "a,t\n1,2\n"), "t")
    # rows to predict (no target): one is enough, with or without a header
    assert read_table(write(tmp_path, "a,t\n1,2\n"), None).names == ["a", "t"]
    assert len(read_table(write(tmp_path, "1,2\n"), None)) == 1
    assert "0 data row(s) below the header" in error_of(read_table, write(tmp_path, "a,t\n"), None)
    assert "no such file" in error_of(read_table, tmp_path / "nope.csv", "t")
    assert "directory" in error_of(read_table, tmp_path, "t")


def other_formats(tmp_path):
    """A small table written, for real, in the formats people keep tables in instead of CSV."""
    text = "a,y\n1,2\n3,4\n"
    with zipfile.ZipFile(tmp_path / "book.xlsx", "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "t16.csv").write_bytes(text.encode("utf-16"))
    (tmp_path / "t.json").write_text(json.dumps([{"a": 1, "y": 2}, {"a": 3, "y": 4}]))
    with sqlite3.connect(tmp_path / "t.db") as db:
        db.execute("create table t (a, y)")
    np.save(tmp_path / "t.npy", np.ones((2, 2)))
    (tmp_path / "t.bin").write_bytes(bytes(range(256)))
    return {
        "book.xlsx": "is a zip archive (an Excel .xlsx or OpenDocument workbook?), not CSV text; "
        "save the sheet as CSV (in Excel: 'CSV UTF-8')",
        "t.csv.gz": "is gzip-compressed, not CSV text; decompress it (gunzip FILE)",
        "t16.csv": "is UTF-16 text (Excel's 'Unicode Text'), not CSV text; save the sheet as CSV",
        "t.json": "is JSON, not CSV text; write the table as a CSV file (UTF-8)",
        "t.db": "is an SQLite database, not CSV text",
        "t.npy": "is a NumPy array file, not CSV text",
        "t.bin": "is a binary file, not CSV text",
    }


def test_other_formats_are_named_with_the_way_to_csv(tmp_path):
    for name, message in other_formats(tmp_path).items():
        assert f"{name}: {message}" in error_of(read_table, tmp_path / name, "y")
        assert f"{name}: {message}" in error_of(read_table, tmp_path / name, None)  # predict
    (tmp_path / "t.jsonl").write_text('{"a": 1, "y": 2}\n{"a": 3, "y": 4}\n')
    assert "t.jsonl: is JSON" in error_of(read_table, tmp_path / "t.jsonl", "y")
    bracketed = write(tmp_path, "[time],y\n1,2\n3,4\n", "bracketed.csv")  # CSV, not JSON
    assert read_table(bracketed, "y").names == ["[time]"]


def test_duplicate_column_names(tmp_path):
    path = write(tmp_path, csv_text(["a", "a", "t"], [[1, 2, 3], [4, 5, 6]]))
    assert "both named 'a'" in error_of(read_table, path, "t")


# Task detection and targets


@pytest.mark.parametrize(
    ("cells", "task"),
    [
        ([str(i % 3) for i in range(30)], "classification"),
        ([f"{i * 0.37:.2f}" for i in range(30)], "regression"),
        ([str(i) for i in range(50)], "regression"),
        (["cat", "dog", "cat", "7"], "classification"),
    ],
)
def test_detect_task(cells, task):
    table = raw({"x": ["1"] * len(cells)}, target=cells)
    found, why = detect_task(table)
    assert found == task and "'y'" in why and "rule:" in why and "\n" not in why


def test_encode_classes_sorts_numbers_numerically():
    y, classes = encode_classes(np.array(["10", "2", "1", "2"], dtype=object))
    assert classes == ["1", "2", "10"] and y.tolist() == [2, 1, 0, 1] and y.dtype == np.int64
    _, names = encode_classes(np.array(["b", "a", "10", "9"], dtype=object))
    assert names == ["10", "9", "a", "b"]
    assert "'a'" in error_of(encode_classes, np.array(["a", "a"], dtype=object), "f.csv")


def test_numeric_target_names_the_bad_cell():
    assert numeric_target(np.array(["1.5", "2"], dtype=object)).tolist() == [1.5, 2.0]
    message = error_of(numeric_target, np.array(["1", "x"], dtype=object), "f.csv", "price")
    assert "'price'" in message and "row 2" in message and "'x'" in message


# Preprocessing


def test_categories_learned_from_train_rows_only():
    table = raw({"colour": ["red", "red", "blue", "", "green", "purple"]})
    pre = TablePreprocessor.fit(table.take(np.arange(4)))
    assert pre.feature_names == ["colour=red", "colour=<missing>", "colour=blue"]
    x = pre.transform(table)
    assert x.dtype == np.float32 and x.flags.c_contiguous
    assert x[:4].tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert x[4:].tolist() == [[0, 0, 0], [0, 0, 0]]  # unseen in train: all zeros


def test_missing_cell_without_missing_category_gives_zeros():
    pre = TablePreprocessor.fit(raw({"c": ["a", "b", "a"]}))
    assert pre.transform(raw({"c": ["", "b"]})).tolist() == [[0, 0], [0, 1]]


def test_numeric_imputation_uses_train_median_and_indicator():
    # Train median of x is 2; the median of all rows would be 51.5.
    table = raw({"x": ["1", "2", "", "3", "100", "200", "300"], "z": list("1234567")})
    pre = TablePreprocessor.fit(table.take(np.arange(4)))
    spec = {s.name: s for s in pre.columns}
    assert spec["x"].median == 2.0 and spec["x"].indicator and not spec["z"].indicator
    assert pre.feature_names == ["x", "x (missing)", "z"]
    x = pre.transform(raw({"x": ["", "abc", "2"], "z": ["", "2.5", "bad"]}))
    assert x[:, 1].tolist() == [1, 1, 0]  # missing and non-numeric cells are flagged
    imputed = (2.0 - spec["x"].mean) / spec["x"].std
    assert np.allclose(x[:, 0], imputed)
    assert np.allclose(x[[0, 2], 2], (spec["z"].median - spec["z"].mean) / spec["z"].std)


def test_standardisation_uses_train_statistics():
    rng = np.random.default_rng(0)
    a, b = rng.normal(5, 3, 40), rng.normal(-2, 0.1, 40)
    table = raw({"a": [repr(v) for v in a.tolist()], "b": [repr(v) for v in b.tolist()]})
    train = table.take(np.arange(30))
    x = TablePreprocessor.fit(train).transform(train)
    assert np.allclose(x.mean(axis=0), 0, atol=1e-5) and np.allclose(x.std(axis=0), 1, atol=1e-5)
    rest = TablePreprocessor.fit(train).transform(table.take(np.arange(30, 40)))
    assert np.allclose(rest[:, 0], (a[30:] - a[:30].mean()) / a[:30].std(), atol=1e-5)


def test_useless_columns_are_dropped_with_notes():
    n = 60
    rng = np.random.default_rng(1)
    columns = {
        "const": ["k"] * n,
        "sometimes": ["1"] * (n - 1) + [""],  # constant but sometimes missing: kept
        "id": [f"user{i}" for i in range(n)],
        "row": [str(i) for i in rng.permutation(n)],
        "empty": [""] * n,
        "zip": [str(i % 55) + "z" for i in range(n)],
        "useful": [str(v) for v in rng.normal(size=n)],
    }
    pre = TablePreprocessor.fit(raw(columns))
    why = dict(pre.dropped)
    assert why == {
        "const": "constant",
        "id": "an identifier (a distinct value in every row)",
        "row": "an identifier (distinct whole numbers, like row numbers)",
        "empty": "all missing",
        "zip": "too many categories (55 distinct values in 60 rows)",
    }
    assert [s.name for s in pre.columns] == ["sometimes", "useful"]
    assert "dropped column 'id': an identifier (a distinct value in every row)" in pre.notes()
    assert pre.transform(raw(columns)).shape == (n, 3)


def test_row_numbers_of_a_random_train_split_are_identifiers():
    table = raw({"n": [str(i + 1) for i in range(100)], "v": [str(i % 7) for i in range(100)]})
    train = table.take(np.random.default_rng(2).permutation(100)[:60])
    assert dict(TablePreprocessor.fit(train).dropped).keys() == {"n"}


def test_all_columns_dropped_is_an_error():
    assert "no usable feature columns" in error_of(TablePreprocessor.fit, raw({"c": ["k"] * 4}))


def test_json_round_trip():
    table = raw({"x": ["1", "", "3.5", "4"], "c": ["a", "b", "", "a"], "k": ["z"] * 4})
    pre = TablePreprocessor.fit(table)
    data = json.loads(json.dumps(pre.to_json()))
    back = TablePreprocessor.from_json(data)
    assert back == pre and back.dropped == [("k", "constant")]
    assert np.array_equal(back.transform(table), pre.transform(table))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("version"),
        lambda d: d.update(columns=[]),
        lambda d: d["columns"][0].update(std="1"),
        lambda d: d["columns"][0].update(mean=float("nan")),
        lambda d: d["columns"][0].update(kind="time"),
        lambda d: d["columns"][0].pop("median"),
        lambda d: d["columns"][1].update(categories=[]),
        lambda d: d.update(dropped=[["k"]]),
    ],
)
def test_from_json_refuses_malformed_data(change):
    data = TablePreprocessor.fit(raw({"x": ["1", "2", "3"], "c": ["a", "b", "a"]})).to_json()
    change(data)
    assert "malformed" in error_of(TablePreprocessor.from_json, data)


def test_transform_finds_columns_by_name():
    pre = TablePreprocessor.fit(raw({"x": ["1", "2", "3"], "c": ["a", "b", "a"]}))
    swapped = raw({"c": ["b", "a"], "x": ["3", "1"]})
    straight = raw({"x": ["3", "1"], "c": ["b", "a"]})
    assert np.array_equal(pre.transform(swapped), pre.transform(straight))
    message = error_of(pre.transform, raw({"c": ["a"]}))
    assert "'x'" in message and "t.csv" in message


def test_transform_refuses_outputs_too_large_for_memory():
    table = raw({"x": [str(i % 5) for i in range(100)]})
    pre = TablePreprocessor.fit(table)
    assert "high-cardinality" in error_of(pre.transform, table, max_bytes=100)


def test_csv_to_model_inputs(tmp_path):
    rows = [
        [i % 4 * 1.5, ["red", "blue"][i % 2], f"id{i}", "yes" if i % 3 else "no"] for i in range(30)
    ]
    path = write(tmp_path, csv_text(["size", "colour", "key", "buy"], rows))
    table, _ = drop_missing_targets(read_table(path, "buy"))
    assert detect_task(table)[0] == "classification"
    y, classes = encode_classes(table.target, table.source)
    pre = TablePreprocessor.fit(table.take(np.arange(25)))
    assert classes == ["no", "yes"] and dict(pre.dropped).keys() == {"key"}
    assert pre.transform(table).shape == (30, 3) and y.shape == (30,)


def test_table_from_arrays_iris():
    from sklearn.datasets import load_iris

    iris = load_iris()
    table = table_from_arrays(iris.data, iris.target, iris.feature_names)
    assert float(table.columns[0][0]) == iris.data[0, 0]  # numbers kept exactly
    assert encode_classes(table.target)[1] == ["0", "1", "2"]
    x = TablePreprocessor.fit(table).transform(table)
    assert x.shape == (150, 4) and np.allclose(x.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(x.std(axis=0), 1, atol=1e-5)
    unlabelled = table_from_arrays(np.array([[1.0, np.nan]]), None, ["a", "b"])
    assert unlabelled.target.tolist() == [None] and unlabelled.columns[1].tolist() == [None]


def lost_decimal_points(rows=200, seed=0):
    """Two numeric columns near 1 and near 10 where a few cells lost their decimal point
    (values near 1000 and near 1e14), as in a real public CSV, and a clean column."""
    rng = np.random.default_rng(seed)
    near_one = rng.normal(1.0, 0.1, rows)
    near_ten = rng.normal(10.0, 1.0, rows)
    near_one[:3] *= 1000
    near_ten[5] = 1.3e14
    clean = rng.normal(0.0, 1.0, rows)
    return raw({"a": list(near_one), "b": list(near_ten), "c": list(clean)})


def test_auto_scaling_is_robust_only_for_columns_with_extreme_values_and_warns_per_column():
    table = lost_decimal_points()
    pre = TablePreprocessor.fit(table)
    scaled = pre.transform(table)
    assert len(pre.warnings) == 2
    assert "'a' has 3 extreme value(s)" in pre.warnings[0] and "'b'" in pre.warnings[1]
    assert all("scaled robustly and clipped" in w for w in pre.warnings)
    # the ordinary rows keep their spread; the broken ones are clipped, not dominant
    for column in (0, 1):
        assert np.abs(scaled[:, column]).max() <= 5.0
        assert scaled[10:, column].std() > 0.5
    clean = TablePreprocessor.fit(table, "standard").transform(table)
    assert scaled[:, 2] == pytest.approx(clean[:, 2])  # the clean column: standard either way
    assert clean[10:, 1].std() < 0.01  # standard scaling squashes the column to nothing


def test_standard_scaling_still_warns_and_robust_scaling_survives_json():
    table = lost_decimal_points()
    standard = TablePreprocessor.fit(table, "standard")
    assert all("try --scaling robust" in w for w in standard.warnings)
    robust = TablePreprocessor.fit(table, "robust")
    again = TablePreprocessor.from_json(json.loads(json.dumps(robust.to_json())))
    assert np.array_equal(again.transform(table), robust.transform(table))
    assert np.abs(robust.transform(table)).max() <= 5.0
    with pytest.raises(DataError, match="unknown scaling 'minmax'"):
        TablePreprocessor.fit(table, "minmax")


def test_a_bundled_table_gets_no_extreme_value_warning():
    from archsearch.data import load_dataset

    for name in ("iris", "wine", "breast_cancer", "digits", "diabetes"):
        assert load_dataset(name).warnings == [], name
    # a few hundred rows of digits: pixels that are mostly 0 are counts, not lost decimals
    assert load_dataset("digits", train_subset=400).warnings == []


# Dates


def test_iso_dates_become_a_day_number_and_cycles_with_train_statistics():
    days = ["2024-01-01", "2024-01-02", "2024-07-01 12:00", "", "2024-12-31T06:30:15"]
    table = raw({"when": days, "x": ["1", "2", "3", "4", "5"]})
    pre = TablePreprocessor.fit(table.take(np.array([0, 1, 2, 3])))  # the last is not trained
    (spec, _) = pre.columns
    assert spec.kind == "date" and spec.indicator and spec.width == 8
    assert pre.feature_names[:8] == [
        "when",
        *(f"when ({c} {f})" for c in ("year", "week", "day") for f in ("sin", "cos")),
        "when (missing)",
    ]
    day_numbers = np.array([19723.0, 19724.0, 19905.5])  # days since 1970-01-01
    assert spec.median == 19724.0 and spec.mean == pytest.approx((19723 + 19724 * 2 + 19905.5) / 4)
    x = pre.transform(table)
    assert x[:3, 0] == pytest.approx((day_numbers - spec.mean) / spec.std, rel=1e-5)
    assert x[:, 7].tolist() == [0, 0, 0, 1, 0]
    assert x[1, 1:3] == pytest.approx(x[3, 1:3])  # missing: imputed with the median day
    week = np.arctan2(x[:, 3], x[:, 4]) % (2 * np.pi) / (2 * np.pi) * 7
    assert np.round(week[[0, 1, 2, 4]]).tolist() == [0, 1, 0, 1]  # Monday 0, Tuesday 1
    assert x[2, 5:7] == pytest.approx([0.0, -1.0], abs=1e-6)  # noon: half way round the day
    assert x[4, 0] > x[2, 0]  # a later date than any trained one keeps its place on the trend
    again = TablePreprocessor.from_json(json.loads(json.dumps(pre.to_json())))
    assert np.array_equal(again.transform(table), x)


def test_a_date_per_row_is_a_trend_and_bad_dates_make_a_text_column():
    dates = [str(np.datetime64("2020-01-01") + i) for i in range(30)]
    pre = TablePreprocessor.fit(raw({"day": dates, "x": list(range(30))}))
    assert [spec.kind for spec in pre.columns] == ["date"]  # x: row numbers, dropped
    bad = TablePreprocessor.fit(raw({"day": ["2024-02-30", "2024-03-01", "2024-03-01"]}))
    assert bad.columns[0].kind == "categorical"  # no 30 February: not a date column
    years = TablePreprocessor.fit(raw({"year": ["2024", "2025", "2024"]}))
    assert years.columns[0].kind == "numeric"
    unseen = bad.transform(raw({"day": ["2024-03-01", "tomorrow"]}))
    assert unseen.tolist() == [[1.0, 0.0], [0.0, 0.0]]  # most frequent first; unseen: zeros
    placeholder = TablePreprocessor.fit(raw({"d": ["1900-01-01"] + dates[:20]}))
    assert "largest 1900-01-01" in placeholder.warnings[0]
    assert "a placeholder date?" in placeholder.warnings[0]
