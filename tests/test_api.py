"""The Python API: a search gives its best architecture, network, trials and summary; `load`
reopens a run, finished or not, as the same object; bad settings are the command line's
errors; the docstring examples run; `import archsearch` stays free of PyTorch."""

import csv
import doctest
import importlib
import io
import json
import shutil
import subprocess
import sys
import tempfile

import pytest
import torch
from sklearn.datasets import load_iris

import archsearch
from archsearch import api
from archsearch.cli import main
from archsearch.errors import UsageError

TINY = {"dataset": "iris", "space": "mlp", "strategy": "random", "trials": 2, "epochs": 1}
TINY |= {"final_epochs": 1, "final_models": 1, "final_rerank": 1, "seed": 0}


@pytest.fixture(scope="module")
def run_and_log(tmp_path_factory):
    log = io.StringIO()
    run = archsearch.search(**TINY, out=tmp_path_factory.mktemp("api") / "run", log=log)
    return run, log.getvalue()


def test_a_search_gives_its_best_network_and_trials(run_and_log):
    run, log = run_and_log
    summary = json.loads((run.path / "summary.json").read_text())
    assert run.status == "finished" and run.summary == summary
    assert len(run.trials) == 2 and [t.number for t in run.trials] == [0, 1]
    best, entry = run.best, summary["best"]
    assert (best.trial, best.arch.to_json(), best.score) == (
        entry["trial"],
        entry["arch"],
        "accuracy",
    )
    assert (best.val, best.test, best.entry) == (
        entry["val_accuracy"],
        entry["test_accuracy"],
        entry,
    )
    assert run.trials[best.trial].arch == best.arch
    with torch.no_grad():
        assert run.model(torch.zeros(7, 4)).shape == (7, 3)
    assert "best trial" in log and "trial #1" in log  # the log went to `log=`
    assert "finished, best trial" in repr(run)


def test_predict_answers_as_the_run_did_on_its_test_rows(run_and_log, tmp_path):
    run, _ = run_and_log
    with (run.path / "test_predictions.csv").open() as handle:
        tested = list(csv.DictReader(handle))
    iris = load_iris()
    rows = [iris.data[int(t["id"]) - 1] for t in tested]  # ids are rows of scikit-learn's copy
    path = tmp_path / "rows.csv"
    path.write_text(",".join(iris.feature_names) + "\n" + "".join(
        ",".join(map(str, row)) + "\n" for row in rows
    ))  # fmt: skip
    predicted = run.predict(path)
    assert [p["prediction"] for p in predicted] == [t["prediction"] for t in tested]
    assert set(predicted[0]) == {
        "id",
        "prediction",
        *(f"probability_{c}" for c in iris.target_names),
    }


def test_a_regression_runs_model_answers_in_the_targets_units(tmp_path):
    settings = {**TINY, "dataset": "diabetes", "final_epochs": 2}
    run = archsearch.search(**settings, out=tmp_path / "run", quiet=True)
    with torch.no_grad():
        answers = run.model(torch.zeros(5, 10))  # the mean of every standardised column
    assert answers.shape == (5, 1) and 50 < answers.mean().item() < 300  # targets: 25..346


def test_load_reopens_a_run_with_the_same_best(run_and_log):
    run, _ = run_and_log
    again = archsearch.load(str(run.path))
    assert again.best == run.best and again.summary == run.summary
    assert [t.arch for t in again.trials] == [t.arch for t in run.trials]


def test_an_interrupted_run_has_its_best_from_the_ledger(run_and_log, tmp_path):
    run, _ = run_and_log
    copy = tmp_path / "copy"
    shutil.copytree(run.path, copy)
    (copy / "summary.json").unlink()
    (copy / "best_model.pt").unlink()
    interrupted = archsearch.load(copy)
    assert interrupted.status == "interrupted" and interrupted.summary is None
    best = interrupted.best
    assert (best.arch, best.test) == (run.best.arch, None)
    assert best.val == pytest.approx(run.best.val, abs=1e-6)  # the summary rounds to 6 places
    with pytest.raises(UsageError, match="has no best_model.pt"):
        interrupted.model  # noqa: B018 - the property raises


def test_load_names_what_is_not_a_run(tmp_path):
    with pytest.raises(UsageError, match=f"^{tmp_path} is not an archsearch run"):
        archsearch.load(tmp_path)


@pytest.mark.parametrize(
    "settings, flags",
    [
        ({"trials": 0}, ["--trials", "0"]),
        ({"dataset": "irs"}, ["--dataset", "irs"]),
        ({"strategy": "nope"}, ["--strategy", "nope"]),
        ({"train": {"batch_size": 0}}, ["--batch-size", "0"]),
        ({"space_options": {"depth": 3}}, ["--space-option", "depth=3"]),
    ],
)
def test_bad_settings_raise_the_command_lines_message(settings, flags, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as error:
        archsearch.search(**{**TINY, **settings}, quiet=True)
    assert not list(tmp_path.glob("runs/*"))  # the default folder of a refused run is gone
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["search", "--out", "cli", *to_flags(TINY), *flags]) == 2
    assert err.getvalue() == f"archsearch: error: {error.value}\n"


def to_flags(settings):
    return [str(part) for k, v in settings.items() for part in (f"--{k.replace('_', '-')}", v)]


def test_unknown_keywords_and_clashing_log_options_are_refused():
    with pytest.raises(UsageError, match=r"unknown setting\(s\) \['trails'\] for archsearch"):
        archsearch.search(dataset="iris", trails=2)
    with pytest.raises(UsageError, match="not both"):
        archsearch.search(dataset="iris", log=io.StringIO(), quiet=True)


def test_the_default_folder_is_the_next_free_one(tmp_path):
    (tmp_path / "mlp-random-1").mkdir()
    assert api._fresh_directory(tmp_path / "mlp-random") == tmp_path / "mlp-random-2"
    assert (tmp_path / "mlp-random-2").is_dir()


@pytest.mark.parametrize("module", ["archsearch", "archsearch.api"])
def test_the_docstring_examples_run(module, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # their runs go to tmp_path
    results = doctest.testmod(importlib.import_module(module))
    assert results.attempted > 3 and results.failed == 0


def test_the_package_imports_without_torch_and_search_is_the_function():
    code = "import sys, archsearch; dir(archsearch); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == "False\n", done.stderr
    importlib.import_module("archsearch.loop")
    assert archsearch.search is api.search and set(archsearch.__all__) <= set(dir(archsearch))
    assert all(getattr(archsearch, name) is not None for name in archsearch.__all__)
