"""The DARTS cell space: its decisions, DARTS's genotype format, the network against the
paper's parameter count, and the supernet against stand-alone networks and its relaxation."""

import random

import pytest
import torch

from archsearch.evaluation.cost import count_flops
from archsearch.spaces import get_space
from archsearch.spaces.darts import DartsSpace
from archsearch.spaces.darts_network import OPS, FactorizedReduce, make_op
from archsearch.spaces.darts_supernet import mixture_coefficients
from archsearch.tasks.base import OutputSpec
from tests.helpers import run_sampled_network

TINY = {"channels": 2, "cells": 3}
SHAPE, OUT = (3, 8, 8), OutputSpec((5,))
#: DARTS's published second-order cell (the paper's 2.76% error, 3.3M parameters).
DARTS_V2 = {
    "normal": [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0),
               ("sep_conv_3x3", 1), ("sep_conv_3x3", 1), ("skip_connect", 0),
               ("skip_connect", 0), ("dil_conv_3x3", 2)],
    "normal_concat": [2, 3, 4, 5],
    "reduce": [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2),
               ("max_pool_3x3", 1), ("max_pool_3x3", 0), ("skip_connect", 2),
               ("skip_connect", 2), ("max_pool_3x3", 1)],
    "reduce_concat": [2, 3, 4, 5],
}  # fmt: skip


def test_decisions_per_cell_type_and_node_and_the_size_of_the_space():
    space = get_space("darts")
    names = [d.name for d in space.decisions]
    assert len(names) == 2 * 4 * 3
    assert names[:4] == ["normal_n2_inputs", "normal_n2_op1", "normal_n2_op2", "normal_n3_inputs"]
    assert names[-1] == "reduce_n5_op2"
    assert space.decisions[0].choices == ("0,1",)
    assert space.decisions[9].choices == tuple(
        f"{a},{b}" for a in range(5) for b in range(a + 1, 5)
    )
    assert all(d.choices == OPS for d in space.decisions if "_op" in d.name)
    assert "none" not in OPS and len(OPS) == 7
    per_cell = 1 * 3 * 6 * 10 * 7**8  # input pairs of nodes 2..5, two operations per node
    assert space.size() == per_cell**2  # about 10^18, as NAS-Bench-301 counts the space


@pytest.mark.parametrize("bad", [{"cells": 2}, {"ops": ["none"]}, {"nodes": 0}, {"channels": 0}])
def test_bad_options_are_rejected(bad):
    with pytest.raises(ValueError):
        get_space("darts", **bad)


def test_genotype_round_trip_and_the_published_cell_has_the_papers_parameter_count():
    space = DartsSpace(channels=36, cells=20)  # the paper's evaluation network
    arch = space.from_genotype(DARTS_V2)
    assert arch["normal_n3_inputs"] == "0,1" and arch["normal_n4_op1"] == "skip_connect"
    assert arch["normal_n5_inputs"] == "0,2" and arch["normal_n5_op2"] == "dil_conv_3x3"
    back = space.to_genotype(arch)
    assert space.from_genotype(back) == arch
    assert sorted(map(tuple, back["reduce"][6:])) == sorted(DARTS_V2["reduce"][6:])
    params = space.count_params(arch, (3, 32, 32), OutputSpec((10,)))
    assert 3.3e6 <= params <= 3.4e6  # the paper: 3.3M (without the auxiliary head)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"normal": DARTS_V2["normal"][:6]}, "expected 8 edges"),
        ({"reduce_concat": [4, 5]}, "concatenates every node"),
        ({"normal": [("sep_conv_3x3", 0)] * 8}, "takes state 0 twice"),
        ({"normal": [*DARTS_V2["normal"][:6], ("skip_connect", 5), ("sep_conv_3x3", 0)]}, "0,5"),
    ],
)
def test_genotypes_this_space_cannot_hold_are_rejected(change, message):
    with pytest.raises(ValueError, match=message):
        DartsSpace().from_genotype({**DARTS_V2, **change})
    with pytest.raises(ValueError, match="needs 'reduce'"):
        DartsSpace().from_genotype({"normal": DARTS_V2["normal"]})


@pytest.mark.parametrize("seed", range(4))
def test_sampled_networks_run_on_odd_sizes_and_match_param_count(seed):
    model = run_sampled_network(DartsSpace(**TINY), seed)
    assert count_flops(model, (3, 9, 9)) > 0


def test_every_operation_keeps_the_width_and_halves_the_size_at_stride_2():
    x = torch.randn(1, 4, 7, 7)
    for op in OPS:
        assert make_op(op, 4, 1)(x).shape == (1, 4, 7, 7), op
        assert make_op(op, 4, 2)(x).shape == (1, 4, 4, 4), op
    assert FactorizedReduce(3, 5)(torch.randn(1, 3, 6, 6)).shape == (1, 5, 3, 3)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_supernet_runs_an_architecture_as_its_standalone_network(mode):
    space = DartsSpace(**TINY)
    torch.manual_seed(0)
    net = space.supernet(SHAPE, OUT)
    for module in net.modules():  # non-trivial running statistics, so that eval mode tests them
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    x = torch.randn(4, *SHAPE)
    for seed in range(4):
        arch = space.sample(random.Random(seed))
        alone = net.extract(arch)
        assert type(alone) is type(space.build(arch, SHAPE, OUT))
        getattr(net, mode)(), getattr(alone, mode)()
        assert torch.allclose(net(x, arch), alone(x), atol=1e-5)


def one_hot(space, arch):
    """The weight tensor that picks `arch` on every decision."""
    width = max(len(d.choices) for d in space.decisions)
    weights = torch.zeros(len(space.decisions), width)
    for row, decision in enumerate(space.decisions):
        weights[row, decision.choices.index(arch[decision.name])] = 1.0
    return weights


def test_a_one_hot_mixture_is_the_architecture_it_picks():
    space = DartsSpace(**TINY)
    torch.manual_seed(1)
    net = space.supernet(SHAPE, OUT).eval()
    x = torch.randn(3, *SHAPE)
    for seed in range(3):
        arch = space.sample(random.Random(seed))
        assert torch.allclose(net(x, one_hot(space, arch)), net(x, arch), atol=1e-5)


def test_the_mixture_weighs_each_edge_by_its_input_and_operation_weights():
    """Node 3: pairs (0,1), (0,2), (1,2) weighted 0.5, 0.3, 0.2; slot 1 sits on state 0 with
    0.8 and on state 1 with 0.2, slot 2 on state 1 with 0.5 and on state 2 with 0.5."""
    weights = torch.zeros(3, 3)
    weights[0] = torch.tensor([0.5, 0.3, 0.2])
    weights[1, :2] = torch.tensor([1.0, 0.0])  # op1: the first operation
    weights[2, :2] = torch.tensor([0.25, 0.75])  # op2: a mixture
    got = mixture_coefficients(weights, 0, 3, 2)
    expected = torch.tensor([[0.8, 0.0], [0.2 + 0.5 * 0.25, 0.5 * 0.75], [0.5 * 0.25, 0.5 * 0.75]])
    assert torch.allclose(got, expected)
    assert torch.isclose(got.sum(), torch.tensor(2.0))  # two inputs of total weight one each


def test_the_relaxation_passes_gradients_to_every_weight_row():
    space = DartsSpace(**TINY)
    net = space.supernet(SHAPE, OUT)
    weights = torch.full((len(space.decisions), 10), 0.1, requires_grad=True)
    net(torch.randn(2, *SHAPE), weights).sum().backward()
    grad = weights.grad.abs()
    assert (grad.sum(dim=1) > 0).all()  # every decision, the input pairs too
    for row, decision in enumerate(space.decisions):  # padding beyond its choices: none
        assert grad[row, len(decision.choices) :].sum() == 0, decision.name
