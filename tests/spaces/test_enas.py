"""The ENAS macro space: its decisions follow the paper, its networks build and train, and its
supernet running an architecture computes exactly what the stand-alone network of that
architecture computes with the same weights."""

import random

import pytest
import torch

from archsearch.errors import UsageError
from archsearch.spaces import get_space
from archsearch.spaces.enas import OPS, ENASSpace, reduction_points
from archsearch.tasks.base import OutputSpec
from tests.helpers import run_sampled_network

OUT = OutputSpec((5,))


def test_decisions_are_an_op_and_skips_per_layer():
    space = get_space("enas")
    assert space.layers == 12 and len(space.decisions) == 24
    assert space.decisions[0].name == "op_1" and space.decisions[0].choices == OPS
    assert space.decisions[1].candidates == ()
    assert space.decisions[23].name == "skips_12"
    assert space.decisions[23].candidates == tuple(range(1, 12))
    assert reduction_points(12) == (4, 8) and reduction_points(2) == ()
    # 6 operations per layer, 2^(k-1) skip subsets at layer k
    assert ENASSpace(layers=3).size() == 6**3 * 2**0 * 2**1 * 2**2


@pytest.mark.parametrize("seed", range(6))
def test_sampled_networks_build_train_and_match_param_count(seed):
    model = run_sampled_network(ENASSpace(layers=6, channels=4), seed)
    assert all(p.grad is not None for p in model.parameters()), "no unused parts are built"


def test_layers_sum_their_skips_and_reduce_at_the_fixed_points():
    space = ENASSpace(layers=6, channels=4)
    values = {f"op_{i}": "conv3x3" for i in range(1, 7)}
    values |= {f"skips_{i}": () for i in range(1, 7)} | {"skips_6": (1, 5)}
    model = space.build(space.make(values), (3, 8, 8), OUT)
    # reductions after layers 2 and 4; layer 1 is read by layer 6, so it is reduced twice
    assert sorted(model.reductions) == ["2_1", "2_2", "4_1", "4_4"]
    assert model.layers[5].ops["conv3x3"][1].in_channels == 4  # summed, not concatenated
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 5)


@pytest.mark.parametrize("seed", range(4))
def test_supernet_runs_an_architecture_exactly_as_its_standalone_network(seed):
    space = ENASSpace(layers=6, channels=6)
    torch.manual_seed(seed)
    supernet = space.supernet((3, 12, 12), OUT)
    x = torch.randn(4, 3, 12, 12)
    # train the supernet a little so that BatchNorm running statistics are not the defaults
    optimiser = torch.optim.SGD(supernet.parameters(), lr=0.1)
    for step in range(3):
        loss = supernet(x, space.sample(random.Random(100 * seed + step))).square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    arch = space.sample(random.Random(seed))
    child = space.build(arch, (3, 12, 12), OUT)
    assert not torch.allclose(child(x), supernet(x, arch)), "fresh weights differ"
    child.load_state_dict(space.child_state(supernet, arch))
    for mode in ("train", "eval"):
        child.train(mode == "train")
        supernet.train(mode == "train")
        torch.testing.assert_close(child(x), supernet(x, arch), rtol=0, atol=0)
    assert sum(p.numel() for p in child.parameters()) < sum(
        p.numel() for p in supernet.parameters()
    )


def test_supernet_holds_every_operation_once_and_refuses_mixtures():
    space = ENASSpace(layers=3, channels=4, ops=("conv3x3", "avgpool3x3"))
    supernet = space.supernet((1, 6, 6), OUT)
    assert set(supernet.layers[2].ops) == {"conv3x3", "avgpool3x3"}
    assert sorted(supernet.reductions) == ["1_1", "2_1", "2_2"]
    with pytest.raises(UsageError, match="one architecture at a time"):
        supernet(torch.randn(1, 1, 6, 6), torch.ones(6, 2))


def test_bad_options_and_outputs_are_rejected():
    with pytest.raises(ValueError, match="unknown or no operation"):
        ENASSpace(ops=("conv7x7",))
    with pytest.raises(ValueError, match="channels"):
        ENASSpace(channels=1)
    space = ENASSpace(layers=2)
    arch = space.sample(random.Random(0))
    with pytest.raises(ValueError, match="image inputs"):
        space.build(arch, (10,), OUT)
    with pytest.raises(ValueError, match="vectors"):
        space.build(arch, (3, 8, 8), OutputSpec((3, 8, 8)))
    assert not space.supports(OutputSpec((3, 8, 8)))


def test_graph_shows_operations_skips_and_reductions():
    space = ENASSpace(layers=3)
    arch = space.make(
        {"op_1": "conv5x5", "skips_1": [], "op_2": "maxpool3x3", "skips_2": [1]}
        | {"op_3": "sepconv3x3", "skips_3": [1, 2]}
    )
    graph = space.graph(arch)
    assert graph.node("L1").label == "L1: conv5x5, then halve resolution"
    skips = {(e.src, e.dst) for e in graph.edges if e.label == "skip"}
    assert skips == {("L1", "L2"), ("L1", "L3"), ("L2", "L3")}
