"""LightningDataModules. They describe their images through ``DataInfo`` and know nothing of models.
``DATAMODULES`` is the table configs choose from with ``data.name``: a new datamodule is its file and one line."""

from datamodules.images import ImagesDataModule
from datamodules.mnist import MNISTDataModule
from datamodules.unpaired import UnpairedDataModule

DATAMODULES = {
    "mnist": MNISTDataModule,
    "unpaired": UnpairedDataModule,
    "images": ImagesDataModule,
}
