"""The NAS-Bench-201 space: its decisions, the benchmark's string format, and the network."""

import random

import pytest
import torch

from archsearch.spaces import get_space
from archsearch.spaces.cell import OPS, NB201Space
from archsearch.tasks.base import OutputSpec

BEST_CIFAR10 = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
)


def test_six_edges_of_five_ops_in_string_order():
    space = get_space("nb201")
    names = [d.name for d in space.decisions]
    assert names == ["edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2"]
    assert all(d.choices == OPS for d in space.decisions)
    assert space.size() == 5**6


def test_string_names_each_edge():
    space = NB201Space()
    arch = space.from_string(BEST_CIFAR10)
    assert arch["edge_1_0"] == "nor_conv_3x3"
    assert arch["edge_3_0"] == "skip_connect"
    assert arch["edge_3_2"] == "nor_conv_1x1"
    assert space.to_string(arch) == BEST_CIFAR10


@pytest.mark.parametrize("seed", range(20))
def test_string_round_trip(seed):
    space = NB201Space()
    arch = space.sample(random.Random(seed))
    text = space.to_string(arch)
    assert text.count("+") == 2 and text.count("~") == 6
    assert space.from_string(text) == arch


@pytest.mark.parametrize(
    "text",
    [
        "|none~0|+|none~0|none~1|",  # two nodes
        "|none~0|+|none~0|+|none~0|none~1|none~2|",  # node 2 with one edge
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",  # node 1 fed from node 1
        "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # unknown operation
    ],
)
def test_malformed_strings_are_rejected(text):
    with pytest.raises(ValueError):
        NB201Space().from_string(text)


@pytest.mark.parametrize("text", [BEST_CIFAR10, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
def test_full_skeleton_parameter_count_matches_the_built_network(text):
    space = NB201Space()
    arch = space.from_string(text)
    model = space.build(arch, (3, 32, 32), OutputSpec((10,)))
    assert space.count_params(arch, (3, 32, 32), OutputSpec((10,))) == sum(
        p.numel() for p in model.parameters()
    )
    cells = [m for m in model.modules() if type(m).__name__ == "Cell"]
    assert len(cells) == 15  # 3 stages of 5 cells


@pytest.mark.parametrize("seed", range(8))
def test_small_networks_run_and_match_param_count(seed):
    space = NB201Space(channels=4, cells_per_stage=1)
    arch = space.sample(random.Random(seed))
    model = space.build(arch, (3, 8, 8), OutputSpec((7,)))
    assert space.count_params(arch, (3, 8, 8), OutputSpec((7,))) == sum(
        p.numel() for p in model.parameters()
    )
    out = model(torch.randn(2, 3, 8, 8))
    assert out.shape == (2, 7)
    out.sum().backward()


def test_cell_of_only_none_outputs_zeros_but_the_network_still_runs():
    space = NB201Space(channels=4, cells_per_stage=1)
    arch = space.from_string("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    model = space.build(arch, (3, 8, 8), OutputSpec((3,)))
    cell = next(m for m in model.modules() if type(m).__name__ == "Cell")
    assert torch.count_nonzero(cell(torch.randn(1, 4, 8, 8))) == 0
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 3)


def test_bad_options_and_inputs():
    with pytest.raises(ValueError):
        NB201Space(ops=("none", "sep_conv_5x5"))
    with pytest.raises(ValueError):
        NB201Space().build(NB201Space().sample(random.Random(0)), (64,), OutputSpec((10,)))
