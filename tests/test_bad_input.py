"""Every bad input is one line on stderr, exit code 2, no traceback, and not a byte of any
existing file changes: a table of cases across search, resume, train, benchmark and doctor."""

import json
import shutil
import sqlite3

import pytest
import torch

from archsearch.cli import main
from tests.helpers import write_image_folder

TINY = ["--trials", "2", "--epochs", "1", "--final-epochs", "1", "--final-models", "1"]


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A folder with a finished run, damaged copies of it, and bad data files."""
    root = tmp_path_factory.mktemp("bad")
    run = root / "run"
    assert (
        main(["search", "--dataset", "iris", "--strategy", "random", *TINY, "--out", str(run)]) == 0
    )
    other = root / "other"
    assert main(["search", "--dataset", "iris", "--strategy", "random", *TINY, "--seed", "1",
                 "--out", str(other)]) == 0  # fmt: skip
    damage(root, run, other)
    data_files(root)
    write_image_folder(root / "images", counts=(("train", 4), ("test", 2)))
    trained = root / "trained"
    assert main(["train", "--model", "nascnn15", "--dataset", "digits", "--epochs", "1",
                 "--test-subset", "20", "--out", str(trained)]) == 0  # fmt: skip
    (copy(root, trained, "bad-checkpoint") / "checkpoint.pt").write_bytes(b"\x80garbage")
    (root / "loop-a").symlink_to(root / "loop-b")
    (root / "loop-b").symlink_to(root / "loop-a")
    main(["search", "--data-dir", str(root / "images"), "--trials", "0", "--out", str(root / "x")])
    return root


def copy(root, run, name):
    target = root / name
    shutil.copytree(run, target)
    return target


def sql(path, statement, *args):
    db = sqlite3.connect(path)
    with db:
        db.execute(statement, args)
    db.close()


def damage(root, run, other):
    """Copies of the run, each wrong in one way."""
    shutil.copy(other / "ledger.sqlite", copy(root, run, "foreign") / "ledger.sqlite")
    (copy(root, run, "empty-ledger") / "ledger.sqlite").write_bytes(b"")
    ledger = (run / "ledger.sqlite").read_bytes()
    (copy(root, run, "truncated") / "ledger.sqlite").write_bytes(ledger[: len(ledger) // 3])
    garbage = bytearray(ledger)
    garbage[4096:6000] = b"\xde\xad" * 952
    (copy(root, run, "garbled") / "ledger.sqlite").write_bytes(bytes(garbage))
    sql(copy(root, run, "no-table") / "ledger.sqlite", "DROP TABLE trials")
    sql(copy(root, run, "bad-row") / "ledger.sqlite", "UPDATE trials SET arch = '{nope'")
    sql(copy(root, run, "bad-state") / "ledger.sqlite", "UPDATE state SET value = x'00ff00'")
    config = json.loads((run / "config.json").read_text())
    for name, change in (
        ("edited", {"data": {**config["data"], "dataset": "wine"}}),
        ("other-reward", {"reward": "best_val_score"}),
        ("wrong-type", {"trials": "many"}),
        ("unknown-key", {"colour": "red"}),
    ):
        path = copy(root, run, name) / "config.json"
        path.write_text(json.dumps({**config, **change}))
    (copy(root, run, "bad-json") / "config.json").write_text("{not json")


def data_files(root):
    (root / "d.csv").write_text(
        "a,b,y\n" + "".join(f"{i},{i % 3},{'xy'[i % 2]}\n" for i in range(20))
    )
    latin = b"a,b,y\n" + b"".join(b"%d,caf\xe9,%d\n" % (i, i % 2) for i in range(20))
    (root / "latin.csv").write_bytes(latin)
    (root / "few.csv").write_text("a,y\n1,p\n2,q\n3,r\n")
    (root / "one.csv").write_text("a,y\n" + "".join(f"{i},same\n" for i in range(20)))
    (root / "ragged.csv").write_text("a,b,y\n1,2,x\n3,y\n")
    (root / "bad.json").write_text("{not json")
    (root / "list.json").write_text('[{"space": "mlp"}]')
    values = {"depth": 1, "width_1": 60000, "activation_1": "relu", "dropout_1": 0.0}
    huge = {"space": "mlp", "space_options": {"widths": [60000]}, "values": values}
    (root / "huge.json").write_text(json.dumps(huge))
    (root / "empty").mkdir()
    (root / "full").mkdir()
    (root / "full" / "note.txt").write_text("mine")
    (root / "a-file").write_text("not a folder")
    table = root / "table.csv"
    table.write_text("ArchitectureString,CIFAR10TestAccuracy200Epochs\n")


S = ["search", "--trials", "1", "--out", "{root}/new"]
I = [*S, "--dataset", "iris"]  # noqa: E741 - a search that would otherwise run
#: A warm start whose proxy fails on every architecture of the space.
GRADNORM_AUTOENCODER = ["--dataset", "digits", "--task", "reconstruction", "--space",
                        "autoencoder", "--warm-start", "1", "--warm-start-pool", "2",
                        "--warm-start-proxy", "gradnorm"]  # fmt: skip
CASES = [
    # -- search: names and sources
    ([*S, "--dataset", "nope"], "unknown dataset 'nope'"),
    ([*I, "--space", "nope"], "unknown space 'nope'"),
    ([*I, "--strategy", "nope"], "unknown strategy 'nope'"),
    ([*I, "--evaluator", "nope"], "unknown evaluator 'nope'"),
    ([*I, "--executor", "nope"], "unknown executor 'nope'"),
    ([*I, "--executor", "pool", "--workers", "0"], "workers must lie in [1,"),
    ([*I, "--executor", "pool", "--workers", "two"], "invalid int value: 'two'"),
    ([*I, "--executor", "ray", "--gpus-per-trial", "-0.5"], "gpus_per_trial must lie in [0,"),
    ([*I, "--executor", "pool", "--cpus-per-trial", "0"], "cpus_per_trial must lie in [1,"),
    (
        [*I, "--workers", "2"],
        "--workers: not an option of --executor inline; give --executor pool or ray",
    ),
    (
        [*I, "--executor", "pool", "--address", "auto"],
        "--address: not an option of --executor pool; give --executor ray",
    ),
    ([*I, "--task", "sorting"], "unknown task 'sorting'"),
    ([*I, "--objectives", "params"], "leaves out accuracy (the task's score)"),
    ([*I, "--reward", "nope"], "unknown reward 'nope'"),
    ([*I, "--data", "{root}/d.csv", "--target", "y"], "exactly one of"),
    ([*S, "--data", "{root}/missing.csv", "--target", "y"], "no such file"),
    ([*S, "--data", "{root}/d.csv", "--target", "label"], "no column named 'label'"),
    ([*S, "--data", "{root}/d.csv"], "needs --target"),
    ([*S, "--data", "{root}/latin.csv", "--target", "y"], "UTF-8"),
    ([*S, "--data", "{root}/few.csv", "--target", "y"], "3 rows for 3 classes"),
    ([*S, "--data", "{root}/one.csv", "--target", "y"], "single class"),
    ([*S, "--data", "{root}/ragged.csv", "--target", "y"], "line 3 has 2 fields"),
    ([*S, "--data", "{root}/empty", "--target", "y"], "is a directory"),
    ([*S, "--data-dir", "{root}/empty"], "no image dataset found"),
    ([*S, "--data-dir", "{root}/missing"], "no such directory"),
    ([*S, "--data-dir", "{root}/empty", "--download", "svhn"], "cannot download 'svhn'"),
    ([*I, "--download", "mnist"], "--download needs --data-dir"),
    ([*I, "--image-size", "32"], "--image-size resizes the images of --data-dir"),
    ([*S, "--data-dir", "{root}/images", "--image-size", "32x"], "--image-size must be N"),
    ([*S, "--data-dir", "{root}/images", "--data", "{root}/d.csv", "--target", "y"], "one of"),
    # -- search: numbers out of range
    ([*I, "--epochs", "0"], "epochs must lie in [1,"),
    ([*I, "--lr", "-1"], "learning rate must lie in (0,"),
    ([*I, "--lr", "nan"], "--lr must be a finite number"),
    ([*I, "--time-limit", "1e400"], "--time-limit must be a finite number"),
    ([*I, "--momentum", "-1"], "momentum must lie in [0, 1)"),
    ([*I, "--momentum", "nan"], "--momentum must be a finite number"),
    ([*I, "--weight-decay", "nan"], "--weight-decay must be a finite number"),
    ([*I, "--weight-decay", "-1"], "weight decay must lie in [0,"),
    ([*I, "--batch-size", "0"], "batch size must lie in [1,"),
    ([*I, "--label-smoothing", "1.5"], "label smoothing must lie in [0, 1)"),
    ([*I, "--warmup-epochs", "20"], "warmup epochs must be below epochs"),
    ([*I, "--max-params", "0"], "max params must lie in [1,"),
    ([*I, "--max-memory", "0"], "max memory must lie in (0,"),
    ([*I, "--seed", "-1"], "--seed must lie in [0,"),
    ([*I, "--seed", "4294967295"], "--seed must lie in [0,"),
    ([*I, "--trials", "0"], "--trials must be >= 1"),
    ([*I, "--time-limit", "0"], "--time-limit must be positive"),
    ([*I, "--final-epochs", "-1"], "--final-epochs must be >= 0"),
    ([*I, "--final-models", "0"], "--final-models must be >= 1"),
    ([*I, "--retries", "-1"], "--retries must lie in 0..100"),
    ([*I, "--test-fraction", "1.5"], "--test-fraction must lie in (0, 1)"),
    ([*I, "--train-subset", "0"], "--train-subset must be at least 1"),
    # -- search: choices, devices, combinations
    ([*I, "--device", "tpu"], "unknown device 'tpu'"),
    ([*I, "--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
    ([*I, "--schedule", "nope"], "unknown schedule 'nope'"),
    ([*I, "--augment", "maybe"], "unknown augment setting 'maybe'"),
    ([*I, "--precision", "fp8"], "unknown precision 'fp8'"),
    ([*I, "--flip", "maybe"], "is not true or false"),
    ([*I, "--space", "cnn"], "tabular"),
    ([*S, "--dataset", "diabetes", "--label-smoothing", "0.1"], "applies to classification"),
    ([*S, "--dataset", "diabetes", "--reward", "zoph"], "zoph reward cubes an accuracy"),
    ([*S, "--dataset", "digits", "--space", "cnn", "--task", "reconstruction"], "--space mlp"),
    ([*S, "--dataset", "digits", "--space", "cnn", "--task", "vae"], "use --space vae"),
    ([*S, *GRADNORM_AUTOENCODER], "the gradnorm proxy could not score any of the 2 architectures"),
    ([*S, "--dataset", "digits", "--space", "mlp", "--task", "vae"], "give --space vae (it"),
    # -- search: plug-in options
    ([*I, "--space-option", "max_layers=0"], "max_layers must lie in [1, 64]"),
    ([*I, "--space-option", "max_layers=100000"], "max_layers must lie in [1, 64]"),
    ([*I, "--space-option", "max_layers=true"], "max_layers must be a whole number"),
    ([*I, "--space-option", "widths=0"], "widths must lie in [1,"),
    ([*I, "--space-option", "activations=swish"], "unknown activation(s) ['swish']"),
    ([*I, "--space-option", "bogus=1"], "known options: max_layers"),
    (
        [*S, "--dataset", "digits", "--space", "cnn", "--space-option", "pooling=maybe"],
        "pooling must be true or false",
    ),  # fmt: skip
    ([*I, "--strategy-option", "bogus=1"], "unknown option(s) ['bogus']"),
    ([*I, "--strategy-option", "lr=[1]"], "is not a float"),
    ([*I, "--strategy-option", "temperature=0"], "temperature must lie in (0,"),
    ([*I, "--strategy-option", "hidden=0"], "hidden must lie in [1,"),
    ([*I, "--strategy", "bayesopt", "--strategy-option", "initial=0"], "initial must lie in"),
    ([*I, "--strategy", "qlearning", "--strategy-option", "state=tree"], "choose 'prefix'"),
    ([*I, "--evaluator-option", "x=1"], "unknown option(s) ['x']"),
    (
        [
            *S,
            "--dataset",
            "digits",
            "--space",
            "nb201",
            "--evaluator",
            "tabular",
            "--evaluator-option",
            "table={root}/missing.csv",
        ],
        "no such table file",
    ),  # fmt: skip
    ([*S, "--dataset", "digits", "--space", "nb201", "--evaluator", "tabular"], "table=PATH"),
    ([*I, "--evaluator", "tabular"], "not 'mlp'; give --space nb201, or another --evaluator"),
    # -- search: where the run goes
    (["search", "--dataset", "iris", "--out", "{root}/run"], "already holds a run"),
    (["search", "--dataset", "iris", "--out", "{root}/full"], "non-empty directory"),
    (["search", "--dataset", "iris", "--out", "{root}/a-file"], "is a file"),
    (["search", "--dataset", "iris", "--out", "{root}/a-file/sub"], "a-file/sub"),
    (["search", "--dataset", "iris", "--out", "{root}/loop-a/run"], "loop-a"),
    (["search", "--dataset", "iris", "--out", "{root}/" + "n" * 300], "File name too long"),
    (["search", "--dataset", "iris", "--out", "/proc/archsearch-run"], "/proc/archsearch-run"),
    # -- argparse
    (["search", "--dataset", "iris", "--bogus"], "unrecognized arguments: --bogus"),
    (["search", "--dataset", "iris", "--trials", "many"], "invalid int value"),
    (["search", "--preset", "nope"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
    # -- resume
    (["search", "--resume", "{root}/empty"], "is not an archsearch run"),
    (["search", "--resume", "{root}/run", "--epochs", "5"], "drop --epochs"),
    (["search", "--resume", "{root}/run", "--workers", "4"], "drop --workers"),
    (["search", "--resume", "{root}/run", "--trials", "1"], "below the 2 trials"),
    (["search", "--resume", "{root}/run", "--time-limit", "0"], "--time-limit must be"),
    (["search", "--resume", "{root}/foreign"], "belongs to another run"),
    (["search", "--resume", "{root}/empty-ledger"], "missing or empty"),
    (["search", "--resume", "{root}/truncated"], "damaged"),
    (["search", "--resume", "{root}/garbled"], "damaged"),
    (["search", "--resume", "{root}/no-table"], "no trials table"),
    (["search", "--resume", "{root}/bad-row"], "trial 0 cannot be read back"),
    (["search", "--resume", "{root}/bad-state"], "search state cannot be read"),
    (["search", "--resume", "{root}/edited"], "was changed since the run started (data.dataset)"),
    (["search", "--resume", "{root}/other-reward"], "(reward)"),
    (["search", "--resume", "{root}/wrong-type"], "trials must be a whole number"),
    (["search", "--resume", "{root}/unknown-key"], "unknown setting(s) ['colour']"),
    (["search", "--resume", "{root}/bad-json"], "not a readable configuration"),
    # -- train
    (["train", "--dataset", "iris"], "give exactly one of --arch"),
    (["train", "--model", "nope", "--dataset", "iris"], "unknown model 'nope'"),
    (["train", "--arch", "{root}/missing.json", "--dataset", "iris"], "cannot read"),
    (["train", "--arch", "{root}/bad.json", "--dataset", "iris"], "not JSON"),
    (["train", "--run", "{root}/empty", "--dataset", "iris"], "has no best_arch.json"),
    (["train", "--model", "nascnn15", "--dataset", "digits", "--patience", "0"], "--patience"),
    (["train", "--model", "nascnn15", "--dataset", "digits", "--seed", "-3"], "--seed must lie"),
    (["train", "--model", "nascnn15", "--dataset", "iris", "--out", "{root}/new"], "tabular"),
    (
        [
            "train",
            "--arch",
            "{root}/huge.json",
            "--dataset",
            "iris",
            "--max-params",
            "1000",
            "--out",
            "{root}/new",
        ],
        "cannot be trained here",
    ),  # fmt: skip
    (["train", "--resume", "{root}/empty"], "config.json"),
    (["train", "--resume", "{root}/run", "--epochs", "3"], "drop --epochs"),
    (["train", "--resume", "{root}/bad-checkpoint"], "checkpoint.pt is damaged"),
    (["train", "--arch", "{root}/list.json", "--dataset", "iris"], "holds a JSON list, not an"),
    (["train", "--resume", "{root}/run"], "continue it with `archsearch search --resume"),
    (["search", "--resume", "{root}/trained"], "continue it with `archsearch train --resume"),
    # -- predict and export: where the output goes
    (["predict", "{root}/run", "--data", "{root}/d.csv", "--out", "{root}/empty"], "directory"),
    (
        ["predict", "{root}/run", "--data", "{root}/d.csv", "--out", "{root}/missing/p.csv"],
        "the folder {root}/missing does not exist",
    ),  # fmt: skip
    (
        ["export", "{root}/run", "--format", "torchscript", "--out", "{root}/a-file"],
        "is a file, but export writes a folder",
    ),  # fmt: skip
    # -- benchmark
    (
        [
            "benchmark",
            "--table",
            "{root}/table.csv",
            "--strategies",
            "random,annealing",
            "--out",
            "{root}/new",
        ],
        "annealing",
    ),  # fmt: skip
    (["benchmark", "--table", "{root}/table.csv", "--budget", "0"], "--budget"),
    (["benchmark", "--table", "{root}/table.csv", "--space", "mlp"], "nb201"),
    (["benchmark", "--table", "{root}/missing.csv", "--out", "{root}/new"], "no such file"),
    (
        ["benchmark", "--table", "{root}/table.csv", "--dataset", "mnist", "--out", "{root}/new"],
        "mnist",
    ),  # fmt: skip
    (["benchmark", "--table", "{root}/table.csv", "--seed-start", "-1"], "--seed-start"),
    (["benchmark", "--table", "{root}/table.csv", "--out", "{root}/run"], "not an empty folder"),
    # -- doctor
    (["doctor", "{root}/empty"], "is not an archsearch run"),
]


def snapshot(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "argv, message", CASES, ids=lambda c: " ".join(c)[:60] if isinstance(c, list) else None
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(place, capsys, argv, message):
    if "--device" in argv and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    before = snapshot(place)
    args = [a.replace("{root}", str(place)) for a in argv]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert message.replace("{root}", str(place)) in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert snapshot(place) == before
    assert not (place / "new").exists()


def test_there_are_at_least_sixty_cases():
    assert len(CASES) >= 60
