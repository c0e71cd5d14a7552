"""Image datasets from files, as uint8 (N, C, H, W) arrays: `load_image_dataset`.

Layouts found in a data directory (or in the folder its archive extracts to):

- CIFAR-10 python batches: `data_batch_1..5`, `test_batch`, `batches.meta`
  (in `cifar-10-batches-py/` or directly in the directory);
- CIFAR-100 python: `train`, `test`, `meta` (in `cifar-100-python/` or directly); fine labels;
- MNIST / Fashion-MNIST idx files: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
  `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally `.gz` (also in
  `MNIST/raw/` or `FashionMNIST/raw/`, where torchvision puts them);
- image folders: `train/<class>/*` and `test/<class>/*`, or one `<class>/*` folder per class
  that is split here. Files are PNG or JPEG, all of one size unless an `image_size` is given,
  which resizes every image to it (bilinear, aspect ratio not kept); colour images become
  RGB, a set of greyscale images one channel.

Official test splits stay the test split. Decoding image files is the slow part (about 10 s
for CIFAR-10's 60,000 JPEGs), so decoded folders are cached as an uncompressed `.npz` next to
the data when that directory is writable, else in the user cache directory; the cache key
covers every file's name, size and modification time, so a changed folder is decoded again.
The array formats (pickle batches, idx) are read directly: they are as fast as a cache.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib
import importlib.util
import logging
import os
import pickle
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from archsearch.data.dataset import DataError, Dataset, split_train_test

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CACHE_VERSION = 1  # part of every cache key: bump when the cached arrays change meaning
DOWNLOADS = ("cifar10", "cifar100", "mnist", "fashion-mnist")

Split = tuple[np.ndarray, np.ndarray]
Size = tuple[int, int]  # (width, height), as Pillow and the messages write sizes
MAX_SIDE = 4096  # an --image-size side above this is surely a typo


def parse_image_size(text: str) -> Size:
    """(width, height) of `--image-size` text: "32" (square) or "48x32" (width x height).

    >>> parse_image_size("48x32")
    (48, 32)
    """
    parts = str(text).lower().replace("×", "x").split("x")
    if len(parts) in (1, 2) and all(part.strip().isdigit() for part in parts):
        width, height = (int(parts[0]), int(parts[-1]))
        if 1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE:
            return width, height
    raise DataError(
        f"--image-size must be N (square) or WIDTHxHEIGHT, each 1-{MAX_SIDE} pixels, "
        f"got {text!r}; e.g. --image-size 32 or --image-size 48x32"
    )


@dataclass
class Images:
    """What a reader found: the training pool, the official test split if any, class names,
    a dataset name and a one-line description of the layout and place; for image files, their
    paths within the data folder (pool, test split)."""

    train: Split
    test: Split | None
    class_names: list[str]
    name: str
    source: str
    files: tuple[list[str], list[str] | None] | None = None


def load_image_dataset(
    data_dir: str | Path,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    train_subset: int | None = None,
    test_subset: int | None = None,
    cache_dir: str | Path | None = None,
    download: str | None = None,
    task: str = "auto",
    image_size: Size | None = None,
) -> Dataset:
    """The image dataset in `data_dir`, in whichever supported layout it is (`Dataset.source`
    names the one found), split into train/val/test.

    `val_fraction` of the training pool becomes the validation split; `test_fraction` of it
    the test split when the layout has no official one. `train_subset` / `test_subset` cap the
    training pool and the test split (seeded, stratified) for runs that cannot afford all of
    it. `cache_dir` overrides where decoded image folders are cached. `download` (one of
    `DOWNLOADS`) fetches that dataset with torchvision, when it is installed, if `data_dir`
    holds no dataset yet. `task` is "auto" (classification) or "reconstruction". `image_size`
    (width, height) resizes the images of image folders to it."""
    root = Path(data_dir).expanduser()
    if download is not None:
        check_download(download)
        root.mkdir(parents=True, exist_ok=True)
    if not root.is_dir():
        raise DataError(f"{root}: no such directory; give --data-dir a folder of image data")
    images = read_images(root, cache_dir, image_size)
    if images is None and download is not None:
        _download(root, download)
        images = read_images(root, cache_dir, image_size)
    if images is None:
        raise DataError(
            f"{root}: no image dataset found; expected CIFAR python batches (data_batch_1, "
            "test_batch, batches.meta), MNIST idx files (train-images-idx3-ubyte[.gz], ...), "
            "train/<class>/ and test/<class>/ image folders, or one <class>/ folder per class"
        )
    log.info("data: %s", images.source)
    return split_train_test(
        images.name,
        images.train,
        images.test,
        images.class_names,
        seed,
        val_fraction,
        test_fraction,
        train_subset,
        test_subset,
        source=images.source,
        task=task,
        ids=images.files,
    )


def read_images(
    root: Path, cache_dir: str | Path | None = None, image_size: Size | None = None
) -> Images | None:
    """The dataset in `root` or the folder a standard archive extracts to; None if none is.
    `image_size` resizes image folders; the array formats keep their size."""
    for folder in (
        root,
        root / "cifar-10-batches-py",
        root / "cifar-100-python",
        root / "MNIST" / "raw",
        root / "FashionMNIST" / "raw",
    ):
        read = _array_reader(folder)
        if read is not None and image_size is not None:
            raise DataError(
                f"{folder}: --image-size resizes folders of image files; CIFAR and MNIST "
                "arrays keep their size, so leave it out"
            )
        if read is not None:
            return read()
    if (root / "train").is_dir() and (root / "test").is_dir():
        return _read_folders(root, ["train", "test"], cache_dir, image_size)
    if _class_folders(root):
        return _read_folders(root, [""], cache_dir, image_size)
    if any(p.suffix.lower() in IMAGE_SUFFIXES for p in root.iterdir()):
        raise DataError(
            f"{root}: images lie directly in the folder, with no class subfolders; put each "
            "class's images in a subfolder named after the class (root/<class>/*.png)"
        )
    return None


def _array_reader(folder: Path) -> Callable[[], Images] | None:
    """How to read the array format (CIFAR batches, MNIST idx files) in `folder`, if any."""
    if (folder / "data_batch_1").is_file() or (folder / "test_batch").is_file():
        batches = [f"data_batch_{i}" for i in range(1, 6)]
        return lambda: _read_cifar(folder, batches, "test_batch", "batches.meta", "")
    if all((folder / name).is_file() for name in ("train", "test", "meta")):
        return lambda: _read_cifar(folder, ["train"], "test", "meta", "fine_")
    if _idx_file(folder, "train-images-idx3-ubyte") is not None:
        return lambda: _read_mnist(folder)
    return None


# -- CIFAR python batches ------------------------------------------------------------------------


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR batch, and nothing else.

    CIFAR's python batches are pickles by format, and unpickling can call any importable
    callable named in the file, so an untrusted file could run code. A batch holds only dicts,
    lists, str/bytes, ints and numpy arrays; those need exactly numpy's array reconstruction
    callables (`_reconstruct` or, from protocol 5, `_frombuffer`, with `ndarray` and `dtype`,
    under numpy 1's and numpy 2's module names). `find_class` resolves those and refuses every
    other global, so loading a batch can only build data."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _numpy_globals().get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(
                f"it names {module}.{name}, which a CIFAR batch never contains; refused"
            )
        return allowed


@functools.cache
def _numpy_globals() -> dict[tuple[str, str], Any]:
    """The numpy callables an array pickle names, under both numpy 1 and 2 module paths."""
    core = "numpy._core" if importlib.util.find_spec("numpy._core") else "numpy.core"
    multiarray = importlib.import_module(f"{core}.multiarray")
    numeric = importlib.import_module(f"{core}.numeric")
    table: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for prefix in ("numpy.core", "numpy._core"):
        table[(f"{prefix}.multiarray", "_reconstruct")] = multiarray._reconstruct
        table[(f"{prefix}.numeric", "_frombuffer")] = numeric._frombuffer
    return table


#: What a truncated or foreign pickle raises while loading.
UNPICKLE_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    KeyError,
    OSError,
)


def _unpickle(path: Path) -> dict[str, Any]:
    """A CIFAR pickle as a dict with str keys; `DataError` for anything else."""
    try:
        with path.open("rb") as handle:
            # latin1 reads Python 2 byte strings (the official files) without changing them
            data = _BatchUnpickler(handle, encoding="latin1").load()
    except UNPICKLE_ERRORS as exc:
        raise DataError(
            f"{path}: not a readable CIFAR batch ({type(exc).__name__}: {exc}); the file is "
            "truncated or not from the CIFAR python archive — extract it again"
        ) from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: holds a {type(data).__name__}, not a CIFAR batch dict")
    return {_text(key): value for key, value in data.items()}


def _read_cifar(
    folder: Path, train_files: list[str], test_file: str, meta_file: str, prefix: str
) -> Images:
    """CIFAR-10 (`prefix` "") or CIFAR-100 (`prefix` "fine_": its 100 fine classes)."""
    meta = _unpickle(_required(folder, meta_file))
    names_key = f"{prefix}label_names"
    if names_key not in meta:
        raise DataError(f"{folder / meta_file}: has no {names_key!r}; is it the CIFAR meta file?")
    class_names = [_text(name) for name in meta[names_key]]
    parts = [_cifar_batch(_required(folder, f), prefix, len(class_names)) for f in train_files]
    train = (np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]))
    test = _cifar_batch(_required(folder, test_file), prefix, len(class_names))
    variant = "CIFAR-100" if prefix else "CIFAR-10"
    source = f"{variant} python batches in {folder}"
    return Images(train, test, class_names, variant.lower().replace("-", ""), source)


def _cifar_batch(path: Path, prefix: str, num_classes: int) -> Split:
    batch = _unpickle(path)
    data, labels = batch.get("data"), batch.get(f"{prefix}labels")
    shape = data.shape if isinstance(data, np.ndarray) and data.dtype == np.uint8 else None
    if shape is None or len(shape) != 2 or shape[1] != 3 * 32 * 32:
        raise DataError(f"{path}: 'data' is not an N x 3072 uint8 array; not a CIFAR batch")
    y = np.asarray(labels if labels is not None else [], dtype=np.int64)
    if len(y) != len(data):
        raise DataError(
            f"{path}: {len(data)} images but {len(y)} {prefix}labels; the batch is damaged — "
            "extract it again"
        )
    _check_labels(path, y, num_classes)
    return data.reshape(-1, 3, 32, 32), y


def _required(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise DataError(f"{path}: missing; extract the whole dataset archive into {folder}")
    return path


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _check_labels(path: Path, y: np.ndarray, num_classes: int) -> None:
    bad = y[(y < 0) | (y >= num_classes)]
    if len(bad):
        raise DataError(
            f"{path}: label {int(bad[0])} is outside 0..{num_classes - 1}; the labels do not "
            "belong to this dataset"
        )


# -- MNIST idx files -----------------------------------------------------------------------------

IDX_IMAGES, IDX_LABELS = 0x00000803, 0x00000801  # uint8 data, 3 and 1 dimensions


def _idx_file(folder: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """The array in an idx file (gzip-compressed or not), checked against its `magic`."""
    try:
        raw = path.read_bytes()
        raw = bytearray(gzip.decompress(raw) if path.suffix == ".gz" else raw)  # writable
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path}: cannot be read or decompressed ({exc}); download it again"
        ) from None
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if found != magic:
        raise DataError(
            f"{path}: magic number {found if found is None else hex(found)}, expected "
            f"{magic:#x} for an idx {'image' if magic == IDX_IMAGES else 'label'} file; is it "
            "the right file (images vs labels), complete, and not compressed twice?"
        )
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataError(
            f"{path}: holds {data.size} bytes of data, its header promises {shape}; the file is "
            "truncated — download it again"
        )
    return data.reshape(shape)


def _read_mnist(folder: Path) -> Images:
    fashion = "fashion" in str(folder).lower()
    class_names = list(FASHION_CLASSES) if fashion else [str(d) for d in range(10)]
    splits = []
    for part in ("train", "t10k"):
        paths = [
            _idx_file(folder, f"{part}-{kind}") or folder / f"{part}-{kind}"
            for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
        ]
        for path in paths:
            if not path.exists():
                raise DataError(f"{path}[.gz]: missing; put all four idx files in {folder}")
        x, y = _read_idx(paths[0], IDX_IMAGES), _read_idx(paths[1], IDX_LABELS).astype(np.int64)
        if len(x) != len(y):
            raise DataError(
                f"{paths[0]} has {len(x)} images but {paths[1]} has {len(y)} labels; they "
                "belong to different sets — download both again"
            )
        _check_labels(paths[1], y, len(class_names))
        splits.append((x[:, None], y))
    name = "fashion-mnist" if fashion else "mnist"
    return Images(splits[0], splits[1], class_names, name, f"{name} idx files in {folder}")


# -- image folders -------------------------------------------------------------------------------


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(folder: Path) -> list[os.DirEntry]:
    """The image files of a class folder, by name (`os.scandir`: 60,000 files in a blink)."""
    files = sorted(
        (
            entry
            for entry in os.scandir(folder)
            if entry.is_file()
            and not entry.name.startswith(".")
            and os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES
        ),
        key=lambda entry: entry.name,
    )
    if not files:
        raise DataError(
            f"{folder}: no .png/.jpg/.jpeg images in this class folder; add some or remove it"
        )
    return files


def _read_folders(
    root: Path, parts: list[str], cache_dir: str | Path | None, size: Size | None
) -> Images:
    """Class-folder images under `root/<part>/` for each part (["train", "test"] or [""]),
    resized to `size` if one is given."""
    class_names = [p.name for p in _class_folders(root / parts[0])]
    lookup = {name: index for index, name in enumerate(class_names)}
    if len(class_names) < 2:
        raise DataError(
            f"{root / parts[0]}: {len(class_names)} class subfolder(s); classification needs "
            "two or more, each holding the images of one class (<class>/*.png)"
        )
    files: list[list[tuple[os.DirEntry, int]]] = []
    for part in parts:
        found = []
        for folder in _class_folders(root / part):
            if folder.name not in lookup:
                raise DataError(
                    f"{folder}: class {folder.name!r} has no folder in {root / parts[0]}; every "
                    "test class must also be a training class"
                )
            found.extend((entry, lookup[folder.name]) for entry in _image_files(folder))
        if not found:
            raise DataError(f"{root / part}: no class subfolders; put its images in <class>/")
        files.append(found)
    layout = "train/ and test/ image folders" if len(parts) == 2 else "class image folders"
    source = f"{layout} in {root} ({len(class_names)} classes)"
    if size is not None:
        source += f", resized to {size[0]}x{size[1]}"
    splits = _cached_decode(root, files, cache_dir, size)
    paths = [[os.path.relpath(entry.path, root) for entry, _ in found] for found in files]
    test, test_paths = (splits[1], paths[1]) if len(splits) == 2 else (None, None)
    return Images(splits[0], test, class_names, root.name, source, (paths[0], test_paths))


def _cached_decode(
    root: Path,
    files: list[list[tuple[os.DirEntry, int]]],
    cache_dir: str | Path | None,
    size: Size | None,
) -> list[Split]:
    """Each list of (file, label) as (images, labels), from the cache when it is current."""
    stamp = hashlib.sha256(f"archsearch images v{CACHE_VERSION}\n".encode())
    if size is not None:
        stamp.update(f"resized to {size}\n".encode())
    for part, found in enumerate(files):
        for entry, label in found:
            stat = entry.stat()
            name = entry.path[len(str(root)) :]
            stamp.update(f"{part} {label} {name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    cache = _cache_path(root, stamp.hexdigest()[:24], cache_dir)
    cached = _load_cache(cache, len(files))
    if cached is not None:
        log.info("data: decoded images from cache %s", cache)
        return cached
    start = time.perf_counter()
    splits = _decode(files, size)
    log.info("data: decoded %d images in %.1f s", sum(map(len, files)), time.perf_counter() - start)
    _save_cache(cache, splits)
    return splits


def _decode(files: list[list[tuple[os.DirEntry, int]]], size: Size | None) -> list[Split]:
    """Decode every file with Pillow into uint8 (N, C, H, W); one size for all (`size`, or
    else the first file's), greyscale sets stay one channel, a colour set turns its few
    greyscale files into RGB."""
    first = files[0][0][0].path
    width, height = size or decode_image(first)[0].shape[1::-1]
    splits, all_grey = [], True
    for found in files:
        x = np.empty((len(found), 3, height, width), dtype=np.uint8)
        for row, (entry, _) in enumerate(found):
            pixels, grey = decode_image(entry.path)
            if size is not None:
                pixels = resized(pixels, size)
            elif pixels.shape[:2] != (height, width):
                raise DataError(
                    f"{entry.path}: {pixels.shape[1]}x{pixels.shape[0]} pixels, but {first} is "
                    f"{width}x{height}; give --image-size (e.g. --image-size {width}x{height}) "
                    "to resize every image to one size"
                )
            x[row] = pixels[None] if grey else pixels.transpose(2, 0, 1)
            all_grey &= grey
        splits.append((x, np.array([label for _, label in found], dtype=np.int64)))
    return [(x[:, :1].copy() if all_grey else x, y) for x, y in splits]


def decode_image(path: str) -> tuple[np.ndarray, bool]:
    """(pixels as H x W for greyscale or H x W x 3, whether greyscale) of one image file."""
    try:
        with Image.open(path) as image:
            grey = image.mode in GREY_MODES
            return np.asarray(image.convert("L" if grey else "RGB")), grey
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(
            f"{path}: not a readable image ({type(exc).__name__}: {exc}); replace or delete it"
        ) from None


def resized(pixels: np.ndarray, size: Size) -> np.ndarray:
    """Decoded `pixels` (H x W or H x W x 3 uint8) resized to `size` (width, height) with
    Pillow's bilinear filter, which averages over the source pixels when shrinking; the same
    array when it has that size already."""
    if pixels.shape[1::-1] == size:
        return pixels
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))


def _cache_path(root: Path, key: str, cache_dir: str | Path | None) -> Path:
    """Next to the data when that directory may be written, else in the user cache.

    The owner's write bits are checked, not just `os.access`: a root user may write anywhere,
    but a directory marked read-only (a shared data set) should stay as its owner left it."""
    if cache_dir is None and os.access(root, os.W_OK) and root.stat().st_mode & 0o222:
        return root / f".archsearch-cache-{key}.npz"
    base = Path(cache_dir) if cache_dir is not None else _user_cache()
    return base / f"{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]}-{key}.npz"


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archsearch"


def _load_cache(path: Path, parts: int) -> list[Split] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return [(arrays[f"x{i}"], arrays[f"y{i}"]) for i in range(parts)]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        log.warning("data: ignoring unreadable cache %s (%s)", path, exc)
        return None


def _save_cache(path: Path, splits: list[Split]) -> None:
    """Write atomically (a temporary file renamed), then delete stale caches of the same data.
    A cache that cannot be written costs only the next load's time: warn and go on."""
    arrays = {
        f"{kind}{i}": a for i, (x, y) in enumerate(splits) for kind, a in (("x", x), ("y", y))
    }
    prefix = path.name[: path.name.rindex("-") + 1]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            np.savez(handle, **arrays)
        os.chmod(handle.name, 0o644)  # a temporary file is private; the cache need not be
        os.replace(handle.name, path)
    except OSError as exc:
        log.warning("data: could not write the image cache %s (%s)", path, exc)
        return
    for stale in path.parent.glob(f"{prefix}*.npz"):
        if stale != path:
            stale.unlink(missing_ok=True)
    log.info("data: cached decoded images at %s", path)


# -- optional download ---------------------------------------------------------------------------


def check_download(name: str) -> None:
    """Raise `DataError` unless `name` is one of the datasets `DOWNLOADS` can fetch."""
    if name not in DOWNLOADS:
        raise DataError(f"cannot download {name!r}; choose one of: {', '.join(DOWNLOADS)}")


def _download(root: Path, name: str) -> None:
    """Fetch `name` into `root` with torchvision (optional: never needed to read local files)."""
    try:
        from torchvision import datasets
    except ImportError:
        raise DataError(
            f"{root}: holds no dataset and torchvision is not installed to download {name}; "
            "install torchvision or put the dataset files there"
        ) from None
    loader = {
        "cifar10": datasets.CIFAR10,
        "cifar100": datasets.CIFAR100,
        "mnist": datasets.MNIST,
        "fashion-mnist": datasets.FashionMNIST,
    }[name]
    for train in (True, False):
        loader(str(root), train=train, download=True)
