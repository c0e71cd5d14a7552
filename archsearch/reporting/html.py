"""One self-contained HTML page of one or more runs, for `archsearch report`.

The page opens offline and asks the network for nothing: its CSS and script (report.css,
report.js beside this module) are inline, and its pictures are SVG embedded as data URIs
(the plots drawn by `archsearch.reporting.plots`, the architecture by
`archsearch.reporting.drawing`); an SVG shown by <img> runs no script and shares no ids with
the page. Every text that comes from a run (reasons, class names, notes, paths) is escaped.
Runs are read without writing a byte (the ledger read-only, summary.json when there is one),
so a report can be made of a run that is still going, was interrupted, or found nothing.

The trial table's rows are written here, so the page reads the same without its script; the
script sorts them (a header click, or `#sort=KEY-asc|desc` in the URL at load) and filters
them (words, status).
"""

from __future__ import annotations

import base64
import html
import json
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from archsearch.errors import UsageError
from archsearch.evaluation.objectives import METRICS, parse_objectives
from archsearch.final import TEST_PREDICTIONS
from archsearch.ledger import Ledger, Running, Trial
from archsearch.predictions import Mistakes, read_mistakes, read_true_and_predicted
from archsearch.reporting.console import baseline_verdict, clock, plural
from archsearch.reporting.console import format_value as _fmt
from archsearch.reporting.drawing import architecture_svg
from archsearch.reporting.pareto import front_entries, plot_pareto
from archsearch.reporting.plots import (
    SearchLabels,
    _curves_figure,
    _trial_axis,
    plot_entropy,
    plot_final_curves,
    plot_predictions,
    plot_rewards,
    score_name,
)
from archsearch.run import CONFIG, LEDGER, SUMMARY, is_run, read_summary, retrained_trial
from archsearch.rundir import check_output_file, holder, write_text_atomic
from archsearch.runs import planned_trials
from archsearch.spaces import get_space
from archsearch.tasks import task_score

__all__ = ["RunView", "Status", "load_run", "render_report", "write_report", "default_out"]

#: How many of the best trials' learning curves are drawn.
TOP_CURVES = 5
#: Larger text for the 10-inch wide plots of curves, which a report shows about 6 inches wide.
WIDE = {"font.size": 15}
#: The primary scores a trial's metrics may hold, by task (every one higher-is-better).
esc = html.escape


@dataclass(frozen=True)
class Status:
    """Where a run stands: a word for badges and the comparison, a sentence, a tone (the
    CSS class: ok, warn or bad)."""

    label: str
    detail: str
    tone: str


@dataclass
class RunView:
    """What a report shows of one run, as read from its directory."""

    path: Path
    config: dict[str, Any]
    trials: list[Trial]
    summary: dict[str, Any] | None
    running: list[Running]
    space_options: dict[str, Any]
    holder: str | None = None
    best: Trial | None = None  # the ledger's best (highest reward, earliest on ties)

    @property
    def score(self) -> str:
        """The task's primary score (accuracy, r2): the summary's task, else the metrics'."""
        names = {key for t in self.trials for key in t.result.metrics}
        return task_score(names, (self.summary or {}).get("task")) or "accuracy"

    def fact(self, key: str) -> Any:
        """`key` of the summary, else of config.json (dataset and task from its data part)."""
        if self.summary is not None and key in self.summary:
            return self.summary[key]
        data = self.config.get("data") or {}
        if key == "dataset":
            return data.get("dataset") or data.get("csv") or data.get("data_dir")
        if key == "task":
            task = data.get("task")
            return f"{task} (decided when the data is loaded)" if task == "auto" else task
        return self.config.get(key)

    def best_trial(self) -> Trial | None:
        """The successful trial with the highest reward, earliest on ties (`Ledger.best`),
        or the one the summary says was retrained (`--final-rerank` may choose another)."""
        return retrained_trial(self.summary, self.best, self.trials)

    def labels(self) -> SearchLabels:
        """What the run's plots say they show."""
        dataset = str(self.fact("dataset") or "")
        strategy, space = self.config.get("strategy", ""), self.config.get("space", "")
        return SearchLabels(dataset, strategy, space, self.config.get("reward", ""), self.score)

    def status(self) -> Status:
        """Running, interrupted (no summary, or one of fewer trials) or finished, and how."""
        if self.holder:
            return Status("running", f"process {self.holder} is still searching", "warn")
        summary, done = self.summary, len(self.trials)
        if summary is None:
            return Status(
                "interrupted",
                f"the search stopped before its end (no {SUMMARY}); {done} trials are in "
                f"the ledger — continue with `archsearch search --resume {self.path}`",
                "bad",
            )
        if summary.get("trials") != done:
            return Status(
                "interrupted",
                f"{SUMMARY} describes {summary.get('trials')} trials, the ledger holds {done}: "
                "a resume stopped before its end",
                "bad",
            )
        best = summary.get("best")
        final = (best or {}).get("final") or {}
        if best is None:
            return Status("finished", "finished, but no trial succeeded", "bad")
        if final.get("status") == "failed":
            return Status("finished", f"the final training failed ({final.get('reason')})", "bad")
        if not final:
            return Status("finished", "finished; the best architecture was not retrained", "ok")
        return Status("finished", "finished: searched, retrained and tested", "ok")


def load_run(path: Path) -> RunView:
    """Read a run directory without writing to it; `UsageError` (one line) if it is not a
    run or its configuration or ledger cannot be read."""
    if not is_run(path):
        raise UsageError(
            f"{path} is not an archsearch run (it needs {CONFIG} and {LEDGER}); give the "
            "directory a search wrote (`archsearch search ... --out DIR`)"
        )
    config = _read_json(path / CONFIG)
    if not isinstance(config, dict):
        raise UsageError(f"{path / CONFIG} is not a run configuration (not a JSON object)")
    with Ledger.open(path / LEDGER, readonly=True) as ledger:
        try:
            trials = list(ledger)
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path / LEDGER}: a trial cannot be read back ({exc})") from None
        running, meta, best = ledger.running(), ledger.meta(), ledger.best()
    summary = read_summary(path)  # None if missing or half-written: shown as interrupted
    options = json.loads(meta.get("space_options") or "null") or config.get("space_options")
    return RunView(path, config, trials, summary, running, options or {}, holder(path), best)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} cannot be read ({exc})") from None


def default_out(paths: Sequence[Path]) -> Path:
    """Where the report goes by default: RUN/report.html for one run, ./report.html else."""
    return paths[0] / "report.html" if len(paths) == 1 else Path("report.html")


def write_report(paths: Sequence[Path], out: Path | None = None) -> tuple[Path, list[RunView]]:
    """Read every run (all are checked before anything is written), write the page to `out`
    (see `default_out`) whole, and return where it went and the runs shown."""
    runs = [load_run(path) for path in paths]
    out = out or default_out(paths)
    check_output_file(out, "HTML file")
    write_text_atomic(out, render_report(runs))
    return out, runs


def render_report(runs: Sequence[RunView]) -> str:
    """The whole page: for one run its sections; for several a comparison, their best-so-far
    curves overlaid, then each run's sections."""
    names = _names(runs)
    if len(runs) == 1:
        title = f"archsearch report: {names[0]}"
        body = _run_section(runs[0], names[0], 0, level=1)
    else:
        title = f"archsearch report: {len(runs)} runs"
        links = " ".join(f'<a href="#run-{i}">{esc(n)}</a>' for i, n in enumerate(names))
        body = (
            f"<h1>{esc(title)}</h1><nav class='runs'>{links}</nav>"
            + _comparison(runs, names)
            + "".join(_run_section(r, n, i, level=2) for i, (r, n) in enumerate(zip(runs, names)))
        )
    return _page(title, body)


def _page(title: str, body: str) -> str:
    assets = resources.files("archsearch.reporting")
    css = assets.joinpath("report.css").read_text(encoding="utf-8")
    script = assets.joinpath("report.js").read_text(encoding="utf-8")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{css}</style></head>\n<body><main>{body}"
        "<footer>Written by <code>archsearch report</code>; this file needs no network.</footer>"
        f"</main>\n<script>{script}</script></body></html>\n"
    )


def _names(runs: Sequence[RunView]) -> list[str]:
    """Each run's directory name, or its whole path where two names are the same."""
    names = [r.path.resolve().name or str(r.path) for r in runs]
    return [str(r.path) if names.count(n) > 1 else n for r, n in zip(runs, names)]


def _run_section(run: RunView, name: str, index: int, level: int) -> str:
    """One run: status, summary, search plots, learning curves, architecture, trials."""
    status = run.status()
    h, sub = f"h{level}", f"h{level + 1}"
    parts = [
        f"<section class='run' id='run-{index}'><{h}>{esc(name)} "
        f"<span class='badge tone-{status.tone}'>{esc(status.label)}</span></{h}>",
        f"<p class='sub'>{esc(status.detail)} · <code>{esc(str(run.path))}</code></p>",
        f"<div class='grid'>{_run_card(run)}{_result_card(run)}</div>",
        _notes(run),
        f"<{sub}>Search</{sub}>{_search_plots(run)}",
        _pareto(run, sub),
        f"<{sub}>The best trial</{sub}><div class='split'>{_architecture(run)}",
        f"<div class='stack'>{_curves(run)}{_final(run)}</div></div>",
        f"<{sub}>Every trial</{sub}>{_trials_box(run)}</section>",
    ]
    return "\n".join(parts)


# -- the summary --------------------------------------------------------------------------


def _run_card(run: RunView) -> str:
    """What was searched, how, and how far it got."""
    config, summary = run.config, run.summary or {}
    budget = planned_trials(config)
    data = summary.get("data")
    rows = [
        ("dataset", run.fact("dataset")),
        ("task", run.fact("task")),
        ("space", config.get("space")),
        ("strategy", config.get("strategy")),
        ("evaluator", config.get("evaluator")),
        ("reward", run.labels().reward_label().removeprefix("reward: ")),
        ("seed", run.fact("seed")),
        ("trials", f"{len(run.trials)}" + (f" (budget {budget})" if budget else "")),
        ("failed", sum(not t.result.ok for t in run.trials)),
        ("running when it stopped", ", ".join(_running(r) for r in run.running) or None),
        ("stopped because", summary.get("stopped")),
        ("search time", _search_time(run)),
        ("data rows", _sizes(data) if isinstance(data, dict) else None),
        ("run id", config.get("run_id")),
    ]
    return _card("Run", _facts(rows))


def _result_card(run: RunView) -> str:
    """The best trial, its validation and test scores, its size, and the baseline."""
    best = run.best_trial()
    if best is None:
        return _card(
            "Result",
            "<p class='big'>No trial succeeded</p>"
            "<p>Every trial failed; the table below says why.</p>",
        )
    entry = _best_entry(run)
    name = score_name(run.score)
    val = best.result.metrics.get(f"val_{run.score}")
    test = entry.get(f"test_{run.score}")
    headline = f"test {name} {_fmt(test)}" if test is not None else f"validation {name} {_fmt(val)}"
    rows: list[tuple[str, Any]] = [
        ("reward", best.result.reward),
        (f"validation {name}", val),
        ("parameters", best.result.metrics.get("params")),
    ]
    rows += [(k.replace("_", " "), v) for k, v in entry.items() if _is_test_score(k, v)]
    rows += [("networks averaged", entry.get("models")), ("final epochs", entry.get("epochs"))]
    rows.append(("final training", _final_status(entry)))
    body = f"<p class='big'>Trial #{best.number}: {esc(headline)}</p>{_facts(rows)}"
    return _card("Result", body + _baseline(run))


def _is_test_score(key: str, value: Any) -> bool:
    return key.startswith("test_") and isinstance(value, (int, float))


def _final_status(entry: dict[str, Any]) -> str:
    final = entry.get("final")
    if not final:
        return "not retrained (no final training, or the run stopped before it)"
    if final.get("status") == "failed":
        return f"failed: {final.get('reason')}"
    return f"ok (learning rate {_fmt(final.get('lr'))})"


#: How the report shows `baseline_verdict`: the badge's text and its tone.
VERDICTS = {"beaten": ("beaten", "ok"), "tied": ("tied", "warn"), "lost": ("not beaten", "bad")}


def _baseline(run: RunView) -> str:
    """The scikit-learn baseline's test score and whether the found network beats it."""
    baseline, score = _baseline_of(run), run.score
    if not baseline:
        return ""
    beats = (run.summary or {}).get("beats_baseline")
    test = _best_entry(run).get(f"test_{score}")
    verdict = VERDICTS.get(baseline_verdict(beats, test, baseline, score))
    badge = (
        f"<span class='badge tone-{verdict[1]}'>{verdict[0]}</span>"
        if verdict
        else "not compared (the best network was not tested)"
    )
    name = f"scikit-learn {baseline.get('model', 'baseline')}"
    value = baseline.get(f"test_{score}")
    return (
        f"<h3>Baseline</h3><table class='facts'><tr><th>{esc(name)}</th>"
        f"<td>test {esc(score_name(score))} {esc(_fmt(value))}</td></tr>"
        f"<tr><th>our network</th><td>{badge}</td></tr></table>"
    )


def _notes(run: RunView) -> str:
    """The loader's notes and the run's warnings, if any."""
    summary = run.summary or {}
    items = [
        f"<li class='warning'>warning: {esc(str(w))}</li>" for w in summary.get("warnings", [])
    ]
    items += [f"<li>{esc(str(n))}</li>" for n in summary.get("notes", [])]
    if not items:
        return ""
    return _card("Warnings and notes", f"<ul class='notes'>{''.join(items)}</ul>")


def _sizes(data: dict[str, Any]) -> str:
    return ", ".join(f"{k} {_fmt(v)}" for k, v in data.items())


def _card(title: str, body: str) -> str:
    return f"<div class='card'><h3>{esc(title)}</h3>{body}</div>"


def _facts(rows: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of the rows whose value is known."""
    cells = [
        f"<tr><th>{esc(label)}</th><td>{esc(_fmt(value))}</td></tr>"
        for label, value in rows
        if value is not None
    ]
    return f"<table class='facts'>{''.join(cells)}</table>"


# -- pictures -----------------------------------------------------------------------------


def _plot_svg(draw: Callable[[Path], Figure | None], style: dict | None = None) -> str | None:
    """The SVG that `draw` (a plots function, given where to save) writes, in matplotlib's
    `style`; None if it drew nothing. Ids inside are salted the same every time, so a report
    is reproducible."""
    settings = {"svg.hashsalt": "archsearch", **(style or {})}
    with tempfile.TemporaryDirectory() as folder, matplotlib.rc_context(settings):
        path = Path(folder) / "plot.svg"
        return None if draw(path) is None else path.read_text(encoding="utf-8")


def _saved(figure: Figure, path: Path) -> Figure:
    figure.savefig(path)
    return figure


def _svg_img(svg: str, alt: str, caption: str = "") -> str:
    """An SVG as an <img> with a data URI: offline, and isolated from the page."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    text = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f"<figure><img alt='{esc(alt)}' src='data:image/svg+xml;base64,{data}'>{text}</figure>"


def _search_plots(run: RunView) -> str:
    """Reward per trial with the best so far, and the controller's entropy if it has one."""
    if not run.trials:
        return "<p>No trial has finished yet.</p>"
    labels = run.labels()
    rewards = _plot_svg(lambda path: plot_rewards(run.trials, path, labels))
    entropy = _plot_svg(lambda path: plot_entropy(run.trials, path, labels))
    cards = [_card("Reward of each trial", _svg_img(rewards or "", "reward per trial"))]
    if entropy is not None:
        caption = "near the dashed line the controller has learnt little"
        cards.append(_card("Controller entropy", _svg_img(entropy, "entropy per trial", caption)))
    else:
        cards.append(_card("Controller entropy", "<p>This strategy reports no entropy.</p>"))
    return f"<div class='grid'>{''.join(cards)}</div>"


def _pareto(run: RunView, heading: str) -> str:
    """For a search of several objectives: pareto.png's plot and the front's trials; for
    one objective, nothing."""
    try:
        objectives = parse_objectives(run.config.get("objectives") or "accuracy")
    except ValueError:
        return ""
    if len(objectives) < 2:
        return ""
    front = front_entries(run.trials, objectives)
    labels = run.labels()
    svg = _plot_svg(lambda path: plot_pareto(run.trials, objectives, path, labels))
    keys = [METRICS[name] for name in objectives]
    head = "".join(f"<th class=num>{esc(k)}</th>" for k in ["trial", *keys, "reward"])
    rows = "".join(
        "<tr class='front'>"
        + "".join(f"<td class='num'>{esc(_fmt(e.get(k)))}</td>" for k in ["trial", *keys, "reward"])
        + "</tr>"
        for e in front
    )
    table = f"<div class='scroll'><table class='front-table'><tr>{head}</tr>{rows}</table></div>"
    title = f"Pareto front of {', '.join(objectives)}: {plural(len(front), 'trial')}"
    plot = _card("Trials and their front", _svg_img(svg or "", "Pareto front"))
    cards = f"<div class='stack'>{plot}{_card(title, table)}</div>"
    return f"<{heading}>Pareto front</{heading}>{cards}"


def _curves(run: RunView) -> str:
    """Validation loss and score per epoch of the best trials."""
    key = f"val_{run.score}"
    ranked = sorted(
        (t for t in run.trials if t.result.ok and t.result.curve),
        key=lambda t: (-t.result.reward, t.number),
    )
    top = [t for t in ranked if all(key in p for p in t.result.curve)][:TOP_CURVES]
    title = f"Learning curves of the {plural(len(top), 'best trial')}"
    if not top:
        return _card(title, "<p>No successful trial recorded a validation curve.</p>")
    series = [(f"trial {t.number}", t.result.curve, "val") for t in top]
    svg = _plot_svg(lambda path: _saved(_curves_figure(series, run.score, ""), path), WIDE)
    return _card(title, _svg_img(svg or "", title, "validation split, per epoch"))


def _architecture(run: RunView) -> str:
    """The best architecture drawn (the run's best_arch.svg if it is of this best), and its
    JSON."""
    best = run.best_trial()
    if best is None:
        return _card("Best architecture", "<p>No trial succeeded, so there is none.</p>")
    svg, problem = _architecture_svg(run, best)
    picture = (
        _svg_img(svg, f"architecture of trial {best.number}")
        if svg
        else f"<p class='sub'>{esc(problem)}</p>"
    )
    text = json.dumps(best.arch.to_json()["values"], indent=1)
    details = f"<details><summary>as JSON</summary><pre class='json'>{esc(text)}</pre></details>"
    return _card(
        f"Best architecture: trial #{best.number}", f"<div class='arch'>{picture}</div>{details}"
    )


def _architecture_svg(run: RunView, best: Trial) -> tuple[str | None, str]:
    """(SVG, "") of `best`'s architecture, or (None, why not)."""
    saved, drawn = run.path / "best_arch.json", run.path / "best_arch.svg"
    try:
        same = json.loads(saved.read_text())["values"] == best.arch.to_json()["values"]
        if same and drawn.is_file():
            return drawn.read_text(encoding="utf-8"), ""
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no usable saved drawing: draw it
    try:
        space = get_space(run.config["space"], **run.space_options)
        return architecture_svg(space, best.arch), ""
    except Exception as exc:  # noqa: BLE001 - a drawing that fails must not lose the report
        return None, f"Not drawn ({type(exc).__name__}: {exc})."


def _final(run: RunView) -> str:
    """Cards of the final training's curves and the test confusion matrix, when the run
    has them."""
    best = (run.summary or {}).get("best") or {}
    try:
        curves = json.loads((run.path / "final_curve.json").read_text())
    except (OSError, ValueError):
        curves = None
    cards = []
    if isinstance(curves, list) and curves and all(isinstance(c, list) and c for c in curves):
        svg = _plot_svg(lambda path: plot_final_curves(curves, path, run.score), WIDE)
        caption = f"{len(curves)} network(s) trained on train+validation data"
        title = f"Final training of trial #{best.get('trial')}"
        cards.append(_card(title, _svg_img(svg or "", "final training", caption)))
    matrix, classes = best.get("confusion_matrix"), best.get("class_names")
    if matrix and classes:
        cards.append(_card("Test confusion matrix", _confusion(matrix, classes)))
    mistakes = read_mistakes(run.path / TEST_PREDICTIONS)
    if mistakes is not None:
        cards.append(_card("Misclassified test examples", _mistakes(mistakes)))
    predictions = read_true_and_predicted(run.path / TEST_PREDICTIONS)
    if predictions is not None:
        svg = _plot_svg(lambda path: plot_predictions(*predictions, path), WIDE)
        caption = "each test row's true value against the prediction; dashed: perfect"
        cards.append(_card("Test predictions", _svg_img(svg or "", "test predictions", caption)))
    if best.get("importance"):
        title = f"Test {score_name(run.score)} lost when a column is shuffled"
        cards.append(_card(title, _importance(best["importance"])))
    return "".join(cards)


def _importance(rows: Sequence[dict[str, Any]]) -> str:
    """The columns by importance (`column_importance`'s rows): mean ± spread, and a bar."""
    top = max((row["drop"] for row in rows), default=0.0) or 1.0
    lines = [
        f"<tr><th>{esc(str(row['column']))}</th><td class='num'>{row['drop']:.3f} ± "
        f"{row['std']:.3f}</td><td><span class='bar' style='width:"
        f"{max(row['drop'], 0.0) / top * 100:.0f}%'></span></td></tr>"
        for row in rows
    ]
    return (
        "<div class='scroll'><table class='importance'><thead><tr><th>column</th>"
        "<th class='num'>lost</th><th></th></tr></thead>"
        f"<tbody>{''.join(lines)}</tbody></table></div>"
    )


def _mistakes(mistakes: Mistakes) -> str:
    """The most confident mistakes as a table, with how many there were."""
    shown = (
        f"; the {len(mistakes.rows)} most confident" if mistakes.wrong > len(mistakes.rows) else ""
    )
    caption = (
        f"<p>{mistakes.wrong} of {mistakes.total} test examples misclassified{shown} (all in "
        f"{TEST_PREDICTIONS}; ids are data rows, 1-based without the header, or image files)</p>"
    )
    lines = [
        f"<tr><td>{esc(i)}</td><td>{esc(true)}</td><td>{esc(predicted)}</td>"
        f"<td class='num'>{probability:.3f}</td></tr>"
        for i, true, predicted, probability in mistakes.rows
    ]
    return caption + (
        "<div class='scroll'><table class='mistakes'><thead><tr><th>id</th><th>true</th>"
        "<th>predicted</th><th class='num'>probability</th></tr></thead>"
        f"<tbody>{''.join(lines)}</tbody></table></div>"
        if lines
        else ""
    )


def _confusion(matrix: Sequence[Sequence[int]], classes: Sequence[Any]) -> str:
    """The confusion matrix as a table (rows true classes, columns predictions), each cell
    shaded by its count."""
    top = max((max(row) for row in matrix if row), default=0) or 1
    head = "".join(f"<th class='num'>{esc(str(c))}</th>" for c in classes)
    rows = []
    for name, row in zip(classes, matrix):
        cells = "".join(
            f"<td class='num' style='background:rgba(41,87,196,{n / top:.2f});"
            f"color:{'#fff' if n / top > 0.55 else 'inherit'}'>{n}</td>"
            for n in row
        )
        rows.append(f"<tr><th>{esc(str(name))}</th>{cells}</tr>")
    return (
        "<div class='scroll'><table class='confusion'><thead><tr><th>true \\ predicted</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


# -- the trials ---------------------------------------------------------------------------


def _trials_box(run: RunView) -> str:
    """Every trial of the ledger in a table the page's script sorts and filters."""
    metrics = list(dict.fromkeys(key for t in run.trials for key in t.result.metrics))
    columns = [("trial", "#", "number"), ("status", "status", "text")]
    columns += [("reward", "reward", "number"), *[(m, m, "number") for m in metrics]]
    columns += [("seed", "seed", "number"), ("arch", "architecture", "text")]
    columns += [("reason", "reason", "text")]
    head = "".join(
        f"<th data-key='{esc(key)}' data-type='{kind}'"
        f"{' class=num' if kind == 'number' else ''}>{esc(label)}</th>"
        for key, label, kind in columns
    )
    best = run.best_trial()
    best_number = None if best is None else best.number
    rows = "".join(_trial_row(t, metrics, t.number == best_number) for t in run.trials)
    statuses = ["ok", "failed", *sorted({t.result.status for t in run.trials} - {"ok", "failed"})]
    options = "".join(f"<option value='{esc(s)}'>{esc(s)}</option>" for s in statuses)
    count = len(run.trials)
    return (
        "<div class='trials card'><div class='controls'>"
        "<input type='search' class='filter' placeholder='filter: words in any column' "
        "aria-label='filter the trials'>"
        f"<select class='status' aria-label='status'><option value='all'>all statuses</option>"
        f"{options}</select><span class='count'><span class='shown'>{count}</span> of "
        f"<span class='total'>{count}</span> trials shown · click a header to sort</span></div>"
        f"<div class='scroll'><table class='trial-table'><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table></div></div>"
    )


def _trial_row(trial: Trial, metrics: Sequence[str], best: bool) -> str:
    """One trial: its number, status, reward, metrics, seed, architecture and reason."""
    result = trial.result
    cells = [
        f"<td class='num' data-v='{trial.number}'>{trial.number}</td>",
        f"<td class='status'>{esc(result.status)}</td>",
        *[_number_cell(v) for v in [result.reward, *[result.metrics.get(m) for m in metrics]]],
        f"<td class='num' data-v='{trial.seed}'>{trial.seed}</td>",
    ]
    compact = ", ".join(f"{k}={json.dumps(v)}" for k, v in trial.arch.to_json()["values"].items())
    cells.append(
        f"<td data-v='{trial.arch.hash}'><details><summary>{trial.arch.hash}</summary>"
        f"<code>{esc(compact)}</code></details></td>"
    )
    cells.append(f"<td class='reason'>{esc(result.reason)}</td>")
    classes = f"status-{esc(result.status)}" + (" best" if best else "")
    return (
        f"<tr data-trial='{trial.number}' data-status='{esc(result.status)}' "
        f"class='{classes}'>{''.join(cells)}</tr>"
    )


def _number_cell(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return f"<td class='num' data-v='{value!r}'>{esc(_fmt(value))}</td>"
    return f"<td class='num' data-v=''>{esc('' if value is None else str(value))}</td>"


# -- several runs -------------------------------------------------------------------------


def _comparison(runs: Sequence[RunView], names: Sequence[str]) -> str:
    """A table with one column per run, and their best-so-far rewards on one plot."""
    rows = [(label, [get(r) for r in runs]) for label, get in COMPARED]
    head = "".join(
        f"<th scope='col'><a href='#run-{i}'>{esc(n)}</a></th>" for i, n in enumerate(names)
    )
    same_score = len({r.score for r in runs}) == 1
    body = "".join(
        f"<tr><th>{esc(label)}</th>{_compared_cells(values, same_score and label in HIGHER)}</tr>"
        for label, values in rows
    )
    table = (
        "<div class='scroll'><table class='compare'>"
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )
    overlay = _plot_svg(lambda path: _overlay(runs, names, path))
    picture = (
        _svg_img(overlay, "best reward so far of each run")
        if overlay
        else "<p>No run has a successful trial.</p>"
    )
    plot = _card("Best reward so far", picture)
    return f"<h2>Side by side</h2><div class='grid'><div class='card'>{table}</div>{plot}</div>"


def _compared_cells(values: Sequence[Any], mark_best: bool) -> str:
    """One cell per run; where higher is better, the highest marked."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    top = max(numbers) if mark_best and len(numbers) > 1 else None
    return "".join(
        f"<td{' class=winner' if top is not None and v == top else ''}>{esc(_fmt(v))}</td>"
        for v in values
    )


def _best_entry(run: RunView) -> dict[str, Any]:
    """The summary's best entry if it is of the ledger's best trial, else {}."""
    entry = (run.summary or {}).get("best") or {}
    best = run.best_trial()
    return entry if best is not None and entry.get("trial") == best.number else {}


def _baseline_of(run: RunView) -> dict[str, Any]:
    baseline = (run.summary or {}).get("baseline")
    return baseline if isinstance(baseline, dict) else {}


def _running(trial: Running) -> str:
    """'#3 (pool worker pid 4242)': a trial that was running, and where."""
    return f"#{trial.number}" + (f" ({trial.worker})" if trial.worker else "")


def _search_time(run: RunView) -> str | None:
    seconds = (run.summary or {}).get("search_seconds")
    return clock(seconds) if isinstance(seconds, (int, float)) else None


def _best_metric(run: RunView, key: str) -> Any:
    best = run.best_trial()
    return None if best is None else best.result.metrics.get(key.format(score=run.score))


#: The comparison's rows: a label and what it shows of a run.
COMPARED: list[tuple[str, Callable[[RunView], Any]]] = [
    ("status", lambda r: r.status().label),
    ("dataset", lambda r: r.fact("dataset")),
    ("task", lambda r: r.fact("task")),
    ("space", lambda r: r.config.get("space")),
    ("strategy", lambda r: r.config.get("strategy")),
    ("evaluator", lambda r: r.config.get("evaluator")),
    ("seed", lambda r: r.fact("seed")),
    ("trials", lambda r: len(r.trials)),
    ("failed", lambda r: sum(not t.result.ok for t in r.trials)),
    ("best trial", lambda r: None if r.best_trial() is None else f"#{r.best_trial().number}"),
    ("score", lambda r: score_name(r.score)),
    ("best validation score", lambda r: _best_metric(r, "val_{score}")),
    ("its test score", lambda r: _best_entry(r).get(f"test_{r.score}")),
    ("its parameters", lambda r: _best_metric(r, "params")),
    ("baseline test score", lambda r: _baseline_of(r).get(f"test_{r.score}")),
    ("beats the baseline", lambda r: (r.summary or {}).get("beats_baseline")),
    ("search time", lambda r: _search_time(r)),
]
#: The rows of COMPARED where the highest value is the best.
HIGHER = ("best validation score", "its test score")


def _overlay(runs: Sequence[RunView], names: Sequence[str], path: Path) -> Figure | None:
    """Each run's best reward so far against its trial numbers, on one axis; None if no
    run has a successful trial."""
    figure = Figure(figsize=(9, 4.4), layout="constrained")
    axes = figure.subplots()
    drawn = 0
    for run, name in zip(runs, names):
        best = _best_so_far(run.trials)
        if any(v == v for v in best):
            axes.plot([t.number for t in run.trials], best, drawstyle="steps-post", label=name)
            drawn += 1
    if not drawn:
        return None
    same = len({(r.config.get("reward"), r.score) for r in runs}) == 1
    labels = runs[0].labels() if same else SearchLabels()
    axes.set_ylabel(labels.reward_label())
    axes.set_title("Best reward so far in each run")
    _trial_axis(axes)
    figure.legend(loc="outside lower center", ncols=min(drawn, 4), frameon=False)
    return _saved(figure, path)


def _best_so_far(trials: Sequence[Trial]) -> list[float]:
    """The highest reward of a successful trial up to each trial; NaN before the first."""
    values, top = [], -math.inf
    for trial in trials:
        top = max(top, trial.result.reward) if trial.result.ok else top
        values.append(top if top > -math.inf else math.nan)
    return values
