"""A search with `--objectives`: every child's FLOPs and latency in the ledger, the Pareto
front in summary.json and pareto.png, and cost targets scaling the recorded rewards."""

import json

import pytest

from archsearch.cli import main
from archsearch.evaluation.objectives import objective_values
from archsearch.ledger import Ledger
from archsearch.reporting.console import plural

TINY = ["--dataset", "iris", "--space", "mlp", "--epochs", "1", "--final-epochs", "0"]


def search(tmp_path, capsys, *args):
    out = tmp_path / "run"
    code = main(["search", *TINY, "--out", str(out), *map(str, args)])
    assert code == 0, capsys.readouterr().err
    return out, json.loads((out / "summary.json").read_text())


def test_a_pareto_search_records_costs_of_every_child_and_draws_the_front(tmp_path, capsys):
    objectives = ("accuracy", "params", "flops", "latency")
    out, summary = search(
        tmp_path, capsys, "--strategy", "nsga2", "--strategy-option", "population=3",
        "--objectives", ",".join(objectives), "--trials", "5",
    )  # fmt: skip
    with Ledger.open(out / "ledger.sqlite") as ledger:
        trials = list(ledger)
        front = ledger.pareto(objectives)
    assert len(trials) == 5
    for trial in trials:
        metrics = trial.result.metrics
        assert metrics["flops"] > 0 and metrics["latency_ms"] > 0
        assert metrics["accuracy"] == metrics["val_accuracy"] == trial.result.reward
    assert (out / "pareto.png").stat().st_size > 0
    assert summary["objectives"] == list(objectives)
    assert sorted(e["trial"] for e in summary["pareto"]) == [t.number for t in front]
    entry = summary["pareto"][0]
    assert set(entry) == {"trial", "reward", "accuracy", "params", "flops", "latency_ms"}
    assert json.loads((out / "config.json").read_text())["objectives"] == ",".join(objectives)
    # a resumed run reads its objectives back and goes on
    assert main(["search", "--resume", str(out), "--trials", "6"]) == 0
    with Ledger.open(out / "ledger.sqlite") as ledger:
        assert all("flops" in t.result.metrics for t in ledger) and len(ledger) == 6


def test_the_front_is_printed_and_reported(tmp_path, capsys):
    """The console lists the front's trials; `archsearch report` shows its plot and table;
    a single-objective run's report has no such section."""
    objectives = ("accuracy", "params")
    out = tmp_path / "run"
    args = ["--strategy", "random", "--objectives", ",".join(objectives), "--trials", "4"]
    assert main(["search", *TINY, "--out", str(out), *args]) == 0
    printed = capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    front = summary["pareto"]
    console = printed.out + printed.err
    assert f"Pareto front of accuracy, params: {plural(len(front), 'trial')}" in console
    for entry in front:
        assert f"trial #{entry['trial']}  accuracy {entry['accuracy']:.4f}" in console
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"Pareto front of accuracy, params: {plural(len(front), 'trial')}" in page
    assert page.count("<tr class='front'>") == len(front)
    assert "alt='Pareto front'" in page
    single = tmp_path / "single"
    assert (
        main(["search", *TINY, "--out", str(single), "--strategy", "random", "--trials", "2"]) == 0
    )
    assert main(["report", str(single)]) == 0
    assert "Pareto front" not in (single / "report.html").read_text(encoding="utf-8")


def test_cost_targets_scale_every_recorded_reward(tmp_path, capsys):
    out, summary = search(
        tmp_path, capsys, "--strategy", "random", "--objectives", "accuracy,params",
        "--target-params", "2000", "--cost-weight", "-0.5", "--trials", "3",
    )  # fmt: skip
    with Ledger.open(out / "ledger.sqlite") as ledger:
        for trial in ledger:
            accuracy, params = objective_values(trial.result, ("accuracy", "params"))
            assert trial.result.reward == pytest.approx(accuracy * (params / 2000) ** -0.5)
    assert (out / "pareto.png").is_file() and "pareto" in summary


def test_a_single_objective_run_is_unchanged(tmp_path, capsys):
    out, summary = search(tmp_path, capsys, "--strategy", "random", "--trials", "2")
    assert not (out / "pareto.png").exists() and "pareto" not in summary
    with Ledger.open(out / "ledger.sqlite") as ledger:
        assert all("flops" not in t.result.metrics for t in ledger)
