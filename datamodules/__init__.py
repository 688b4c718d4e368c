"""LightningDataModules. They describe their images through ``DataInfo`` and know nothing of models.
``DATAMODULES`` is the table configs choose from with ``data.name``: a new datamodule is its file, its schema in
``datamodules/schemas.py`` and one line here. The table names each class by its module so that a config, ``--help``
or ``--cfg`` imports no torch: ``DATAMODULES[name]`` imports the class."""

from datamodules.schemas import ImagesConfig, MNISTConfig, UnpairedConfig
from genlab.core.classes import ClassTable

DATAMODULES = ClassTable({
    "mnist": (MNISTConfig, "datamodules.mnist:MNISTDataModule"),
    "unpaired": (UnpairedConfig, "datamodules.unpaired:UnpairedDataModule"),
    "images": (ImagesConfig, "datamodules.images:ImagesDataModule"),
})
