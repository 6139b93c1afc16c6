"""A fleet's history for the roll-up case: 10,000 single-host run folders, quickly.

Auditing 10,000 runs one by one would take hours, so the folders are cut from one real
``comfy-audit run`` over many hosts (the fleet case's output): each generated host takes one real
host's rows of ``nodes``, ``findings``, ``requirements`` and ``recommendations`` and its
environment profile, under its own name and a new run id per run. Every file of a run folder is
written as `audit.report.write` writes it: the four tables as Parquet (``pq.write_table`` with its
defaults) and as CSV (`csv_bytes`), then ``run.json`` (`run_document`'s keys, `json_bytes`), so
the roll-up lists and reads what it would after 10,000 real runs.

Each host runs once a day, at its own time, for ``runs_per_host`` days up to now; a few hosts
stopped reporting ``STALE_DAYS`` days earlier (the roll-up's stale table). Folders are written by
one worker process per CPU.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from audit.report.schema import (
    FINDINGS_SCHEMA,
    NODES_SCHEMA,
    RECOMMENDATIONS_SCHEMA,
    REQUIREMENTS_SCHEMA,
    SEVERITY_LABELS,
)
from audit.report.write import csv_bytes, json_bytes

__all__ = ["STALE_DAYS", "FleetRuns", "write_runs"]

STEMS = {
    "nodes": NODES_SCHEMA,
    "findings": FINDINGS_SCHEMA,
    "requirements": REQUIREMENTS_SCHEMA,
    "recommendations": RECOMMENDATIONS_SCHEMA,
}
STALE_SHARE = 0.02
"""Of the hosts, how many stopped reporting some days ago."""
STALE_DAYS = 10
#: Placeholders of the CSV templates: same text in every row, replaced per run.
_RUN_ID, _HOST = "@@run_id@@", "@@host@@"
#: Placeholders of the run.json template: the run's own values, as JSON strings.
_RUN_JSON = ("run_id", "host", "started_at", "finished_at", "duration_seconds")
#: The exit code of a run whose findings include an error or worse (``--fail-on error``).
_FAILING = {"error", "critical"}


@dataclass(frozen=True)
class _Template:
    """Represents one real host of the source run: its rows and profile."""

    tables: dict[str, pa.Table]
    csv: dict[str, bytes]
    """Each table as its CSV file, ``run_id`` and ``host`` as placeholders."""
    run_json: bytes
    """Its ``run.json``, the run's own values as placeholders (`_RUN_JSON`)."""


@dataclass(frozen=True)
class _RunSpec:
    """Represents one run folder to write: which host, when, from which template."""

    run_id: str
    host: str
    started_at: datetime
    seconds: float
    template: int


@dataclass(frozen=True)
class FleetRuns:
    """Represents the written runs."""

    runs: int
    hosts: int
    stale_hosts: int
    source_hosts: int
    files: int
    bytes: int
    nodes_rows: int
    findings_rows: int


def _source(folder: Path) -> list[_Template]:
    """The template of every host of the one run under ``folder``."""
    (run_json,) = folder.glob("*/run.json")
    document = json.loads(run_json.read_text(encoding="utf-8"))
    tables = {stem: pq.read_table(run_json.parent / f"{stem}.parquet") for stem in STEMS}
    templates = []
    for host in sorted(document["hosts"]):
        rows = {stem: t.filter(pc.equal(t.column("host"), host)) for stem, t in tables.items()}
        templates.append(_template(rows, document, host))
    return templates


def _template(tables: dict[str, pa.Table], source: dict[str, Any], host: str) -> _Template:
    csv = {stem: csv_bytes(_with_ids(t, STEMS[stem], _RUN_ID, _HOST)) for stem, t in tables.items()}
    severities = pc.value_counts(tables["findings"].column("severity").cast(pa.string()))
    found = {str(s["values"]): int(s["counts"].as_py()) for s in severities}
    mark = {key: f"@@{key}@@" for key in _RUN_JSON}
    options = dict(source["options"], manifests=[f"/srv/comfyui/snapshots/{mark['host']}.json"])
    document = {
        key: source[key] for key in ("tool", "tool_version", "schema_version", "environment")
    } | {
        **{key: mark[key] for key in _RUN_JSON if key != "host"},
        "hosts": {mark["host"]: source["hosts"][host]},
        "options": options,
        "counts": {
            "entries": tables["nodes"].num_rows,
            "hosts": 1,
            "findings": {label: found.get(label, 0) for label in SEVERITY_LABELS},
            "requirements": tables["requirements"].num_rows,
            "recommendations": tables["recommendations"].num_rows,
        },
        "exit_code": 1 if any(found.get(label) for label in _FAILING) else 0,
    }
    return _Template(tables, csv, json_bytes(document))


def _with_ids(table: pa.Table, schema: pa.Schema, run_id: str, host: str) -> pa.Table:
    """``table`` with every row's ``run_id`` and ``host`` set to these."""
    n = table.num_rows
    for name, value in (("run_id", run_id), ("host", host)):
        index = schema.get_field_index(name)
        table = table.set_column(index, schema.field(name), pa.array([value] * n, pa.string()))
    return table


def _run_json(spec: _RunSpec, template: bytes) -> bytes:
    finished = spec.started_at + timedelta(seconds=spec.seconds)
    values = {
        "run_id": json.dumps(spec.run_id),
        "host": json.dumps(spec.host),
        "started_at": json.dumps(_iso(spec.started_at)),
        "finished_at": json.dumps(_iso(finished)),
        "duration_seconds": json.dumps(spec.seconds),
    }
    for key, value in values.items():
        template = template.replace(json.dumps(f"@@{key}@@").encode(), value.encode())
    # NOTE: the manifest path holds the host name inside a longer string.
    return template.replace(b"@@host@@", spec.host.encode())


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _write(output: Path, template: _Template, spec: _RunSpec) -> int:
    """Write one run folder as `audit.report.write` does; the bytes written."""
    folder = output / spec.run_id
    folder.mkdir()
    written = 0
    run_id, host = spec.run_id.encode(), spec.host.encode()
    for stem, schema in STEMS.items():
        table = _with_ids(template.tables[stem], schema, spec.run_id, spec.host)
        pq.write_table(table, str(folder / f"{stem}.parquet"))
        written += (folder / f"{stem}.parquet").stat().st_size
        text = template.csv[stem].replace(_RUN_ID.encode(), run_id).replace(_HOST.encode(), host)
        written += (folder / f"{stem}.csv").write_bytes(text)
    # NOTE: run.json last, as comfy-audit writes it: it marks a complete run.
    return written + (folder / "run.json").write_bytes(_run_json(spec, template.run_json))


def _write_batch(output: Path, template: _Template, specs: Sequence[_RunSpec]) -> int:
    return sum(_write(output, template, spec) for spec in specs)


def _plan(
    rng: random.Random, hosts: int, runs_per_host: int, templates: int, now: datetime
) -> list[_RunSpec]:
    """Which runs to write: ``runs_per_host`` daily runs of each of ``hosts`` hosts."""
    specs: list[_RunSpec] = []
    ids: set[str] = set()
    for index in range(hosts):
        host = f"render-{index:04d}"
        late = timedelta(days=STALE_DAYS if rng.random() < STALE_SHARE else 0)
        at = timedelta(minutes=rng.randint(10, 23 * 60))
        for day in range(runs_per_host):
            started = now - late - at - timedelta(days=day, seconds=rng.randint(0, 300))
            run_id = ""
            while not run_id or run_id in ids:
                run_id = f"{started:%Y%m%dT%H%M%SZ}-{rng.getrandbits(24):06x}"
            ids.add(run_id)
            seconds = round(rng.uniform(0.5, 4.0), 6)
            specs.append(_RunSpec(run_id, host, started, seconds, index % templates))
    return specs


def write_runs(
    source: Path,
    output: Path,
    rng: random.Random,
    *,
    hosts: int,
    runs_per_host: int,
    now: datetime,
    workers: int | None = None,
) -> FleetRuns:
    """Write ``hosts * runs_per_host`` run folders under ``output``, cut from the one run
    under ``source``; host ``i`` takes the rows of the source's ``i % n``-th host."""
    templates = _source(source)
    specs = _plan(rng, hosts, runs_per_host, len(templates), now.astimezone(UTC))
    output.mkdir(parents=True, exist_ok=True)
    workers = workers or len(os.sched_getaffinity(0))
    by_template: list[list[_RunSpec]] = [[] for _ in templates]
    for spec in specs:
        by_template[spec.template].append(spec)
    # NOTE: spawned, not forked: the benchmark runs the loopback registry in a thread. Each task
    # is one template and its runs, so that every template is sent to a worker once.
    context = get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        tasks = pool.map(
            _write_batch, itertools.repeat(output), templates, by_template, chunksize=8
        )
        written = sum(tasks)
    stale = len({s.host for s in specs if now - s.started_at > timedelta(days=STALE_DAYS)})
    used = [templates[s.template] for s in specs]
    return FleetRuns(
        runs=len(specs),
        hosts=hosts,
        stale_hosts=stale,
        source_hosts=len(templates),
        files=len(specs) * (2 * len(STEMS) + 1),
        bytes=written,
        nodes_rows=sum(t.tables["nodes"].num_rows for t in used),
        findings_rows=sum(t.tables["findings"].num_rows for t in used),
    )
