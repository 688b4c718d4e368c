"""User-facing errors: each carries one actionable line and maps to a non-zero exit code."""


class GenlabError(Exception):
    """An error caused by the user's input (config, data, checkpoint), reported as one line."""

    exit_code = 2


class ConfigError(GenlabError):
    """A config key or value is wrong."""


class DataError(GenlabError):
    """A dataset is missing, empty or unreadable."""


class CheckpointError(GenlabError):
    """A checkpoint is missing, unreadable or belongs to another model."""


class RunDirError(GenlabError):
    """A run folder belongs to another run, is locked by a running one, or cannot be used."""


class DivergenceError(GenlabError):
    """Training produced a non-finite loss or weight; the run stops without writing those weights."""

    exit_code = 3


class RunInterrupted(GenlabError):
    """A signal (SIGTERM, SLURM's requeue signal) stopped the run after a checkpoint; exits 128 + the signal."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum
