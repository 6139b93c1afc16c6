"""The fleet roll-up's ``vulnerabilities`` table: each known vulnerability of an installed
distribution, with how many hosts are exposed to it.

Runs written before the ``vulnerabilities`` table existed have no such file; they count as
having none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from audit.fleet.query import SEVERITY_RANK, TableSource, aggregate
from audit.fleet.runs import RunInfo
from audit.model import Severity
from audit.report.schema import VULNERABILITIES_SCHEMA
from audit.report.storage import Location

__all__ = ["vulnerability_rows"]

_STEM = "vulnerabilities"


def vulnerability_rows(
    root: Location, picks: Sequence[tuple[RunInfo, str]]
) -> list[dict[str, Any]]:
    """One row per (vulnerability, distribution) on the chosen ``(run, host)`` pairs, the most
    severe and most widespread first: its aliases, worst severity, highest ``fixed_in`` (what
    every exposed host needs) and ``hosts_exposed``."""
    having = [(run, host) for run, host in picks if f"{_STEM}.parquet" in run.files]
    if not having:
        return []
    runs = {run.folder.path: run for run, _ in having}
    selection = pa.table(
        {
            "run_id": pa.array([run.run_id for run, _ in having], pa.string()),
            "host": pa.array([host for _, host in having], pa.string()),
            "target_comfyui": pa.array(
                [run.targets.get(host) for run, host in having], pa.string()
            ),
        }
    )
    files = [run.table(_STEM) for _, run in sorted(runs.items())]
    source = TableSource(root.display, files, VULNERABILITIES_SCHEMA, selection)
    grouped = aggregate(
        source,
        where=pc.scalar(True),
        columns={
            "vuln_id": pc.field("vuln_id"),
            "distribution": pc.field("distribution"),
            "aliases": pc.binary_join(pc.field("aliases"), ";"),
            "fixed_in": pc.field("fixed_in"),
            "rank": SEVERITY_RANK,
        },
        reads=["vuln_id", "distribution", "aliases", "fixed_in", "severity"],
        keys=["vuln_id", "distribution"],
        aggregates=[
            ("host", "hash_count_distinct", "hosts_exposed"),
            ("rank", "hash_max", "rank"),
            ("aliases", "hash_distinct", "aliases"),
            ("fixed_in", "hash_distinct", "fixed_in"),
        ],
    )
    rows = [_row(r) for r in grouped.to_pylist()]
    rows.sort(key=lambda r: (-r["severity"], -r["hosts_exposed"], r["vuln_id"], r["distribution"]))
    return rows


def _row(found: dict[str, Any]) -> dict[str, Any]:
    aliases = sorted({a for joined in found["aliases"] if joined for a in joined.split(";")})
    return {
        "vuln_id": found["vuln_id"],
        "aliases": aliases,
        "distribution": found["distribution"],
        "severity": Severity(found["rank"]),
        "fixed_in": _highest([v for v in found["fixed_in"] if v]),
        "hosts_exposed": found["hosts_exposed"],
    }


def _highest(versions: list[str]) -> str | None:
    """The highest of ``versions`` by PEP 440; text order only when none is a version."""
    # NOTE: imported here: the vulnerability stage's package is loaded only by a roll-up of runs
    # that have a vulnerabilities table.
    from audit.vulnerabilities.advisory import release_of

    readable = [(release, v) for v in versions if (release := release_of(v)) is not None]
    if readable:
        return max(readable)[1]
    return max(versions, default=None)
