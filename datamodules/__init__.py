"""LightningDataModules. They describe their images through ``DataInfo`` and know nothing of models."""
