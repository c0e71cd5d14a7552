"""What a run directory guarantees: one owner at a time, every finished trial in
ledger.sqlite, an interrupt that cannot corrupt the summary, every phase ending recorded, and
SIGKILLs anywhere followed by resumes giving the uninterrupted run's ledger."""

import json
import os
import random
import shutil
import signal
import subprocess
import time

import pytest

import archsearch.run
from archsearch.cli import main
from archsearch.evaluation.trainer import TrainingFailed
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.rundir import RunLock, write_text_atomic
from archsearch.spaces.mlp import MLPSpace
from archsearch.strategies import get_strategy
from tests.helpers import EncodingEvaluator, spawn, trials_of, wait_for

# no reference trial after the search (tests/test_rerank.py has it): these count the search's
QUICK = ["--dataset", "iris", "--space", "mlp", "--strategy", "random", "--final-models", "1",
         "--final-reference", "false"]  # fmt: skip


def running_now(out):
    with Ledger.open(out / "ledger.sqlite", readonly=True) as ledger:
        return len(ledger.running()) == 1


def test_a_second_process_on_a_run_is_refused_and_changes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    slow = ["--dataset", "digits", "--strategy", "random", "--trials", "50", "--epochs", "50",
            "--final-epochs", "1", "--final-models", "1"]  # fmt: skip
    first = spawn("search", *slow, "--out", out)  # minutes of work, killed below
    wait_for(lambda: len(trials_of(out)) >= 1 and running_now(out))
    assert main(["doctor", str(out)]) == 0  # its trial in flight is running, not dead
    assert "1 trial(s) are running now" in capsys.readouterr().out
    config = (out / "config.json").read_bytes()
    second = spawn("search", *QUICK, "--seed", "9", "--trials", "2", "--out", out)
    assert second.wait(timeout=120) == 2
    err = second.stderr.read().decode()
    assert "already holds a run" in err and len(err.strip().splitlines()) == 1
    resume = spawn("search", "--resume", out)  # a valid run, but its owner is alive
    assert resume.wait(timeout=120) == 2
    assert f"is in use by process {first.pid}" in resume.stderr.read().decode()
    assert (out / "config.json").read_bytes() == config
    first.send_signal(signal.SIGKILL)
    first.wait()
    resumed = spawn("search", "--resume", out, "--trials", str(len(trials_of(out)) + 1))
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()  # the lock died with it


def test_the_lock_is_exclusive_within_a_process_too(tmp_path):
    with RunLock(tmp_path), pytest.raises(Exception, match=f"in use by process {os.getpid()}"):
        RunLock(tmp_path)
    RunLock(tmp_path).release()  # free again


def test_ledger_sqlite_alone_holds_every_finished_trial_after_a_kill(tmp_path):
    out = tmp_path / "run"
    process = spawn("search", *QUICK, "--trials", "30", "--epochs", "20", "--out", out)
    wait_for(lambda: len(trials_of(out)) >= 4)
    process.send_signal(signal.SIGKILL)
    process.wait()
    whole = trials_of(out)  # read through SQLite, log and all
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("config.json", "ledger.sqlite"):  # the files the README lists, nothing else
        shutil.copy(out / name, copy / name)
    assert trials_of(copy) == whole and len(whole) >= 4
    resumed = spawn("search", "--resume", copy, "--trials", str(len(whole) + 1))
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    assert trials_of(copy)[: len(whole)] == whole and len(trials_of(copy)) == len(whole) + 1


def test_an_interrupt_during_the_baseline_writes_no_summary(tmp_path, capsys, monkeypatch):
    from sklearn.neural_network._multilayer_perceptron import BaseMultilayerPerceptron as MLP

    count, iterations = MLP._update_no_improvement_count, []

    def interrupted_on_the_third(self, *args):  # called once per iteration of the fit
        iterations.append(self)
        if len(iterations) == 3:  # Ctrl-C mid-fit, where scikit-learn would catch it
            os.kill(os.getpid(), signal.SIGINT)
        return count(self, *args)

    monkeypatch.setattr(MLP, "_update_no_improvement_count", interrupted_on_the_third)
    out = tmp_path / "run"
    code = main(["search", *QUICK, "--trials", "2", "--epochs", "1", "--final-epochs", "1",
                 "--out", str(out)])  # fmt: skip
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert len(iterations) > 3  # the fit ran on to its end: the interrupt came after it
    assert not (out / "summary.json").exists()  # rather than a summary with a half-fit baseline
    assert len(trials_of(out)) == 2


@pytest.mark.parametrize("failures", [1, 2])
def test_a_final_training_that_diverges_is_retried_then_recorded(
    tmp_path, capsys, monkeypatch, failures
):
    real, calls = archsearch.run.train_final, []

    def diverging(space, arch, data, config, *args):
        calls.append(config.lr)
        if len(calls) <= failures:
            raise TrainingFailed("loss became nan in epoch 1")
        return real(space, arch, data, config, *args)

    monkeypatch.setattr(archsearch.run, "train_final", diverging)
    out = tmp_path / "run"
    code = main(["search", *QUICK, "--trials", "2", "--epochs", "1", "--final-epochs", "1",
                 "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert calls[1] == pytest.approx(1e-4)  # a tenth of Adam's default 1e-3
    assert summary["trials"] == 2 and summary["best"]["val_accuracy"] is not None
    if failures == 1:
        assert code == 0 and summary["best"]["final"] == {"status": "ok", "lr": 1e-4}
    else:
        assert code == 1 and err.strip().splitlines()[-1].startswith("archsearch: error: the final")
        assert summary["best"]["final"]["status"] == "failed"
        assert "loss became nan" in summary["best"]["final"]["reason"]
        assert not (out / "best_model.pt").exists()


def test_a_child_that_needs_more_memory_than_allowed_fails_before_training(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["search", *QUICK, "--trials", "2", "--max-memory", "0.0001", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    with Ledger(out / "ledger.sqlite") as ledger:
        trials = list(ledger)
    assert len(trials) == 2 and all(not t.result.ok for t in trials)
    assert all(
        "GiB allowed (--max-memory)" in t.result.reason and not t.result.curve for t in trials
    )


SPACE = MLPSpace(max_layers=2, widths=(8, 16), activations=("relu",), dropouts=())


@pytest.mark.parametrize("retries, evaluated", [(2, False), (3, True)])
def test_a_trial_whose_process_died_too_often_is_failed_not_retried(retries, evaluated):
    first = get_strategy("random", SPACE, 5).ask()
    with Ledger(":memory:") as ledger:
        for _ in range(3):  # trial 0 was started three times, and its process died each time
            ledger.start(0, first, 0)
        evaluator = EncodingEvaluator(SPACE)
        run_search(
            get_strategy("random", SPACE, 5), evaluator, ledger, Budget(3), 5, retries=retries
        )
        trial = next(iter(ledger))
        assert (first in evaluator.calls) == evaluated and trial.arch == first
        assert trial.result.ok == evaluated
        if not evaluated:
            assert "died during this trial 3 times" in trial.result.reason
        assert ledger.running() == []


def test_the_time_limit_stops_a_child_between_epochs(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["search", "--dataset", "digits", "--space", "mlp", "--strategy", "random",
            "--trials", "5", "--epochs", "10000", "--time-limit", "2", "--final-epochs", "1",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"] == "time" and summary["trials"] == 0  # no 10,000-epoch child ran
    with Ledger(out / "ledger.sqlite") as ledger:
        assert ledger.running() == []  # stopped on purpose: not counted as a death


def test_doctor_finds_what_is_wrong(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["search", *QUICK, "--trials", "2", "--epochs", "1", "--final-epochs", "1",
                 "--out", str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["doctor", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith("healthy")
    summary = json.loads((out / "summary.json").read_text())
    (out / "summary.json").write_text(json.dumps({**summary, "trials": 5}))
    (out / "best_model.pt").write_bytes(b"garbage")
    assert main(["doctor", str(out)]) == 1
    report = capsys.readouterr().out
    assert (
        "reports 5 trials, the ledger holds 2" in report
        and "best_model.pt cannot be loaded" in report
    )
    assert report.strip().endswith("2 problem(s)")
    untrained = tmp_path / "untrained"
    assert main(["search", *QUICK, "--trials", "1", "--epochs", "1", "--final-epochs", "0",
                 "--out", str(untrained)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["doctor", str(untrained)]) == 0
    assert "best model: none (the run was started with --final-epochs 0)" in capsys.readouterr().out


def test_sigkill_anywhere_then_resume_gives_the_uninterrupted_ledger(tmp_path):
    """At least 20 kills at random moments — start-up, mid-trial, final training, summary
    writing — each followed by a resume, until the run finishes."""
    common = ["search", *QUICK, "--trials", "6", "--epochs", "30", "--final-epochs", "15",
              "--seed", "3", "--retries", "100"]  # fmt: skip
    reference = tmp_path / "reference"
    start = time.monotonic()
    assert spawn(*common, "--out", reference).wait(timeout=300) == 0
    whole = time.monotonic() - start
    out, rng, kills = tmp_path / "killed", random.Random(0), 0
    process = spawn(*common, "--out", out)
    while True:
        try:
            process.wait(timeout=rng.uniform(0.3, whole))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
        else:
            if process.returncode == 0 and kills >= 20:
                break
            assert process.returncode in (0, -signal.SIGKILL), process.stderr.read().decode()
        if process.returncode == 0:  # finished before the kill count: start that run again
            shutil.rmtree(out)
            process = spawn(*common, "--out", out)
        elif (out / "ledger.sqlite").exists() and (out / "config.json").exists():
            process = spawn("search", "--resume", out)
        else:  # killed before the run existed: start it again
            shutil.rmtree(out, ignore_errors=True)
            process = spawn(*common, "--out", out)
    assert trials_of(out) == trials_of(reference)
    summary, expected = (json.loads((d / "summary.json").read_text()) for d in (out, reference))
    assert summary["best"]["arch"] == expected["best"]["arch"]


class Interrupted(EncodingEvaluator):
    def evaluate(self, arch, seed):
        raise KeyboardInterrupt


def test_ctrl_c_during_a_trial_is_not_counted_as_a_death():
    with Ledger(":memory:") as ledger:
        with pytest.raises(KeyboardInterrupt):
            run_search(get_strategy("random", SPACE, 0), Interrupted(SPACE), ledger, Budget(3))
        assert ledger.running() == [] and len(ledger) == 0


def test_an_atomic_write_into_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder to write into") as raised:
        write_text_atomic(tmp_path / "missing" / "drawing.svg", "<svg/>")
    assert raised.value.filename == str(tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []  # no partial file anywhere
