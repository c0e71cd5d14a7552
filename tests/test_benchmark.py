"""The benchmark runner: through the real search loop on a tabular benchmark, to JSON, Markdown
and PNG reports whose numbers agree with each other and with the searches."""

import argparse
import csv
import itertools
import json

import numpy as np
import pytest

from archsearch.benchmark import (
    add_parser,
    best_so_far,
    ci95,
    confidence_band,
    markdown,
    plot,
    plot_title,
    run_one,
    seed_range,
    summarise,
)
from archsearch.errors import UsageError
from archsearch.evaluation.tabular import tabular_evaluator
from archsearch.spaces.cell import OPS, NB201Space


def accuracy(ops):
    """A synthetic, deterministic table: 3x3 convolutions help, `none` hurts."""
    return (
        80 + 2 * ops.count("nor_conv_3x3") - 3 * ops.count("none") + 0.01 * (len("".join(ops)) % 7)
    )


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("table") / "nb201.csv"
    columns = ["CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs"]
    columns += ["ImageNetTestAccuracy200Epochs", "ArchitectureString", "UniqueString"]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for ops in itertools.product(OPS, repeat=6):
            a, b, c, d, e, f = ops
            text = f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|"
            writer.writerow([accuracy(ops), accuracy(ops) - 20, accuracy(ops) - 40, text, text])
    return path


def run(*argv):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["benchmark", *argv])
    return args.func(args)


def test_reports_are_written_and_consistent(table, tmp_path, capsys):
    out = tmp_path / "out"
    code = run("--table", str(table), "--strategies", "random,evolution", "--budget", "12",
               "--seeds", "3", "--out", str(out), "--set", "evolution.population=6",
               "--set", "evolution.sample=3")  # fmt: skip
    assert code == 0
    summary = json.loads((out / "nb201_cifar10.json").read_text())
    optimum = summary["optimum"]
    assert optimum == pytest.approx(max(accuracy(ops) for ops in itertools.product(OPS, repeat=6)))
    evaluator = tabular_evaluator(table)
    for name in ("random", "evolution"):
        s = summary["strategies"][name]
        mean = np.array(s["best_mean"])
        assert s["seeds"] == 3 and len(mean) == 12
        assert (mean <= optimum + 1e-9).all()
        assert np.allclose(np.array(s["regret_mean"]), optimum - mean)
        assert (np.array(s["best_std"]) >= 0).all()
        options = {"population": "6", "sample": "3"} if name == "evolution" else {}
        again = [run_one(name, NB201Space(), evaluator, 12, seed, options) for seed in range(3)]
        assert np.allclose(100 * np.mean(again, axis=0), mean)  # the same searches, re-run
    table = (out / "nb201_cifar10.md").read_text()
    assert "| random |" in table and "| evolution |" in table and "@12 (final)" in table
    assert f"{summary['strategies']['random']['best_mean'][-1]:.2f}" in table
    assert table.startswith(
        "# Best test accuracy found on NAS-Bench-201 CIFAR-10 (mean of 3 seeds)"
    )
    assert (out / "nb201_cifar10.png").read_bytes()[:4] == b"\x89PNG"
    assert "| evolution |" in capsys.readouterr().out


def test_seed_range_reads_a_range_a_list_or_one_seed():
    assert seed_range("100-103") == [100, 101, 102, 103]
    assert seed_range("0,5,2") == [0, 5, 2]
    assert seed_range("7") == [7]


def test_best_so_far_is_a_running_maximum_padded_to_the_budget():
    assert best_so_far([0.2, 0.1, 0.5, 0.3], 6) == [0.2, 0.2, 0.5, 0.5, 0.5, 0.5]
    assert best_so_far([0.2, 0.9, 0.5], 2) == [0.2, 0.9]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--strategies", "random,annealing"], "annealing"),
        (["--budget", "0"], "--budget"),
        (["--space", "mlp"], "nb201"),
        (["--set", "random"], "STRATEGY.KEY=VALUE"),
        (["--set", "evolution.population=4"], "not among"),
        (["--strategies", "evolution", "--set", "evolution.size=4"], "size"),
        (["--dataset", "mnist"], "mnist"),
        (["--budget", "15626"], "the nb201 space has 15,625 cells"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(table, tmp_path, argv, message):
    with pytest.raises(UsageError) as info:
        run("--table", str(table), "--strategies", "random", "--out", str(tmp_path), *argv)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_table_without_every_cell_is_a_usage_error(table, tmp_path):
    lines = table.read_text().splitlines()
    part = tmp_path / "part.csv"
    part.write_text("\n".join(lines[:31]) + "\n")  # the header and 30 cells
    with pytest.raises(UsageError, match="holds 30 of the 15,625 nb201 cells"):
        run("--table", str(part), "--strategies", "random", "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_missing_table_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        run("--table", str(tmp_path / "none.csv"), "--out", str(tmp_path))


def lopsided_curves(budget=30, seeds=10):
    """Most seeds find the optimum (0.9) at the fourth query, two stay far below it for long: a
    mean plus a symmetric interval would rise above the optimum."""
    curves = []
    for seed in range(seeds):
        start = 0.5 if seed < 2 else 0.6 + 0.01 * seed
        curves.append(best_so_far([start] * (budget - 5 if seed < 2 else 3) + [0.9], budget))
    return {"good": curves, "flat": [[0.55 + 0.01 * s] * budget for s in range(seeds)]}


def test_confidence_band_never_exceeds_the_optimum():
    summary = summarise(lopsided_curves(), 0.9)
    s = summary["strategies"]["good"]
    mean, half = np.array(s["best_mean"]), np.array(s["best_ci95"])
    assert (mean + half > 90 + 1e-6).any()  # unclipped, the interval would be impossible
    low, high = confidence_band(s, summary["optimum"])
    assert (high <= 90 + 1e-9).all() and (low <= mean + 1e-9).all() and (low >= 0).all()
    assert ci95(np.array([1.0]), 1)[0] == 0  # one seed: no interval
    # Student's t with 9 degrees of freedom, sample standard deviation
    runs = 100 * np.array(lopsided_curves()["good"])[:, 10]
    expected = 2.262 * runs.std(ddof=1) / np.sqrt(len(runs))
    assert s["best_ci95"][10] == pytest.approx(expected, abs=1e-3)


def test_the_plot_shows_every_query_and_no_band_above_the_optimum(tmp_path):
    summary = summarise(lopsided_curves(), 0.9)
    summary["config"] = {"dataset": "cifar100", "seeds": 10}
    figure = plot(summary, tmp_path / "b.png", plot_title(summary))
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    assert (
        figure.get_suptitle()
        == "Best test accuracy found on NAS-Bench-201 CIFAR-100 (mean of 10 seeds)"
    )
    full = figure.axes[0]
    for band in full.collections:
        assert band.get_paths()[0].vertices[:, 1].max() <= 90 + 1e-9
    low, high = full.get_xlim()
    assert low <= 1 and high >= 30
    for name, s in summary["strategies"].items():
        assert full.get_ylim()[0] <= min(s["best_mean"]) and full.get_ylim()[1] >= 90
        drawn = next(x for x in full.get_lines() if x.get_label() == name)
        assert list(drawn.get_xdata()) == list(range(1, 31))


def test_the_markdown_has_the_final_budget_and_its_interval():
    summary = summarise(lopsided_curves(budget=60), 0.9)
    table = markdown(summary, (25, 50, 100))
    header = table.splitlines()[0]
    assert "@25" in header and "@50" in header and "@60 (final)" in header
    assert "@100" not in header and "95% CI" in header
    s = summary["strategies"]["good"]
    low, high = confidence_band(s, 90.0)
    row = next(r for r in table.splitlines() if r.startswith("| good |"))
    assert f"{s['best_mean'][-1]:.2f} ± {s['best_std'][-1]:.2f}" in row
    assert f"{low[-1]:.2f} – {high[-1]:.2f}" in row
