"""The aiokafka release that both halves of ``kafka.fast_io`` were written and tested against.

Each half replaces private classes of aiokafka: :mod:`.frames` mirrors ``AIOKafkaConnection.connect``
and its response handling, :mod:`.crc` subclasses the fetcher's ``MemoryRecords`` and
``PartitionRecords`` and calls their constructors with aiokafka 0.14.0's arguments. Another release may
change any of them without notice, so each half installs only when :func:`supported` is true, and the
version is read when ``install()`` is called, not at import.
"""

from __future__ import annotations

import aiokafka

#: The releases both halves mirror; the one pinned in ``pyproject.toml``.
SUPPORTED_AIOKAFKA = ("0.14.0",)


def supported() -> bool:
    """Whether the installed aiokafka is a release the fast I/O halves mirror.

    Examples
    --------
    >>> import aiokafka
    >>> supported() == (aiokafka.__version__ in SUPPORTED_AIOKAFKA)
    True
    """
    return aiokafka.__version__ in SUPPORTED_AIOKAFKA


__all__ = ["SUPPORTED_AIOKAFKA", "supported"]
