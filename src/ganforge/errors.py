"""User-facing errors: the CLI prints their message as one line and exits non-zero."""


class GanforgeError(Exception):
    """A problem with the user's input (config, data, checkpoint) rather than a bug in ganforge."""


class ConfigError(GanforgeError):
    """An unknown key, a wrong type or an invalid value in a config or override."""


class DataError(GanforgeError):
    """A dataset that is missing, corrupt or not what the config asked for."""


class CheckpointError(GanforgeError):
    """A checkpoint that is missing, corrupt or incompatible with this version or config."""


class TrainingDiverged(GanforgeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class Interrupted(GanforgeError):
    """The user stopped training; a checkpoint was written so the run can be resumed."""


class GanforgeWarning(UserWarning):
    """An allowed setting that is known to hurt; the CLI prints it as one line."""
