"""`archsearch report RUN [RUN ...] [--out FILE]`: one self-contained HTML page of runs.

The page (see `archsearch.reporting.html`) opens offline in any browser and asks the network
for nothing: the summary with the baseline, every trial in a sortable and filterable table,
the reward and controller plots, the best trials' learning curves, the best architecture
drawn; for several runs, a side-by-side table and their best-so-far rewards overlaid. The runs
are only read, so a report can be made of a run that is running or was interrupted.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from archsearch.commands import COMMANDS
from archsearch.reporting.html import write_report


def add_parser(subparsers: Any) -> None:
    """Register the `report` subcommand."""
    parser = subparsers.add_parser(
        "report", help=COMMANDS["report"], description=__doc__.splitlines()[0]
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="a run directory")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="the HTML file to write (default: RUN/report.html for one run, ./report.html "
        "for several)",
    )
    parser.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    """Write the report and say where it is; bad input is a `UsageError` (one line, exit 2)."""
    out, runs = write_report(args.runs, args.out)
    trials = sum(len(run.trials) for run in runs)
    print(f"archsearch: wrote {out} ({len(runs)} run(s), {trials} trials)")
    return 0
