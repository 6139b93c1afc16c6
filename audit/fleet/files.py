"""Read the files of a run folder that the roll-up needs: ``run.json`` and report tables.

A run folder is written by comfy-audit, but the folder it sits in may be shared, so its files
are read as hostile ones: on a local disk through `audit.safeio` (regular files only, never
blocking, size capped), on an object store through its FileSystem with the same caps.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

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


def _size(count: int) -> str:
    return f"{count // (1024 * 1024)} MiB"


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
        raise InputError(f"{location.display}: cannot read: larger than {_size(limit)}")
    return data


def _columns(file: pq.ParquetFile, wanted: Sequence[str]) -> pa.Table:
    present = set(file.schema_arrow.names)
    return file.read(columns=[c for c in wanted if c in present], use_threads=False)


def _local_columns(path: str, wanted: Sequence[str]) -> pa.Table:
    try:
        data = safeio.read_bytes(path, limit=WHOLE_TABLE)
    except safeio.TooLarge:
        with safeio.open_binary(path) as stream:
            return _columns(pq.ParquetFile(stream), wanted)
    return _columns(pq.ParquetFile(pa.BufferReader(data)), wanted)


def read_columns(location: Location, wanted: Sequence[str]) -> pa.Table:
    """Return the columns ``wanted`` of the Parquet file at ``location``, those it has.

    :raises InputError: naming the file, if it cannot be read or is not Parquet.
    """
    try:
        if location.local:
            return _local_columns(location.path, wanted)
        with location.filesystem.open_input_file(location.path) as stream:
            return _columns(pq.ParquetFile(stream), wanted)
    except (OSError, pa.ArrowException) as e:
        reason = redact(" ".join(str(e).split()))
        raise InputError(f"{location.display}: not a readable report table: {reason}") from None
