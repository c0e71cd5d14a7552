"""`archsearch report`: one HTML file that holds every trial of the ledger, the summary and the
plots, works for every kind of run (classification, regression without final training, an
interrupted run, a run where every trial failed, several runs side by side), asks the network
for nothing, escapes what comes from the data, and refuses a path that is not a run in one
line."""

import json
import shutil
import sqlite3
from html.parser import HTMLParser

import numpy as np
import pytest

from archsearch.cli import main
from archsearch.ledger import Ledger

TINY = ["--space", "mlp", "--trials", "4", "--epochs", "2", "--seed", "0"]


class Page(HTMLParser):
    """What the tests read of a report: the trial rows, every src/href, the comparison's
    header cells, the images' alt texts, the text."""

    def __init__(self, text):
        super().__init__()
        self.rows, self.links, self.compared, self.alts, self.words = [], [], [], [], []
        self._in_compare = False
        self.feed(text)
        self.text = " ".join(self.words)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-trial" in attrs:
            self.rows.append(int(attrs["data-trial"]))
        self.links += [attrs[k] for k in ("src", "href") if k in attrs]
        if tag == "img":
            self.alts.append(attrs.get("alt", ""))
        if tag == "table":
            self._in_compare = "compare" in (attrs.get("class") or "")
        if tag == "th" and self._in_compare:
            self.compared.append(attrs)

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_compare = False

    def handle_data(self, data):
        self.words.append(data)


def search(out, *args):
    assert main(["search", *TINY, *map(str, args), "--out", str(out)]) == 0
    return out


def report(capsys, *args):
    """Run `archsearch report ARGS`; the page it wrote, parsed, and its path."""
    assert main(["report", *map(str, args)]) == 0, capsys.readouterr().err
    written = capsys.readouterr().out.split("wrote ")[1].split(" (")[0]
    with open(written, encoding="utf-8") as f:
        text = f.read()
    return Page(text), text


def numbers(run):
    with Ledger.open(run / "ledger.sqlite", readonly=True) as ledger:
        return [t.number for t in ledger]


@pytest.fixture(scope="module")
def classification(tmp_path_factory):
    """A finished REINFORCE search of iris with its final training."""
    out = tmp_path_factory.mktemp("runs") / "iris-run"
    return search(out, "--dataset", "iris", "--strategy", "reinforce", "--final-epochs", "2")


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    """A random search of a small numeric table (regression) without final training."""
    folder = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3))
    y = 2 * x[:, 0] - x[:, 1] + 0.1 * rng.normal(size=90)
    lines = ["a,b,c,y"] + [",".join(f"{v:.5f}" for v in [*row, t]) for row, t in zip(x, y)]
    (folder / "table.csv").write_text("\n".join(lines) + "\n")
    data = ["--data", folder / "table.csv", "--target", "y"]
    return search(folder / "table-run", *data, "--strategy", "random", "--final-epochs", "0")


def test_a_report_holds_every_trial_and_the_summary(classification, capsys):
    page, text = report(capsys, classification)
    assert (classification / "report.html").is_file()  # the default place for one run
    assert page.rows == numbers(classification) == [0, 1, 2, 3, 4]  # 4: the reference trial
    summary = json.loads((classification / "summary.json").read_text())
    best = summary["best"]
    for fact in ("iris", "reinforce", "classification", "MLPClassifier", "finished"):
        assert fact in page.text
    assert f"Trial #{best['trial']}: test accuracy {best['test_accuracy']:.4f}" in page.text
    tied = best["test_accuracy"] == summary["baseline"]["test_accuracy"]
    verdict = "beaten" if summary["beats_baseline"] else "tied" if tied else "not beaten"
    assert f"our network {verdict}" in page.text
    assert "Test accuracy lost when a column is shuffled" in page.text
    for row in best["importance"]:
        assert f"{row['column']} {row['drop']:.3f} ± {row['std']:.3f}" in page.text
    for alt in ("reward per trial", "entropy per trial", "final training"):
        assert alt in page.alts
    assert f"architecture of trial {best['trial']}" in page.alts
    assert any(alt.startswith("Learning curves of the") for alt in page.alts)
    assert "test confusion matrix" in page.text.lower()
    # the mistakes, counted as the confusion matrix counts them
    matrix = np.array(best["confusion_matrix"])
    wrong, total = int(matrix.sum() - np.trace(matrix)), int(matrix.sum())
    assert f"{wrong} of {total} test examples misclassified" in page.text
    assert not (classification / "predictions.png").exists()  # regression only


def test_a_report_asks_the_network_for_nothing(classification, capsys):
    page, text = report(capsys, classification, "--out", classification / "offline.html")
    assert page.links and all(link.startswith(("data:", "#")) for link in page.links)
    assert "<link" not in text and "<script src" not in text and "url(" not in text


def test_a_regression_run_without_final_training(regression, capsys):
    page, _ = report(capsys, regression)
    assert page.rows == numbers(regression)
    assert "regression" in page.text and "MLPRegressor" in page.text
    assert "validation R²" in page.text and "not retrained" in page.text
    assert "This strategy reports no entropy." in page.text
    assert "Test predictions" not in page.text  # nothing was retrained and tested


def test_a_retrained_regression_run_draws_its_test_predictions(tmp_path, capsys):
    run = search(tmp_path / "diabetes", "--dataset", "diabetes", "--strategy", "random",
                 "--final-epochs", "2", "--final-models", "1")  # fmt: skip
    page, _ = report(capsys, run)
    assert "Test predictions" in page.text and "test predictions" in page.alts
    assert (run / "test_predictions.csv").is_file() and (run / "predictions.png").is_file()


def test_an_interrupted_run_without_summary_shows_its_trials(classification, tmp_path, capsys):
    run = tmp_path / "stopped"
    shutil.copytree(classification, run)
    (run / "summary.json").unlink()
    page, _ = report(capsys, run)
    assert "interrupted" in page.text and "--resume" in page.text
    assert page.rows == numbers(run)


def test_a_run_where_every_trial_failed_escapes_the_reasons(classification, tmp_path, capsys):
    run = tmp_path / "failed"
    shutil.copytree(classification, run)
    reason = "<script>alert('x')</script> & <b>out of memory</b>"
    db = sqlite3.connect(run / "ledger.sqlite")
    with db:
        db.execute("UPDATE trials SET status = 'failed', reason = ?, reward = -1", (reason,))
    db.close()
    summary = json.loads((run / "summary.json").read_text())
    summary.update(best=None, failed=summary["trials"])
    summary.pop("beats_baseline", None)
    (run / "summary.json").write_text(json.dumps(summary))
    page, text = report(capsys, run)
    assert "No trial succeeded" in page.text and page.rows == numbers(run)
    assert "<script>alert" not in text and "<b>out of memory" not in text
    assert page.text.count(reason) == len(page.rows)  # each reason, read back whole


def test_two_runs_side_by_side(classification, regression, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page, _ = report(capsys, classification, regression)
    assert (tmp_path / "report.html").is_file()  # the default place for several runs
    runs = [c for c in page.compared if c.get("scope") == "col"]
    assert len(runs) == 2
    assert "iris-run" in page.text and "table-run" in page.text
    assert page.rows == numbers(classification) + numbers(regression)
    assert "best reward so far of each run" in page.alts


@pytest.mark.parametrize("kind", ["missing", "empty folder", "a file", "damaged ledger"])
def test_a_path_that_is_not_a_run_is_one_line(classification, tmp_path, capsys, kind):
    path = tmp_path / "x"
    if kind == "empty folder":
        path.mkdir()
    elif kind == "a file":
        path.write_text("not a run")
    elif kind == "damaged ledger":
        shutil.copytree(classification, path)
        (path / "ledger.sqlite").write_bytes(b"garbage" * 100)
        (path / "report.html").unlink(missing_ok=True)
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archsearch: error: ") and err.count("\n") == 1, err
    assert not (path / "report.html").exists()


def test_an_out_in_a_missing_folder_is_one_line(classification, tmp_path, capsys):
    assert main(["report", str(classification), "--out", str(tmp_path / "no" / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archsearch: error: ") and err.count("\n") == 1, err
