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
