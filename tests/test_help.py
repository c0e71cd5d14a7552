"""`--help` tells the truth: every config flag of `search` and `train` states the default that
command really uses, every registered name is listed, the top-level help and `--version` come
from the light `commands` module without importing PyTorch, and say what the full parser says.
"""

import dataclasses
import json
import os
import re
import subprocess
import sys
from importlib import metadata

import pytest

from archsearch import benchmark, cli, commands
from archsearch.config import SearchConfig, TrainJob
from archsearch.evaluation import EVALUATORS
from archsearch.evaluation.rewards import REWARDS
from archsearch.evaluation.trainer import DEFAULT_SMOOTHING, OPTIMIZERS, TrainConfig, default_lr
from archsearch.execution import EXECUTORS
from archsearch.final import SMALL_DATA_MODELS, SMALL_DATA_ROWS
from archsearch.oneshot import METHODS
from archsearch.presets import PRESETS
from archsearch.spaces import SPACES
from archsearch.strategies import STRATEGIES

OPTION = re.compile(r"^  (--[\w-]+)(?: (\S+))?(?:\s{2,}(.*))?$")
NESTED = ("data", "train", "run_id")  # SearchConfig / TrainJob fields that are not flags


def help_of(argv, capsys, monkeypatch):
    """The help `archsearch ARGV` prints, 200 columns wide (one line per option mostly)."""
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 0
    return capsys.readouterr().out


def options(text):
    """{--flag: (metavar or None, help with its wrapped lines joined)} of a help text."""
    found, current = {}, None
    for line in text.splitlines():
        match = OPTION.match(line)
        if match:
            current = match.group(1)
            found[current] = [match.group(2), match.group(3) or ""]
        elif current and line.startswith(" " * 20) and line.strip():
            found[current][1] = (found[current][1] + " " + line.strip()).strip()
        else:
            current = None
    return {flag: (metavar, text) for flag, (metavar, text) in found.items()}


def shown_default(help_text):
    match = re.search(r"\(default: (.*)\)$", help_text)
    return match.group(1) if match else None


def command_flags(command):
    """(flag, config class, field, the value the command uses) of every config flag."""
    top = SearchConfig() if command == "search" else TrainJob()
    rows = []
    for config in (top, top.data, top.train):
        for f in dataclasses.fields(config):
            if config is top and f.name in NESTED:
                continue
            flag = "--" + cli.flag_name(type(config), f.name)
            rows.append((flag, type(config), f, getattr(config, f.name)))
    return rows


def check_default(flag, f, value, metavar, help_text):
    """The help states `value` as the flag's default, typed as one types it."""
    shown = shown_default(help_text)
    if metavar is None:  # a switch: off unless given
        assert value is False and shown is None, flag
    elif value is None:
        assert shown == f.metadata.get("unset"), flag  # what None means, or nothing
    elif value == {}:
        assert shown is None, flag
    elif isinstance(value, bool):
        assert shown == str(value).lower(), flag
    elif isinstance(value, (int, float)):
        assert shown is not None and type(value)(shown) == value, (flag, shown, value)
    else:
        assert shown == value, (flag, shown, value)


@pytest.mark.parametrize("command", ["search", "train"])
def test_every_config_flag_states_the_default_its_command_uses(command, capsys, monkeypatch):
    found = options(help_of([command, "--help"], capsys, monkeypatch))
    rows = command_flags(command)
    assert len(rows) > 30
    for flag, _cls, f, value in rows:
        assert flag in found, f"{flag} is missing from `{command} --help`"
        metavar, help_text = found[flag]
        assert help_text, f"{flag} has no help"
        check_default(flag, f, value, metavar, help_text)


def test_train_shows_the_cifar_recipe_and_its_split_not_the_search_defaults(capsys, monkeypatch):
    found = options(help_of(["train", "--help"], capsys, monkeypatch))
    job = TrainJob()
    assert (job.train.batch_size, job.train.weight_decay, job.data.val_fraction) == (
        128,
        5e-4,
        0.1,
    )
    assert shown_default(found["--batch-size"][1]) == "128"
    assert float(shown_default(found["--weight-decay"][1])) == 5e-4
    assert float(shown_default(found["--val-fraction"][1])) == 0.1
    assert float(shown_default(found["--lr"][1])) == job.train.lr


def test_train_description_figures_are_the_train_defaults(capsys, monkeypatch):
    text = help_of(["train", "--help"], capsys, monkeypatch)
    description = " ".join(text.split("\n\n")[1].split())
    job = TrainJob()
    val = round(100 * job.data.val_fraction)
    train = job.train
    for figure in (
        f"{100 - val}/{val} train/val split",
        f"patience {job.patience}",
        f"{train.optimizer.upper()} Nesterov {train.momentum:g}",
        f"lr {train.lr:g}",
        f"weight decay {train.weight_decay:g}",
        f"batch {train.batch_size}",
        f"{train.schedule},",
        f"{train.epochs} epochs",
    ):
        assert figure in description, (figure, description)


def test_defaults_that_depend_on_the_data_or_the_optimizer_are_stated(capsys, monkeypatch):
    found = options(help_of(["search", "--help"], capsys, monkeypatch))
    lr = shown_default(found["--lr"][1])
    stated = {name.lower(): float(v) for name, v in re.findall(r"(Adam|SGD) ([\d.e-]+)", lr)}
    assert stated == {o: default_lr(TrainConfig(optimizer=o)) for o in OPTIMIZERS}
    assert f"{DEFAULT_SMOOTHING} for classification" in found["--label-smoothing"][1]
    models = shown_default(found["--final-models"][1])
    assert models.startswith(f"{SMALL_DATA_MODELS} when") and f"{SMALL_DATA_ROWS:,}" in models
    for flag in ("--lr", "--test-subset", "--seed"):
        assert len(found[flag][1]) > 20, flag


@pytest.mark.parametrize("command", ["search", "train"])
def test_child_subset_has_its_own_metavar_and_help(command, capsys, monkeypatch):
    found = options(help_of([command, "--help"], capsys, monkeypatch))
    assert found["--child-subset"][0] == "CHILD_SUBSET"
    assert found["--train-subset"][0] == "TRAIN_SUBSET"
    assert found["--child-subset"][1] != found["--train-subset"][1]
    assert found["--data"][0] == "CSV" and "--csv" not in found


def listed(help_text):
    """The names after "one of: " in a help text."""
    match = re.search(r"one of: ([^;(]*)", help_text)
    return match.group(1).strip().split(", ") if match else []


def test_search_help_lists_every_registered_name(capsys, monkeypatch):
    found = options(help_of(["search", "--help"], capsys, monkeypatch))
    for flag, names in (
        ("--space", SPACES.names()),
        ("--strategy", METHODS.names()),  # strategies and one-shot methods
        ("--evaluator", EVALUATORS.names()),
        ("--executor", EXECUTORS.names()),
        ("--reward", list(REWARDS)),
    ):
        assert listed(found[flag][1]) == names, flag
    assert found["--preset"][0] == "{" + ",".join(sorted(PRESETS)) + "}"
    assert {"cnn", "mlp", "nb201", "reinforce", "random", "bayesopt"} <= set(
        SPACES.names() + STRATEGIES.names()
    )


def test_benchmark_help_shows_its_defaults(capsys, monkeypatch):
    found = options(help_of(["benchmark", "--help"], capsys, monkeypatch))
    _, subparsers = commands.top_parser()
    for action in benchmark.add_parser(subparsers)._actions:
        flag = action.option_strings[-1]
        if flag not in ("--help", "--table", "--set"):
            assert shown_default(found[flag][1]) == str(action.default), flag
    assert all(name in found["--strategies"][1] for name in STRATEGIES.names())


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"archsearch {metadata.version('archsearch')}\n"


SCRIPT = """
import json, sys
from archsearch.entry import main
sys.argv = ["archsearch", *json.loads(sys.argv[1])]
try:
    code = main()
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "torch": "torch" in sys.modules}), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--version"], []])
def test_the_top_level_answers_without_torch_as_the_full_parser_does(argv, capsys, monkeypatch):
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(argv)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    *errors, result = done.stderr.splitlines()
    outcome = json.loads(result)
    assert outcome["torch"] is False, "the top-level help imported torch"
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)  # the full parser, torch and all
    full = capsys.readouterr()
    assert outcome["code"] == stop.value.code == (2 if not argv else 0)
    assert done.stdout == full.out and "\n".join(errors) == full.err.rstrip("\n")
    if argv == ["--help"]:
        assert all(name in done.stdout for name in ("search", "train", "benchmark", "doctor"))


def test_the_console_entry_runs_commands_through_the_full_command_line(tmp_path, capsys):
    from archsearch.entry import main

    assert main(["doctor", str(tmp_path)]) == 2
    assert "is not an archsearch run" in capsys.readouterr().err
