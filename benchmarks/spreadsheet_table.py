"""What reading a spreadsheet's CSV export costs, and what its columns become: a semicolon-
separated table of decimal-comma numbers, plain numbers, money with thousands separators, ISO
dates and a text column (written here, seeded). Prints the time to read, fit and transform
it, the model inputs each column became, and how many one-hot inputs the written-number
columns would have been as text (their distinct values among the rows), never asserts.

    python benchmarks/spreadsheet_table.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from archsearch.data.table import TablePreprocessor, read_table

RESULTS = Path(__file__).resolve().parent / "results" / "spreadsheet_table.json"


def write_table(path: Path, rows: int, seed: int = 0) -> None:
    """Four decimal-comma columns, two plain ones, euros with point grouping, a date, a
    category, and a 0/1 target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    money = rng.lognormal(8, 1, rows)
    days = np.datetime64("2020-01-01") + rng.integers(0, 1500, rows)
    with path.open("w") as handle:
        handle.write("x0;x1;x2;x3;x4;x5;price;day;colour;y\n")
        for i in range(rows):
            commas = ";".join(f"{v:.4f}".replace(".", ",") for v in x[i, :4])
            euros = f"{money[i]:,.2f}".replace(",", " ").replace(".", ",") + " €"
            handle.write(
                f"{commas};{x[i, 4]:.4f};{x[i, 5]:.4f};{euros};{days[i]};{'abc'[i % 3]};{i % 2}\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        write_table(path, args.rows)
        start = time.perf_counter()
        table = read_table(path, "y")
        read = time.perf_counter() - start
        start = time.perf_counter()
        pre = TablePreprocessor.fit(table)
        fit = time.perf_counter() - start
        start = time.perf_counter()
        inputs = pre.transform(table)
        transform = time.perf_counter() - start
    written = [note.split("'")[1] for note in table.notes]
    result = {
        "rows": args.rows,
        "seconds": {"read": round(read, 3), "fit": round(fit, 3), "transform": round(transform, 3)},
        "inputs": int(inputs.shape[1]),
        "columns": {spec.name: [spec.kind, spec.width] for spec in pre.columns},
        "notes": table.notes + pre.notes(),
        "as_text_distinct_values": {
            name: int(len(set(table.columns[table.names.index(name)].tolist()))) for name in written
        },
        "machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end",
    }
    print(json.dumps(result, indent=1))
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
