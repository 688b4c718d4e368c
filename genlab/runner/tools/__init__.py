"""After a run: compare runs, draw samples, translate images, load a model from a checkpoint."""
