"""A whole run: regression and messy CSV tables end to end, the test split out of the
search's reach, failed children below working ones for every task."""

import json

import numpy as np
import pytest
import torch

from archsearch.cli import main
from archsearch.config import DataSpec, SearchConfig
from archsearch.evaluation import Context, get_evaluator
from archsearch.evaluation.trainer import TrainConfig
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.run import make_setup
from archsearch.spaces import get_space
from archsearch.strategies import get_strategy
from archsearch.tasks.classification import Classification

TINY = ["--trials", "3", "--epochs", "3", "--final-epochs", "3", "--seed", "1"]


def search(tmp_path, capsys, *args):
    out = tmp_path / "run"
    code = main(["search", "--space", "mlp", "--strategy", "random", *TINY, "--out", str(out),
                 *map(str, args)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    return json.loads((out / "summary.json").read_text()), err, out


def test_regression_on_the_bundled_diabetes(tmp_path, capsys):
    summary, err, out = search(tmp_path, capsys, "--dataset", "diabetes")
    assert summary["task"] == "regression" and summary["baseline"]["model"] == "MLPRegressor"
    best = summary["best"]
    assert {"val_r2", "test_r2", "test_mse", "test_mae"} <= set(best)
    assert "regression (rule:" in err and "test r2" in err
    header = (out / "trials.csv").read_text().splitlines()[0].split(",")
    assert "val_r2" in header and "val_accuracy" not in header


def messy_csv(path, rows=160, seed=0):
    """A table as people have them: text categories, missing cells in both kinds of column,
    an identifier, a constant column, and a numeric target."""
    rng = np.random.default_rng(seed)
    lines = ["id,city,size,rooms,flag,price"]
    cities = ["Oslo", "Lima", "Kyiv", "Pune"]
    for i in range(rows):
        city = cities[i % 4] if i % 13 else ""
        size = rng.uniform(20, 200)
        rooms = "" if i % 11 == 0 else str(int(size // 30) + 1)
        price = 1000 * size * (1 + cities.index(city) / 4 if city else 1) + rng.normal(0, 5e3)
        lines.append(f"R{i:04d},{city},{size:.1f},{rooms},same,{price:.0f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_messy_csv_table_trains_and_saves_its_preprocessing(tmp_path, capsys):
    csv = messy_csv(tmp_path / "houses.csv")
    summary, err, out = search(tmp_path, capsys, "--data", csv, "--target", "price")
    assert summary["task"] == "regression" and summary["best"]["test_r2"] > 0
    notes = " ".join(summary["notes"])
    assert "'id'" in notes and "'flag'" in notes  # identifier and constant columns dropped
    checkpoint = torch.load(out / "best_model.pt", weights_only=True)
    kinds = {c["name"]: c["kind"] for c in checkpoint["preprocessing"]["columns"]}
    assert kinds == {"city": "categorical", "size": "numeric", "rooms": "numeric"}


class Poisoned(torch.Tensor):
    """A tensor that fails the moment any torch operation touches it."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is not torch.Tensor.__repr__:
            raise AssertionError(f"the search touched the test split ({func.__name__})")
        return super().__torch_function__(func, types, args, kwargs)


def test_the_search_never_touches_the_test_split():
    config = SearchConfig(
        data=DataSpec(dataset="iris"),
        strategy="random",
        trials=3,
        train=TrainConfig(epochs=2),
    )
    setup = make_setup(config)
    assert setup.evaluator.context.data.x_test is None  # the evaluator holds no test tensors
    setup.data.x_test = setup.data.x_test.as_subclass(Poisoned)
    setup.data.y_test = setup.data.y_test.as_subclass(Poisoned)
    with Ledger(":memory:") as ledger:
        run_search(setup.strategy, setup.evaluator, ledger, Budget(3), executor=setup.executor)
        assert len(ledger) == 3 and all(t.result.ok for t in ledger)
    with pytest.raises(AssertionError, match="touched the test split"):
        setup.data.x_test.sum()  # the poison works


def test_an_evaluator_refuses_data_with_a_test_split():
    setup = make_setup(SearchConfig(data=DataSpec(dataset="iris")))
    context = Context(setup.space, setup.data.task, setup.data)
    with pytest.raises(ValueError, match="must not hold the test split"):
        get_evaluator("train", context)


@pytest.mark.parametrize(
    "dataset, task", [("iris", "auto"), ("diabetes", "auto"), ("digits", "reconstruction")]
)
def test_a_failed_child_ranks_below_every_working_one(dataset, task):
    data = SearchConfig(data=DataSpec(dataset=dataset, task=task)).data.load(False, seed=0)
    space = get_space("mlp", max_layers=1, widths=(8, 512), dropouts=())
    arch = {w: space.make({"depth": 1, "width_1": w, "activation_1": "relu"}) for w in (8, 512)}
    small = space.count_params(arch[8], data.input_shape, data.task.output_spec())
    # lr 10 for one epoch: the working child is about as bad as a network gets
    train = TrainConfig(epochs=1, lr=10.0, max_params=small)
    evaluator = get_evaluator("train", Context(space, data.task, data.without_test(), train))
    too_big = evaluator.evaluate(arch[512], seed=0)
    working = evaluator.evaluate(arch[8], seed=0)
    assert not too_big.ok and "max_params" in too_big.reason
    assert too_big.reward == data.task.failed_reward
    if working.ok:  # however bad a working child is, it is rewarded above a failed one
        assert too_big.reward < data.task.reward_floor <= working.reward
    with Ledger(":memory:") as ledger:  # and the best of a search is a working child
        strategy = get_strategy("random", space, 0)
        run_search(strategy, evaluator, ledger, Budget(2))
        assert ledger.best() is None or ledger.best().result.ok


def test_reconstruction_with_a_dense_autoencoder(tmp_path, capsys):
    summary, err, out = search(tmp_path, capsys, "--dataset", "digits", "--task", "reconstruction")
    assert summary["task"] == "reconstruction" and "baseline" not in summary
    assert summary["best"]["test_r2"] > 0.0  # explains some of the pixels' variance


def test_classification_default_context_for_plugins():
    # evaluators built outside a run (benchmarks) get a task without data
    context = Context(get_space("nb201"), Classification(10))
    assert context.data is None and context.reward == "val_score"


def test_a_digit_folder_is_not_trained_on_mirrored_images(tmp_path, capsys):
    """Handwritten digits at 16 px get crops by default but never flips (a mirrored digit is
    another symbol); the log says which augmentations are on, and --flip true adds flips.
    The decoded images are cached next to the data, or in --cache-dir."""
    from tests.helpers import write_image_folder

    folder = write_image_folder(tmp_path / "digits", counts=(("train", 8), ("test", 2)))
    common = ["--data-dir", folder, "--space", "cnn", "--space-option", "layers=1",
              "--trials", "1", "--final-epochs", "1"]  # fmt: skip
    summary, err, out = search(tmp_path, capsys, *common)
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["flip"] is False
    assert "augmentation: random crops (4 px padding), no flips" in err
    flipped = tmp_path / "flipped"
    cache = tmp_path / "cache"
    code = main(["search", "--strategy", "random", *TINY, *map(str, common), "--flip", "true",
                 "--cache-dir", str(cache), "--out", str(flipped)])  # fmt: skip
    assert code == 0
    assert "augmentation: random crops (4 px padding), horizontal flips" in capsys.readouterr().err
    assert len(list(cache.glob("*.npz"))) == 1  # --cache-dir: the decoded images went there
    assert len(list(folder.glob(".archsearch-cache-*.npz"))) == 1  # only the first run's


def test_resuming_a_finished_run_retrains_nothing(tmp_path, capsys, monkeypatch):
    """No new budget: the run says it is finished and writes nothing. New trials that find no
    better architecture: the best one's trained network and test scores are kept."""
    import archsearch.run

    # no re-ranking: a new trial among the candidates is re-ranked (tests/test_rerank.py)
    summary, _, out = search(
        tmp_path, capsys, "--dataset", "iris", "--seed", "5", "--final-rerank", 1
    )
    files = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()}

    def no_training(*args, **kwargs):
        raise AssertionError("the final network was trained again")

    monkeypatch.setattr(archsearch.run, "train_final", no_training)
    for extra in ([], ["--trials", "3"]):
        assert main(["search", "--resume", str(out), *extra]) == 0
        err = capsys.readouterr().err
        assert f"{out} is finished (3 trials searched in " in err
        assert f" s, best trial {summary['best']['trial']}); nothing to do" in err
        assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()} == files
    assert main(["search", "--resume", str(out), "--trials", "4"]) == 0
    err = capsys.readouterr().err
    after = json.loads((out / "summary.json").read_text())
    assert after["trials"] == 4 and after["best"]["trial"] == summary["best"]["trial"]
    assert f"trial {summary['best']['trial']} is already retrained and tested" in err
    assert after["best"] == summary["best"]
    assert (out / "best_model.pt").read_bytes() == files["best_model.pt"][1]


def test_one_trial_numbering_across_log_summary_csv_and_plots(tmp_path, capsys):
    """Trials are numbered from 0, as in the ledger, everywhere a user reads a number."""
    import csv
    import re

    summary, err, out = search(tmp_path, capsys, "--dataset", "iris", "--trials", "4")
    logged = [int(n) for n in re.findall(r"^trial #(\d+)  (?:\d+)/4 done", err, re.M)]
    assert logged == [0, 1, 2, 3]
    assert re.findall(r"^trial #\d+  (\d+)/4 done", err, re.M) == ["1", "2", "3", "4"]
    with open(out / "trials.csv", newline="") as f:
        assert [int(row["trial"]) for row in csv.DictReader(f)] == [0, 1, 2, 3]
    best = summary["best"]["trial"]
    assert f"best trial {best}:" in err and f"final training of trial {best} " in err
    with Ledger(out / "ledger.sqlite") as ledger:
        assert best == ledger.best().number
    assert rewards_plot_trials(out) == [0, 1, 2, 3]
    # no float32 noise such as 0.800000011920929 in the files people read
    for name in ("summary.json", "trials.csv", "final_curve.json"):
        assert not re.search(r"\d\.\d{9,}", (out / name).read_text()), name


def rewards_plot_trials(out):
    """The trial numbers on the x axis of a run's rewards plot, drawn again from its ledger."""
    from archsearch.reporting.plots import plot_rewards

    with Ledger(out / "ledger.sqlite") as ledger:
        figure = plot_rewards(list(ledger), out / "again.png")
    return sorted(
        {int(x) for points in figure.axes[0].collections for x, _ in points.get_offsets()}
    )


def test_a_time_limited_run_resumes_only_with_time_it_has_not_spent(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["search", "--dataset", "iris", "--space", "mlp", "--strategy", "random",
            "--trials", "100000", "--time-limit", "1", "--epochs", "1", "--final-epochs", "1",
            "--final-models", "1", "--final-rerank", "1", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    first = json.loads((out / "summary.json").read_text())
    assert first["stopped"] == "time" and first["search_seconds"] >= 1
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    capsys.readouterr()
    # a limit the run has already used up: nothing to do, nothing written
    assert main(["search", "--resume", str(out), "--time-limit", "0.5"]) == 0
    assert "nothing to do" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == files
    # a longer one searches on, and the search time counts both sessions
    assert main(["search", "--resume", str(out), "--time-limit", "2"]) == 0
    second = json.loads((out / "summary.json").read_text())
    assert second["trials"] > first["trials"]
    assert second["search_seconds"] >= max(2, first["search_seconds"])
