"""`archsearch export RUN --format torchscript|onnx|python`: a run's best network, ready to use
without archsearch.

The exported model is `Exported`: the input preparation the run used, the network (or the
`Ensemble` of its final trainings) and the conversion of outputs to the user's units, as one
module. Image runs take raw pixel values (0..255 as float, channels first) and normalise them
inside; table runs take the preprocessed feature vector (one-hot, imputed, scaled: text columns
cannot live in a tensor graph; `archsearch predict` takes raw CSV rows); the bundled digits as
images take the standardised pixels the run trained on. Classification gives logits (an
ensemble's are log-probabilities: softmax gives the averaged probabilities), regression gives
values in the target's own units, reconstruction gives the input's units.

`python` writes `model.py`, generated from the source of the classes the network is actually
made of (`inspect.getsource`, with the helpers and constants they use) and the constructor calls
that built it (recorded while the checkpoint is loaded), so no second copy of a space's code
exists; `weights.pt` is its state dict. Every format is checked against the PyTorch model on a
sample batch before the command succeeds; `export.json` records the check.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import dataclasses
import importlib.util
import inspect
import logging
import sys
import textwrap
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archsearch.checkpoint import load_model
from archsearch.commands import COMMANDS
from archsearch.data.table import TablePreprocessor
from archsearch.errors import UsageError
from archsearch.reporting.files import write_json
from archsearch.rundir import save_atomic, write_text_atomic

__all__ = [
    "FORMATS",
    "Affine",
    "Exported",
    "RunModel",
    "add_parser",
    "export_run",
    "load_run",
    "python_source",
]

FORMATS = ("torchscript", "onnx", "python")
#: Suffixes of model files: an --out with one was meant as the file, not the folder to write.
MODEL_SUFFIXES = (".onnx", ".pt", ".pth", ".py", ".ts", ".pb")
TOLERANCE = 1e-5  # |exported - PyTorch| allowed: absolute, and relative for outputs above 1
ONNX_INSTALL = "pip install 'archsearch[onnx]'"


class Affine(nn.Module):
    """`x * scale + shift` with one (scale, shift) per entry of dimension 1: per channel of
    images (`dims` 4) or per column of vectors (`dims` 2)."""

    def __init__(self, scale: list[float], shift: list[float], dims: int) -> None:
        super().__init__()
        shape = (1, len(scale)) + (1,) * (dims - 2)
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32).view(shape))
        self.register_buffer("shift", torch.tensor(shift, dtype=torch.float32).view(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


class Exported(nn.Module):
    """The network with its input preparation before it and the conversion of its outputs to
    the user's units after it: `finish(network(prepare(x)))`."""

    def __init__(self, network: nn.Module, prepare: nn.Module, finish: nn.Module) -> None:
        super().__init__()
        self.prepare = prepare
        self.network = network
        self.finish = finish

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.finish(self.network(self.prepare(x)))


@dataclass
class RunModel:
    """A run's best network as `Exported` (eval mode), with what its inputs and outputs mean."""

    model: Exported
    checkpoint: dict[str, Any]  # the metadata `save_model` wrote
    inputs: str  # "images" (raw pixels), "table" (preprocessed features) or "features"
    build: Callable[[], Exported]  # makes the same model again (weights included)

    @property
    def input_shape(self) -> list[int]:
        return list(self.checkpoint["input_shape"])

    @property
    def task(self) -> str:
        return self.checkpoint["task"]["name"]

    @property
    def class_names(self) -> list[str]:
        return list(self.checkpoint.get("class_names") or [])

    def preprocessor(self) -> TablePreprocessor | None:
        """The fitted table preprocessing, for table runs."""
        saved = self.checkpoint.get("preprocessing")
        return None if saved is None else TablePreprocessor.from_json(saved)


def load_run(run: Path) -> RunModel:
    """The best network of run directory `run` (`RUN/best_model.pt`), wrapped as `Exported`."""
    path = Path(run) / "best_model.pt"
    if not Path(run).is_dir():
        raise UsageError(f"{run}: no such run directory")
    if not path.is_file():
        raise UsageError(
            f"{run}: has no best_model.pt; a run saves it after its final training (let the "
            "search finish, with --final-epochs above 0)"
        )

    network, checkpoint = _load(path)

    def build() -> Exported:
        return _wrap(_load(path)[0], checkpoint).eval()

    kind = "images" if checkpoint.get("norm") else "table"
    if not checkpoint.get("norm") and checkpoint.get("preprocessing") is None:
        kind = "features"
    return RunModel(_wrap(network, checkpoint).eval(), checkpoint, kind, build)


def _load(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    """(network, checkpoint metadata) of a checkpoint; a one-line error if it is damaged."""
    try:
        network, _, checkpoint = load_model(path)
    except Exception as exc:  # noqa: BLE001 - whatever a damaged or foreign file raises
        first = (str(exc).strip().splitlines() or [""])[0]
        raise UsageError(f"{path} cannot be loaded ({type(exc).__name__}: {first})") from None
    checkpoint.pop("state_dict", None)
    return network, checkpoint


def _wrap(network: nn.Module, checkpoint: dict[str, Any]) -> Exported:
    """`network` inside `Exported`: the run's image normalisation before it, and after it the
    regression targets' unscaling (or, for reconstructed images, the inverse normalisation)."""
    norm, task = checkpoint.get("norm"), checkpoint["task"]
    prepare: nn.Module = nn.Identity()
    finish: nn.Module = nn.Identity()
    if norm is not None:
        mean = torch.tensor(norm["mean"], dtype=torch.float32)
        std = torch.tensor(norm["std"], dtype=torch.float32)
        prepare = Affine((1.0 / std).tolist(), (-mean / std).tolist(), 4)  # as Normalization
        if task["name"] == "reconstruction":
            finish = Affine(norm["std"], norm["mean"], 1 + len(checkpoint["input_shape"]))
    if task["name"] == "regression":
        finish = Affine(task["std"], task["mean"], 2)
    return Exported(network, prepare, finish)


# -- the command ---------------------------------------------------------------------------------


def add_parser(subparsers: Any) -> None:
    """Register the `export` subcommand."""
    parser = subparsers.add_parser(
        "export", help=COMMANDS["export"], description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument("run", type=Path, help="the run directory (it holds best_model.pt)")
    parser.add_argument(
        "--format",
        required=True,
        choices=FORMATS,
        help="torchscript: model.pt for torch.jit.load; onnx: model.onnx (needs the onnx extra); "
        "python: model.py, plain PyTorch source, and weights.pt",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="the folder to write (default: RUN/export)"
    )
    parser.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    """Export, then say what was written and how far it is from the PyTorch model."""
    out, info = export_run(args.run, args.format, args.out)
    files = ", ".join(str(out / name) for name in info["files"])
    print(
        f"archsearch: exported {args.format} to {files} (largest difference from the PyTorch "
        f"model on {info['check']['rows']} sample inputs: {info['check']['max_difference']:.2g})"
    )
    return 0


def export_run(run: Path, fmt: str, out: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Write run `run`'s best network in format `fmt` into `out` (default `run/export`), with
    `export.json` beside it; (the folder, the description written)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt == "onnx":
        _check_onnx()
    out = Path(run) / "export" if out is None else Path(out)
    if out.suffix in MODEL_SUFFIXES and not out.is_dir():
        raise UsageError(
            f"--out {out} names a file, but export writes a folder (the model, and export.json "
            f"saying what goes in and comes out); give one, e.g. --out {out.with_suffix('')}"
        )
    if out.exists() and not out.is_dir():
        raise UsageError(
            f"--out {out} is a file, but export writes a folder (the model, and export.json "
            "saying what goes in and comes out); give a new or existing folder"
        )
    loaded = load_run(run)
    out.mkdir(parents=True, exist_ok=True)
    sample = _sample(loaded)
    with torch.no_grad():
        expected = loaded.model(sample)
    files, outputs = WRITERS[fmt](loaded, sample, out)
    info = _describe(loaded, fmt, files)
    info["check"] = {
        "rows": len(sample),
        "max_difference": _check(outputs, expected, fmt),
        "tolerance": TOLERANCE,
    }
    write_json(out / "export.json", info)
    return out, info


def _sample(loaded: RunModel) -> torch.Tensor:
    """A seeded batch of inputs as a user gives them: pixel values 0..255 for image runs,
    standard normal features otherwise."""
    generator = torch.Generator().manual_seed(0)
    shape = (3, *loaded.input_shape)
    if loaded.inputs == "images":
        return torch.randint(0, 256, shape, generator=generator).float()
    return torch.randn(shape, generator=generator)


def _check(outputs: torch.Tensor, expected: torch.Tensor, fmt: str) -> float:
    """The largest difference between the exported model's outputs and the PyTorch model's;
    an error if it is beyond `TOLERANCE` (a bug in the export, never the user's). A network
    that answers with a tuple (a VAE: reconstruction, mu, logvar) is checked on its first
    output, the one an ONNX session's first output is; in evaluation mode it is decoded
    from mu, so it depends on the others."""
    outputs, expected = (v[0] if isinstance(v, (tuple, list)) else v for v in (outputs, expected))
    outputs = torch.as_tensor(outputs).float()
    difference = float((outputs - expected).abs().max())
    if not torch.allclose(outputs, expected, atol=TOLERANCE, rtol=TOLERANCE):
        raise RuntimeError(
            f"the {fmt} export differs from the PyTorch model by {difference:.3g} on a sample "
            "batch; please report this"
        )
    return difference


def _describe(loaded: RunModel, fmt: str, files: list[str]) -> dict[str, Any]:
    """What `export.json` says: format, files, input and output shapes and meanings."""
    meaning = {
        "images": "raw pixel values (0..255 as float32), channels first; the run's "
        "per-channel normalisation is part of the model",
        "table": "the preprocessed feature vector (see feature_names; `archsearch predict` "
        "turns raw CSV rows into it): one-hot, imputation and scaling are not in the model",
        "features": "the bundled dataset's images standardised per channel as the run "
        "trained on them",
    }[loaded.inputs]
    info: dict[str, Any] = {
        "format": fmt,
        "files": files,
        "input": {"shape": ["batch", *loaded.input_shape], "meaning": meaning},
        "output": {"meaning": _output_meaning(loaded)},
        "task": loaded.task,
        "class_names": loaded.class_names,
        "networks": loaded.checkpoint.get("members", 1),
        "arch": loaded.checkpoint["arch"],
        "torch": torch.__version__,
    }
    pre = loaded.preprocessor()
    if pre is not None:
        info["input"]["feature_names"] = pre.feature_names
    return info


def _output_meaning(loaded: RunModel) -> str:
    """What the exported model's output means, for `export.json`."""
    task = loaded.checkpoint["task"]
    if loaded.task == "classification":
        return (
            "class logits, one per class_names entry in order: softmax gives the probabilities"
            + (
                " (averaged over the ensemble's networks)"
                if loaded.checkpoint.get("members", 1) > 1
                else ""
            )
        )
    if loaded.task == "regression":
        return f"predicted {', '.join(task['names'])} in the target's own units"
    if loaded.task == "vae":
        return (
            "a tuple (reconstruction, mu, logvar): the reconstructed input as pixels in [0, 1], "
            "0 and 1 being each channel's darkest and brightest training pixel, then the mean "
            "and log-variance of the latent Gaussian"
        )
    return "the reconstructed input, in the input's units"


# -- the formats ---------------------------------------------------------------------------------


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence PyTorch's deprecation warnings and exporter log lines while exporting."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _torchscript(loaded: RunModel, sample: torch.Tensor, out: Path) -> tuple[list[str], Any]:
    """model.pt, traced (the networks have no data-dependent control flow)."""
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(loaded.model, sample[:1])  # any batch size works after
        save_atomic(out / "model.pt", lambda path: traced.save(str(path)))
        reloaded = torch.jit.load(str(out / "model.pt"))
        return ["model.pt"], reloaded(sample)


def _check_onnx() -> None:
    """A one-line error unless the ONNX exporter's packages, and a PyTorch with the
    torch.export-based exporter (2.5 or newer), are installed."""
    if tuple(int(part) for part in torch.__version__.split(".")[:2]) < (2, 5):
        raise UsageError(f"--format onnx needs torch 2.5 or newer, not {torch.__version__}")
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"--format onnx needs {' and '.join(missing)}, which are not installed; "
            f"install them with: {ONNX_INSTALL}"
        )


def _onnx(loaded: RunModel, sample: torch.Tensor, out: Path) -> tuple[list[str], Any]:
    """model.onnx (PyTorch's torch.export-based exporter, one file, any batch size), checked
    with onnxruntime when it is installed."""
    batch = torch.export.Dim("batch", min=1)
    with _quiet(), torch.no_grad():
        save_atomic(
            out / "model.onnx",
            lambda path: torch.onnx.export(
                loaded.model,
                (sample,),
                str(path),
                dynamo=True,
                external_data=False,
                verbose=False,
                input_names=["input"],
                output_names=["output"],
                dynamic_shapes=({0: batch},),
            ),
        )
    if importlib.util.find_spec("onnxruntime") is None:
        raise UsageError(f"checking the ONNX file needs onnxruntime; install: {ONNX_INSTALL}")
    import onnxruntime

    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    return ["model.onnx"], session.run(None, {"input": sample.numpy()})[0]


def _python(loaded: RunModel, sample: torch.Tensor, out: Path) -> tuple[list[str], Any]:
    """model.py (plain PyTorch source, no archsearch) and weights.pt (its state dict)."""
    model, source = python_source(loaded.build)
    torch.save(model.state_dict(), out / "weights.pt")
    write_text_atomic(out / "model.py", source)
    module = types.ModuleType("archsearch_exported_model")
    module.__file__ = str(out / "model.py")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - ours
        with torch.no_grad():
            return ["model.py", "weights.pt"], module.build()(sample)
    finally:
        del sys.modules[module.__name__]


WRITERS: dict[str, Callable[[RunModel, torch.Tensor, Path], tuple[list[str], Any]]] = {
    "torchscript": _torchscript,
    "onnx": _onnx,
    "python": _python,
}


# -- plain PyTorch source ------------------------------------------------------------------------

HEADER = '''"""The best network of an archsearch run as plain PyTorch: needs torch, not archsearch.

Generated by `archsearch export --format python` from the source of the classes the network is
made of. `build()` returns it with its weights (weights.pt beside this file), in eval mode;
export.json beside it says what its inputs and outputs mean.
"""

from __future__ import annotations

'''
BUILD = '''

def build(weights: str | None = None) -> nn.Module:
    """The network with its weights (default: weights.pt beside this file), in eval mode."""
    from pathlib import Path

    model = {expression}
    path = Path(__file__).with_name("weights.pt") if weights is None else weights
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()
'''
WIDTH = 96  # characters a generated line may take before its arguments are broken up


def python_source(build: Callable[[], nn.Module]) -> tuple[nn.Module, str]:
    """(the module `build()` makes, Python source that makes the same module). `build` runs
    twice: once to learn which module classes it uses, once with their constructors recorded,
    so the source repeats the calls that really built it."""
    classes = {type(module) for module in build().modules()}
    with _recording(classes) as calls:
        model = build()
    writer = _SourceWriter(calls)
    expression = writer.expression(model, 4)
    body = "\n\n\n".join(writer.blocks)
    imports = "\n".join(sorted(writer.imports, key=lambda line: (line.startswith("from"), line)))
    constants = "".join(f"{name} = {value!r}\n" for name, value in writer.constants.items())
    constants += "".join(f"{name} = {text}\n" for name, text in writer.aliases.items())
    source = f"{HEADER}{imports}\n\n{constants}\n\n{body}\n\n{BUILD.format(expression=expression)}"
    return model, source.replace("\n\n\n\n", "\n\n\n")


@contextmanager
def _recording(classes: set[type]) -> Iterator[dict[int, tuple[Any, tuple, dict]]]:
    """While active, every construction of a module of `classes` is recorded by the new
    object's id: (the object, its positional and keyword arguments). A subclass's call is the
    one kept, not its `super().__init__`."""
    calls: dict[int, tuple[Any, tuple, dict]] = {}
    own = {cls: cls.__dict__.get("__init__") for cls in classes}
    for cls in classes:

        def init(self: Any, *args: Any, __original: Any = cls.__init__, **kwargs: Any) -> None:
            calls.setdefault(id(self), (self, args, kwargs))
            __original(self, *args, **kwargs)

        cls.__init__ = init
    try:
        yield calls
    finally:
        for cls, init in own.items():
            if init is None:
                del cls.__init__
            else:
                cls.__init__ = init


class _SourceWriter:
    """Collects what generated source needs: the source of archsearch classes and functions
    (dependencies first), the constants and imports they use, and constructor expressions."""

    def __init__(self, calls: dict[int, tuple[Any, tuple, dict]]) -> None:
        self.calls = calls
        self.blocks: list[str] = []
        self.imports: set[str] = {"import torch", "from torch import nn"}
        self.constants: dict[str, Any] = {}
        self.aliases: dict[str, str] = {}  # type aliases that annotations name, as source
        self.defined: dict[str, Any] = {}

    def expression(self, value: Any, indent: int) -> str:
        """Python that evaluates to `value`: a recorded module's constructor call, a
        dataclass, or plain data."""
        if isinstance(value, nn.Module):
            if id(value) not in self.calls:
                raise RuntimeError(f"no recorded construction of {type(value).__name__}")
            _, args, kwargs = self.calls[id(value)]
            return self._call(self.name_of(type(value)), args, kwargs, indent)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            kwargs = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return self._call(self.name_of(type(value)), (), kwargs, indent)
        if isinstance(value, (list, tuple)):
            items = [self.expression(item, indent + 4) for item in value]
            if isinstance(value, tuple) and len(items) == 1:
                return f"({items[0]},)"
            brackets = "[]" if isinstance(value, list) else "()"
            return _join(brackets[0], items, brackets[1], indent)
        if isinstance(value, dict):
            items = [
                f"{self.expression(k, indent + 4)}: {self.expression(v, indent + 4)}"
                for k, v in value.items()
            ]
            return _join("{", items, "}", indent)
        if _is_plain(value):
            return repr(value)
        raise RuntimeError(f"cannot write a {type(value).__name__} as Python source")

    def _call(self, name: str, args: tuple, kwargs: dict, indent: int) -> str:
        items = [self.expression(a, indent + 4) for a in args]
        items += [f"{k}={self.expression(v, indent + 4)}" for k, v in kwargs.items()]
        return _join(f"{name}(", items, ")", indent)

    def name_of(self, cls: type) -> str:
        """How generated code names class `cls`: `nn.X` for PyTorch's, else its own name with
        its source (and what that uses) included."""
        if cls.__module__.startswith("torch.nn") and getattr(nn, cls.__name__, None) is cls:
            return f"nn.{cls.__name__}"
        self.include(cls)
        return cls.__name__

    def include(self, obj: Any) -> None:
        """Add an archsearch class's or function's source, after what it refers to."""
        name = obj.__name__
        if name in self.defined:
            if self.defined[name] is not obj:
                raise RuntimeError(f"two different objects are named {name}")
            return
        if not obj.__module__.startswith("archsearch"):
            raise RuntimeError(f"{obj.__module__}.{name} is neither PyTorch's nor archsearch's")
        self.defined[name] = obj
        source = textwrap.dedent(inspect.getsource(obj))
        namespace = vars(sys.modules[obj.__module__])
        code, annotations = _names_used(ast.parse(source))
        for used in code:
            if used in namespace and used != name:
                self._use(used, namespace[used])
        for used in annotations:
            if used in namespace and used != name:
                self._annotate(used, namespace[used])
        self.blocks.append(source.rstrip())

    def _annotate(self, name: str, value: Any) -> None:
        """Define a name that only annotations read, so that linters and `get_type_hints`
        resolve it: a type alias of builtins and torch as itself, a module or another
        library's class as an import. Any other name (an archsearch class the network does not
        use) stays undefined: annotations are never run."""
        if isinstance(value, (types.UnionType, types.GenericAlias)):
            text = repr(value)
            names = {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
            if all(n == "torch" or hasattr(builtins, n) for n in names):
                self.aliases[name] = text
        elif not getattr(value, "__module__", "").startswith("archsearch") and (
            isinstance(value, types.ModuleType) or inspect.isclass(value)
        ):
            self._use(name, value)

    def _use(self, name: str, value: Any) -> None:
        """Make global `name` (bound to `value` where the source came from) defined."""
        if isinstance(value, types.ModuleType):
            self.imports.add(_import_line(name, value.__name__))
        elif getattr(value, "__module__", "").startswith("archsearch") and (
            inspect.isclass(value) or inspect.isfunction(value)
        ):
            self.include(value)
        elif inspect.isclass(value) or inspect.isfunction(value):
            self.imports.add(f"from {value.__module__} import {value.__name__}")
        elif _is_plain(value) or isinstance(value, (tuple, list, frozenset, dict)):
            self.constants[name] = value
        else:
            raise RuntimeError(f"cannot write {name} ({type(value).__name__}) as Python source")


def _names_used(tree: ast.AST) -> tuple[list[str], list[str]]:
    """The names a piece of source reads, in order: those its code runs (annotations aside:
    the generated file postpones them, so they are never evaluated), and those only its
    annotations name."""
    names: dict[bool, list[str]] = {False: [], True: []}  # in an annotation -> names

    def visit(node: ast.AST, in_annotation: bool) -> None:
        loaded = isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        if loaded and node.id not in names[in_annotation] and not hasattr(builtins, node.id):
            names[in_annotation].append(node.id)
        for field, child in ast.iter_fields(node):
            inside = in_annotation or field in ("annotation", "returns")
            for item in child if isinstance(child, list) else [child]:
                if isinstance(item, ast.AST):
                    visit(item, inside)

    visit(tree, False)
    code = names[False]
    return code, [name for name in names[True] if name not in code]


def _import_line(alias: str, module: str) -> str:
    """`import math`, `from torch import nn` or `import torch.nn.functional as F`."""
    if alias == module:
        return f"import {module}"
    parent, _, last = module.rpartition(".")
    if last == alias and parent:
        return f"from {parent} import {alias}"
    return f"import {module} as {alias}"


def _is_plain(value: Any) -> bool:
    """Whether `repr(value)` is Python that makes it again."""
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    return value is None or isinstance(value, (bool, int, str))


def _join(opening: str, items: list[str], closing: str, indent: int) -> str:
    """`items` between brackets on one line, or one per line when that line is too long."""
    line = f"{opening}{', '.join(items)}{closing}"
    if indent + len(line) <= WIDTH and "\n" not in line:
        return line
    pad = " " * (indent + 4)
    return opening + "\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + closing
