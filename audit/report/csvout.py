"""Write a table as the CSV file comfy-audit writes, through Arrow's CSV writer.

Every cell is computed column-wise in Arrow before it is written: lists are joined with ``;``,
timestamps are ISO-8601 UTC text, severities their label, booleans ``true``/``false``, nulls
empty. Text cells that a spreadsheet would take for a formula (they start with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) get a leading ``'``, as OWASP recommends; Parquet keeps
the exact values. `restore_cell` undoes it.
"""

from __future__ import annotations

import functools
import re
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

__all__ = ["FORMULA_START", "csv_table", "restore_cell", "write_cells", "write_csv"]

FORMULA_START = "=+-@\t\r"
"""The first characters that make a spreadsheet evaluate a cell (OWASP, "CSV Injection")."""

# NOTE: a cell that already starts with quotes before such a character gets one more, so that
# `restore_cell` can tell a neutralised cell from one that held the quote itself.
_NEUTRALISE = r"^('*[=+\-@\t\r])"
_NEUTRALISED = re.compile(r"'('*[=+\-@\t\r])")

_BLOCK_BYTES = 1 << 25
_OPTIONS = pa_csv.WriteOptions(eol="\r\n")
"""RFC 4180 line ends; Arrow quotes every text cell and the header, never a number, a boolean or
an empty (null) cell."""


def _timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # NOTE: formatted once per distinct time (a fleet's rows share the registry's few thousand
    # records and their times); formatting is dear. The report's timestamps are microseconds,
    # so %S prints "SS.ffffff": fixed width.
    encoded = column.cast(pa.timestamp("us", tz="UTC")).dictionary_encode()
    chunks = [_formatted(chunk) for chunk in encoded.chunks]
    return pa.chunked_array(chunks, type=pa.string())


def _formatted(chunk: pa.DictionaryArray) -> pa.Array:
    texts = pc.strftime(chunk.dictionary, format="%Y-%m-%dT%H:%M:%SZ")
    return texts.take(chunk.indices)


def _joined_chunk(chunk: pa.ListArray) -> pa.Array:
    strings = chunk.cast(pa.list_(pa.string()))
    offsets = strings.offsets
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    # NOTE: a batch is a slice of its column: rebase its offsets on its own values, so that a
    # null item can become "" (as it always was) before the join, which would null the list.
    values = pc.fill_null(strings.values.slice(start, end - start), "")
    rebased = pc.subtract(offsets, pa.scalar(start, offsets.type))
    filled = pa.ListArray.from_arrays(rebased, values, mask=strings.is_null())
    return pc.binary_join(filled, ";")


def _joined(column: pa.ChunkedArray) -> pa.ChunkedArray:
    chunks = [_joined_chunk(chunk) for chunk in column.chunks]
    return pa.chunked_array(chunks, type=pa.string())


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Return ``column`` as the text of its cells, or unchanged when Arrow writes it right."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        return _timestamps(column)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _joined(column)
    if pa.types.is_dictionary(kind):
        return column.cast(kind.value_type).cast(pa.string())
    if pa.types.is_large_string(kind):
        return column.cast(pa.string())
    return column


def _neutralised(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pa.types.is_string(column.type):
        return column
    # NOTE: most columns hold no cell that could need it; the regex is dear on a fleet's rows.
    first = pc.utf8_slice_codeunits(column, 0, 1)
    if not pc.any(pc.is_in(first, value_set=_risky_first())).as_py():
        return column
    return pc.replace_substring_regex(column, pattern=_NEUTRALISE, replacement=r"'\1")


# NOTE: made on first use, not on import: pyarrow's first conversion of Python objects loads
# pandas, which the run keeps out while it writes (`audit.lazy.without`).
@functools.cache
def _risky_first() -> pa.Array:
    """The first characters of the cells `_NEUTRALISE` can match."""
    return pa.array(["'", *FORMULA_START], pa.string())


def csv_table(table: pa.Table) -> pa.Table:
    """Return ``table`` with every column as the cells its CSV file holds (see the module)."""
    columns = [_neutralised(_text(column)) for column in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names)


def write_csv(table: pa.Table, sink: str | pa.NativeFile | BinaryIO) -> None:
    """Write ``table`` as CSV (UTF-8, a header, ``\\r\\n`` line ends) to ``sink``, a path or a
    binary stream."""
    write_cells(csv_table(table), sink)


def write_cells(cells: pa.Table, sink: str | pa.NativeFile | BinaryIO) -> None:
    """Write ``cells``, a table `csv_table` made, as CSV to ``sink``, a path or a binary stream
    (left open)."""
    if isinstance(sink, str | pa.NativeFile):
        pa_csv.write_csv(cells, sink, write_options=_OPTIONS)
        return
    # NOTE: written in large blocks, so that Arrow writes without the GIL (each write to a
    # Python stream takes it): the report's tables are written while the next one is built.
    buffered = pa.BufferedOutputStream(pa.PythonFile(sink, mode="w"), _BLOCK_BYTES)
    pa_csv.write_csv(cells, buffered, write_options=_OPTIONS)
    buffered.detach()


def restore_cell(cell: str) -> str:
    """Return the value a CSV cell written by `write_csv` stood for, its neutralising ``'``
    removed."""
    match = _NEUTRALISED.match(cell)
    return cell[1:] if match else cell
