"""Read the files of a run folder that the roll-up needs: ``run.json`` and report tables.

A run folder is written by comfy-audit, but the folder it sits in may be shared, so its files
are read as hostile ones: on a local disk through `audit.safeio` (regular files only, never
blocking, size capped), on an object store through its FileSystem with the same caps.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import BinaryIO

import pyarrow as pa
from pyarrow._parquet import ParquetReader

from audit import safeio
from audit.errors import InputError
from audit.report.storage import Location, redact, translating

__all__ = ["MAX_RUN_JSON", "WHOLE_TABLE", "read_columns", "read_run_json"]

#: Largest ``run.json`` read: a central run of thousands of hosts, each with its pip list, is
#: tens of MiB.
MAX_RUN_JSON = 256 * 1024 * 1024
#: Report tables up to this size are read whole (one read, the fastest for small files); larger
#: ones are read column by column from the open file, so that only the columns asked for are.
WHOLE_TABLE = 64 * 1024 * 1024


def read_run_json(location: Location, limit: int = MAX_RUN_JSON) -> bytes:
    """Return the bytes of the ``run.json`` at ``location``.

    :raises InputError: naming the file, if it is not a regular file, cannot be read or is larger
        than ``limit``.
    """
    if location.local:
        try:
            return safeio.read_bytes(location.path, limit=limit)
        except safeio.Refused as e:
            raise InputError(f"{location.display}: cannot read: {e}") from None
    with (
        translating(location.display, "cannot read", InputError),
        location.filesystem.open_input_stream(location.path) as stream,
    ):
        data = bytes(stream.read(limit + 1))
    if len(data) > limit:
        raise InputError(f"{location.display}: cannot read: {safeio.too_large(limit)}")
    return data


def _columns(source: pa.NativeFile | BinaryIO, wanted: Collection[str]) -> pa.Table:
    # NOTE: pyarrow's reader itself, as pq.ParquetFile uses it: the wrapper's own work per file
    # (prebuffering, a map of nested paths) is a fifth of reading a small table's columns.
    reader = ParquetReader()
    reader.open(source, pre_buffer=False)
    leaves = [i for i, path in enumerate(reader.column_paths) if path[0] in wanted]
    return reader.read_all(column_indices=leaves, use_threads=False)


def _local_columns(path: str, wanted: Collection[str]) -> pa.Table:
    try:
        data = safeio.read_bytes(path, limit=WHOLE_TABLE)
    except safeio.TooLarge:
        with safeio.open_binary(path) as stream:
            return _columns(stream, wanted)
    return _columns(pa.BufferReader(data), wanted)


def read_columns(location: Location, wanted: Collection[str]) -> pa.Table:
    """Return the columns ``wanted`` of the Parquet file at ``location``, those it has.

    :raises InputError: naming the file, if it cannot be read or is not Parquet.
    """
    try:
        if location.local:
            return _local_columns(location.path, wanted)
        with location.filesystem.open_input_file(location.path) as stream:
            return _columns(stream, wanted)
    except (OSError, pa.ArrowException) as e:
        reason = redact(" ".join(str(e).split()))
        raise InputError(f"{location.display}: not a readable report table: {reason}") from None
