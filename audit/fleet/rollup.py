"""Roll up a fleet's runs: the newest run of each host, as hosts/packs/blockers/drift/stale tables.

`rollup` reads every ``run.json`` under OUTPUT (a local folder or ``s3://bucket/prefix``) to
choose the runs, then reads only the chosen runs' Parquet tables, only the rows of the chosen
(run, host) pairs, and aggregates them with Acero plans (`audit.fleet.query` says why): what is
held is the run.json facts, those rows of a few columns, and the aggregated answers.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from audit.errors import ExitCode, InputError
from audit.fleet.query import SEVERITY_RANK, Aggregate, TableSource, aggregate, gathered
from audit.fleet.runs import FoundRuns, Pick, find_runs, newest_runs, pick
from audit.fleet.schema import (
    BLOCKERS_SCHEMA,
    DRIFT_SCHEMA,
    HOSTS_SCHEMA,
    INCOMPLETE_SCHEMA,
    PACKS_SCHEMA,
    ROLLUP_SCHEMAS,
    STALE_SCHEMA,
    VULNERABILITIES_ROLLUP_SCHEMA,
    WORKFLOWS_ROLLUP_SCHEMA,
)
from audit.fleet.vulns import vulnerability_rows
from audit.fleet.workflows import workflow_rows
from audit.model import Severity
from audit.report.schema import FINDINGS_SCHEMA, NODES_SCHEMA, SEVERITY_LABELS, SEVERITY_TYPE
from audit.report.storage import Location, open_location
from audit.report.tables import severity_array, to_utc
from audit.versions import parse_local_version

__all__ = ["DEFAULT_STALE_AFTER", "Rollup", "new_rollup_id", "rollup"]

DEFAULT_STALE_AFTER = timedelta(days=7)
#: Exit code of a run whose registry lookups failed (DESIGN.md "Exit codes").
_BLOCKING_CHECKS = ["comfyui.incompatible", "frontend.incompatible"]
_WAIVED = pc.coalesce(pc.field("waived"), False)
#: Every column the roll-up's questions read, of each table: read once, in one pass.
_FINDINGS_READ = ["node_id", "version", "check", "severity", "when", "waived"]
_NODES_READ = ["node_id", "version", "compatible_now", "compatible_after_upgrade"]

#: A row of a roll-up table, before it becomes Arrow (or as pyarrow gives it back).
Row = dict[str, Any]


@dataclass(frozen=True)
class Rollup:
    """Represents one roll-up of a fleet's runs: its tables, and what they were made from.

    Every table starts with ``rollup_id`` and has the schema of the same name in
    `audit.fleet.schema`.
    """

    rollup_id: str
    created_at: datetime
    """The ``now`` of the roll-up, in UTC; staleness is measured from it."""
    source: str
    """The runs' folder or URI, as given."""
    since: datetime | None
    target_comfyui: str | None
    stale_after: timedelta
    runs_found: int
    """Complete runs found under ``source``."""
    runs_used: int
    untargeted_hosts: tuple[str, ...]
    """Hosts whose chosen runs were not checked against ``target_comfyui`` (against any ComfyUI
    target, when it is ``None``): the blockers cannot speak for them."""
    hosts: pa.Table
    packs: pa.Table
    blockers: pa.Table
    drift: pa.Table
    stale: pa.Table
    incomplete: pa.Table
    vulnerabilities: pa.Table
    workflows: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        """Every table by name, in the order they are written."""
        return {name: getattr(self, name) for name in ROLLUP_SCHEMAS}


def new_rollup_id(now: datetime) -> str:
    """Return a roll-up id that sorts by time, as run ids do."""
    return f"{to_utc(now):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _same_version(planned: str | None, wanted: str) -> bool:
    if planned is None:
        return False
    a, b = parse_local_version(planned), parse_local_version(wanted)
    return a == b if a is not None and b is not None else planned.strip() == wanted.strip()


def _source(root: Location, picks: Sequence[Pick], stem: str) -> TableSource:
    runs = {p.run.folder.path: p.run for p in picks}
    selection = pa.table(
        {
            "run_id": pa.array([p.run.run_id for p in picks], pa.string()),
            "host": pa.array([p.host for p in picks], pa.string()),
            "target_comfyui": pa.array([p.target for p in picks], pa.string()),
        }
    )
    files = [run.table(stem) for _, run in sorted(runs.items())]
    schema = NODES_SCHEMA if stem == "nodes" else FINDINGS_SCHEMA
    return TableSource(root.display, files, schema, selection)


def _table(schema: pa.Schema, rollup_id: str, rows: Sequence[Row]) -> pa.Table:
    columns = []
    for field in schema:
        if field.name == "rollup_id":
            columns.append(pa.array([rollup_id] * len(rows), field.type))
        elif field.type == SEVERITY_TYPE:
            columns.append(severity_array([r[field.name] for r in rows]))
        else:
            columns.append(pa.array([r[field.name] for r in rows], field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _fields(*names: str) -> dict[str, pc.Expression]:
    return {name: pc.field(name) for name in names}


#: Node ids compare case-insensitively: a pack one host names `ComfyUI-Impact-Pack` (from its
#: URL) and another `comfyui-impact-pack` is one pack. Rows are grouped by ``node_key`` and
#: show one of the ids as written (the first in sort order, so that the roll-up is stable).
_NODE_KEY = {"node_key": pc.utf8_lower(pc.field("node_id"))}
_AS_WRITTEN: Aggregate = ("node_id", "hash_min", "node_id")


def _host_rows(picks: Sequence[Pick], findings: TableSource) -> list[Row]:
    counted = aggregate(
        findings,
        where=pc.scalar(True),
        columns={"severity": pc.field("severity").cast(pa.string()), "waived": _WAIVED},
        reads=["severity", "waived"],
        keys=["run_id", "host", "severity", "waived"],
        aggregates=[("run_id", "hash_count", "n")],
    )
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in counted.to_pylist():
        label = "waived" if row["waived"] else row["severity"]
        counts[row["run_id"], row["host"]][label] += row["n"]
    rows: list[Row] = []
    for p in picks:
        found = counts[p.run.run_id, p.host]
        severities = {label: found[label] for label in (*SEVERITY_LABELS, "waived")}
        fixed = {"host": p.host, "run_id": p.run.run_id, "started_at": p.run.started_at}
        rows.append({**fixed, **severities, "exit_code": p.run.exit_code})
    return rows


def _pack_rows(findings: TableSource) -> list[Row]:
    now_and_counting = (pc.field("when") == "now") & pc.invert(_WAIVED)
    grouped = aggregate(
        findings,
        where=pc.field("node_id").is_valid() & now_and_counting & (SEVERITY_RANK >= 1),
        columns={**_NODE_KEY, **_fields("node_id", "version", "check"), "rank": SEVERITY_RANK},
        reads=["node_id", "version", "check", "severity", "when", "waived"],
        keys=["node_key", "version"],
        aggregates=[
            ("host", "hash_count_distinct", "host_count"),
            ("rank", "hash_max", "rank"),
            ("check", "hash_distinct", "checks"),
            _AS_WRITTEN,
        ],
    )
    found = grouped.to_pylist()
    found.sort(key=lambda r: (-r["rank"], -r["host_count"], *_pack_order(r)))
    return [
        {
            "node_id": r["node_id"],
            "version": r["version"],
            "host_count": r["host_count"],
            "worst_severity": Severity(r["rank"]),
            "checks": sorted(r["checks"]),
        }
        for r in found
    ]


_BY_PACK: Sequence[Aggregate] = [("host", "hash_distinct", "hosts"), _AS_WRITTEN]


def _blocker_rows(findings: TableSource, nodes: TableSource) -> list[Row]:
    keys = ["target_comfyui", "node_key", "version"]
    upgrade_findings = aggregate(
        findings,
        where=pc.field("check").isin(_BLOCKING_CHECKS) & (pc.field("when") == "after-upgrade"),
        columns={**_NODE_KEY, **_fields("node_id", "version")},
        reads=["node_id", "version", "check", "when"],
        keys=keys,
        aggregates=_BY_PACK,
        with_target=True,
    )
    # NOTE: a pack incompatible today (wrong OS, say) is no reason to hold the upgrade back.
    broken_by_upgrade = pc.invert(pc.field("compatible_after_upgrade")) & (
        pc.field("compatible_now").is_null() | pc.field("compatible_now")
    )
    upgrade_nodes = aggregate(
        nodes,
        where=broken_by_upgrade,
        columns={**_NODE_KEY, **_fields("node_id", "version")},
        reads=["node_id", "version", "compatible_now", "compatible_after_upgrade"],
        keys=keys,
        aggregates=_BY_PACK,
        with_target=True,
    )
    hosts: dict[tuple[str | None, str, str | None], set[str]] = defaultdict(set)
    written: dict[tuple[str | None, str, str | None], str] = {}
    for row in [*upgrade_findings.to_pylist(), *upgrade_nodes.to_pylist()]:
        pair = (row["target_comfyui"], row["node_key"], row["version"])
        hosts[pair].update(row["hosts"])
        written[pair] = min(written.get(pair, row["node_id"]), row["node_id"])
    rows: list[Row] = []
    for pair, on in hosts.items():
        target, version = pair[0], pair[2]
        pack = {"target_comfyui": target, "node_id": written[pair], "version": version}
        rows.append({**pack, "host_count": len(on), "hosts": sorted(on)})
    return sorted(
        rows, key=lambda r: (-r["host_count"], *_pack_order(r), r["target_comfyui"] or "")
    )


def _pack_order(row: Row) -> tuple[str, str]:
    return (row["node_id"], row["version"] or "")


def _drift_rows(nodes: TableSource) -> list[Row]:
    def hosts_by(keys: list[str]) -> pa.Table:
        return aggregate(
            nodes,
            where=pc.field("version").is_valid(),
            columns={**_NODE_KEY, **_fields("node_id", "version")},
            reads=["node_id", "version"],
            keys=keys,
            aggregates=[("host", "hash_count_distinct", "n"), _AS_WRITTEN],
        )

    versions: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in hosts_by(["node_key", "version"]).to_pylist():
        versions[row["node_key"]].append((-row["n"], row["version"]))
    totals = {r["node_key"]: (-r["n"], r["node_id"]) for r in hosts_by(["node_key"]).to_pylist()}
    drifted = sorted((totals[key], key) for key, found in versions.items() if len(found) > 1)
    rows: list[Row] = []
    for (minus_total, node_id), key in drifted:
        found = sorted(versions[key])
        counts, names = [-n for n, _ in found], [v for _, v in found]
        pack = {"node_id": node_id, "host_count": -minus_total}
        rows.append({**pack, "versions": names, "host_counts": counts})
    return rows


def _unfinished(found: FoundRuns) -> dict[str, datetime | None]:
    """Each host an incomplete run names → the newest such run's start, ``None`` if unknown."""
    hosts: dict[str, datetime | None] = {}
    for run in found.incomplete:
        for host in run.hosts or ():
            known = [t for t in (hosts.get(host), run.started_at) if t is not None]
            hosts[host] = max(known, default=None)
    return hosts


def _stale_rows(found: FoundRuns, now: datetime, stale_after: timedelta) -> list[Row]:
    newest, unfinished = newest_runs(found.complete), _unfinished(found)
    rows: list[Row] = []
    for host in sorted(set(newest) | set(unfinished)):
        run = newest.get(host)
        started = unfinished.get(host)
        reasons = []
        if host in unfinished and (
            run is None or (started is not None and started > run.started_at)
        ):
            reasons.append("incomplete")
        if run is not None and run.exit_code == ExitCode.INCOMPLETE:
            reasons.append("lookups-failed")
        if run is not None and now - run.started_at > stale_after:
            reasons.append("old")
        if reasons:
            last = {
                "run_id": run.run_id if run else None,
                "started_at": run.started_at if run else None,
                "exit_code": run.exit_code if run else None,
            }
            rows.append({"host": host, **last, "reasons": reasons})
    return rows


def _incomplete_rows(found: FoundRuns) -> list[Row]:
    return [
        {
            "run_id": run.run_id,
            "started_at": run.started_at,
            "hosts": None if run.hosts is None else list(run.hosts),
        }
        for run in found.incomplete
    ]


def _untargeted(picks: Sequence[Pick], targeted: Sequence[Pick], target: str | None) -> list[str]:
    if target is None:
        return sorted({p.host for p in picks if p.target is None})
    return sorted({p.host for p in picks} - {p.host for p in targeted})


def rollup(
    output: str | Path,
    *,
    since: datetime | None = None,
    target_comfyui: str | None = None,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    now: datetime,
    rollup_id: str | None = None,
) -> Rollup:
    """Roll up the runs under ``output``: a local folder or an ``s3://bucket/prefix`` URI.

    :param since: use every run started at or after it, instead of the newest run per host.
    :param target_comfyui: the upgrade whose blockers to list; hosts whose runs were checked
        against another target (or none) are left out of ``blockers`` and named in
        `Rollup.untargeted_hosts`. ``None`` lists each host's blockers for its own target.
    :param stale_after: a host whose newest complete run started longer ago than this before
        ``now`` is stale.
    :param rollup_id: the roll-up's id; by default a new one from ``now``.
    :raises InputError: if ``output`` does not exist, holds no runs, or a ``run.json`` or report
        table under it cannot be read; the message names the path.
    """
    root = open_location(output)
    found = find_runs(root)
    if not found.complete and not found.incomplete:
        raise InputError(f"{root.display}: no runs found (a run is a folder holding run.json)")
    now = to_utc(now)
    rid = rollup_id or new_rollup_id(now)
    picks = pick(found.complete, since)
    targeted = [
        p for p in picks if target_comfyui is None or _same_version(p.target, target_comfyui)
    ]
    findings = gathered(_source(root, picks, "findings"), _FINDINGS_READ)
    nodes = gathered(_source(root, picks, "nodes"), _NODES_READ)
    blockers = _blocker_rows(
        replace(findings, selection=_source(root, targeted, "findings").selection),
        replace(nodes, selection=_source(root, targeted, "nodes").selection),
    )
    return Rollup(
        rollup_id=rid,
        created_at=now,
        source=root.display,
        since=None if since is None else to_utc(since),
        target_comfyui=target_comfyui,
        stale_after=stale_after,
        runs_found=len(found.complete),
        runs_used=len({p.run.run_id for p in picks}),
        untargeted_hosts=tuple(_untargeted(picks, targeted, target_comfyui)),
        hosts=_table(HOSTS_SCHEMA, rid, _host_rows(picks, findings)),
        packs=_table(PACKS_SCHEMA, rid, _pack_rows(findings)),
        blockers=_table(BLOCKERS_SCHEMA, rid, blockers),
        drift=_table(DRIFT_SCHEMA, rid, _drift_rows(nodes)),
        stale=_table(STALE_SCHEMA, rid, _stale_rows(found, now, stale_after)),
        incomplete=_table(INCOMPLETE_SCHEMA, rid, _incomplete_rows(found)),
        vulnerabilities=_table(
            VULNERABILITIES_ROLLUP_SCHEMA,
            rid,
            vulnerability_rows(root, [(p.run, p.host) for p in picks]),
        ),
        workflows=_table(
            WORKFLOWS_ROLLUP_SCHEMA,
            rid,
            workflow_rows(root, [(p.run, p.host, p.target) for p in picks]),
        ),
    )
