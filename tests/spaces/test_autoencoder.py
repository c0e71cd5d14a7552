"""The autoencoder and VAE spaces: every sampled architecture reproduces its input's shape."""

import random

import pytest
import torch

from archsearch.spaces import get_space
from archsearch.spaces.autoencoder import THESIS_OPTIONS
from archsearch.tasks.base import OutputSpec

SHAPES = [(1, 8, 8), (3, 32, 32), (1, 28, 28), (3, 7, 9), (1, 1, 1)]


def reconstruction(outputs):
    return outputs[0] if isinstance(outputs, tuple) else outputs


@pytest.mark.parametrize("name", ["autoencoder", "vae"])
def test_every_sampled_network_reproduces_its_input_shape(name):
    space = get_space(name, layers=4, kernels=(1, 2, 3, 4, 5), strides=(1, 2, 3))
    latent = name == "vae"
    for seed in range(60):
        arch = space.sample(random.Random(seed))
        space.validate(arch)
        shape = SHAPES[seed % len(SHAPES)]
        output = OutputSpec(shape, latent=latent)
        model = space.build(arch, shape, output)
        outputs = model(torch.rand(2, *shape))
        assert reconstruction(outputs).shape == (2, *shape), arch
        assert space.count_params(arch, shape, output) == sum(p.numel() for p in model.parameters())
        if latent:
            recon, mu, logvar = outputs
            assert mu.shape == logvar.shape == (2, arch["latent"])
            assert recon.min() >= 0 and recon.max() <= 1


@pytest.mark.parametrize("name", ["autoencoder", "vae"])
def test_the_thesis_space_builds_for_every_image_size_too(name):
    space = get_space(name, **THESIS_OPTIONS)
    assert {d.name for d in space.decisions} >= {"filters_12", "kernel_12", "latent"}
    for seed in range(20):
        arch = space.sample(random.Random(seed))
        shape = SHAPES[seed % len(SHAPES)]
        with torch.device("meta"):  # shapes only: no memory for 512-filter layers
            model = space.build(arch, shape, OutputSpec(shape, latent=name == "vae"))
            outputs = model(torch.empty(2, *shape))
        assert reconstruction(outputs).shape == (2, *shape)


def test_depth_decides_which_layer_decisions_exist_and_the_decoder_mirrors_the_encoder():
    space = get_space("autoencoder", layers=3, min_layers=1)
    values = {"depth": 2, "latent": 0}
    for i in (1, 2, 3):
        values |= {f"filters_{i}": 16, f"kernel_{i}": 3, f"stride_{i}": 2}
    arch = space.complete(values, random.Random(0))
    assert "filters_3" not in arch.as_dict() and arch["depth"] == 2
    model = space.build(arch, (1, 8, 8), OutputSpec((1, 8, 8)))
    encoder = [m for m in model.encoder if isinstance(m, torch.nn.Conv2d)]
    decoder = [m for m in model.decoder if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in encoder] == [16, 16]
    assert [c.out_channels for c in decoder] == [16, 1]  # back to the channels each received
    # per layer 3 filters x 2 kernels x 2 strides; depth 1..3; 3 latent sizes
    assert space.size() == (12 + 12**2 + 12**3) * 3


def test_spaces_and_tasks_fit_together_only_where_they_should():
    vae, autoencoder, mlp = get_space("vae"), get_space("autoencoder"), get_space("mlp")
    image, latent = OutputSpec((1, 8, 8)), OutputSpec((1, 8, 8), latent=True)
    assert vae.supports(latent) and not vae.supports(image)
    assert autoencoder.supports(image) and not autoencoder.supports(latent)
    assert not autoencoder.supports(OutputSpec((10,))) and not mlp.supports(latent)
    with pytest.raises(ValueError):
        get_space("vae", latent_sizes=(0, 8))
    with pytest.raises(ValueError, match="reconstructs"):
        autoencoder.build(autoencoder.sample(random.Random(0)), (1, 8, 8), OutputSpec((1, 4, 4)))


def test_a_vae_samples_while_training_and_decodes_the_mean_when_evaluated():
    space = get_space("vae", layers=1)
    model = space.build(space.sample(random.Random(1)), (1, 8, 8), OutputSpec((1, 8, 8), True))
    x = torch.rand(4, 1, 8, 8)
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])
    assert torch.equal(model(x)[0], model.decode(model(x)[1]))
    model.train()
    torch.manual_seed(0)
    assert not torch.equal(model(x)[0], model(x)[0])
