"""NASCNN15 as an architecture of the cnn space: the published table, 4,201,630 parameters."""

from __future__ import annotations

import torch

import archsearch.models
from archsearch.models import REFERENCE_MODELS, nascnn15_arch, nascnn15_space
from archsearch.tasks.base import OutputSpec

# The table of shared/NASCNN15.md, transcribed independently of the module under test.
TABLE = """
| C1 | 3×3 | 36 | 0 |
| C2 | 3×3 | 48 | C1 |
| C3 | 3×3 | 36 | C1, C2 |
| C4 | 5×5 | 36 | C1, C2, C3 |
| C5 | 3×7 | 48 | C3, C4 |
| C6 | 7×7 | 48 | C2, C3, C4, C5 |
| C7 | 7×7 | 48 | C2, C3, C4, C5, C6 |
| C8 | 7×3 | 36 | C1, C6, C7 |
| C9 | 7×1 | 36 | C1, C5, C6, C8 |
| C10 | 7×7 | 36 | C1, C3, C4, C5, C6, C7, C8, C9 |
| C11 | 5×7 | 36 | C1, C2, C5, C6, C7, C8, C9, C10 |
| C12 | 7×7 | 48 | C1, C2, C3, C4, C6, C11 |
| C13 | 7×5 | 48 | C1, C3, C6, C7, C8, C9, C10, C11, C12 |
| C14 | 7×5 | 48 | C3, C7, C12, C13 |
| C15 | 7×5 | 48 | C6, C7, C11, C12, C13, C14 |
"""


def table_rows() -> list[tuple[int, int, int, tuple[int, ...]]]:
    rows = []
    for line in TABLE.strip().splitlines():
        _, size, filters, inputs = (cell.strip() for cell in line.strip("|").split("|"))
        height, width = (int(side) for side in size.split("×"))
        layers = tuple(int(name[1:]) for name in inputs.split(", ") if name != "0")
        rows.append((height, width, int(filters), layers))
    return rows


def test_architecture_is_the_published_table():
    layers = nascnn15_space().conv_layers(nascnn15_arch())
    assert len(layers) == 15
    for layer, row in zip(layers, table_rows()):
        assert (layer.height, layer.width, layer.filters, layer.inputs) == row
        assert layer.stride == 1 and not layer.pool


def test_exactly_4201630_parameters_counted_and_computed():
    model = archsearch.models.nascnn15(num_classes=10, in_channels=3)
    assert sum(p.numel() for p in model.parameters()) == 4_201_630
    space, arch = nascnn15_space(), nascnn15_arch()
    assert space.count_params(arch, (3, 32, 32), OutputSpec((10,))) == 4_201_630


def test_forward_keeps_32x32_and_only_c15_reaches_the_classifier():
    model = archsearch.models.nascnn15(num_classes=10)
    assert model.head_inputs == (15,)
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_registry_and_other_shapes():
    reference = REFERENCE_MODELS["nascnn15"]
    assert reference.arch == nascnn15_arch()
    reference.space.validate(reference.arch)
    grey = reference.space.build(reference.arch, (1, 28, 28), OutputSpec((5,)))
    assert grey.classifier.out_features == 5 and grey.blocks[0][0].in_channels == 1
