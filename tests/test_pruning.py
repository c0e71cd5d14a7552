"""Pruning in real searches (the command, real training, the SQLite ledger) on tiny data: a
pruned trial is recorded with its status and partial curve and survives resume; the epoch
budget stops a search; bad pruning flags are one-line usage errors."""

import json
import re

import pytest

from archsearch.cli import main
from archsearch.evaluation.cost import count_flops
from archsearch.evaluation.pruners import PRUNERS
from archsearch.ledger import Ledger
from archsearch.spaces import get_space
from archsearch.tasks.base import OutputSpec
from tests.test_help import help_of, listed, options

TINY = ["--dataset", "iris", "--space", "mlp", "--strategy", "random", "--final-epochs", "0"]
PRUNE = ["--prune", "median", "--prune-option", "min_trials=1", "--prune-option",
         "warmup_epochs=0"]  # fmt: skip


def trials(run):
    with Ledger.open(run / "ledger.sqlite", readonly=True) as ledger:
        return list(ledger), ledger.load_state()


def test_a_pruned_trial_keeps_its_status_and_partial_curve_through_resume(tmp_path, capsys):
    run = tmp_path / "run"
    args = [*TINY, *PRUNE, "--trials", "8", "--epochs", "4", "--seed", "3", "--out", str(run)]
    assert main(["search", *args]) == 0
    before, state = trials(run)
    pruned = [t for t in before if t.result.status == "pruned"]
    assert pruned, "median pruning with one earlier child stopped no child"
    for trial in pruned:
        assert 1 <= len(trial.result.curve) == trial.result.metrics["epochs"] < 4
        assert trial.result.reason.startswith("pruned at epoch")
    assert len(state["evaluator"]["pruner"]["history"]) == 8
    summary = json.loads((run / "summary.json").read_text())
    assert summary["pruned"] == len(pruned) and summary["failed"] == 0
    assert summary["best"]["trial"] not in {t.number for t in pruned}
    assert "PRUNED after" in capsys.readouterr().err

    assert main(["search", "--resume", str(run), "--trials", "12"]) == 0
    after, state = trials(run)
    assert len(after) == 12 and len(state["evaluator"]["pruner"]["history"]) == 12
    kept = {t.number: t.result for t in after}
    for trial in pruned:
        assert kept[trial.number] == trial.result


def test_a_pruned_child_never_outranks_a_finished_one_better_at_its_epoch(tmp_path):
    run = tmp_path / "run"
    args = [*TINY, *PRUNE, "--trials", "10", "--epochs", "4", "--seed", "4", "--out", str(run)]
    assert main(["search", *args]) == 0
    done, _ = trials(run)
    for child in (t for t in done if t.result.status == "pruned"):
        epoch, score = len(child.result.curve), child.result.curve[-1]["val_accuracy"]
        for other in done[: child.number]:
            curve = other.result.curve
            if other.result.ok and curve[epoch - 1]["val_accuracy"] >= score:
                assert child.result.reward <= other.result.reward


def test_asha_counting_flops_records_each_childs_flops_and_prunes_by_compute(tmp_path):
    run = tmp_path / "run"
    flops = ["--prune", "asha", "--prune-option", "resource=flops", "--prune-option",
             "min_trials=1"]  # fmt: skip
    args = [*TINY, *flops, "--trials", "10", "--epochs", "9", "--seed", "5", "--out", str(run)]
    assert main(["search", *args]) == 0
    done, state = trials(run)
    space = get_space("mlp")
    for trial, entry in zip(done, state["evaluator"]["pruner"]["history"], strict=True):
        model = space.build(trial.arch, (4,), OutputSpec((3,)))
        assert trial.result.metrics["flops"] == entry["cost"] == count_flops(model, (4,)) > 0
    pruned = [t for t in done if t.result.status == "pruned"]
    assert pruned and all(
        re.match(r"pruned at rung \d+ \(epoch \d\)", t.result.reason) for t in pruned
    )


def test_the_epoch_budget_stops_a_search_after_that_many_epochs(tmp_path):
    run = tmp_path / "run"
    args = [*TINY, "--trials", "100", "--epochs", "2", "--epoch-budget", "5", "--out", str(run)]
    assert main(["search", *args]) == 0
    summary = json.loads((run / "summary.json").read_text())
    # 2 + 2 < 5 epochs: a third child starts; 6 >= 5: no fourth
    assert summary["trials"] == 3 and summary["epochs"] == 6 and summary["stopped"] == "budget"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--prune", "bogus"], "unknown pruner 'bogus'; choose one of: asha, median, none"),
        (["--prune", "asha", "--prune-option", "eta=1"], "eta must lie in [2, 1,000]"),
        (
            ["--prune", "asha", "--prune-option", "resource=time"],
            "resource='time' is not one of epochs, flops (check --prune-option)",
        ),
        (["--prune", "median", "--prune-option", "speed=2"], "unknown option(s) ['speed']"),
        (["--prune-option", "eta=3"], "for pruner none"),
        (["--epoch-budget", "0"], "--epoch-budget must lie in"),
        (["--prune", "median", "--evaluator", "tabular"], "use --evaluator train"),
        (["--epoch-budget", "9", "--evaluator", "tabular"], "--epoch-budget applies"),
    ],
)
def test_bad_pruning_flags_are_one_line_usage_errors(tmp_path, capsys, flags, message):
    code = main(["search", *TINY, *flags, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "run").exists()


def test_search_help_lists_every_pruner_and_the_epoch_budget(capsys, monkeypatch):
    found = options(help_of(["search", "--help"], capsys, monkeypatch))
    assert listed(found["--prune"][1]) == PRUNERS.names()
    assert "(default: none)" in found["--prune"][1]
    assert found["--epoch-budget"][0] == "EPOCHS" and "--prune-option" in found
