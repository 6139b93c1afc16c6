"""Write a roll-up to ``OUTPUT/fleet/<rollup_id>/`` and render it as terminal text."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from audit import TOOL_NAME, __version__
from audit.errors import ReportError
from audit.fleet.rollup import Rollup
from audit.fleet.runs import FLEET_FOLDER
from audit.fleet.schema import ROLLUP_SCHEMA_VERSION
from audit.report.schema import SEVERITY_LABELS
from audit.report.storage import FileBuilder, open_location, write_folder
from audit.report.summary import one_line
from audit.report.tables import iso_utc
from audit.report.write import csv_bytes, json_bytes, parquet_bytes

__all__ = ["MAX_ROWS", "render_rollup", "rollup_document", "write_rollup"]

#: Rows shown per section of the terminal text; the tables always hold every row.
MAX_ROWS = 20
_NAMES = 80

#: A row of a roll-up table as pyarrow gives it.
Row = dict[str, Any]


def rollup_document(rollup: Rollup) -> dict[str, object]:
    """Return the content of ``rollup.json``: tool, options, run counts and table sizes."""
    return {
        "tool": TOOL_NAME,
        "tool_version": __version__,
        "schema_version": ROLLUP_SCHEMA_VERSION,
        "rollup_id": rollup.rollup_id,
        "created_at": iso_utc(rollup.created_at),
        "source": rollup.source,
        "since": None if rollup.since is None else iso_utc(rollup.since),
        "target_comfyui": rollup.target_comfyui,
        "stale_after_seconds": rollup.stale_after.total_seconds(),
        "runs": {
            "found": rollup.runs_found,
            "used": rollup.runs_used,
            "incomplete": rollup.incomplete.num_rows,
        },
        "counts": {name: table.num_rows for name, table in rollup.tables().items()},
        "untargeted_hosts": list(rollup.untargeted_hosts),
    }


def _table_files(name: str, table: pa.Table) -> list[FileBuilder]:
    return [
        (f"{name}.parquet", functools.partial(parquet_bytes, table)),
        (f"{name}.csv", functools.partial(csv_bytes, table)),
    ]


def write_rollup(rollup: Rollup, output: str | Path) -> str:
    """Write ``rollup`` to ``output/fleet/<rollup_id>/`` and return that folder (path or URI).

    Each table goes to Parquet and CSV, then ``rollup.json`` last, atomically as `write_run`
    writes a run: renamed into place on a local disk, marked complete by ``rollup.json`` on an
    object store.

    :raises ReportError: if that roll-up exists already, ``output`` is itself a run folder, or
        anything cannot be written.
    """
    root = open_location(output)
    rollup_id = rollup.rollup_id
    if not rollup_id or rollup_id.startswith(".") or any(c in rollup_id for c in "/\\\0"):
        raise ReportError(f"{rollup_id!r}: not a usable roll-up id for a folder name")
    for folder in (root, root.join(FLEET_FOLDER)):
        if folder.join("run.json").exists():
            raise ReportError(f"{folder.display}: a run folder; roll-ups go beside runs")
    files = [f for name, table in rollup.tables().items() for f in _table_files(name, table)]
    files.append(("rollup.json", functools.partial(json_bytes, rollup_document(rollup))))
    parent = root.join(FLEET_FOLDER)
    return write_folder(parent, rollup_id, files, what="roll-up").display


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _time(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            return _count(seconds // size, unit, f"{unit}s")
    return _count(seconds, "second", "seconds")


def _names(values: Sequence[object]) -> str:
    return one_line(", ".join(str(v) for v in values), limit=_NAMES)


def _pack(row: Row) -> str:
    node_id, version = row["node_id"], row["version"]
    return one_line(node_id if version is None else f"{node_id}@{version}")


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]], numbers: int) -> list[str]:
    """Lay ``rows`` out in columns under ``header``; the last ``numbers`` columns align right."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    first_number = len(header) - numbers
    lines = []
    for cells in [header, *rows]:
        padded = [
            cell.rjust(width) if i >= first_number else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        lines.append(("  " + "  ".join(padded)).rstrip())
    return lines


@dataclass(frozen=True)
class _Section:
    """One block of the terminal text: a title, then the first rows of one table as a grid."""

    title: str
    file: str
    header: Sequence[str]
    cells: Callable[[Row], list[str]]
    numbers: int = 0

    def render(self, rows: Sequence[Row]) -> list[str]:
        if not rows:
            return [f"{self.title}: none"]
        shown = [self.cells(row) for row in rows[:MAX_ROWS]]
        lines = [f"{self.title}:", *_grid(self.header, shown, self.numbers)]
        if len(rows) > MAX_ROWS:
            lines.append(f"  ... and {len(rows) - MAX_ROWS} more in {self.file}")
        return lines


def _header(rollup: Rollup) -> list[str]:
    hosts = len(set(rollup.hosts.column("host").to_pylist()))
    chosen = f"every run since {_time(rollup.since)}" if rollup.since else "newest run of each"
    incomplete = rollup.incomplete.num_rows
    totals = {label: pc.sum(rollup.hosts.column(label)).as_py() or 0 for label in _COUNTED}
    counts = ", ".join(f"{totals[label]} {label}" for label in _COUNTED[:4])
    return [
        f"fleet roll-up {one_line(rollup.rollup_id)} of {one_line(rollup.source, limit=None)}",
        f"hosts: {hosts}, {chosen}",
        f"runs: {rollup.runs_used} used of {rollup.runs_found} complete; "
        f"{incomplete} incomplete (no run.json)",
        f"findings: {counts}; {totals['waived']} waived",
    ]


_COUNTED = (*reversed(SEVERITY_LABELS), "waived")

_HOSTS = _Section(
    "hosts, worst first",
    "hosts.csv",
    ["host", "run", *_COUNTED, "exit"],
    lambda r: (
        [one_line(r["host"]), one_line(r["run_id"])] + [str(r[c]) for c in (*_COUNTED, "exit_code")]
    ),
    numbers=len(_COUNTED) + 1,
)
_PACKS = _Section(
    "packs with findings at warning or above, worst first",
    "packs.csv",
    ["pack", "worst", "checks", "hosts"],
    lambda r: [_pack(r), r["worst_severity"], _names(r["checks"]), str(r["host_count"])],
    numbers=1,
)
_DRIFT = _Section(
    "version drift, packs at several versions",
    "drift.csv",
    ["pack", "versions (hosts)", "hosts"],
    lambda r: [
        one_line(r["node_id"]),
        _names([f"{v} ({n})" for v, n in zip(r["versions"], r["host_counts"], strict=True)]),
        str(r["host_count"]),
    ],
    numbers=1,
)
_INCOMPLETE = _Section(
    "incomplete runs (no run.json)",
    "incomplete.csv",
    ["run", "started", "hosts"],
    lambda r: [
        one_line(r["run_id"]),
        _time(r["started_at"]),
        "unknown" if r["hosts"] is None else _names(r["hosts"]),
    ],
)

_VULNERABILITIES = _Section(
    "known vulnerabilities of installed Python packages, worst first",
    "vulnerabilities.csv",
    ["vulnerability", "package", "severity", "fixed in", "hosts"],
    lambda r: [
        one_line(r["vuln_id"]),
        one_line(r["distribution"]),
        str(r["severity"]),
        one_line(r["fixed_in"] or "-"),
        str(r["hosts_exposed"]),
    ],
    numbers=1,
)


def _blocker_cells(row: Row) -> list[str]:
    target = one_line(row["target_comfyui"] or "-")
    return [_pack(row), target, _names(row["hosts"]), str(row["host_count"])]


def _blockers(rollup: Rollup) -> list[str]:
    target = rollup.target_comfyui
    title = (
        f"upgrade blockers for ComfyUI {one_line(target)}"
        if target
        else ("upgrade blockers, each host against its own target")
    )
    section = _Section(
        title,
        "blockers.csv",
        ["pack", "target", "on", "hosts"],
        _blocker_cells,
        numbers=1,
    )
    lines = section.render(rollup.blockers.to_pylist())
    untargeted = rollup.untargeted_hosts
    if untargeted:
        against = f"ComfyUI {one_line(target)}" if target else "any ComfyUI target"
        lines.append(
            f"  not checked against {against}: {_count(len(untargeted), 'host', 'hosts')} "
            f"({_names(untargeted)})"
        )
    return lines


def _stale(rollup: Rollup) -> list[str]:
    section = _Section(
        f"stale hosts (incomplete, failed lookups, or older than {_duration(rollup.stale_after)})",
        "stale.csv",
        ["host", "reasons", "last run", "started"],
        lambda r: [
            one_line(r["host"]),
            ", ".join(r["reasons"]),
            one_line(r["run_id"] or "-"),
            _time(r["started_at"]),
        ],
    )
    return section.render(rollup.stale.to_pylist())


def render_rollup(rollup: Rollup, where: str | None = None) -> str:
    """Return ``rollup`` as plain terminal text: the header, then one block per table.

    Each block shows its first `MAX_ROWS` rows; ``where``, the roll-up's folder once written,
    closes the text.
    """
    hosts = _HOSTS.render(
        rollup.hosts.sort_by(
            [(label, "descending") for label in _COUNTED[:4]]
            + [("host", "ascending"), ("started_at", "ascending")]
        ).to_pylist()
    )
    sections = [
        _header(rollup),
        hosts,
        _PACKS.render(rollup.packs.to_pylist()),
        _blockers(rollup),
        _DRIFT.render(rollup.drift.to_pylist()),
        _stale(rollup),
        _INCOMPLETE.render(rollup.incomplete.to_pylist()),
        _VULNERABILITIES.render(rollup.vulnerabilities.to_pylist()),
    ]
    if where is not None:
        sections.append([f"roll-up: {one_line(where, limit=None)}"])
    return "\n\n".join("\n".join(section) for section in sections)
