"""Image datasets from tiny files written in each real format: CIFAR pickle batches, MNIST idx
(plain and gzip), and class folders of PNG and JPEG files."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from archsearch.data import DataError, load_dataset, load_image_dataset
from archsearch.data import images as images_module

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer"]


def cifar_batch(rng: np.random.Generator, n: int, classes: int, label_key: str) -> dict:
    labels = [i % classes for i in range(n)]
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    return {"batch_label": "tiny", label_key: labels, "data": data, "filenames": ["x.png"] * n}


class Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 `str` opcodes, as the official CIFAR files (pickled by Python 2
    with protocol 2) do; Python 3's protocol 2 would call `_codecs.encode` instead."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def write_pickle(path: Path, obj: object, style: str = "python3") -> None:
    if style == "python3":
        path.write_bytes(pickle.dumps(obj))
        return
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    # numpy 1 (and the original files) name the module numpy.core.multiarray
    path.write_bytes(buffer.getvalue().replace(b"numpy._core.", b"numpy.core."))


def write_cifar10(folder: Path, per_batch: int = 10, style: str = "python3") -> dict[str, dict]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    batches = {f"data_batch_{i}": cifar_batch(rng, per_batch, 5, "labels") for i in range(1, 6)}
    batches["test_batch"] = cifar_batch(rng, 15, 5, "labels")
    for name, batch in batches.items():
        write_pickle(folder / name, batch, style)
    write_pickle(folder / "batches.meta", {"label_names": CIFAR10_NAMES, "num_vis": 3072})
    return batches


def write_idx(path: Path, array: np.ndarray, magic: int, compress: bool = False) -> None:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def write_mnist(folder: Path, compress: bool = False, n_train: int = 40, n_test: int = 20) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    suffix = ".gz" if compress else ""
    for part, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 8, 8), dtype=np.uint8)
        write_idx(folder / f"{part}-images-idx3-ubyte{suffix}", images, 0x803, compress)
        write_idx(folder / f"{part}-labels-idx1-ubyte{suffix}", np.arange(n) % 10, 0x801, compress)


def write_folder(root: Path, classes: dict[str, int], mode: str = "RGB", size=(12, 10)) -> None:
    """`classes` maps a class name to its number of images; PNG and JPEG alternate."""
    rng = np.random.default_rng(2)
    channels = 3 if mode == "RGB" else 1
    for name, count in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
            image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)
            image.save(root / name / f"{i:03d}.{'png' if i % 2 else 'jpg'}")


# -- CIFAR ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["python2", "python3"])
def test_cifar10_batches_keep_official_test_split_and_pixel_layout(tmp_path, style):
    batches = write_cifar10(tmp_path / "cifar-10-batches-py", style=style)
    data = load_image_dataset(tmp_path, seed=0, val_fraction=0.2)
    assert data.class_names == CIFAR10_NAMES
    assert "CIFAR-10" in data.source and data.name == "cifar10"
    assert data.sizes() == {"train": 40, "val": 10, "test": 15}
    assert data.input_shape == (3, 32, 32) and data.x_train.dtype.is_floating_point is False
    # test split untouched and in file order; rows are R, G, B planes of 32x32
    expected = batches["test_batch"]["data"].reshape(-1, 3, 32, 32)
    assert np.array_equal(data.x_test.numpy(), expected)
    assert data.y_test.tolist() == batches["test_batch"]["labels"]
    assert data.test_ids == [str(i) for i in range(1, 16)]  # positions in test_batch
    assert np.array_equal(data.x_test[0, 1].numpy().ravel(), expected[0].ravel()[1024:2048])
    # stratified val: 2 of each class's 10 rows
    assert np.bincount(data.y_val.numpy()).tolist() == [2] * 5


def test_cifar100_uses_fine_labels(tmp_path):
    rng = np.random.default_rng(0)
    names = [f"c{i}" for i in range(4)]
    write_pickle(tmp_path / "train", cifar_batch(rng, 40, 4, "fine_labels"))
    write_pickle(tmp_path / "test", cifar_batch(rng, 8, 4, "fine_labels"))
    write_pickle(tmp_path / "meta", {"fine_label_names": names, "coarse_label_names": ["a"]})
    data = load_image_dataset(tmp_path, val_fraction=0.25)
    assert data.class_names == names and data.name == "cifar100"
    assert data.sizes() == {"train": 30, "val": 10, "test": 8}


class _Payload:
    """Pickles as a call of os.mkdir: what a malicious 'batch' would contain."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (str(self.target),))


def test_cifar_unpickler_refuses_anything_but_numpy_arrays(tmp_path):
    write_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    write_pickle(tmp_path / "data_batch_2", {"data": _Payload(marker), "labels": []})
    with pytest.raises(DataError, match=r"data_batch_2.*refused"):
        load_image_dataset(tmp_path)
    assert not marker.exists()


def test_truncated_cifar_batch_names_the_file(tmp_path):
    write_cifar10(tmp_path)
    path = tmp_path / "data_batch_3"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"data_batch_3: not a readable CIFAR batch"):
        load_image_dataset(tmp_path)


def test_missing_cifar_batch_and_disagreeing_counts(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / "data_batch_4").unlink()
    with pytest.raises(DataError, match=r"data_batch_4: missing"):
        load_image_dataset(tmp_path)
    batch = cifar_batch(np.random.default_rng(0), 10, 5, "labels")
    batch["labels"] = batch["labels"][:7]
    write_pickle(tmp_path / "data_batch_4", batch)
    with pytest.raises(DataError, match=r"data_batch_4: 10 images but 7 labels"):
        load_image_dataset(tmp_path)


def test_cifar_label_outside_class_names(tmp_path):
    write_cifar10(tmp_path)
    batch = cifar_batch(np.random.default_rng(0), 10, 5, "labels")
    batch["labels"][3] = 7
    write_pickle(tmp_path / "test_batch", batch)
    with pytest.raises(DataError, match=r"test_batch: label 7 is outside 0..4"):
        load_image_dataset(tmp_path)


# -- MNIST idx -----------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_idx_files(tmp_path, compress):
    write_mnist(tmp_path, compress)
    data = load_image_dataset(tmp_path, val_fraction=0.25)
    assert data.input_shape == (1, 8, 8)
    assert data.class_names == [str(d) for d in range(10)]
    assert data.sizes() == {"train": 30, "val": 10, "test": 20}
    assert data.y_test.tolist() == [i % 10 for i in range(20)]
    assert data.source.startswith("mnist idx files")


def test_fashion_mnist_in_torchvision_folder_gets_its_class_names(tmp_path):
    write_mnist(tmp_path / "FashionMNIST" / "raw")
    data = load_image_dataset(tmp_path, val_fraction=0.25)
    assert data.name == "fashion-mnist" and data.class_names[9] == "Ankle boot"


def test_idx_wrong_magic_number(tmp_path):
    write_mnist(tmp_path)
    labels = (tmp_path / "train-labels-idx1-ubyte").read_bytes()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(labels)  # labels where images belong
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: magic number 0x801"):
        load_image_dataset(tmp_path)


def test_idx_counts_disagree_and_truncation(tmp_path):
    write_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(19), 0x801)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte has 20 images but .* 19 labels"):
        load_image_dataset(tmp_path)
    write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: .*truncated"):
        load_image_dataset(tmp_path)


def test_corrupt_gzip_idx(tmp_path):
    write_mnist(tmp_path, compress=True)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: cannot be read"):
        load_image_dataset(tmp_path)


# -- image folders -------------------------------------------------------------------------------


def test_train_test_folders_png_and_jpeg(tmp_path):
    write_folder(tmp_path / "train", {"cat": 10, "dog": 10, "eel": 10})
    write_folder(tmp_path / "test", {"cat": 3, "dog": 2, "eel": 4})
    data = load_image_dataset(tmp_path, val_fraction=0.2, cache_dir=tmp_path / "cache")
    assert data.class_names == ["cat", "dog", "eel"]
    assert data.sizes() == {"train": 24, "val": 6, "test": 9}
    assert data.input_shape == (3, 10, 12)  # (C, H, W) of 12 x 10 images
    assert sorted(data.y_test.tolist()) == [0] * 3 + [1] * 2 + [2] * 4
    png = np.asarray(Image.open(tmp_path / "test" / "cat" / "001.png"))
    assert np.array_equal(data.x_test[1].numpy(), png.transpose(2, 0, 1))
    assert data.test_ids[1] == "test/cat/001.png" and len(data.test_ids) == 9
    assert data.source.startswith("train/ and test/ image folders")
    train = data.x_train.numpy().astype(np.float64)
    assert data.norm.mean == pytest.approx(train.mean(axis=(0, 2, 3)).tolist())
    assert data.norm.std == pytest.approx(train.std(axis=(0, 2, 3)).tolist())


def test_single_class_folder_is_split_and_greyscale_stays_one_channel(tmp_path):
    write_folder(tmp_path, {"a": 10, "b": 10}, mode="L")
    data = load_image_dataset(tmp_path, val_fraction=0.25, test_fraction=0.2)
    assert data.input_shape == (1, 10, 12)
    assert data.sizes() == {"train": 12, "val": 4, "test": 4}
    assert data.source.startswith("class image folders")
    assert len(list(tmp_path.glob(".archsearch-cache-*.npz"))) == 1  # next to writable data
    again = load_image_dataset(tmp_path, val_fraction=0.25, test_fraction=0.2)
    assert again.class_names == ["a", "b"] and torch.equal(again.x_test, data.x_test)
    # each test image is named by its file, from the cache too
    assert again.test_ids == data.test_ids and len(data.test_ids) == 4
    for name, image, label in zip(data.test_ids, data.x_test, data.y_test.tolist()):
        assert name.split("/")[0] == data.class_names[label]
        assert np.array_equal(np.asarray(Image.open(tmp_path / name)), image[0].numpy())
    assert data.without_test().test_ids == []


def test_mixed_colour_and_greyscale_become_rgb(tmp_path):
    write_folder(tmp_path, {"a": 4, "b": 4})
    Image.new("L", (12, 10), 77).save(tmp_path / "a" / "grey.png")
    data = load_image_dataset(tmp_path, val_fraction=0.25)
    assert data.input_shape == (3, 10, 12)
    everything = np.concatenate([data.x_train, data.x_val, data.x_test])
    assert any((image == 77).all() for image in everything)


def test_size_mismatch_names_the_file(tmp_path):
    write_folder(tmp_path, {"a": 4, "b": 4})
    Image.new("RGB", (13, 10)).save(tmp_path / "b" / "odd.png")
    with pytest.raises(DataError, match=r"odd.png: 13x10 pixels, but .* is 12x10"):
        load_image_dataset(tmp_path, cache_dir=tmp_path / "cache")


def test_image_size_resizes_every_image_and_keys_the_cache(tmp_path):
    root = tmp_path / "data"
    write_folder(root, {"a": 4, "b": 4})
    Image.new("RGB", (30, 7), (250, 10, 10)).save(root / "b" / "odd.png")
    with pytest.raises(DataError, match=r"odd.png: 30x7 pixels, .* give --image-size"):
        load_image_dataset(root, cache_dir=tmp_path / "cache")
    data = load_image_dataset(root, cache_dir=tmp_path / "cache", image_size=(6, 5))
    assert data.input_shape == (3, 5, 6) and data.source.endswith("resized to 6x5")
    everything = np.concatenate([data.x_train, data.x_val, data.x_test])
    assert any((image[0] == 250).all() and (image[1] == 10).all() for image in everything)
    square = load_image_dataset(root, cache_dir=tmp_path / "cache", image_size=(4, 4))
    assert square.input_shape == (3, 4, 4)  # a new size is decoded again, not read from cache


@pytest.mark.parametrize(
    ("text", "size"), [("32", (32, 32)), ("48x32", (48, 32)), ("48X32", (48, 32)), ("0", None),
                       ("32x", None), ("axb", None), ("5000", None), ("1x2x3", None)]
)  # fmt: skip
def test_image_size_text(text, size):
    if size is not None:
        assert images_module.parse_image_size(text) == size
        return
    with pytest.raises(DataError, match=rf"--image-size must be N .* got '{text}'"):
        images_module.parse_image_size(text)


def test_image_size_is_refused_for_arrays_and_tables(tmp_path):
    write_mnist(tmp_path)
    with pytest.raises(DataError, match=r"CIFAR and MNIST arrays keep their size"):
        load_image_dataset(tmp_path, image_size=(4, 4))
    with pytest.raises(DataError, match=r"leave it out for tables"):
        load_dataset("iris", image_size=(4, 4))


def test_unreadable_image_names_the_file(tmp_path):
    write_folder(tmp_path, {"a": 4, "b": 4})
    (tmp_path / "a" / "broken.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(DataError, match=r"broken.jpg: not a readable image"):
        load_image_dataset(tmp_path, cache_dir=tmp_path / "cache")


def test_folder_without_class_subfolders(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "lonely.png")
    with pytest.raises(DataError, match=r"no class subfolders"):
        load_image_dataset(tmp_path)
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    with pytest.raises(DataError, match=r"train: 0 class subfolder"):
        load_image_dataset(tmp_path)


def test_empty_directory_and_unknown_test_class(tmp_path):
    with pytest.raises(DataError, match=r"no image dataset found"):
        load_image_dataset(tmp_path)
    write_folder(tmp_path / "train", {"a": 4, "b": 4})
    write_folder(tmp_path / "test", {"a": 2, "zebra": 2})
    with pytest.raises(DataError, match=r"zebra: class 'zebra' has no folder"):
        load_image_dataset(tmp_path, cache_dir=tmp_path / "cache")


def test_cache_is_used_then_rebuilt_when_a_file_changes(tmp_path, monkeypatch):
    write_folder(tmp_path / "data", {"a": 5, "b": 5})
    cache = tmp_path / "cache"
    first = load_image_dataset(tmp_path / "data", cache_dir=cache, val_fraction=0.2)
    [stamp] = cache.glob("*.npz")

    def no_decoding(files, size):
        raise AssertionError("decoded although the cache is current")

    monkeypatch.setattr(images_module, "_decode", no_decoding)
    again = load_image_dataset(tmp_path / "data", cache_dir=cache, val_fraction=0.2)
    assert np.array_equal(first.x_train.numpy(), again.x_train.numpy())
    monkeypatch.undo()
    changed = tmp_path / "data" / "a" / "000.jpg"
    Image.new("RGB", (12, 10), (255, 0, 0)).save(changed)
    os.utime(changed, ns=(1, 1))
    rebuilt = load_image_dataset(tmp_path / "data", cache_dir=cache, val_fraction=0.2)
    [new_stamp] = cache.glob("*.npz")  # the stale cache was replaced, not kept beside
    assert new_stamp != stamp
    everything = np.concatenate([rebuilt.x_train, rebuilt.x_val, rebuilt.x_test])
    assert any((image[0] > 200).all() and (image[1] < 50).all() for image in everything)


def test_cache_goes_next_to_writable_data_else_to_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = tmp_path / "data"
    root.mkdir()
    assert images_module._cache_path(root, "k", None).parent == root
    root.chmod(0o555)
    try:
        assert images_module._cache_path(root, "k", None).parent == tmp_path / "xdg" / "archsearch"
    finally:
        root.chmod(0o755)


def test_subsets_are_stratified_seeded_and_leave_the_test_split_alone(tmp_path):
    write_cifar10(tmp_path, per_batch=20)  # 100 train rows, 20 per class; 15 test
    a = load_image_dataset(tmp_path, seed=3, val_fraction=0.2, train_subset=50, test_subset=10)
    b = load_image_dataset(tmp_path, seed=3, val_fraction=0.2, train_subset=50, test_subset=10)
    assert a.sizes() == {"train": 40, "val": 10, "test": 10}
    assert np.bincount(a.y_train.numpy()).tolist() == [8] * 5
    assert np.bincount(a.y_test.numpy()).tolist() == [2] * 5
    assert np.array_equal(a.x_train.numpy(), b.x_train.numpy())
    c = load_image_dataset(tmp_path, seed=4, val_fraction=0.2, train_subset=50)
    assert not np.array_equal(a.x_train.numpy(), c.x_train.numpy())


def test_load_dataset_reads_a_data_dir(tmp_path):
    write_mnist(tmp_path)
    data = load_dataset(data_dir=tmp_path, val_fraction=0.5, train_subset=30)
    assert data.sizes() == {"train": 15, "val": 15, "test": 20}
    with pytest.raises(DataError, match="not both"):
        load_dataset(data_dir=tmp_path, csv="x.csv")


def fake_torchvision(monkeypatch, calls: list) -> None:
    """torchvision whose CIFAR10 "download" writes real CIFAR batches: the internet is the one
    edge the tests cannot reach."""

    class CIFAR10:
        def __init__(self, root: str, train: bool, download: bool) -> None:
            calls.append((root, train, download))
            folder = Path(root) / "cifar-10-batches-py"
            if not folder.exists():
                write_cifar10(folder)

    datasets = types.ModuleType("torchvision.datasets")
    for name in ("CIFAR10", "CIFAR100", "MNIST", "FashionMNIST"):
        setattr(datasets, name, CIFAR10)
    torchvision = types.ModuleType("torchvision")
    torchvision.datasets = datasets
    monkeypatch.setitem(sys.modules, "torchvision", torchvision)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)


def test_download_fetches_into_a_new_folder_once_then_reads_it(tmp_path, monkeypatch):
    calls: list = []
    fake_torchvision(monkeypatch, calls)
    root = tmp_path / "new" / "cifar"
    data = load_image_dataset(root, val_fraction=0.2, download="cifar10")
    assert calls == [(str(root), True, True), (str(root), False, True)]
    assert data.name == "cifar10" and data.sizes() == {"train": 40, "val": 10, "test": 15}
    load_image_dataset(root, val_fraction=0.2, download="cifar10")
    assert len(calls) == 2  # the files are there now: nothing fetched again


def test_download_without_torchvision_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import fails
    with pytest.raises(DataError, match="torchvision is not installed"):
        load_image_dataset(tmp_path, download="mnist")


def test_unknown_download_is_refused_before_anything_is_created(tmp_path):
    with pytest.raises(DataError, match="cannot download 'svhn'; choose one of: cifar10"):
        load_image_dataset(tmp_path / "new", download="svhn")
    assert not (tmp_path / "new").exists()
