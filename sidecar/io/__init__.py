"""Reading data: files, directories and globs of files (data sets), whole or in chunks.

:func:`read_frame` reads a source into one DataFrame; :class:`ChunkReader` streams it chunk by chunk
(Parquet batches, CSV blocks) for data larger than memory. Both find the format the same way
(:func:`detect_format`, :func:`check_source`), sniff a CSV delimiter unless one is given, type text columns
with :class:`ReadHints`, and raise :class:`DataFileError` for a source that is missing, empty or unreadable.
"""

from sidecar.io.chunks import DEFAULT_CHUNK_ROWS, ChunkReader, numeric_column
from sidecar.io.formats import (
    FORMATS,
    DataFileError,
    ReadHints,
    check_source,
    dataset_files,
    detect_format,
    hints_from_specs,
)
from sidecar.io.frame import read_frame
from sidecar.io.sniff import sniff_delimiter

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FORMATS",
    "ChunkReader",
    "DataFileError",
    "ReadHints",
    "check_source",
    "dataset_files",
    "detect_format",
    "hints_from_specs",
    "numeric_column",
    "read_frame",
    "sniff_delimiter",
]
