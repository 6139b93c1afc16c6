"""Read a CSV list with a header row: ``node_id,version`` required, ``host`` optional."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from audit.manifest.interface import Context, Malformed, merge_duplicates
from audit.model import Manifest, ManifestEntry

__all__ = ["read_csv"]

_REQUIRED = ("node_id", "version")
_Row = tuple[int, list[str]]


def _rows(text: str, ctx: Context) -> list[_Row]:
    """The non-blank rows of ``text``, each with the physical line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[_Row] = []
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((start, [cell.strip() for cell in cells]))
            start = reader.line_num + 1
    except csv.Error as e:
        # NOTE: after a quoting error the reader's position is unreliable; stop there.
        ctx.problems.add(f"invalid CSV: {e}", reader.line_num)
    return rows


def _columns(header: _Row) -> dict[str, int]:
    """Map each column name (lower-case) to its first index.

    :raises Malformed: when a required column is missing.
    """
    line, cells = header
    columns: dict[str, int] = {}
    for index, name in enumerate(cells):
        columns.setdefault(name.lower(), index)
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        found = ", ".join(repr(c) for c in cells)
        noun = "column" if len(missing) == 1 else "columns"
        wanted = ", ".join(repr(m) for m in missing)
        raise Malformed(
            f"missing {noun} {wanted}: expected a header row node_id,version[,host]; found {found}",
            line,
        )
    return columns


def _cell(cells: Sequence[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    return cells[index] if index is not None and index < len(cells) else ""


def _entry(row: _Row, columns: dict[str, int], width: int, ctx: Context) -> ManifestEntry | None:
    line, cells = row
    if len(cells) > width:
        ctx.problems.add(f"expected {width} cells as in the header row, found {len(cells)}", line)
        return None
    node_id = _cell(cells, columns, "node_id")
    if not node_id:
        ctx.problems.add("missing node_id: expected a node id in every row", line)
        return None
    version = _cell(cells, columns, "version") or None
    return ctx.entry(node_id, version, line, host=_cell(cells, columns, "host") or None)


def read_csv(text: str, ctx: Context) -> Manifest:
    """Return the manifest of the CSV ``text``; problems go to ``ctx``.

    Extra columns are ignored, an empty version cell is ``None`` and an empty host cell means
    the manifest's host.

    :raises Malformed: when the header row lacks a required column.
    """
    rows = _rows(text, ctx)
    if not rows:
        return Manifest(ctx.path, ctx.host, "csv", ())
    columns = _columns(rows[0])
    width = len(rows[0][1])
    found = [_entry(row, columns, width, ctx) for row in rows[1:]]
    entries = merge_duplicates((e for e in found if e is not None), ctx.problems)
    return Manifest(ctx.path, ctx.host, "csv", entries)
