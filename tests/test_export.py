"""`archsearch export`: every format of every space gives the outputs of the PyTorch model
(the run's input preparation, the network, outputs in the user's units) within 1e-5, read back
the way a user without archsearch would read it."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from archsearch import export
from archsearch.checkpoint import load_model
from archsearch.cli import main
from archsearch.data.dataset import Normalization
from archsearch.models.ensemble import Ensemble
from archsearch.spaces.cnn import ConvLayer, MacroCNN
from archsearch.tasks import task_from_json
from tests.helpers import write_image_folder

TINY = ["--strategy", "random", "--trials", "2", "--epochs", "1", "--final-epochs", "1"]
RUNS = {
    "mlp": ["--dataset", "iris", "--space", "mlp", "--final-models", "2"],
    "regression": ["--dataset", "diabetes", "--space", "mlp", "--final-models", "1"],
    "cnn": ["--dataset", "digits", "--space", "cnn", "--space-option", "layers=3"]
    + ["--space-option", "pooling=true", "--space-option", "strides=1,2", "--final-models", "2"],
    "nb201": ["--space", "nb201", "--space-option", "cells_per_stage=1"]
    + ["--space-option", "channels=4", "--final-models", "1"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One finished tiny run per case (searched once for the whole module)."""
    root = tmp_path_factory.mktemp("runs")
    images = write_image_folder(root / "images", size=8)
    made = {}
    for name, args in RUNS.items():
        data = ["--data-dir", str(images)] if name == "nb201" else []
        assert main(["search", *args, *data, *TINY, "--out", str(root / name)]) == 0
        made[name] = root / name
    return made


def reference(run, x):
    """What archsearch's own model says for raw inputs `x`: prepare, network, unscale."""
    model, _, checkpoint = load_model(run / "best_model.pt")
    model.eval()
    norm = checkpoint["norm"]
    if norm is not None:
        x = Normalization(tuple(norm["mean"]), tuple(norm["std"])).apply(x)
    with torch.no_grad():
        y = model(x)
    task = task_from_json(checkpoint["task"])
    return task.unscale(y) if checkpoint["task"]["name"] == "regression" else y


def raw_inputs(run, rows=5):
    """Inputs as a user has them: pixels 0..255 for image runs, features otherwise."""
    checkpoint = torch.load(run / "best_model.pt", weights_only=True)
    shape = (rows, *checkpoint["input_shape"])
    generator = torch.Generator().manual_seed(1)
    if checkpoint["norm"] is not None:
        return torch.randint(0, 256, shape, generator=generator).float()
    return torch.randn(shape, generator=generator)


def run_standalone(folder, x):
    """model.py's outputs for `x`, in a fresh Python that cannot import archsearch; every
    annotation in model.py must name something it defines or imports (as linters and
    `typing.get_type_hints` require)."""
    torch.save(x, folder / "x.pt")
    script = textwrap.dedent(
        """
        import inspect, sys, typing
        sys.modules["archsearch"] = None  # importing archsearch fails from here on
        import torch
        import model
        for value in vars(model).values():
            if getattr(value, "__module__", None) == "model":
                members = vars(value).values() if inspect.isclass(value) else []
                for item in [value, *members]:
                    if inspect.isfunction(item) or inspect.isclass(item):
                        typing.get_type_hints(item)
        torch.save(model.build()(torch.load("x.pt")).detach(), "y.pt")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return torch.load(folder / "y.pt")


def exported_outputs(fmt, folder, x):
    if fmt == "torchscript":
        return torch.jit.load(str(folder / "model.pt"))(x)
    if fmt == "onnx":
        onnxruntime = pytest.importorskip("onnxruntime")
        session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
        return torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
    return run_standalone(folder, x)


@pytest.mark.parametrize("fmt", export.FORMATS)
@pytest.mark.parametrize("case", list(RUNS))
def test_every_format_of_every_space_matches_the_pytorch_model(runs, case, fmt, tmp_path):
    if fmt == "onnx":
        pytest.importorskip("onnxscript")
    folder = tmp_path / "out"
    assert main(["export", str(runs[case]), "--format", fmt, "--out", str(folder)]) == 0
    x = raw_inputs(runs[case])
    expected = reference(runs[case], x)
    got = exported_outputs(fmt, folder, x)
    assert got.shape == expected.shape
    assert torch.allclose(got.float(), expected, atol=1e-5, rtol=1e-5), (got - expected).abs().max()
    info = json.loads((folder / "export.json").read_text())
    assert info["format"] == fmt  # its own check: 1e-5, relative for outputs above 1
    assert info["check"]["max_difference"] <= 1e-5 * (1 + float(expected.abs().max()))


def test_the_ensembles_and_the_descriptions_are_what_the_run_holds(runs):
    """Ensembles are exported whole; export.json says what goes in and what comes out."""
    assert isinstance(load_model(runs["cnn"] / "best_model.pt")[0], Ensemble)
    assert main(["export", str(runs["nb201"]), "--format", "python"]) == 0  # default folder
    info = json.loads((runs["nb201"] / "export" / "export.json").read_text())
    assert info["input"]["shape"] == ["batch", 3, 8, 8] and "raw pixel" in info["input"]["meaning"]
    assert info["class_names"] == ["dark", "light"]
    assert main(["export", str(runs["regression"]), "--format", "torchscript"]) == 0
    info = json.loads((runs["regression"] / "export" / "export.json").read_text())
    assert "target's own units" in info["output"]["meaning"]
    assert "feature_names" in info["input"]


def test_model_py_imports_nothing_but_pytorch(runs, tmp_path):
    assert main(["export", str(runs["cnn"]), "--format", "python", "--out", str(tmp_path)]) == 0
    source = (tmp_path / "model.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import", "from"))]
    assert all("archsearch" not in line for line in imports), imports
    assert "class MacroCNN(nn.Module):" in source and "class Ensemble(nn.Module):" in source


def test_python_source_covers_skips_strides_and_pooling(tmp_path):
    """A MacroCNN with every kind of layer connection, rebuilt from its generated source."""
    layers = [
        ConvLayer(3, 3, 4, 1, False, ()),
        ConvLayer(5, 1, 6, 2, True, (1,)),
        ConvLayer(1, 3, 5, 1, False, (1, 2)),  # maps of two sizes, zero-padded
        ConvLayer(3, 3, 4, 2, True, ()),
    ]
    model, source = export.python_source(lambda: MacroCNN(layers, (2, 12, 12), 3).eval())
    (tmp_path / "model.py").write_text(source)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    x = torch.randn(4, 2, 12, 12)
    with torch.no_grad():
        assert torch.equal(run_standalone(tmp_path, x), model(x))


def test_onnx_without_its_packages_is_one_line_saying_how_to_install(runs, monkeypatch, capsys):
    real = export.importlib.util.find_spec
    monkeypatch.setattr(
        export.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnxscript" else real(name, *a),
    )
    assert main(["export", str(runs["mlp"]), "--format", "onnx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'archsearch[onnx]'" in err


def test_a_folder_that_is_no_finished_run_is_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--format", "python"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "best_model.pt" in err


def test_an_out_that_names_a_model_file_is_one_line(runs, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    assert main(["export", str(runs["mlp"]), "--format", "torchscript", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"give one, e.g. --out {tmp_path / 'model'}" in err
    assert not out.exists()


def test_a_damaged_checkpoint_is_one_line(tmp_path, capsys):
    (tmp_path / "best_model.pt").write_bytes(b"not a checkpoint")
    assert main(["export", str(tmp_path), "--format", "torchscript"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be loaded" in err
