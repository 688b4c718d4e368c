"""Lightning callbacks that an experiment lists by name under ``callbacks.images``; ``CALLBACKS`` is the table.

Each picture callback is built as ``Callback(cfg.callbacks)`` and draws from the model's public methods
(documented on each class), never from a particular model class.
"""

from genlab.callbacks.code_interpolation import CodeInterpolation
from genlab.callbacks.fixed_noise_grid import FixedNoiseGrid
from genlab.callbacks.latent_interpolation import LatentInterpolation
from genlab.callbacks.latent_manifold import LatentManifold
from genlab.callbacks.latent_scatter import LatentScatter
from genlab.callbacks.reconstruction_grid import ReconstructionGrid
from genlab.callbacks.translation_grid import TranslationGrid

CALLBACKS = {
    "reconstruction_grid": ReconstructionGrid,
    "latent_scatter": LatentScatter,
    "latent_interpolation": LatentInterpolation,
    "latent_manifold": LatentManifold,
    "code_interpolation": CodeInterpolation,
    "fixed_noise_grid": FixedNoiseGrid,
    "translation_grid": TranslationGrid,
}
