"""One error hierarchy for the whole package.

Every error derives from :class:`SidecarError`; subclasses also inherit the builtin a caller would expect
(``ValueError``, ``KeyError``) so ``except ValueError`` keeps working for configuration mistakes.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ContractFileError",
    "ContractNotFoundError",
    "DecodeError",
    "ProfileMergeError",
    "SidecarCrashed",
    "SidecarError",
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


class ContractFileError(SidecarError, ValueError):
    """A contract file is malformed, tampered with, or of an unknown format."""


class ContractNotFoundError(SidecarError, FileNotFoundError):
    """No contract (or no such version) exists where one was asked for."""


class DecodeError(SidecarError, ValueError):
    """A message could not be decoded into rows of the contract's columns."""


class SidecarCrashed(SidecarError, RuntimeError):
    """The sidecar's loop ended on an error it could not handle; ``__cause__`` holds that error."""
