"""`archsearch train`: every artifact, early stopping, and resume after SIGKILL."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine

from archsearch.checkpoint import load_model
from archsearch.cli import main
from tests.helpers import write_image_folder

ARCH = {
    "space": "cnn",
    "space_options": {"layers": 2, "filters": [4, 8]},
    "values": {
        "filter_height_1": 3,
        "filter_width_1": 3,
        "filters_1": 4,
        "inputs_1": [],
        "filter_height_2": 3,
        "filter_width_2": 1,
        "filters_2": 8,
        "inputs_2": [1],
    },
}


@pytest.fixture
def images(tmp_path):
    """A tiny image folder in the real layout: train/ and test/ class folders of PNG and JPEG."""
    return write_image_folder(tmp_path / "images")


@pytest.fixture
def arch_file(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(ARCH))
    return path


def args(arch_file, images, out, epochs=3):
    return [
        "train",
        "--arch",
        str(arch_file),
        "--data-dir",
        str(images),
        "--epochs",
        str(epochs),
        "--batch-size",
        "16",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]


def test_train_writes_every_artifact(tmp_path, images, arch_file, capsys):
    out = tmp_path / "out"
    assert main(args(arch_file, images, out)) == 0
    for name in [
        "config.json",
        "arch.json",
        "best_model.pt",
        "checkpoint.pt",
        "metrics.json",
        "results.json",
        "curves.png",
        "confusion.png",
    ]:
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    assert results["epochs_run"] == 3 and 1 <= results["best_epoch"] <= 3
    assert "test_top5_accuracy" not in results  # 1 by definition with two classes
    matrix = np.array(results["confusion_matrix"])
    assert results["test_accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert np.array(results["confusion_matrix"]).sum() == 12  # the 12 test images
    assert results["data"] == {"train": 43, "val": 5, "test": 12}  # 48 split 90/10
    assert len(json.loads((out / "metrics.json").read_text())) == 3
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["optimizer"] == "sgd" and config["train"]["lr"] == 0.1
    assert config["data"]["val_fraction"] == 0.1
    model, arch, meta = load_model(out / "best_model.pt")
    assert meta["norm"] is not None and arch.to_json()["values"]["filters_2"] == 8
    assert model(torch.randn(1, 3, 16, 16)).shape == (1, 2)
    assert "test_accuracy" in capsys.readouterr().err


def test_early_stopping_stops_after_patience(tmp_path, images, arch_file):
    out = tmp_path / "out"
    assert main([*args(arch_file, images, out, epochs=40), "--patience", "2", "--lr", "1e-6"]) == 0
    curve = json.loads((out / "metrics.json").read_text())
    accuracies = [p["val_accuracy"] for p in curve]
    best = accuracies.index(max(accuracies))
    assert len(curve) == best + 1 + 2 < 40


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "nope"], "unknown model 'nope'"),
        (["--arch", "missing.json"], "cannot read the architecture"),
        (["--run", "."], "has no best_arch.json"),
        (["--model", "nascnn15", "--patience", "0"], "--patience must be at least 1"),
        ([], "give exactly one of --arch"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, images, extra, message, capsys):
    code = main(["train", "--data-dir", str(images), "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_corrupt_image_names_the_file(tmp_path, images, arch_file, capsys):
    (images / "train" / "dark" / "3.png").write_bytes(b"not a png")
    assert main(args(arch_file, images, tmp_path / "o")) == 2
    assert "3.png" in capsys.readouterr().err


def test_sigkill_mid_training_then_resume_finishes_every_epoch(tmp_path, images, arch_file):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "archsearch.cli"]
    epochs = 12
    reference = tmp_path / "reference"
    subprocess.run(
        [*command, *args(arch_file, images, reference, epochs)],
        env=env,
        check=True,
        capture_output=True,
    )
    out = tmp_path / "killed"
    process = subprocess.Popen(
        [*command, *args(arch_file, images, out, epochs)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (out / "metrics.json").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(json.loads((out / "metrics.json").read_text()))
    assert 1 <= done < epochs, "the kill should land mid-training"
    resumed = subprocess.run(
        [*command, "train", "--resume", str(out)], env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stderr
    curve = json.loads((out / "metrics.json").read_text())
    expected = json.loads((reference / "metrics.json").read_text())
    assert [p["epoch"] for p in curve] == list(range(1, epochs + 1))
    strip = [{k: v for k, v in p.items() if k != "seconds"} for p in curve]
    assert strip == [{k: v for k, v in p.items() if k != "seconds"} for p in expected]


def test_train_run_takes_the_run_s_data_and_seed_so_its_test_split_is_the_search_s(
    tmp_path, capsys
):
    run = tmp_path / "run"
    assert main(["search", "--dataset", "wine", "--space", "mlp", "--strategy", "random",
                 "--trials", "2", "--epochs", "2", "--final-epochs", "0", "--seed", "5",
                 "--test-fraction", "0.25", "--out", str(run)]) == 0  # fmt: skip
    out = tmp_path / "train"
    code = main(["train", "--run", str(run), "--epochs", "2", "--optimizer", "adam",
                 "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    job = json.loads((out / "config.json").read_text())
    assert job["seed"] == 5 and job["data"]["dataset"] == "wine"
    assert job["data"]["test_fraction"] == 0.25 and job["data"]["val_fraction"] == 0.1
    assert job["train"]["flip"] is False  # the search's, not the CIFAR recipe's flips
    assert "archsearch: no augmentation (the inputs are not images)" in err
    summary = json.loads((run / "summary.json").read_text())
    results = json.loads((out / "results.json").read_text())
    assert results["data"]["test"] == summary["data"]["test"] == 44
    assert "bundled dataset wine" in err
    # each kind of run is continued by its own command, and a mix-up says which
    assert main(["train", "--resume", str(run)]) == 2
    assert main(["search", "--resume", str(out)]) == 2
    mixed = capsys.readouterr().err.splitlines()
    assert mixed == [
        f"archsearch: error: {run}/config.json: this is a search's configuration, not a "
        f"training's; continue it with `archsearch search --resume {run}`",
        f"archsearch: error: {out}/config.json: this is a training's configuration, not a "
        f"search's; continue it with `archsearch train --resume {out}`",
    ]
    # each test row by its row in scikit-learn's copy of wine, its class and the prediction
    with (out / "test_predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    wine = load_wine()
    assert [r["true"] for r in rows] == [
        str(wine.target_names[wine.target[int(r["id"]) - 1]]) for r in rows
    ]
    correct = np.mean([r["true"] == r["prediction"] for r in rows])
    assert correct == pytest.approx(results["test_accuracy"], abs=1e-6)
    other = tmp_path / "other"
    assert main(["train", "--run", str(run), "--epochs", "1", "--dataset", "iris", "--seed",
                 "1", "--out", str(other)]) == 0  # fmt: skip
    job = json.loads((other / "config.json").read_text())
    assert job["seed"] == 1 and job["data"]["dataset"] == "iris"
    assert job["data"]["test_fraction"] == 0.2  # a data flag given: the run's data is not used
    regression = tmp_path / "regression"
    assert main(["train", "--run", str(run), "--epochs", "2", "--dataset", "diabetes",
                 "--out", str(regression)]) == 0  # fmt: skip
    results = json.loads((regression / "results.json").read_text())
    rows = np.loadtxt(regression / "test_predictions.csv", delimiter=",", skiprows=1)
    assert rows.shape == (results["data"]["test"], 3)  # id, true and predicted target
    truth, predicted = rows[:, 1], rows[:, 2]
    r2 = 1 - ((truth - predicted) ** 2).sum() / ((truth - truth.mean()) ** 2).sum()
    assert r2 == pytest.approx(results["test_r2"], abs=1e-4)
