"""`archsearch runs DIR`: one aligned line per run or training found one or two levels down,
with the right status (finished, interrupted, final failed, running: a lock held by another
process), read without writing a byte; one line for an empty folder, exit 2 for a missing one."""

import json
import re
import shutil
import subprocess
import sys

import pytest

import archsearch
from archsearch.cli import main
from tests.test_api import TINY

HOLD = """
import sqlite3, sys, time
from pathlib import Path
from archsearch.rundir import RunLock
lock = RunLock(Path(sys.argv[1]))
ledger = sqlite3.connect(Path(sys.argv[1]) / "ledger.sqlite")  # open, as a search's is
ledger.execute("SELECT COUNT(*) FROM trials").fetchone()
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A finished run, copies of it made interrupted, final-failed and running-to-be, a
    finished training, a run too deep to list and a folder that is no run."""
    root = tmp_path_factory.mktemp("runs")
    finished = archsearch.search(**TINY, out=root / "finished", quiet=True).path
    for name in ("group/interrupted", "failed", "running", "a/b/too-deep"):
        shutil.copytree(finished, root / name)
    (root / "group/interrupted/summary.json").unlink()
    summary = json.loads((finished / "summary.json").read_text())
    summary["best"]["final"] = {"status": "failed", "reason": "loss became nan", "lr": 1e-4}
    (root / "failed/summary.json").write_text(json.dumps(summary))
    (root / "failed/best_model.pt").unlink()
    training = root / "train-iris"
    training.mkdir()
    (training / "config.json").write_text(json.dumps({"data": {"dataset": "iris"}}))
    (training / "arch.json").write_text(json.dumps({"space": "mlp", "values": {}}))
    (training / "results.json").write_text(json.dumps({"val_accuracy": 0.9, "test_accuracy": 1}))
    (root / "notes").mkdir()
    (root / "notes/readme.txt").write_text("not a run")
    return root


def listing(args, capsys):
    """(exit code, {name: row as {column: cell}}) of `archsearch runs ARGS`."""
    code = main(["runs", *map(str, args)])
    lines = capsys.readouterr().out.splitlines()
    header, *rows = [re.split(r"\s{2,}", line.strip()) for line in lines]
    return code, {row[0]: dict(zip(header, row)) for row in rows}


def test_every_run_is_listed_with_its_status(root, capsys):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root / "running")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        code, rows = listing([root], capsys)
    finally:
        holder.kill()
        holder.wait()
    assert code == 0
    assert (root / "running/ledger.sqlite-wal").exists()  # read through SQLite's locks
    names = ["a/b/too-deep", "failed", "finished", "group/interrupted", "running", "train-iris"]
    assert sorted(rows) == sorted(set(names) - {"a/b/too-deep"})
    status = {name: row["STATUS"] for name, row in rows.items()}
    assert status == {
        "failed": "final failed",
        "finished": "finished",
        "group/interrupted": "interrupted",
        "running": "running",
        "train-iris": "finished",
    }
    summary = json.loads((root / "finished/summary.json").read_text())
    best, baseline = summary["best"], summary["baseline"]
    finished = rows["finished"]
    assert finished == {
        "NAME": "finished",
        "KIND": "search",
        "DATASET": "iris",
        "SPACE": "mlp",
        "STRATEGY": "random",
        "TRIALS": "2/2",
        "SCORE": "accuracy",
        "VAL": f"{best['val_accuracy']:.4f}",
        "TEST": f"{best['test_accuracy']:.4f}",
        "SKLEARN": f"{baseline['test_accuracy']:.4f}",
        "STATUS": "finished",
    }
    assert rows["running"]["TRIALS"] == "2/2" and rows["running"]["VAL"] == finished["VAL"]
    assert rows["group/interrupted"]["VAL"] == finished["VAL"]  # from the ledger
    assert rows["group/interrupted"]["TEST"] == "-"  # not retrained yet
    assert rows["group/interrupted"]["SKLEARN"] == rows["train-iris"]["SKLEARN"] == "-"
    train = rows["train-iris"]
    assert (train["KIND"], train["STRATEGY"], train["TRIALS"], train["TEST"]) == (
        "train",
        "-",
        "-",
        "1.0000",
    )


def test_the_columns_are_aligned_and_nothing_is_written(root, capsys):
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert main(["runs", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    starts = {line.index(" search ") for line in lines if " search " in line}
    assert len(starts) == 1 and lines[0].index("KIND") == starts.pop() + 1
    after = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert after == before  # no SQLite side file, no lock file, nothing touched


def test_a_run_folder_itself_is_listed(root, capsys):
    code, rows = listing([root / "finished"], capsys)
    assert code == 0 and list(rows) == ["finished"]


def test_an_empty_folder_says_so_and_a_missing_one_is_an_error(tmp_path, capsys):
    assert main(["runs", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"no runs under {tmp_path}")
    assert main(["runs", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"archsearch: error: {tmp_path / 'missing'} does not exist; give the folder "
        "that holds your runs\n"
    )
