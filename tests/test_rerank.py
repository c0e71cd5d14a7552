"""Re-ranking the best distinct architectures by cross-validation before the final training
(`--final-rerank`): which candidates, their scores, the choice, and a whole run with it."""

import json

import pytest

import archsearch
from archsearch.cli import main
from archsearch.data import load_dataset
from archsearch.evaluation.result import Result
from archsearch.evaluation.trainer import TrainConfig, TrainingFailed
from archsearch.ledger import Trial
from archsearch.reporting.html import load_run
from archsearch.rerank import FOLDS, SMALL_DATA_RERANK, cv_score, final_rerank, rerank, top_distinct
from archsearch.run import retrained_trial
from archsearch.spaces import get_space

SPACE = get_space("mlp", max_layers=1)


def arch(width: int):
    return SPACE.make({"depth": 1, "width_1": width, "activation_1": "relu", "dropout_1": 0.0})


def trial(number: int, width: int, reward: float, ok: bool = True) -> Trial:
    result = Result(reward=reward) if ok else Result.failed("boom", reward)
    return Trial(number=number, arch=arch(width), result=result, seed=number)


def test_candidates_are_the_best_distinct_working_architectures_earliest_first_on_ties():
    trials = [trial(0, 32, 0.9), trial(1, 64, 0.95), trial(2, 32, 0.97), trial(3, 128, 0.95),
              trial(4, 256, 2.0, ok=False), trial(5, 512, 0.5)]  # fmt: skip
    assert [t.number for t in top_distinct(trials, 3)] == [2, 1, 3]  # 32 once, as trial 2
    assert [t.number for t in top_distinct(trials, 10)] == [2, 1, 3, 5]


def test_the_size_rule_and_an_explicit_count():
    small = load_dataset("iris")
    assert final_rerank(small, None) == SMALL_DATA_RERANK and final_rerank(small, 4) == 4
    assert final_rerank(load_dataset("digits"), None) == 1  # 1,438 train+validation rows


@pytest.mark.parametrize("dataset", ["iris", "diabetes"])
def test_cross_validation_scores_every_candidate_and_keeps_the_best(dataset):
    data = load_dataset(dataset, seed=2)
    config = TrainConfig(epochs=2)
    candidates = [trial(0, 32, 0.9), trial(1, 64, 0.9)]
    chosen, report = rerank(SPACE, data, candidates, config, seed=2)
    score = f"cv_{data.task.score}"
    assert report["folds"] == FOLDS and [r["trial"] for r in report["candidates"]] == [0, 1]
    values = [row[score] for row in report["candidates"]]
    assert chosen.number == report["chosen"] == values.index(max(values))
    assert cv_score(SPACE, arch(32), data, config, 2, FOLDS) == pytest.approx(values[0])


def test_a_run_retrains_the_candidate_that_cross_validates_best(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["search", "--dataset", "wine", "--space", "mlp", "--strategy", "random",
            "--trials", "4", "--epochs", "1", "--final-epochs", "1", "--final-models", "1",
            "--final-rerank", "2", "--final-reference", "false", "--seed", "3",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err
    best = json.loads((out / "summary.json").read_text())["best"]
    ranking = best["rerank"]
    assert len(ranking["candidates"]) == 2 and best["trial"] == ranking["chosen"]
    assert "re-ranking the 2 best distinct architectures by 3-fold" in err
    assert archsearch.load(out).best.trial == best["trial"]  # the API's best is the one retrained
    assert load_run(out).best_trial().number == best["trial"]  # and the HTML report's
    assert main(["search", "--resume", str(out), "--trials", "5"]) == 0
    after = json.loads((out / "summary.json").read_text())["best"]
    numbers = [row["trial"] for row in after["rerank"]["candidates"]]
    if numbers == [row["trial"] for row in ranking["candidates"]]:  # the new trial is no candidate
        assert after == best and "is already retrained and tested" in capsys.readouterr().err
    else:
        assert after["trial"] == after["rerank"]["chosen"] and 4 in numbers


def test_a_count_below_one_is_a_usage_error(capsys):
    code = main(["search", "--dataset", "iris", "--final-rerank", "0", "--out", "/nonexistent"])
    assert code == 2 and "--final-rerank must lie in 1..100" in capsys.readouterr().err


def test_a_candidate_whose_training_fails_is_ranked_last(monkeypatch):
    import archsearch.rerank

    def failing_first(space, arch, data, config, seed, folds):
        if arch == candidates[0].arch:
            raise TrainingFailed("the loss is nan")
        return 0.5

    candidates = [trial(0, 32, 0.9), trial(1, 64, 0.8)]
    monkeypatch.setattr(archsearch.rerank, "cv_score", failing_first)
    chosen, report = rerank(SPACE, load_dataset("iris"), candidates, TrainConfig(epochs=1), 0)
    assert chosen.number == 1 and report["candidates"][0]["cv_accuracy"] is None


def test_the_retrained_trial_is_the_one_the_summary_names_else_the_best():
    trials = [trial(0, 32, 0.9), trial(1, 64, 0.8)]
    best = trials[0]
    assert retrained_trial({"best": {"trial": 1}}, best, trials) is trials[1]
    assert retrained_trial({"best": {"trial": 0}}, best, trials) is best
    assert retrained_trial(None, best, trials) is best  # no summary yet: a running search
    assert retrained_trial({"best": None}, best, trials) is best
    assert retrained_trial({"best": {"trial": 1}}, None, trials) is None  # no success


def test_the_reference_mlp_is_scikit_learns_default_shape_to_the_nearest_choice():
    assert get_space("mlp").reference() == arch(128) == SPACE.reference()
    narrow = get_space("mlp", widths=[8, 16], activations=["tanh"], dropouts=[0.2, 0.5])
    assert narrow.reference().as_dict() == {
        "depth": 1, "width_1": 16, "activation_1": "tanh", "dropout_1": 0.2}  # fmt: skip
    assert get_space("cnn").reference() is None


def test_re_ranking_weighs_the_reference_trained_after_the_search(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["search", "--dataset", "iris", "--space", "mlp", "--strategy", "random",
            "--trials", "3", "--epochs", "1", "--final-epochs", "1", "--final-models", "1",
            "--seed", "0", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    trials = archsearch.load(out).trials
    reference = get_space("mlp").reference()
    assert [t.number for t in trials] == [0, 1, 2, 3] and trials[3].arch == reference
    assert reference not in [t.arch for t in trials[:3]] and trials[3].result.ok
    err = capsys.readouterr().err
    assert "trial 3: the space's reference architecture" in err
    assert f"re-ranking the {SMALL_DATA_RERANK} best distinct architectures and the space's" in err
    ranking = json.loads((out / "summary.json").read_text())["best"]["rerank"]
    numbers = [row["trial"] for row in ranking["candidates"]]
    assert numbers[-1] == ranking["reference"] == 3 and len(numbers) == SMALL_DATA_RERANK + 1
    # a resume finds the reference trained: nothing is trained again
    assert main(["search", "--resume", str(out)]) == 0
    assert len(archsearch.load(out).trials) == 4
    err = capsys.readouterr().err
    assert "reference architecture" not in err
    assert "(3 trials searched and 1 reference in " in err and "--trials above 3" in err
    # the budget counts the search's trials: --trials 4 adds one, numbered after the reference,
    # and the log and the listing count as the budget does
    assert main(["search", "--resume", str(out), "--trials", "4"]) == 0
    trials = archsearch.load(out).trials
    assert [t.number for t in trials] == [0, 1, 2, 3, 4] and trials[4].arch != reference
    assert [t.number for t in trials if "reference" in t.stats] == [3]
    assert "trial #4  4/4 done" in capsys.readouterr().err
    assert main(["runs", str(tmp_path)]) == 0
    assert " 4/4 " in capsys.readouterr().out


def test_without_the_reference_or_re_ranking_no_trial_is_added(tmp_path):
    common = ["search", "--dataset", "iris", "--space", "mlp", "--strategy", "random",
              "--trials", "2", "--epochs", "1", "--final-epochs", "1", "--final-models", "1",
              "--seed", "0"]  # fmt: skip
    for flags in (["--final-reference", "false"], ["--final-rerank", "1"]):
        out = tmp_path / flags[0]
        assert main([*common, *flags, "--out", str(out)]) == 0
        assert len(archsearch.load(out).trials) == 2
        assert "reference" not in (json.loads((out / "summary.json").read_text())["best"]
                                   .get("rerank", {}))  # fmt: skip
