"""LightningModules, one model a file; plain ``nn.Module`` networks live in ``lightning_modules.nets`` and import
no Lightning. ``MODELS`` is the table configs choose from with ``model.name``: adding a model is its file, its
schema in ``lightning_modules/schemas.py`` and one line here (the key is its only name). The table names each class
by its module so that a config, ``--help`` or ``--cfg`` imports no torch: ``MODELS[name]`` imports the class."""

from genlab.core.classes import ClassTable
from lightning_modules.schemas import AutoencoderConfig, CycleGANConfig, GANConfig, VAEConfig

MODELS = ClassTable({
    "autoencoder": (AutoencoderConfig, "lightning_modules.autoencoder:Autoencoder"),
    "vae": (VAEConfig, "lightning_modules.vae:VAE"),
    "gan": (GANConfig, "lightning_modules.gan:GAN"),
    "cyclegan": (CycleGANConfig, "lightning_modules.cyclegan:CycleGAN"),
})
