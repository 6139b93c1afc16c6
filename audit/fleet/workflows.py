"""The fleet's ``workflows`` table: for each workflow, on how many hosts it was judged, how many
can run it now and after the upgrade, and what stops it most often.

Like the other roll-up tables, streamed through Acero plans over the chosen runs'
``workflows.parquet`` files; runs written before workflows existed have none and add nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from audit.fleet.query import TableSource, aggregate
from audit.fleet.runs import RunInfo
from audit.report.schema import WORKFLOWS_SCHEMA
from audit.report.storage import Location

__all__ = ["TOP_BLOCKERS", "workflow_rows"]

#: Blockers listed per workflow, most hosts first.
TOP_BLOCKERS = 5
_BLOCKING = ["missing-pack", "disabled-pack", "missing-node", "banned-node"]
_FILE = "workflows.parquet"

Row = dict[str, Any]


def workflow_rows(root: Location, picks: Sequence[tuple[RunInfo, str, str | None]]) -> list[Row]:
    """One row per workflow of the chosen (run, host, target) picks, busiest first."""
    source = _source(root, picks)
    if not source.files:
        return []
    per_host = aggregate(
        source,
        where=pc.scalar(True),
        columns={
            "workflow": pc.field("workflow"),
            "now": pc.field("runnable_now").cast(pa.int8()),
            "after": pc.field("runnable_after_upgrade").cast(pa.int8()),
        },
        reads=["workflow", "runnable_now", "runnable_after_upgrade"],
        keys=["workflow", "host"],
        aggregates=[("now", "hash_min", "now"), ("after", "hash_min", "after")],
    )
    blockers = _blockers(source)
    counts: dict[str, list[int | None]] = defaultdict(lambda: [0, 0, None])
    for row in per_host.to_pylist():
        count = counts[row["workflow"]]
        count[0] = (count[0] or 0) + 1
        count[1] = (count[1] or 0) + (row["now"] == 1)
        if row["after"] is not None:
            count[2] = (count[2] or 0) + (row["after"] == 1)
    rows = [
        {
            "workflow": workflow,
            "hosts": hosts,
            "hosts_runnable_now": now,
            "hosts_runnable_after_upgrade": after,
            "top_blockers": blockers.get(workflow, []),
        }
        for workflow, (hosts, now, after) in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r["hosts"], r["workflow"]))


def _blockers(source: TableSource) -> dict[str, list[str]]:
    found = aggregate(
        source,
        where=pc.field("status").isin(_BLOCKING) & pc.invert(pc.field("bypassed")),
        columns={
            "workflow": pc.field("workflow"),
            "node_id": pc.coalesce(pc.field("node_id"), pc.scalar("?")),
            "status": pc.field("status"),
        },
        reads=["workflow", "node_id", "status", "bypassed"],
        keys=["workflow", "node_id", "status"],
        aggregates=[("host", "hash_count_distinct", "hosts")],
    )
    by_workflow: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in found.to_pylist():
        label = f"{row['node_id']} ({row['status']}): {row['hosts']} hosts"
        by_workflow[row["workflow"]].append((-row["hosts"], label))
    return {
        w: [label for _, label in sorted(items)[:TOP_BLOCKERS]] for w, items in by_workflow.items()
    }


def _source(root: Location, picks: Sequence[tuple[RunInfo, str, str | None]]) -> TableSource:
    with_file = [(run, host, target) for run, host, target in picks if _FILE in run.files]
    selection = pa.table(
        {
            "run_id": pa.array([run.run_id for run, _, _ in with_file], pa.string()),
            "host": pa.array([host for _, host, _ in with_file], pa.string()),
            "target_comfyui": pa.array([target for _, _, target in with_file], pa.string()),
        }
    )
    runs = {run.folder.path: run for run, _, _ in with_file}
    files = [run.table("workflows") for _, run in sorted(runs.items())]
    return TableSource(root.display, files, WORKFLOWS_SCHEMA, selection)
