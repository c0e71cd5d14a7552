"""A VAE search from the command line: its figures, its reloadable best model, a kill
mid-search followed by a resume, and the random-encoder proxy with --retrain-top."""

import json
import signal

import torch

from archsearch.checkpoint import load_model
from archsearch.cli import main
from archsearch.export import export_run
from archsearch.run import resume_run
from tests.helpers import spawn, trials_of, wait_for

VAE_SEARCH = [
    "search", "--dataset", "digits", "--task", "vae", "--space", "vae",
    "--space-option", "layers=1", "--space-option", "filters=4,8",
    "--space-option", "latent_sizes=2", "--train-subset", "300", "--epochs", "1",
    "--final-epochs", "1", "--final-models", "2", "--reward", "elbo", "--strategy", "random",
]  # fmt: skip


def test_a_vae_search_writes_its_figures_and_a_reloadable_model(tmp_path):
    out = tmp_path / "run"
    assert main([*VAE_SEARCH, "--trials", "2", "--out", str(out)]) == 0
    for name in ("reconstructions.png", "samples.png", "latent.png", "loss_terms.png"):
        assert (out / name).stat().st_size > 1000, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["task"] == "vae" and 0 < summary["best"]["test_likelihood"] <= 1
    model, arch, checkpoint = load_model(out / "best_model.pt")
    assert checkpoint["task"]["loss"] == "reformulated" and arch["latent"] == 2
    recon, mu, logvar = model.eval()(torch.rand(3, 1, 8, 8))
    assert recon.shape == (3, 1, 8, 8) and mu.shape == logvar.shape == (3, 2)
    folder, info = export_run(out, "torchscript")
    assert info["check"]["max_difference"] <= info["check"]["tolerance"]
    # export.json says what the exported model answers: a tuple, pixels in [0, 1] first
    assert info["output"]["meaning"].startswith("a tuple (reconstruction, mu, logvar)")
    exported = torch.jit.load(str(folder / "model.pt"))
    recon, mu, _ = exported(torch.randint(0, 17, (3, 1, 8, 8)).float())
    assert recon.min() >= 0 and recon.max() <= 1 and mu.shape == (3, 2)


def test_a_vae_search_killed_mid_search_resumes_to_the_same_trials(tmp_path):
    args = [*VAE_SEARCH, "--trials", "6", "--final-epochs", "0", "--seed", "5"]
    reference = tmp_path / "reference"
    assert main([*args, "--out", str(reference)]) == 0
    killed = tmp_path / "killed"
    process = spawn(*args, "--out", killed)
    wait_for(lambda: len(trials_of(killed)) >= 2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(trials_of(killed))
    assert 2 <= done < 6, "the kill should land mid-search"
    resume_run(killed)
    assert trials_of(killed) == trials_of(reference)


def test_the_random_encoder_proxy_reports_its_agreement_with_full_training(tmp_path):
    out = tmp_path / "proxy"
    args = [
        "search", "--dataset", "digits", "--task", "reconstruction", "--space", "autoencoder",
        "--space-option", "layers=1", "--space-option", "filters=4,8", "--train-subset", "200",
        "--epochs", "1", "--final-epochs", "0", "--reward", "inverse_loss", "--strategy",
        "random", "--evaluator", "random_encoder", "--retrain-top", "3", "--trials", "4",
        "--out", str(out),
    ]  # fmt: skip
    assert main(args) == 0
    report = json.loads((out / "summary.json").read_text())["retrain_top"]
    assert report["k"] == 3 and len(report["children"]) == 3
    assert all(row["full_reward"] > 0 for row in report["children"])
    assert -1 <= report["spearman"] <= 1


def test_mismatched_unsupervised_settings_are_one_line_usage_errors(tmp_path, capsys):
    base = ["search", "--dataset", "digits", "--trials", "1", "--out", str(tmp_path / "x")]
    cases = [
        (["--task", "reconstruction", "--space", "autoencoder", "--reward", "elbo"], "elbo"),
        (["--task", "vae", "--space", "autoencoder"], "autoencoder space cannot output"),
        (["--task", "vae", "--space", "mlp"], "the vae task needs images"),
        (["--space", "mlp", "--evaluator", "random_encoder"], "has none"),
        (["--task", "vae", "--space", "vae", "--retrain-top", "-1"], "--retrain-top"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x").exists()
