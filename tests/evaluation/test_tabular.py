"""`TabularEvaluator` answers NAS-Bench-201 accuracies from a CSV table."""

import csv
from pathlib import Path

import pytest

from archsearch.evaluation.tabular import tabular_evaluator
from archsearch.spaces.cell import NB201Space

HEADER = [
    "CIFAR10TestAccuracy200Epochs",
    "CIFAR100TestAccuracy200Epochs",
    "ImageNetTestAccuracy200Epochs",
    "ArchitectureString",
    "UniqueString",
]
ROWS = [
    [91.5, 70.25, 40.0, "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"],
    [10.0, 1.0, 0.8333, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
    [94.0, 73.5, 47.25, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
     "nor_conv_3x3~1|nor_conv_1x1~2|"],
]  # fmt: skip
SHARED = Path("/work/shared/data/nats_bench.csv")


def write_table(path, header=HEADER, rows=ROWS):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([*row, "unique"] for row in rows)
    return path


@pytest.mark.parametrize(
    "dataset, column", [("cifar10", 0), ("cifar100", 1), ("ImageNet16-120", 2)]
)
def test_rewards_are_the_tables_accuracies_as_fractions(tmp_path, dataset, column):
    evaluator = tabular_evaluator(write_table(tmp_path / "t.csv"), dataset)
    space = NB201Space()
    for row in ROWS:
        result = evaluator.evaluate(space.from_string(row[3]), seed=0)
        assert result.ok
        assert result.reward == pytest.approx(row[column] / 100)
        assert result.metrics["table_test_accuracy"] == result.reward
        assert result.metrics["params"] > 0
    assert evaluator.optimum() == pytest.approx(max(r[column] for r in ROWS) / 100)


def test_architecture_missing_from_the_table_is_a_failed_result(tmp_path):
    evaluator = tabular_evaluator(write_table(tmp_path / "t.csv"))
    arch = NB201Space().from_string("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    result = evaluator.evaluate(arch, seed=0)
    assert not result.ok and result.reward < 0.0  # below every real accuracy
    assert "not in the table" in result.reason


@pytest.mark.skipif(not SHARED.is_file(), reason="shared NATS-Bench CSV not on this machine")
def test_the_shared_table():
    space = NB201Space()
    with SHARED.open() as handle:
        rows = [row for _, row in zip(range(50), csv.DictReader(handle))]
    for dataset, column in [("cifar10", HEADER[0]), ("ImageNet16-120", HEADER[2])]:
        evaluator = tabular_evaluator(SHARED, dataset)
        assert len(evaluator.table) == 5**6
        for row in rows:
            arch = space.from_string(row["ArchitectureString"])
            assert evaluator.evaluate(arch, 0).reward == float(row[column]) / 100
    assert tabular_evaluator(SHARED, "cifar10").optimum() == pytest.approx(0.9437, abs=1e-4)


def one_line_error(path, dataset="cifar10"):
    with pytest.raises(ValueError) as info:
        tabular_evaluator(path, dataset)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_bad_tables_give_one_line_errors(tmp_path):
    assert "no such table file" in one_line_error(tmp_path / "missing.csv")
    wrong = write_table(tmp_path / "wrong.csv", header=["a", "b", "c", "d", "e"])
    assert "ArchitectureString" in one_line_error(wrong)
    text = write_table(tmp_path / "text.csv", rows=[["high", 1, 1, ROWS[0][3]]])
    assert "line 2" in one_line_error(text)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "no column" in one_line_error(empty)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "not a readable CSV" in one_line_error(binary)
    assert "unknown dataset" in one_line_error(write_table(tmp_path / "t.csv"), "mnist")


def test_a_non_csv_table_is_refused_without_being_opened(tmp_path):
    pickled = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    pickled.mkdir()
    (pickled / "meta.pickle.pbz2").write_bytes(b"not to be unpickled")
    message = one_line_error(pickled)
    assert "only CSV tables" in message and "pickle" in message
