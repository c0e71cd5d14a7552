"""`archsearch predict RUN (--data CSV | --data-dir FOLDER) --out FILE`: a run's best network on
new rows or images, one line of predictions per input.

CSV rows go through the run's saved table preprocessing (columns found by name, in any order;
the target column, and any other column the run did not use, is ignored); images are read with
the same code a search reads them with and normalised with the run's saved statistics. Each
output row holds the input's id (its data row number, 1-based without the header, or its file
path within the folder), the prediction (a class name, or a value in the target's own units)
and, for classification, each class's probability.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from archsearch.commands import COMMANDS
from archsearch.config import load_data_spec
from archsearch.data.images import IMAGE_SUFFIXES, decode_image, resized
from archsearch.data.table import RawTable, read_table
from archsearch.errors import UsageError
from archsearch.export import RunModel, load_run
from archsearch.predictions import prediction_table, write_table
from archsearch.reporting.console import plural
from archsearch.run import CONFIG
from archsearch.rundir import check_output_file

__all__ = ["add_parser", "predict", "predict_command", "predict_source", "read_images", "read_rows"]

BATCH = 1024  # inputs per forward pass


def add_parser(subparsers: Any) -> None:
    """Register the `predict` subcommand."""
    parser = subparsers.add_parser(
        "predict", help=COMMANDS["predict"], description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument("run", type=Path, help="the run directory (it holds best_model.pt)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, metavar="CSV", help="rows to predict (a CSV file)")
    source.add_argument(
        "--data-dir", type=Path, metavar="FOLDER", help="images to predict (a folder, searched)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="the predictions CSV to write"
    )
    parser.set_defaults(func=predict_command)


def predict_command(args: argparse.Namespace) -> int:
    """Predict, write the CSV, say how many rows it has."""
    check_output_file(args.out, "predictions CSV file")
    images = args.data_dir is not None
    header, rows = predict_source(args.run, args.data_dir if images else args.data, images)
    write_table(args.out, header, rows)
    print(f"archsearch: wrote {plural(len(rows), 'prediction')} to {args.out}")
    return 0


def predict_source(run: Path, source: Path, images: bool) -> tuple[list[str], list[list]]:
    """(header, one row per input) of run `run`'s best network on `source`: every image under
    a folder (`images`), or a CSV file's rows."""
    loaded = load_run(run)
    if loaded.task not in ("classification", "regression"):
        raise UsageError(f"predict covers classification and regression runs, not {loaded.task}")
    if loaded.inputs == "features":
        raise UsageError(
            f"{run} was trained on a bundled dataset's images, whose standardisation is not "
            "saved with the run, so predict cannot prepare new inputs for it; search on the "
            "images as a folder (--data-dir) to predict new ones"
        )
    if images:
        ids, x = read_images(loaded, source)
    else:
        ids, x = read_rows(run, loaded, source)
    return predict(loaded, ids, x)


def predict(loaded: RunModel, ids: list[str], x: torch.Tensor) -> tuple[list[str], list[list]]:
    """(header, one row per input) as `prediction_table` writes them: id, prediction (a class
    name, or values in the target's units), and for classification each class's probability."""
    with torch.no_grad():
        outputs = torch.cat([loaded.model(chunk) for chunk in x.split(BATCH)])
    names = loaded.checkpoint["task"]["names"] if loaded.task == "regression" else []
    return prediction_table(ids, outputs, loaded.class_names, names)


def read_rows(run: Path, loaded: RunModel, path: Path) -> tuple[list[str], torch.Tensor]:
    """(data row numbers, model inputs) of a CSV file, through the run's preprocessing."""
    pre = loaded.preprocessor()
    if loaded.inputs != "table" or pre is None:
        raise UsageError(f"{run} was trained on images; give them with --data-dir, not --data")
    table = _renumbered(run, pre.columns, pre.dropped, read_table(path, None))
    present = set(table.names)
    absent = [spec.name for spec in pre.columns if spec.name not in present]
    if absent:
        has = f"has: {', '.join(map(repr, table.names))}"
        if _headerless(table):
            has = "has no header row; make its first line the column names, as in training"
        raise UsageError(
            f"{path}: lacks column(s) the model was trained on: {', '.join(map(repr, absent))} "
            f"(the file {has})"
        )
    x = torch.from_numpy(pre.transform(table))
    for line in pre.unread_cells(table):
        print(f"archsearch: warning: {path}: {line}", file=sys.stderr)
    return [str(row) for row in range(1, len(table) + 1)], x


def _renumbered(run: Path, columns: list, dropped: list, table: RawTable) -> RawTable:
    """`table` with the column names a run on a CSV without header knew: "column N" counted
    with the target column, which new rows may leave out."""
    target = load_data_spec(run / CONFIG).target
    trained = len(columns) + len(dropped) + 1
    if target is None or not target.strip().isdigit() or not _headerless(table):
        return table
    if len(table.names) == trained - 1:  # the target column is left out
        skip = int(target)
        table.names = [f"column {i + (i >= skip)}" for i in range(len(table.names))]
    return table


def _headerless(table: RawTable) -> bool:
    """Whether `table` was read without a header row (its columns are named "column N")."""
    return all(name == f"column {i}" for i, name in enumerate(table.names))


def read_images(loaded: RunModel, folder: Path) -> tuple[list[str], torch.Tensor]:
    """(file paths within `folder`, raw pixels as float (N, C, H, W)) of every PNG or JPEG
    file under `folder` (hidden files and folders aside, as a search reads them), in path
    order; an image of another size than the model was trained on is resized to it, as
    `--image-size` resizes a search's images, and a colour image for a greyscale model is made
    greyscale (a greyscale one for a colour model is widened, as in training)."""
    if loaded.inputs != "images":
        raise UsageError("the run was trained on table rows: give them with --data")
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder; give --data-dir a folder of images")
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise UsageError(f"{folder}: holds no .png/.jpg/.jpeg images")
    channels, height, width = loaded.input_shape
    x = np.empty((len(files), channels, height, width), dtype=np.uint8)
    changed = {"resized": 0, "greyscaled": 0}
    for row, path in enumerate(files):
        pixels, grey = decode_image(str(path))
        changed["resized"] += pixels.shape[:2] != (height, width)
        pixels = resized(pixels, (width, height))
        if not grey and channels == 1:  # as training would have seen it: one channel
            pixels, grey = np.asarray(Image.fromarray(pixels).convert("L")), True
            changed["greyscaled"] += 1
        x[row] = pixels[None] if grey else pixels.transpose(2, 0, 1)
    done = [f"{what} {count} of {len(files)}" for what, count in changed.items() if count]
    if done:
        print(
            f"archsearch: {' and '.join(done)} images to the model's {width}x{height} pixels "
            f"and {channels} channel(s)",
            file=sys.stderr,
        )
    ids = [str(path.relative_to(folder)) for path in files]
    return ids, torch.from_numpy(x).float()
