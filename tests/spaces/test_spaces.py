"""Every sampled architecture of `mlp` and `cnn` is valid, builds, trains a step, and has the
parameter count its space predicts."""

import json
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.spaces import SPACES, get_space
from archsearch.spaces.cnn import CNNSpace
from archsearch.spaces.mlp import MLPSpace
from archsearch.tasks.base import OutputSpec
from tests.helpers import write_image_folder

CASES = [
    (MLPSpace(), (64,), 10),
    (MLPSpace(max_layers=3, dropouts=()), (4,), 3),
    (CNNSpace(layers=4), (1, 8, 8), 10),
    (CNNSpace(layers=5, strides=(1, 2), pooling=True, filters=(4, 8)), (3, 16, 16), 7),
    (CNNSpace(layers=3, skips=False), (1, 8, 8), 2),
    (CNNSpace(layers=5, min_layers=2, filters=(4, 8)), (1, 8, 8), 3),
]


@pytest.mark.parametrize("space, shape, classes", CASES, ids=lambda c: str(c)[:20])
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_sampled_architectures_build_and_match_param_count(space, shape, classes, seed):
    arch = space.sample(random.Random(seed))
    space.validate(arch)
    model = space.build(arch, shape, OutputSpec((classes,)))
    assert space.count_params(arch, shape, OutputSpec((classes,))) == sum(
        p.numel() for p in model.parameters()
    )
    x = torch.randn(3, *shape)
    out = model(x)
    assert out.shape == (3, classes)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_mlp_depth_is_searched_and_deeper_layers_are_inactive():
    space = MLPSpace(max_layers=4, widths=(8, 16))
    arch = space.make(
        {
            "depth": 2,
            "width_1": 8,
            "activation_1": "relu",
            "dropout_1": 0.1,
            "width_2": 16,
            "activation_2": "tanh",
            "dropout_2": 0.0,
        }
    )
    assert space.layers(arch) == [(8, "relu", 0.1), (16, "tanh", 0.0)]
    assert "width_3" not in arch.as_dict()
    depths = {space.sample(random.Random(s))["depth"] for s in range(200)}
    assert depths == {1, 2, 3, 4}


def test_architecture_json_roundtrip_and_canonical_hash():
    space = CNNSpace(layers=3)
    arch = space.sample(random.Random(3))
    again = space.from_json(json.loads(json.dumps(arch.to_json())))
    assert again == arch and again.hash == arch.hash
    other = space.mutate(arch, random.Random(0))
    assert other.hash != arch.hash


def test_inputs_are_normalised_and_invalid_values_rejected():
    space = CNNSpace(layers=3, heights=(3,), widths=(3,), filters=(8,))
    values = {
        "filter_height_1": 3,
        "filter_width_1": 3,
        "filters_1": 8,
        "inputs_1": [],
        "filter_height_2": 3,
        "filter_width_2": 3,
        "filters_2": 8,
        "inputs_2": [1],
        "filter_height_3": 3,
        "filter_width_3": 3,
        "filters_3": 8,
        "inputs_3": [2, 1, 2],
    }
    assert space.make(values)["inputs_3"] == (1, 2)
    with pytest.raises(ValueError, match="inputs_3"):
        space.make({**values, "inputs_3": [3]})
    with pytest.raises(ValueError, match="filters_1"):
        space.make({**values, "filters_1": 9})
    with pytest.raises(ValueError, match="unknown"):
        space.make({**values, "bogus": 1})


def test_cnn_follows_the_papers_wiring_rules():
    space = CNNSpace(layers=3, heights=(3,), widths=(3,), filters=(4, 8), strides=(1, 2))
    # layer 1 (stride 2) and layer 2 (stride 1) both feed layer 3; layer 3 takes no input
    # from the image. Only layer 3 is unused, so only it reaches the classifier.
    arch = space.make(
        {
            "filter_height_1": 3,
            "filter_width_1": 3,
            "filters_1": 4,
            "stride_1": 2,
            "inputs_1": [],
            "filter_height_2": 3,
            "filter_width_2": 3,
            "filters_2": 8,
            "stride_2": 1,
            "inputs_2": [],
            "filter_height_3": 3,
            "filter_width_3": 3,
            "filters_3": 8,
            "stride_3": 1,
            "inputs_3": [1, 2],
        }
    )
    model = space.build(arch, (1, 8, 8), OutputSpec((5,)))
    assert model.blocks[2][0].in_channels == 12  # 4 + 8 concatenated (4x4 padded to 8x8)
    assert model.head_inputs == (3,)
    assert model.classifier.in_features == 8
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 5)


def test_space_sizes_are_exact_for_small_spaces():
    space = MLPSpace(max_layers=2, widths=(8, 16), activations=("relu",), dropouts=())
    assert space.size() == 2 + 4  # depth 1: 2 widths; depth 2: 2x2
    assert CNNSpace(layers=2, heights=(1, 3), widths=(1,), filters=(4,)).size() == 2 * 2 * 2


def test_registry_finds_spaces_and_rejects_unknown_names():
    assert {"mlp", "cnn"} <= set(SPACES.names())
    with pytest.raises(ValueError, match="unknown space 'nope'"):
        get_space("nope")
    with pytest.raises(
        ValueError, match=r"unknown option\(s\) \['depth'\].*known options: max_layers"
    ):
        get_space("mlp", depth=3)


def test_cnn_depth_decision_deactivates_deeper_layers():
    space = CNNSpace(layers=4, min_layers=2, heights=(3,), widths=(3,), filters=(4,))
    assert space.decisions[0].name == "depth" and space.decisions[0].choices == (2, 3, 4)
    depths = set()
    for seed in range(60):
        arch = space.sample(random.Random(seed))
        depths.add(arch["depth"])
        assert len(space.conv_layers(arch)) == arch["depth"]
        assert f"filters_{arch['depth'] + 1}" not in arch.as_dict()
    assert depths == {2, 3, 4}
    # each depth d has 2**(d(d-1)/2) wirings of skips
    assert space.size() == 2**1 + 2**3 + 2**6


def test_large_images_get_the_downsampling_decisions_by_default():
    assert CNNSpace.fitted_options((3, 32, 32)) == {"strides": (1, 2), "pooling": True}
    assert CNNSpace.fitted_options((1, 8, 8)) == {} and CNNSpace.fitted_options((64,)) == {}
    assert MLPSpace.fitted_options((1, 28, 28)) == {}


def test_a_run_fits_the_space_to_its_images_unless_told_otherwise(tmp_path):
    from archsearch.config import DataSpec, SearchConfig
    from archsearch.run import make_setup

    folder = write_image_folder(tmp_path / "images", counts=(("train", 6), ("test", 2)), size=20)
    data = DataSpec(data_dir=str(folder))
    fitted = make_setup(SearchConfig(data=data, space="cnn")).space
    assert fitted.pooling and fitted.strides == (1, 2)
    told = make_setup(SearchConfig(data=data, space="cnn", space_options={"pooling": False}))
    assert not told.space.pooling and told.space.strides == (1, 2)
