"""The darts space in searches: DARTS's guards count only its operation decisions, and darts,
enas, rsps and an ask/tell strategy each run a whole search on it from the command line (the
best cell drawn, exported as Python source)."""

import json
import xml.etree.ElementTree as ET

import pytest
import torch

from archsearch.cli import main
from archsearch.evaluation.trainer import TrainConfig
from archsearch.oneshot import ONESHOTS
from archsearch.oneshot.guards import PARAMETER_FREE, free_count
from archsearch.spaces import get_space
from tests.helpers import trials_of, write_image_folder
from tests.test_oneshot import tiny_data

TINY = {"channels": 2, "cells": 3}
OPTIONS = {
    "darts": [],
    "enas": ["controller_steps=1", "batch_size=2", "derive_samples=2"],
    "rsps": ["derive_samples=2"],
}


def darts(**options):
    data = tiny_data()
    train = TrainConfig(epochs=2, batch_size=16, device="cpu")
    return ONESHOTS.get("darts")(get_space("darts", **TINY), data.task, data, train, 0, **options)


def test_guards_count_operations_and_leave_the_inputs_alone():
    """Alpha collapsed onto skip connections: every one of the 16 operation decisions picks
    it, the input pairs are no operation; the cap keeps two skips and changes no input."""
    method = darts(guard="cap", max_free=2)
    ops = [i for i, d in enumerate(method.space.decisions) if "_op" in d.name]
    inputs = [i for i, d in enumerate(method.space.decisions) if d.name.endswith("_inputs")]
    with torch.no_grad():
        method.alpha.zero_()
        method.alpha[ops, method.space.ops.index("skip_connect")] = 5.0
        method.alpha[inputs, 0] = 5.0  # every node on its first pair of inputs
    collapsed = method.argmax()
    assert free_count(collapsed) == len(ops) == 16
    assert method.describe_alpha()["parameter_free"] == 16
    capped = method.derive()
    method.space.validate(capped)
    assert free_count(capped) == 2
    assert sum(v not in PARAMETER_FREE for k, v in capped.values if "_op" in k) == 14
    for i in inputs:
        name = method.space.decisions[i].name
        assert capped[name] == collapsed[name] == method.space.decisions[i].choices[0]


def svg_texts(path):
    return [t.text or "" for t in ET.parse(path).getroot().iter() if t.tag.endswith("text")]


@pytest.mark.parametrize("strategy", ["darts", "enas", "rsps", "random"])
def test_a_search_on_the_darts_space_runs_end_to_end(strategy, tmp_path):
    images = write_image_folder(tmp_path / "images", counts=(("train", 8), ("test", 2)), size=8)
    out = tmp_path / "run"
    space = [x for option in ("channels=2", "cells=3") for x in ("--space-option", option)]
    options = [x for option in OPTIONS.get(strategy, []) for x in ("--strategy-option", option)]
    budget = ["--trials", "2"] if strategy == "random" else []
    args = ["search", "--data-dir", images, "--space", "darts", "--strategy", strategy, *space,
            *options, *budget, "--epochs", "1", "--batch-size", "8", "--final-epochs", "1",
            "--final-models", "1", "--seed", "1", "--out", out]  # fmt: skip
    assert main([str(a) for a in args]) == 0
    summary = json.loads((out / "summary.json").read_text())
    best = get_space("darts", **TINY).from_json(summary["best"]["arch"])  # a valid member
    assert len(trials_of(out)) == (2 if strategy == "random" else 1)
    if strategy != "random":
        assert summary["oneshot"]["method"] == strategy
        assert summary["best"]["arch"] == summary["oneshot"]["derived"]
    assert "test_accuracy" in summary["best"] and best.space == "darts"
    if strategy == "random":  # the best network as plain PyTorch source, checked on samples
        assert main(["export", str(out), "--format", "python"]) == 0
    if strategy == "darts":  # alpha per decision, input pairs and operations alike
        assert (out / "alpha.png").is_file()
        assert main(["report", str(out)]) == 0  # one-shot trials' curves have no epochs
    texts = svg_texts(out / "best_arch.svg")
    assert {"darts normal cell", "darts reduction cell", "network (cells repeated)"} <= {
        t.split(" — ")[-1] for t in texts
    }
