"""One-shot search: the nb201 supernet against stand-alone networks, DARTS's alpha learning,
its collapse guards, the shared-weights evaluator, and a killed one-shot run resumed."""

import json
import random
import signal
from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from archsearch.cli import main
from archsearch.data.dataset import Dataset, Normalization
from archsearch.errors import UsageError
from archsearch.evaluation import Context, get_evaluator
from archsearch.evaluation.trainer import TrainConfig
from archsearch.ledger import Ledger
from archsearch.loop import Budget, run_search
from archsearch.oneshot import ONESHOTS
from archsearch.oneshot.base import supernet_memory
from archsearch.oneshot.driver import record_epoch, run_oneshot
from archsearch.oneshot.guards import free_count
from archsearch.spaces import get_space
from archsearch.strategies import get_strategy
from archsearch.tasks.base import OutputSpec
from archsearch.tasks.classification import Classification
from tests.helpers import spawn, trials_of, wait_for, write_image_folder

SPACE = {"channels": 4, "cells_per_stage": 1}
TABLE = Path("/work/shared/data/nats_bench.csv")


def tiny_data(rows=32, size=8, classes=3, seed=0):
    """Random uint8 images with labels: enough for a few steps of every method."""
    g = torch.Generator().manual_seed(seed)

    def images(n):
        return torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)

    def labels(n):
        return torch.randint(0, classes, (n,), generator=g)

    norm = Normalization((127.0,) * 3, (70.0,) * 3)
    names = [str(c) for c in range(classes)]
    return Dataset("tiny", Classification(classes), images(rows), labels(rows), images(rows),
                   labels(rows), None, None, names, norm=norm)  # fmt: skip


def darts(seed=0, epochs=2, **options):
    data = tiny_data()
    train = TrainConfig(epochs=epochs, batch_size=16, device="cpu")
    return ONESHOTS.get("darts")(
        get_space("nb201", **SPACE), data.task, data, train, seed, **options
    )


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_supernet_runs_an_architecture_as_its_standalone_network(mode):
    space = get_space("nb201", **SPACE)
    torch.manual_seed(0)
    net = space.supernet((3, 8, 8), OutputSpec((5,)))
    x = torch.randn(6, 3, 8, 8)
    for seed in range(6):
        arch = space.sample(random.Random(seed))
        alone = net.extract(arch)
        assert type(alone) is type(space.build(arch, (3, 8, 8), OutputSpec((5,))))
        getattr(net, mode)(), getattr(alone, mode)()
        assert torch.allclose(net(x, arch), alone(x), atol=1e-5), space.to_string(arch)


def test_a_one_hot_mixture_is_the_architecture_it_picks():
    space = get_space("nb201", **SPACE)
    net = space.supernet((3, 8, 8), OutputSpec((5,))).eval()
    arch = space.sample(random.Random(3))
    onehot = torch.zeros(len(space.decisions), len(space.ops))
    for row, decision in enumerate(space.decisions):
        onehot[row, space.ops.index(arch[decision.name])] = 1.0
    x = torch.randn(4, 3, 8, 8)
    assert torch.allclose(net(x, onehot), net(x, arch), atol=1e-5)


class ScalarReads(TorchDispatchMode):
    """Counts reads of one tensor element into Python (`float(t)`, `t.item()`): each one
    waits for a GPU to finish all it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += func is torch.ops.aten._local_scalar_dense.default
        return func(*args, **(kwargs or {}))


def test_a_mixture_forward_reads_its_weights_once_not_once_per_operation():
    space = get_space("nb201", channels=4, cells_per_stage=2)
    net = space.supernet((3, 8, 8), OutputSpec((5,)))
    weights = torch.softmax(torch.randn(len(space.decisions), len(space.ops)), dim=-1)
    weights[0, 1] = 0.0  # a weight of exactly 0 still skips its operation...
    x = torch.randn(2, 3, 8, 8)
    with ScalarReads() as reads:
        out = net(x, weights)
    assert reads.count == 0
    # ...and gives what computing it would: the same output with a tiny weight in its place
    nearly = weights.clone()
    nearly[0, 1] = 1e-30
    assert torch.allclose(out, net(x, nearly), atol=1e-6)


def test_a_space_without_weight_sharing_says_so():
    with pytest.raises(UsageError, match="does not support weight sharing"):
        get_space("mlp").supernet((4,), OutputSpec((2,)))


@pytest.mark.parametrize("order", [1, 2])
def test_darts_alpha_receive_gradients_and_change(order):
    method = darts(order=order, guard="none")
    before = method.alpha.detach().clone()
    stats = method.epoch()
    assert method.alpha.grad is not None and method.alpha.grad.abs().sum() > 0
    assert not torch.equal(before, method.alpha.detach())
    assert 0 < stats["alpha_entropy"] <= torch.log(torch.tensor(5.0)) + 1e-6
    arch = method.derive()
    method.space.validate(arch)  # a valid member of its space
    assert arch == method.argmax()


def test_the_guards_keep_parameter_free_operations_in_check():
    method = darts(guard="cap", max_free=1)
    with torch.no_grad():  # alpha collapsed onto skip connections on every edge
        method.alpha.zero_()
        method.alpha[:, method.space.ops.index("skip_connect")] = 5.0
    assert all(v == "skip_connect" for _, v in method.argmax().values)
    capped = method.derive()
    method.space.validate(capped)
    assert sum(v in ("none", "skip_connect", "avg_pool_3x3") for _, v in capped.values) == 1
    beta = darts(guard="beta", beta_max=10.0, epochs=3)
    beta.epochs_done = 2  # lambda has risen to beta_max by the last epoch
    assert beta.guard.penalty() > 0


def test_rsps_cap_derives_only_among_cells_with_few_parameter_free_operations():
    data = tiny_data()
    train = TrainConfig(epochs=1, batch_size=16, device="cpu")

    def rsps(**options):
        space = get_space("nb201", **SPACE)
        return ONESHOTS.get("rsps")(space, data.task, data, train, 0, derive_samples=5, **options)

    capped, plain, rng = rsps(max_free=1), rsps(), random.Random(0)
    samples = [capped.candidate(rng) for _ in range(200)]
    assert max(free_count(a) for a in samples) <= 1
    assert len({capped.space.to_string(a) for a in samples}) > 100, "still spread over the part"
    assert max(free_count(plain.candidate(rng)) for _ in range(200)) > 1
    assert free_count(capped.derive()) <= 1


def test_beta_cap_regularises_alpha_and_caps_the_derived_cell():
    method = darts(guard="beta-cap", beta_max=10.0, max_free=2, epochs=3)
    method.epochs_done = 2
    assert method.guard.penalty() > 0
    with torch.no_grad():
        method.alpha.zero_()
        method.alpha[:, method.space.ops.index("skip_connect")] = 5.0
        method.alpha[:, method.space.ops.index("nor_conv_1x1")] = 1.0
    capped = method.derive()
    free = [v for _, v in capped.values if v in ("none", "skip_connect", "avg_pool_3x3")]
    assert free == ["skip_connect"] * 2
    assert sum(v == "nor_conv_1x1" for _, v in capped.values) == 4


def test_memory_too_large_for_any_batch_is_a_clear_error():
    data = tiny_data()
    train = TrainConfig(epochs=1, batch_size=16, device="cpu", max_memory=1e-6)
    with pytest.raises(UsageError, match="reduce --space-option channels"):
        ONESHOTS.get("darts")(get_space("nb201", **SPACE), data.task, data, train, 0)


def test_a_batch_that_does_not_fit_is_reduced_and_said():
    method = darts()
    need = method.batch_size
    full = supernet_memory(method.supernet, method.weights().detach(), (3, 8, 8), need)
    half = supernet_memory(method.supernet, method.weights().detach(), (3, 8, 8), need // 2)
    method.train.max_memory = (full + half) / 2 / 2**30
    assert "batch reduced to 8" in method.fit_memory(method.supernet, method.weights().detach())
    assert method.batch_size == 8


def test_shared_weights_evaluator_scores_without_retraining_and_rescores_changed_weights():
    data = tiny_data()
    space = get_space("nb201", **SPACE)
    context = Context(space, data.task, data, TrainConfig(batch_size=16, device="cpu"))
    fixed = get_evaluator("shared", context, warmup_epochs=1)
    assert fixed.parallel_safe is False and fixed.rescores is False
    arch = space.sample(random.Random(0))
    first, again = fixed.evaluate(arch, 0), fixed.evaluate(arch, 1)
    assert first.ok and first.metrics == again.metrics  # fixed weights: the same score
    moving = get_evaluator("shared", context, warmup_epochs=1, steps=2)
    assert moving.rescores
    a, b = moving.evaluate(arch, 0), moving.evaluate(arch, 0)
    assert b.metrics["weight_steps"] == a.metrics["weight_steps"] + 2
    assert a.metrics["val_loss"] != b.metrics["val_loss"]
    restored = get_evaluator("shared", context, warmup_epochs=1, steps=2)
    restored.load_state_dict(moving.state_dict())
    assert restored.evaluate(arch, 0).metrics == moving.evaluate(arch, 0).metrics


def test_the_driver_records_each_epoch_and_resumes_exactly(tmp_path):
    whole = darts(seed=3, epochs=3)
    with Ledger(":memory:") as ledger:
        run_oneshot(whole, ledger)
        reference = [t.arch for t in ledger]
        assert [t.result.metrics["epoch"] for t in ledger] == [1, 2, 3]
        assert all("alpha_entropy" in t.stats for t in ledger)
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:  # stopped after one epoch by a time limit of zero
        run_oneshot(darts(seed=3, epochs=3), ledger, seconds=1e-9)
        assert len(ledger) == 0
    with Ledger(path) as ledger:  # killed after its first epoch
        record_epoch(darts(seed=3, epochs=3), ledger, 0.0)
    resumed = darts(seed=3, epochs=3)
    with Ledger(path) as ledger:
        stopped, last = run_oneshot(resumed, ledger)
        assert stopped == "budget" and [t.arch for t in ledger] == reference
    assert torch.allclose(resumed.alpha, whole.alpha)


def test_darts_run_killed_mid_search_resumes_to_the_same_run_directory(tmp_path, capsys):
    images = write_image_folder(tmp_path / "images", counts=(("train", 20), ("test", 4)), size=8)
    out = tmp_path / "run"
    args = ["search", "--data-dir", images, "--space", "nb201", "--strategy", "darts",
            "--space-option", "channels=4", "--space-option", "cells_per_stage=1",
            "--epochs", "3", "--batch-size", "8", "--final-epochs", "1", "--final-models", "1",
            "--out", out]  # fmt: skip
    if TABLE.is_file():  # the table's accuracy of the derived cell joins the summary
        args += ["--evaluator", "tabular", "--evaluator-option", f"table={TABLE}"]
    process = spawn(*args)
    try:
        wait_for(lambda: len(trials_of(out)) >= 1 or process.poll() is not None, 300)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    done = len(trials_of(out))
    assert 1 <= done <= 3
    assert main(["search", "--resume", str(out)]) == 0
    err = capsys.readouterr().err
    if done < 3:
        assert f"resuming after {done} finished search epochs" in err
    trials = trials_of(out)
    assert [t[0] for t in trials] == [0, 1, 2]
    summary = json.loads((out / "summary.json").read_text())
    entry = summary["oneshot"]
    assert entry["method"] == "darts" and entry["epochs"] == 3
    assert summary["best"]["arch"] == entry["derived"] == json.loads(trials[-1][1])
    assert "search_val_accuracy" in entry
    assert not TABLE.is_file() or 0 < entry["table_test_accuracy"] <= 1
    assert "test_accuracy" in summary["best"]
    assert (out / "alpha.png").is_file() and (out / "best_model.pt").is_file()
    # its budget is its search epochs: listed as such, and a resume cannot add trials
    assert main(["runs", str(tmp_path)]) == 0
    assert " 3/3 " in capsys.readouterr().out
    before = (out / "config.json").read_bytes()
    assert main(["search", "--resume", str(out), "--trials", "5"]) == 2
    assert "start a new run with more --epochs" in capsys.readouterr().err
    assert main(["search", "--resume", str(out)]) == 0
    assert "(3 search epochs in " in capsys.readouterr().err
    assert (out / "config.json").read_bytes() == before


@pytest.mark.parametrize("steps, trials", [(0, 1), (2, 3)])
def test_the_loop_rescores_repeats_only_when_the_shared_weights_changed(steps, trials):
    space = get_space("nb201", ops=("skip_connect",), **SPACE)  # a space of one architecture
    data = tiny_data()
    context = Context(space, data.task, data, TrainConfig(batch_size=16, device="cpu"))
    evaluator = get_evaluator("shared", context, warmup_epochs=1, steps=steps)
    with Ledger(":memory:") as ledger:
        run_search(get_strategy("random", space), evaluator, ledger, Budget(trials=3))
        found = list(ledger)
    assert len(found) == trials and len({t.arch for t in found}) == 1
    assert len({t.result.metrics["weight_steps"] for t in found}) == trials


def test_the_shared_evaluator_searches_the_supernet_a_one_shot_run_trained(tmp_path, capsys):
    """`supernet=RUN` scores on the weights RSPS left: the one architecture of a one-operation
    space scores exactly what the RSPS run recorded for it at its last epoch, unlike a fresh
    supernet; a run of another kind or other space options is one line, exit code 2."""
    images = write_image_folder(tmp_path / "images", counts=(("train", 12), ("test", 4)), size=8)
    space = ["--space", "nb201", "--space-option", "channels=4", "--space-option",
             "cells_per_stage=1", "--space-option", "ops=nor_conv_1x1"]  # fmt: skip
    common = ["--data-dir", str(images), *space, "--final-epochs", "0", "--batch-size", "8"]
    rsps = tmp_path / "rsps"
    assert main(["search", *common, "--strategy", "rsps", "--epochs", "2", "--out", str(rsps)]) == 0

    def shared(out, *options):
        args = ["--strategy", "random", "--trials", "1", "--evaluator", "shared"]
        options = [x for o in options for x in ("--evaluator-option", o)]
        return main(["search", *common, *args, *options, "--out", str(tmp_path / out)])

    assert shared("on", f"supernet={rsps}") == 0
    assert shared("fresh", "warmup_epochs=0") == 0
    trained, on, fresh = (trials_of_run(tmp_path / name)[-1] for name in ("rsps", "on", "fresh"))
    assert on.arch == trained.arch == fresh.arch
    assert on.result.metrics["val_loss"] == trained.result.metrics["val_loss"]
    assert fresh.result.metrics["val_loss"] != trained.result.metrics["val_loss"]
    assert on.result.metrics["params"] == trained.result.metrics["params"]
    capsys.readouterr()
    assert shared("bad", f"supernet={tmp_path / 'fresh'}") == 2
    assert "a random search has no trained supernet" in capsys.readouterr().err
    common[common.index("channels=4")] = "channels=6"
    assert shared("wide", f"supernet={rsps}") == 2
    assert "its supernet has other shapes" in capsys.readouterr().err


def trials_of_run(run):
    with Ledger.open(run / "ledger.sqlite", readonly=True) as ledger:
        return list(ledger)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--executor", "pool"], "--executor pool: a one-shot search trains one supernet"),
        (["--evaluator", "proxy"], "--evaluator proxy: a one-shot search scores architectures"),
    ],
)
def test_a_setting_a_one_shot_search_would_ignore_is_refused(tmp_path, capsys, flags, message):
    args = ["search", "--dataset", "digits", "--space", "nb201", "--strategy", "darts", *flags]
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "run").exists()


def test_a_one_shot_method_on_a_space_without_a_supernet_is_a_usage_error(tmp_path, capsys):
    args = ["search", "--dataset", "iris", "--space", "mlp", "--strategy", "darts"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert "does not support weight sharing" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
