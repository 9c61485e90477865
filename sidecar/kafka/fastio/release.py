"""What the two halves of ``kafka.fast_io`` mirror, and the guards that check it is what is installed.

Each half replaces private parts of libraries that may change them without notice:

- both mirror aiokafka 0.14.0: :mod:`.frames` its ``AIOKafkaConnection.connect`` and response handling,
  :mod:`.crc` the fetcher's ``MemoryRecords`` and ``PartitionRecords`` and their constructors' arguments
  (:func:`supported`, by release);
- :mod:`.frames` also relies on asyncio's protocol internals: how ``StreamReaderProtocol`` feeds and holds
  its reader, how the selector and TLS transports hand bytes to a ``BufferedProtocol``, and what
  ``StreamWriter`` needs of its protocol. :data:`ASYNCIO_INTERNALS` lists them for each Python they were
  read and tested on; :func:`asyncio_supported` checks that this Python is one of those and that every
  name is there with the signature frames.py calls (a test compares the list with what asyncio calls of
  the frames reader and protocol during a real exchange).

A half whose guard fails is not installed and aiokafka runs stock. Everything is checked when
``install()`` is called, not at import.
"""

from __future__ import annotations

import importlib
import inspect
import sys

import aiokafka

__all__ = [
    "ASYNCIO_INTERNALS",
    "ASYNCIO_SIGNATURES",
    "SUPPORTED_AIOKAFKA",
    "asyncio_missing",
    "asyncio_supported",
    "resolve",
    "supported",
]

#: The releases both halves mirror; the one pinned in ``pyproject.toml``.
SUPPORTED_AIOKAFKA = ("0.14.0",)

# What frames.FrameReader, FrameProtocol and FrameConnection rely on, as ``module:Class.attribute``. The
# same on 3.11, 3.12 and 3.13 (read in each one's Lib/asyncio); a Python not listed gets stock aiokafka.
_ASYNCIO_3_11 = (
    # StreamReaderProtocol holds its reader by weak reference and reads its _source_traceback at __init__
    # (FrameProtocol keeps a strong one); it feeds it through set_transport, feed_eof and set_exception.
    "asyncio.streams:StreamReaderProtocol._stream_reader",
    "asyncio.streams:StreamReaderProtocol.connection_made",
    "asyncio.streams:StreamReaderProtocol.connection_lost",
    "asyncio.streams:StreamReaderProtocol.eof_received",
    "asyncio.streams:StreamReaderProtocol._get_close_waiter",
    "asyncio.streams:StreamReader._source_traceback",
    "asyncio.streams:StreamReader.set_transport",
    "asyncio.streams:StreamReader.feed_eof",
    "asyncio.streams:StreamReader.set_exception",
    "asyncio.streams:StreamReader.exception",
    "asyncio.streams:StreamReader.at_eof",
    # StreamWriter without a reader: drain() and wait_closed() ask the protocol instead.
    "asyncio.streams:StreamWriter.drain",
    "asyncio.streams:FlowControlMixin._drain_helper",
    # A BufferedProtocol is filled through get_buffer/buffer_updated by these, not by data_received.
    "asyncio.protocols:BufferedProtocol",
    "asyncio.selector_events:_SelectorSocketTransport._read_ready__get_buffer",
    "asyncio.sslproto:SSLProtocol._do_read__buffered",
)

#: Python (major, minor) -> the asyncio internals ``frames.py`` relies on there.
ASYNCIO_INTERNALS: dict[tuple[int, int], tuple[str, ...]] = {
    (3, 11): _ASYNCIO_3_11,
    (3, 12): _ASYNCIO_3_11,
    (3, 13): _ASYNCIO_3_11,
}

#: Callables frames.py calls or subclasses, with the parameters it passes (in order, ``self`` first).
ASYNCIO_SIGNATURES: dict[str, tuple[str, ...]] = {
    "asyncio.streams:StreamReaderProtocol.__init__": ("self", "stream_reader", "client_connected_cb", "loop"),
    "asyncio.streams:StreamWriter.__init__": ("self", "transport", "protocol", "reader", "loop"),
}


def supported() -> bool:
    """Whether the installed aiokafka is a release the fast I/O halves mirror.

    Examples
    --------
    >>> import aiokafka
    >>> supported() == (aiokafka.__version__ in SUPPORTED_AIOKAFKA)
    True
    """
    return aiokafka.__version__ in SUPPORTED_AIOKAFKA


def resolve(name: str) -> object:
    """The object ``module:dotted.path`` names; raises ``AttributeError`` or ``ImportError`` if it is gone."""
    module, _, path = name.partition(":")
    obj: object = importlib.import_module(module)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def asyncio_missing(version: tuple[int, int] | None = None) -> list[str]:
    """What frames.py needs of asyncio and this Python lacks: empty when :func:`asyncio_supported`.

    A Python missing from :data:`ASYNCIO_INTERNALS` lacks everything (its asyncio was never read).
    """
    version = version or (sys.version_info.major, sys.version_info.minor)
    names = ASYNCIO_INTERNALS.get(version)
    if names is None:
        return [f"Python {version[0]}.{version[1]} (fast I/O frames checked on "
                f"{', '.join(f'{a}.{b}' for a, b in sorted(ASYNCIO_INTERNALS))})"]
    missing = []
    for name in names:
        try:
            resolve(name)
        except (AttributeError, ImportError):
            missing.append(name)
    for name, params in ASYNCIO_SIGNATURES.items():
        try:
            found = tuple(inspect.signature(resolve(name)).parameters)  # type: ignore[arg-type]
        except (AttributeError, ImportError, TypeError, ValueError):
            found = ()
        if found != params:
            missing.append(f"{name}{params}")
    return missing


def asyncio_supported() -> bool:
    """Whether this Python's asyncio has every internal frames.py relies on (:func:`asyncio_missing`).

    Examples
    --------
    >>> asyncio_supported() == (asyncio_missing() == [])
    True
    """
    return not asyncio_missing()
