"""Write one run folder, ``OUTPUT/<run_id>/``, atomically: tables as Parquet and CSV, then run.json.

Every file goes into a hidden ``.<run_id>.partial-<random>`` folder beside the final one, which is
renamed into place only once ``run.json`` (written last) is complete. A failed or interrupted write
therefore never leaves a folder under the run's final name.

``OUTPUT`` may also be an object-store URI (``s3://bucket/prefix``, see `audit.report.storage`).
A store has no rename: the files are written in the same order, so ``run.json``, written last,
marks a complete run; a failed write removes what it wrote.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import overload

import pyarrow as pa
import pyarrow.parquet as pq

from audit import TOOL_NAME, __version__, atomic
from audit.environment import profile_to_dict
from audit.errors import ReportError, describe_error
from audit.model import AuditRun
from audit.report.csvout import csv_table, write_cells, write_csv
from audit.report.schema import SCHEMA_VERSION
from audit.report.storage import FileBuilder, is_uri, open_location, write_folder
from audit.report.tables import (
    findings_table,
    iso_utc,
    nodes_table,
    recommendations_table,
    requirements_table,
    run_hosts,
    severity_counts,
    to_utc,
    vulnerabilities_table,
    workflows_table,
)

__all__ = ["csv_bytes", "json_bytes", "parquet_bytes", "run_document", "write_run"]

_TRANSLATED = (OSError, pa.ArrowException, TypeError, ValueError)
# NOTE: in this order `findings`, the largest table, is written while `nodes` is still growing,
# and no two large tables are held at once (`_write_files` writes one while it builds the next).
# `recommendations` goes last: the advice may still be in the making (`audit.pipeline`).
_TABLES = (
    ("findings", findings_table),
    ("nodes", nodes_table),
    ("requirements", requirements_table),
    ("vulnerabilities", vulnerabilities_table),
    ("workflows", workflows_table),
    ("recommendations", recommendations_table),
)


def run_document(run: AuditRun) -> dict[str, object]:
    """Return the content of ``run.json``: tool, times, environments, options and counts."""
    started, finished = to_utc(run.started_at), to_utc(run.finished_at)
    hosts = {host: profile_to_dict(env) for host, env in sorted(run.host_environments.items())}
    return {
        "tool": TOOL_NAME,
        "tool_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "run_id": run.run_id,
        "started_at": iso_utc(started),
        "finished_at": iso_utc(finished),
        "duration_seconds": (finished - started).total_seconds(),
        "environment": profile_to_dict(run.environment),
        "hosts": hosts,
        "options": dict(run.options),
        "counts": {
            "entries": len(run.entries),
            "hosts": len(run_hosts(run)),
            "findings": severity_counts(run),
            "requirements": len(run.requirements),
            "recommendations": len(run.recommendations),
            "vulnerabilities": len(run.vulnerabilities),
            "workflows": len({row.workflow for row in run.workflows}),
        },
        "exit_code": run.exit_code,
    }


def _json_text(document: dict[str, object]) -> str:
    hosts = document.get("hosts")
    if not isinstance(hosts, dict) or not hosts:
        return json.dumps(document, sort_keys=True, indent=2, allow_nan=False) + "\n"
    # NOTE: one line per host: indenting is done by json's pure-Python encoder, which would
    # spend seconds on a fleet's installed packages; on one line the C encoder writes them.
    text = json.dumps({**document, "hosts": {}}, sort_keys=True, indent=2, allow_nan=False)
    lines = (
        f"    {json.dumps(host)}: {json.dumps(profile, sort_keys=True, allow_nan=False)}"
        for host, profile in sorted(hosts.items())
    )
    block = "{\n" + ",\n".join(lines) + "\n  }"
    return text.replace('\n  "hosts": {}', '\n  "hosts": ' + block, 1) + "\n"


def csv_bytes(table: pa.Table) -> bytes:
    """Return ``table`` as the UTF-8 CSV file a run folder holds (see `audit.report.csvout`)."""
    sink = pa.BufferOutputStream()
    write_csv(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def json_bytes(document: dict[str, object]) -> bytes:
    """Return ``document`` as the UTF-8 JSON file a run folder holds (sorted keys, indented)."""
    return _json_text(document).encode("utf-8")


def parquet_bytes(table: pa.Table) -> bytes:
    """Return ``table`` as the bytes of a Parquet file."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


@contextmanager
def _translating(path: Path, doing: str) -> Iterator[None]:
    """Turn an OS, pyarrow or serialisation error into a one-line ReportError naming ``path``."""
    try:
        yield
    except _TRANSLATED as e:
        raise ReportError(f"{path}: {doing}: {describe_error(e)}") from e


def _write_files(
    run: AuditRun, partial: Path, final: Path, meanwhile: Callable[[], object]
) -> None:
    # NOTE: Arrow writes a table's files without holding the GIL, so they are written in a
    # thread while this one builds the next table; waiting for the previous write before
    # starting one keeps at most two tables in memory.
    with ThreadPoolExecutor(1, thread_name_prefix="report") as writer:
        writing = writer.submit(lambda: None)
        for stem, build in _TABLES:
            with _translating(final / f"{stem}.parquet", "cannot write the report"):
                table = build(run)
            with _translating(final / f"{stem}.csv", "cannot write the report"):
                cells = csv_table(table)
            writing.result()
            writing = writer.submit(_write_table, table, cells, stem, partial, final)
        with _translating(final / "run.json", "cannot write the report"):
            document = json_bytes(run_document(run))
        meanwhile()
        writing.result()
    # NOTE: run.json goes last: its presence marks a complete run (also on object stores).
    with _translating(final / "run.json", "cannot write the report"):
        atomic.write_new(partial / "run.json", document)


def _write_table(table: pa.Table, cells: pa.Table, stem: str, partial: Path, final: Path) -> None:
    """Write ``table`` as ``stem.parquet``, and its CSV ``cells`` as ``stem.csv``, in
    ``partial``; an error names the file as it will be in ``final``."""
    with _translating(final / f"{stem}.parquet", "cannot write the report"):
        pq.write_table(table, str(partial / f"{stem}.parquet"))
    with _translating(final / f"{stem}.csv", "cannot write the report"):
        atomic.write_new_from(partial / f"{stem}.csv", lambda stream: write_cells(cells, stream))


def _check_run_id(run_id: str) -> None:
    # NOTE: the id becomes one folder name; it must not climb out of OUTPUT or hide itself.
    if not run_id or run_id.startswith(".") or any(c in run_id for c in "/\\\0"):
        raise ReportError(f"{run_id!r}: not a usable run id for a report folder name")


def _refuse_existing(final: Path) -> None:
    if os.path.lexists(final):
        raise ReportError(f"{final}: the run folder already exists; it is never overwritten")


def _make_partial(output: Path, run_id: str) -> Path:
    with _translating(output, "cannot create the output folder"):
        output.mkdir(parents=True, exist_ok=True)
    partial = output / f".{run_id}.partial-{secrets.token_hex(8)}"
    with _translating(partial, "cannot create a temporary folder"):
        partial.mkdir()
    return partial


def _table_files(
    stem: str, build: Callable[[AuditRun], pa.Table], run: AuditRun
) -> list[FileBuilder]:
    # NOTE: built lazily, so that write_folder names the file a failure belongs to.
    table = functools.cache(functools.partial(build, run))
    return [
        (f"{stem}.parquet", lambda: parquet_bytes(table())),
        (f"{stem}.csv", lambda: csv_bytes(table())),
    ]


def _run_files(run: AuditRun) -> list[FileBuilder]:
    files = [file for stem, build in _TABLES for file in _table_files(stem, build, run)]
    return [*files, ("run.json", lambda: json_bytes(run_document(run)))]


@overload
def write_run(
    run: AuditRun, output_dir: Path, *, meanwhile: Callable[[], object] = ...
) -> Path: ...
@overload
def write_run(
    run: AuditRun, output_dir: str, *, meanwhile: Callable[[], object] = ...
) -> Path | str: ...
def write_run(
    run: AuditRun, output_dir: str | Path, *, meanwhile: Callable[[], object] = lambda: None
) -> Path | str:
    """Write the reports of ``run`` to ``output_dir/<run_id>/`` and return that folder.

    A local folder is returned as a `Path`; an object-store URI (``s3://bucket/prefix``) as the
    run folder's URI, a `str`.

    :param meanwhile: called once every table is made, while the last one's files are written
        (after them, to an object store); the run's advice is read by then.

    :raises ReportError: if the folder exists already, or anything cannot be written; nothing is
        then left behind but ``output_dir`` itself.
    :raises InputError: if ``output_dir`` is a malformed URI, or the store cannot be opened.
    """
    _check_run_id(run.run_id)
    if is_uri(output_dir):
        location = open_location(output_dir)
        written = write_folder(location, run.run_id, _run_files(run), what="run folder")
        meanwhile()
        return written.display
    output = Path(output_dir)
    final = output / run.run_id
    _refuse_existing(final)
    partial = _make_partial(output, run.run_id)
    try:
        _write_files(run, partial, final, meanwhile)
        _refuse_existing(final)
        # NOTE: a folder that appears between the check and the rename makes os.rename fail,
        # unless it is empty; then it is replaced, and nothing in it is lost.
        with _translating(final, "cannot move the finished reports into place"):
            os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final
