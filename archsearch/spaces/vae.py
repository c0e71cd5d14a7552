"""The VAE space: the autoencoder space with a Gaussian latent of searched size.

Each architecture is a convolutional encoder (searched depth, filters, kernels, strides), a
dense layer to the latent Gaussian's mean and log-variance (`latent`: its searched size), the
reparameterisation z = mu + sigma * noise, and the decoder that mirrors the encoder, ending in
a sigmoid (pixels in [0, 1]). Its networks return (reconstruction, mu, logvar) for the `vae`
task (`--task vae`, `vae-bce` or `vae-mse`). The default latent sizes are scaled down for a
CPU; the thesis's are `THESIS_OPTIONS["latent_sizes"]`.
"""

from __future__ import annotations

from archsearch.spaces.autoencoder import AutoencoderSpace

__all__ = ["VAESpace"]


class VAESpace(AutoencoderSpace):
    """Variational autoencoders: `AutoencoderSpace` decisions, a latent size of at least 1."""

    name = "vae"
    variational = True
    default_latents = (2, 8, 16, 32)
