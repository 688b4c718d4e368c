"""LightningModules, one model a file; plain ``nn.Module`` networks live in ``lightning_modules.nets`` and import
no Lightning. ``MODELS`` is the table configs choose from with ``model.name``: adding a model is its file and one
line here (the key is its only name)."""

from lightning_modules.autoencoder import Autoencoder
from lightning_modules.cyclegan import CycleGAN
from lightning_modules.gan import GAN
from lightning_modules.vae import VAE

MODELS = {
    "autoencoder": Autoencoder,
    "vae": VAE,
    "gan": GAN,
    "cyclegan": CycleGAN,
}
