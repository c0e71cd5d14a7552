"""The `archsearch search` and `train` commands: artifacts of a real run, how given flags override
the configuration, and one-line errors for bad input."""

import dataclasses
import json
import signal
import sqlite3

import pytest
import torch

from archsearch import cli
from archsearch.checkpoint import load_model
from archsearch.cli import main
from archsearch.config import DataSpec, SearchConfig, TrainJob, from_json
from archsearch.data import load_dataset
from archsearch.presets import apply_preset
from tests.helpers import spawn, trials_of, wait_for

TINY = ["--epochs", "2", "--final-epochs", "2", "--batch-size", "32"]


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.err


def test_search_writes_every_artifact(tmp_path, capsys):
    out = tmp_path / "run"
    code, err = run_cli(
        [
            "search",
            "--dataset",
            "iris",
            "--space",
            "mlp",
            "--strategy",
            "random",
            "--trials",
            "3",
            "--seed",
            "4",
            "--out",
            out,
            *TINY,
        ],
        capsys,
    )
    assert code == 0, err
    assert "trial #2  3/3 done" in err and "final network 5/5 epoch 2/2" in err  # both phases
    for name in [
        "config.json",
        "ledger.sqlite",
        "summary.json",
        "best_arch.json",
        "best_model.pt",
        "trials.csv",
        "rewards.png",
    ]:
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert {
        "dataset",
        "space",
        "strategy",
        "seed",
        "trials",
        "failed",
        "best",
        "baseline",
        "beats_baseline",
    } <= set(summary)
    assert summary["baseline"]["model"] == "MLPClassifier"
    # 3 searched, then the space's reference architecture for re-ranking
    assert summary["trials"] == 4 and summary["seed"] == 4 and summary["space"] == "mlp"
    best = summary["best"]
    assert {"arch", "val_accuracy", "test_accuracy", "params"} <= set(best)
    data = load_dataset("iris", seed=4)  # the same split: the test accuracy is the model's
    model, _, _ = load_model(out / "best_model.pt")
    predictions = model.eval()(data.x_test).argmax(1)
    assert best["test_accuracy"] == pytest.approx((predictions == data.y_test).float().mean())
    model, arch, meta = load_model(out / "best_model.pt")
    assert arch.to_json() == best["arch"] and meta["task"]["num_classes"] == 3
    assert meta["members"] == best["models"] == 5  # a small table: an ensemble of five
    assert sum(p.numel() for p in model.parameters()) == 5 * best["params"]
    assert model(torch.randn(2, 4)).shape == (2, 3)
    rows = sqlite3.connect(out / "ledger.sqlite").execute("SELECT COUNT(*) FROM trials").fetchone()
    assert rows == (4,)
    assert "3/3 done" in err and "best" in err and "eta" in err
    assert len((out / "trials.csv").read_text().splitlines()) == 5  # a header, 4 trials


def test_an_existing_run_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "search",
        "--dataset",
        "iris",
        "--strategy",
        "random",
        "--trials",
        "1",
        "--out",
        out,
        *TINY,
    ]
    assert run_cli(args, capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, err = run_cli(args, capsys)
    assert code == 2 and "already holds a run" in err and "--resume" in err
    code, err = run_cli(["search", "--resume", out, "--epochs", "5"], capsys)
    assert code == 2 and "--epochs" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_sigkill_then_resume_loses_and_repeats_nothing(tmp_path):
    common = [
        "search",
        "--dataset",
        "iris",
        "--space",
        "mlp",
        "--strategy",
        "reinforce",
        "--trials",
        "10",
        "--epochs",
        "60",
        "--final-epochs",
        "1",
        "--seed",
        "3",
    ]
    reference = tmp_path / "reference"
    assert spawn(*common, "--out", reference).wait(timeout=300) == 0
    killed = tmp_path / "killed"
    process = spawn(*common, "--out", killed)
    wait_for(lambda: len(trials_of(killed)) >= 3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_at_kill = len(trials_of(killed))
    assert 3 <= done_at_kill < 10, "the kill should land mid-search"
    resumed = spawn("search", "--resume", killed)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    assert f"resuming after {done_at_kill} finished trials" in resumed.stderr.read().decode()
    assert trials_of(killed) == trials_of(reference)


def test_the_nb201_cell_space_searches_real_images(tmp_path, capsys):
    out = tmp_path / "run"
    code, err = run_cli(
        [
            "search",
            "--dataset",
            "digits",
            "--space",
            "nb201",
            "--strategy",
            "evolution",
            "--trials",
            "2",
            "--out",
            out,
            "--epochs",
            "1",
            "--final-epochs",
            "1",
            "--final-models",
            "1",
        ],
        capsys,
    )
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == 0 and summary["best"]["test_accuracy"] is not None


def captured(monkeypatch, name):
    """Replace `archsearch.cli.<name>` (start_run, run_training) by a recorder of its calls."""
    calls = []
    monkeypatch.setattr(cli, name, lambda *args, **kwargs: calls.append(args))
    return calls


def test_only_flags_given_override_the_config_and_its_preset(monkeypatch):
    starts = captured(monkeypatch, "start_run")
    assert main(["search", "--dataset", "iris"]) == 0
    assert starts[-1][0] == SearchConfig(data=DataSpec(dataset="iris"))
    argv = ["search", "--preset", "zoph2016", "--data-dir", "x", "--trials", "3"]
    argv += ["--epochs", "2", "--child-subset", "50", "--space-option", "layers=4"]
    assert main([*argv, "--space-option", "filters=8,16", "--reevaluate"]) == 0
    config = starts[-1][0]
    preset = from_json(SearchConfig, apply_preset("zoph2016", {"data": {"data_dir": "x"}}))
    assert (config.trials, config.train.epochs, config.train.train_subset) == (3, 2, 50)
    assert config.space_options == {**preset.space_options, "layers": 4, "filters": [8, 16]}
    assert config.reevaluate and config.reward == preset.reward == "zoph"
    assert config.train.batch_size == preset.train.batch_size == 128


def test_train_flags_override_the_train_job_defaults(monkeypatch):
    runs = captured(monkeypatch, "run_training")
    assert main(["train", "--model", "nascnn15", "--dataset", "digits", "--lr", "0.5"]) == 0
    job, out = runs[-1]
    default = TrainJob()
    assert job.data == dataclasses.replace(default.data, dataset="digits")
    assert job.train == dataclasses.replace(default.train, lr=0.5)
    assert (job.model, job.patience, job.seed) == ("nascnn15", default.patience, default.seed)
    assert str(out) == "runs/train-nascnn15"


@pytest.mark.parametrize(
    "argv, flags",
    [
        (["train", "--data", "x.csv", "--child-subset", "5"], "drop --data, --child-subset"),
        (["train", "--seed", "1", "--out", "o"], "drop --seed, --out"),
        (
            ["search", "--reevaluate", "--space-option", "a=1", "--preset", "zoph2016"],
            "drop --reevaluate, --space-option, --preset (only --trials",
        ),
    ],
)
def test_resume_names_the_flags_to_drop_as_they_are_typed(tmp_path, capsys, argv, flags):
    code, err = run_cli([*argv, "--resume", tmp_path], capsys)
    assert code == 2 and flags in err, err
