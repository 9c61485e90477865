"""One error hierarchy for the whole package.

Every error derives from :class:`SidecarError`; subclasses also inherit the builtin a caller would expect
(``ValueError``, ``KeyError``, ``ConnectionError``, ``OSError``) so ``except ValueError`` keeps working for
configuration mistakes and ``except OSError`` for a lost connection or process. Errors are defined here and
re-exported where they are raised (``sidecar.cli.CliError``, ``sidecar.io.DataFileError``), so both imports
name the same class.

Not here, on purpose: ``sidecar.decoders.base.Rejected``, control flow between a message format and the loop
over messages, which never leaves ``decode`` (a bad message becomes a ``MessageError`` row instead).
"""

from __future__ import annotations

__all__ = [
    "CliError",
    "ConfigurationError",
    "ContractFileError",
    "ContractNotFoundError",
    "DataFileError",
    "DecodeError",
    "FrameError",
    "IngestWorkerDied",
    "InvalidCursorError",
    "ProfileMergeError",
    "PublishError",
    "SidecarCrashed",
    "SidecarError",
    "StoreVersionError",
    "UnknownNameError",
]


class SidecarError(Exception):
    """Root of every error raised on purpose by this package."""


class ConfigurationError(SidecarError, ValueError):
    """A check, contract or setting was configured with something it cannot accept."""


class UnknownNameError(ConfigurationError, KeyError):
    """A registry was asked for a name it does not hold.

    ``KeyError`` quotes its message with ``repr``; ``__str__`` is overridden so the message reads plainly.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ProfileMergeError(SidecarError, ValueError):
    """Two profiles cannot be merged (different kinds or bin edges for a column)."""


class PublishError(SidecarError, OSError):
    """The control room did not take an event (refused it, or could not be reached); ``status`` is the HTTP
    status (``None``: no answer) and ``field`` the field the control room named, if any."""

    def __init__(self, message: str, *, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ContractFileError(SidecarError, ValueError):
    """A contract file is malformed, tampered with, or of an unknown format."""


class ContractNotFoundError(SidecarError, FileNotFoundError):
    """No contract (or no such version) exists where one was asked for."""


class DataFileError(SidecarError, ValueError):
    """A data file or data set does not exist, is empty, has an unknown format, or cannot be parsed."""


class DecodeError(SidecarError, ValueError):
    """A message could not be decoded into rows of the contract's columns."""


class CliError(SidecarError, ValueError):
    """A usage or input problem a command detected itself (exit code 2, one line on stderr)."""


class FrameError(SidecarError, ConnectionError):
    """The broker sent something that is not a Kafka response frame (``kafka.fast_io``)."""


class IngestWorkerDied(SidecarError, OSError):
    """The ingest worker process is gone; its open windows are lost and must be replayed from Kafka."""


class SidecarCrashed(SidecarError, RuntimeError):
    """The sidecar's loop ended on an error it could not handle; ``__cause__`` holds that error."""


class StoreVersionError(SidecarError, RuntimeError):
    """The control room's database was written by a schema this version does not know (a newer one): the store
    refuses it rather than read or migrate what it cannot understand."""


class InvalidCursorError(SidecarError, ValueError):
    """A listing's ``cursor`` is not one of the store's (a page's ``next_cursor``): malformed or tampered with."""
