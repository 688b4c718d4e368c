"""One run: its plan, parts, checkpoints, W&B record and folder, from a composed config to a trained model."""
