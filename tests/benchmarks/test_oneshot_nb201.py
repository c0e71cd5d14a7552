"""benchmarks/oneshot_nb201.py: a search stopped after an epoch continues from its checkpoint
to exactly the search it would have been (what lets a paper-scale run span several device
sessions)."""

import argparse
import collections
import importlib.util
from pathlib import Path

import pytest

from tests.oneshot.test_enas import tiny_data

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "oneshot_nb201.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("oneshot_nb201", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def args(checkpoint_dir=None):
    return argparse.Namespace(
        channels=4, cells=1, epochs=2, batch=16, arch_lr=3e-3, darts_option=[],
        enas_option=["controller_steps=2", "batch_size=3", "derive_samples=4"],
        device="cpu", threads=1, deadline=None, checkpoint_dir=checkpoint_dir,
        table_dict=collections.defaultdict(float),
    )  # fmt: skip


class Killed(Exception):
    pass


@pytest.mark.parametrize("label", ["enas", "darts-guarded"])
def test_a_search_killed_after_an_epoch_resumes_to_the_same_search(bench, label, tmp_path):
    data = tiny_data()
    whole = bench.run_one((args(), data, label, 3))
    save = bench.save_checkpoint

    def save_then_die(*a, **k):
        save(*a, **k)
        raise Killed

    bench.save_checkpoint = save_then_die
    try:
        with pytest.raises(Killed):
            bench.run_one((args(tmp_path), data, label, 3))
    finally:
        bench.save_checkpoint = save
    resumed = bench.run_one((args(tmp_path), data, label, 3))
    assert resumed["finished"] and resumed["arch"] == whole["arch"]
    losses = [[epoch["train_loss"] for epoch in r["history"]] for r in (whole, resumed)]
    assert losses[0] == losses[1] and len(losses[0]) == 2


def test_a_deadline_stops_a_search_unfinished(bench, tmp_path):
    late = args(tmp_path)
    late.deadline = 0.0  # long past
    stopped = bench.run_one((late, tiny_data(), "enas", 3))
    assert stopped["finished"] is False and stopped["epoch_seconds"] == []
