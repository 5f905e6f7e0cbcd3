"""mmtwins' exceptions. Each is also the standard exception that fits, so code written for
mmengine, mmdet, mmseg, mmpretrain or plain Python catches it as usual:

=========================== ==========================================================
``MMTwinsError``            base of all of them (our tools print it as one message)
``ConfigError``             a wrong value in a config or on the command line (ValueError)
``InputNotFoundError``      a config, dataset or input file that does not exist
                            (FileNotFoundError)
``CheckpointError``         a checkpoint that cannot be used as it is (ValueError)
``CheckpointNotFoundError`` a checkpoint that does not exist (CheckpointError and
                            FileNotFoundError)
=========================== ==========================================================

Wrong types (e.g. ``init_cfg=123``) raise plain :class:`TypeError`.
"""


class MMTwinsError(Exception):
    """Base of mmtwins' errors: a mistake in a command line, config, data or checkpoint,
    explained in the message (our tools print it without a traceback)."""


class ConfigError(MMTwinsError, ValueError):
    """A config or command-line value that cannot work; the message says which and why."""


class InputNotFoundError(MMTwinsError, FileNotFoundError):
    """A config file, dataset root, annotation file or input image that does not exist."""


class CheckpointError(MMTwinsError, ValueError):
    """A checkpoint that is unreadable, unsafe to read, or does not fit the model."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint path, URL or hub id that does not lead to a file."""


class MissingDependencyError(MMTwinsError, ImportError):
    """An optional package a command needs (e.g. mmdeploy) is not installed; the message
    says how to install it."""


__all__ = ['MMTwinsError', 'ConfigError', 'InputNotFoundError', 'CheckpointError',
           'CheckpointNotFoundError', 'MissingDependencyError']
