"""The report in a real browser: headless chromium opens the file, runs its script and dumps
the DOM, which must hold every trial with the counts filled in, and rows sorted by the URL
fragment (`#sort=KEY-asc|desc`, the same function a header click calls).

CI installs Debian's chromium (.ci/run), so there this test must run: without chromium it is
skipped only when the CI environment variable is not set, and fails when it is."""

import os
import re
import shutil
import subprocess

import pytest

from archsearch.cli import main
from archsearch.ledger import Ledger


def chromium():
    """The browser's path; skip (outside CI) or fail (in CI) without one."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must run the browser test")
        pytest.skip("chromium is not installed (CI installs it; apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The report of a finished random search of iris (6 trials, no final training) and its
    trials' (number, reward); first of all, a browser to open it with."""
    chromium()
    run = tmp_path_factory.mktemp("browser") / "run"
    search = ["--dataset", "iris", "--space", "mlp", "--strategy", "random", "--trials", "6"]
    budget = ["--epochs", "2", "--final-epochs", "0", "--seed", "3", "--out", str(run)]
    assert main(["search", *search, *budget]) == 0
    assert main(["report", str(run)]) == 0
    with Ledger.open(run / "ledger.sqlite", readonly=True) as ledger:
        trials = [(t.number, t.result.reward) for t in ledger]
    return run / "report.html", trials


def dom(path, fragment, tmp_path):
    """The DOM after the page's script ran, as chromium dumps it."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=2000",
        "--dump-dom",
        path.as_uri() + fragment,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def rows(text):
    return [int(n) for n in re.findall(r'<tr data-trial="(\d+)"', text)]


def test_the_script_runs_and_the_table_holds_every_trial(page, tmp_path):
    path, trials = page
    text = dom(path, "", tmp_path)
    assert 'data-script="ran"' in text and 'data-ready="true"' in text
    assert rows(text) == [n for n, _ in trials]
    count = len(trials)
    assert f'<span class="shown">{count}</span>' in text
    assert f'<span class="total">{count}</span>' in text


@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_a_sort_in_the_url_orders_the_rows(page, tmp_path, direction):
    path, trials = page
    text = dom(path, f"#sort=reward-{direction}", tmp_path)
    sign = -1 if direction == "desc" else 1
    expected = [n for n, r in sorted(trials, key=lambda t: (sign * t[1], t[0]))]
    assert rows(text) == expected and expected != [n for n, _ in trials]
    assert re.search(rf'data-key="reward"[^>]*aria-sort="{direction}ending"', text)
    assert f'data-sort="reward-{direction}"' in text
