"""Aggregate one table (``nodes``, ``findings``, ...) of the chosen runs with Acero plans.

Each chosen run's Parquet file is read whole (the columns asked for), a few at once, and only
the rows of the chosen (run, host) pairs are kept: in memory are the chosen rows of a few
narrow columns, never the whole history, and each file is read once however many questions the
roll-up asks. A plan then filters, projects and groups those rows, joining them with the chosen
pairs only where it needs each pair's upgrade target. Why not pyarrow datasets: they cost twice
the CPU per small file (thousands of runs are thousands of 10 KB files) and their import loads
pandas. Why not DuckDB: a second engine and dependency for a few fixed queries; the README
shows DuckDB and Spark one-liners for ad-hoc questions. pyarrow is already the reports'
dependency and reads ``s3://`` through the same FileSystem the writer uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

# NOTE: the plan nodes from pyarrow's own module; ``pyarrow.acero`` imports pyarrow.dataset,
# which imports pandas, for nothing the roll-up uses.
from pyarrow import _acero as acero

from audit.errors import InputError
from audit.fleet.files import read_columns
from audit.fleet.shares import LOCAL_WORKERS, per_share
from audit.report.schema import SEVERITY_LABELS
from audit.report.storage import Location, redact

__all__ = ["SEVERITY_RANK", "Aggregate", "TableSource", "aggregate", "gathered"]

#: The severity of a findings row as a number, info 0 to critical 3 (it is a dictionary column).
SEVERITY_RANK = pc.index_in(
    pc.field("severity").cast(pa.string()), value_set=pa.array(SEVERITY_LABELS)
)

#: One aggregation: (input column, Acero hash function, output column).
Aggregate = tuple[str, str, str]
_JOIN_KEYS = ["run_id", "host"]
_CARRIED = "target_comfyui"
#: Files read at once: one per core on a local disk; on an object store, where each file costs
#: round trips, more keep the network busy.
_FILES_IN_FLIGHT = {True: LOCAL_WORKERS, False: 32}
#: Rows a reader holds before it drops those of pairs not chosen (a run of many hosts, some of
#: which have newer runs elsewhere).
_KEEP_ROWS = 1 << 20


@dataclass(frozen=True)
class TableSource:
    """Represents one table of the chosen runs: their Parquet files and the rows wanted.

    ``selection`` holds the chosen (``run_id``, ``host``) pairs and each one's
    ``target_comfyui``; a row of the table counts only when its pair is chosen.
    """

    display: str
    """How messages name the runs' folder."""
    files: Sequence[Location]
    schema: pa.Schema
    selection: pa.Table
    rows: pa.Table | None = None
    """The chosen runs' rows, when `gathered` has read them: the files are not read again."""

    @property
    def local(self) -> bool:
        return all(f.local for f in self.files)


def _conformed(table: pa.Table, wanted: pa.Schema) -> pa.Table:
    """``table`` with the columns of ``wanted``: those it lacks null (older runs lack some),
    the others cast to their type."""
    if table.schema.equals(wanted):
        return table  # NOTE: what every file that comfy-audit wrote is: no copy, no cast.
    columns = []
    for field in wanted:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, field.type))
        else:
            column = table.column(field.name)
            columns.append(column if column.type == field.type else column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=wanted)


def _wanted(schema: pa.Schema, reads: Sequence[str]) -> pa.Schema:
    """The columns ``reads`` of ``schema``, as `_conformed` makes every file's."""
    return pa.schema([schema.field(name) for name in reads], metadata=schema.metadata)


def _chosen(tables: Sequence[pa.Table], pairs: pa.Table) -> pa.Table:
    """The rows of ``tables`` whose (run_id, host) is one of ``pairs``, in one chunk: a
    semi-join, as integer codes (each run id's and each host's position among the pairs')."""
    # NOTE: one chunk, not one per file: a plan handles each chunk as a batch of its own.
    rows = pa.concat_tables(tables).combine_chunks()
    run_ids, hosts = pc.unique(pairs.column("run_id")), pc.unique(pairs.column("host"))

    def code(table: pa.Table) -> pa.Array:
        run = pc.index_in(table.column("run_id"), value_set=run_ids).cast(pa.int64())
        host = pc.index_in(table.column("host"), value_set=hosts).cast(pa.int64())
        return pc.add(pc.multiply(run, len(hosts)), host)

    # NOTE: a row whose run id or host is not among the pairs' has a null code, not in the set.
    chosen = pc.is_in(code(rows), value_set=code(pairs))
    return rows if pc.all(chosen).as_py() else rows.filter(chosen)


def _read_share(
    files: Sequence[Location], schema: pa.Schema, reads: Sequence[str], pairs: pa.Table
) -> pa.Table:
    """The chosen rows of ``files``, read one after the other."""
    wanted = _wanted(schema, reads)
    tables: list[pa.Table] = []
    held = 0
    for file in files:
        table = read_columns(file, reads)
        try:
            table = _conformed(table, wanted)
        except (pa.ArrowException, ValueError) as e:
            reason = redact(" ".join(str(e).split()))
            raise InputError(f"{file.display}: not a readable report table: {reason}") from None
        tables.append(table)
        held += table.num_rows
        if held >= _KEEP_ROWS:
            tables = [_chosen(tables, pairs)]
            held = tables[0].num_rows
    return _chosen(tables, pairs)


def _rows(source: TableSource, reads: Sequence[str]) -> pa.Table:
    """The rows of ``source``'s chosen pairs, columns ``reads``: gathered, or read now."""
    if source.rows is not None:
        return source.rows.select(list(reads))
    pairs = source.selection.select(_JOIN_KEYS)
    shares = per_share(
        lambda files: _read_share(files, source.schema, reads, pairs),
        source.files,
        _FILES_IN_FLIGHT[source.local],
    )
    if not shares:
        return _conformed(pa.table({}), _wanted(source.schema, reads))
    return pa.concat_tables(shares)


def _plan(
    rows: pa.Table,
    selection: pa.Table | None,
    where: pc.Expression,
    columns: Mapping[str, pc.Expression],
    keys: Sequence[str],
    aggregates: Sequence[Aggregate],
) -> acero.Declaration:
    source = acero.Declaration("table_source", acero.TableSourceNodeOptions(rows))
    kept = acero.Declaration("filter", acero.FilterNodeOptions(where), inputs=[source])
    named = {**{k: pc.field(k) for k in _JOIN_KEYS}, **columns}
    project = acero.ProjectNodeOptions(list(named.values()), list(named))
    projected = acero.Declaration("project", project, inputs=[kept])
    if selection is not None:
        chosen = acero.Declaration("table_source", acero.TableSourceNodeOptions(selection))
        # NOTE: the chosen pairs are the build side of the join; the kept rows stream past.
        join = acero.HashJoinNodeOptions(
            "inner", _JOIN_KEYS, _JOIN_KEYS, left_output=list(named), right_output=[_CARRIED]
        )
        projected = acero.Declaration("hashjoin", join, inputs=[projected, chosen])
    by = acero.AggregateNodeOptions(
        [(column, function, None, name) for column, function, name in aggregates], keys=keys
    )
    return acero.Declaration("aggregate", by, inputs=[projected])


def aggregate(
    source: TableSource,
    *,
    where: pc.Expression,
    columns: Mapping[str, pc.Expression],
    reads: Sequence[str],
    keys: Sequence[str],
    aggregates: Sequence[Aggregate],
    with_target: bool = False,
) -> pa.Table:
    """Return the rows of ``source`` that match ``where``, projected to ``columns`` (plus
    ``run_id`` and ``host``), grouped by ``keys``.

    :param reads: every column of the files that ``where`` and ``columns`` use.
    :param with_target: join each row with its pair in ``source.selection``, which adds the
        pair's ``target_comfyui`` and keeps only the rows of those pairs (a selection narrower
        than the one the rows were gathered for). Without it, no join: the rows are those of
        the chosen pairs already, as reading them leaves them.
    :raises InputError: naming the file, if a Parquet file cannot be read or its columns are
        not of the report's types.
    """
    rows = _rows(source, list(dict.fromkeys([*_JOIN_KEYS, *reads])))
    selection = source.selection if with_target else None
    plan = _plan(rows, selection, where, columns, keys, aggregates)
    try:
        # NOTE: one thread: these plans take tens of milliseconds, less than threads cost.
        return plan.to_table(use_threads=False)
    except (OSError, pa.ArrowException) as e:
        reason = redact(" ".join(str(e).split()))
        raise InputError(f"{source.display}: cannot read the runs: {reason}") from e


def gathered(source: TableSource, reads: Sequence[str]) -> TableSource:
    """Return ``source`` with the rows of its chosen (run, host) pairs, columns ``reads`` (plus
    ``run_id`` and ``host``), read file by file, a few files at once.

    Every aggregation of a roll-up then reads these rows instead of opening every file again:
    one pass over the files instead of one per question. They are the chosen runs' rows of a
    few narrow columns, never the whole history.

    :raises InputError: naming the file, as `aggregate` does.
    """
    return replace(source, rows=_rows(source, list(dict.fromkeys([*_JOIN_KEYS, *reads]))))
