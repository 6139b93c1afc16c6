"""Aggregate one table (``nodes`` or ``findings``) of many runs with an Acero plan.

Why pyarrow datasets and Acero, not pandas or DuckDB: a plan streams record batches from the
Parquet files of the chosen runs through a filter, a hash join with the chosen (run, host) pairs
and a hash aggregation, so only the aggregation's state (one row per group) and the pairs are
held in memory, never the runs: a roll-up of 10,000 runs needs memory for its answer, not its
input. pyarrow is already the reports' dependency, reads ``s3://`` through the same FileSystem
the writer uses, fills columns that older runs lack with nulls (the explicit schema), and does
everything these few fixed queries need; DuckDB would add a second engine and dependency for
SQL the roll-up does not need. The README shows DuckDB and Spark one-liners for ad-hoc questions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.acero as acero
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from audit.errors import InputError
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
#: Files a scan reads at once: pyarrow's default on a local disk; on an object store, where each
#: file costs round trips, more keep the network busy (memory: a few batches per file in flight).
_FILES_IN_FLIGHT = {True: 4, False: 32}


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

    def dataset(self, files: Sequence[Location] | None = None) -> ds.Dataset:
        """The Parquet files (all, or ``files``) as one dataset with the report's schema; the
        gathered rows instead, when there are some and no ``files`` are named."""
        if files is None and self.rows is not None:
            return ds.InMemoryDataset(self.rows)
        files = self.files if files is None else files
        filesystem = files[0].filesystem if files else pafs.LocalFileSystem()
        return ds.FileSystemDataset.from_paths(
            [f.path for f in files],
            schema=self.schema,
            format=ds.ParquetFileFormat(),
            filesystem=filesystem,
        )


def _plan(
    source: TableSource,
    where: pc.Expression,
    columns: Mapping[str, pc.Expression],
    reads: Sequence[str],
    keys: Sequence[str],
    aggregates: Sequence[Aggregate],
) -> acero.Declaration:
    scan_options = acero.ScanNodeOptions(
        source.dataset(),
        columns=list(reads),
        filter=where,
        fragment_readahead=_FILES_IN_FLIGHT[source.local],
    )
    scan = acero.Declaration("scan", scan_options)
    kept = acero.Declaration("filter", acero.FilterNodeOptions(where), inputs=[scan])
    named = {**{k: pc.field(k) for k in _JOIN_KEYS}, **columns}
    project = acero.ProjectNodeOptions(list(named.values()), list(named))
    projected = acero.Declaration("project", project, inputs=[kept])
    chosen = acero.Declaration("table_source", acero.TableSourceNodeOptions(source.selection))
    # NOTE: the chosen pairs are the build side of the join; the runs' rows only stream past.
    join = acero.HashJoinNodeOptions(
        "inner", _JOIN_KEYS, _JOIN_KEYS, left_output=list(named), right_output=[_CARRIED]
    )
    joined = acero.Declaration("hashjoin", join, inputs=[projected, chosen])
    by = acero.AggregateNodeOptions(
        [(column, function, None, name) for column, function, name in aggregates], keys=keys
    )
    return acero.Declaration("aggregate", by, inputs=[joined])


def _broken_file(source: TableSource, reads: Sequence[str]) -> InputError | None:
    for file in source.files:
        try:
            source.dataset([file]).to_table(columns=list(reads))
        except (OSError, pa.ArrowException) as e:
            reason = redact(" ".join(str(e).split()))
            return InputError(f"{file.display}: not a readable report table: {reason}")
    return None


def aggregate(
    source: TableSource,
    *,
    where: pc.Expression,
    columns: Mapping[str, pc.Expression],
    reads: Sequence[str],
    keys: Sequence[str],
    aggregates: Sequence[Aggregate],
) -> pa.Table:
    """Return the rows of ``source`` that match ``where``, projected to ``columns`` (plus
    ``run_id``, ``host`` and the pair's ``target_comfyui``), grouped by ``keys``.

    :param reads: every column of the files that ``where`` and ``columns`` use.
    :raises InputError: naming the file, if a Parquet file cannot be read or does not have the
        report's columns.
    """
    reads = list(dict.fromkeys([*_JOIN_KEYS, *reads]))
    return _table(_plan(source, where, columns, reads, keys, aggregates), source, reads)


def gathered(source: TableSource, reads: Sequence[str]) -> TableSource:
    """Return ``source`` with the rows of its chosen (run, host) pairs, columns ``reads`` (plus
    ``run_id`` and ``host``), read in one scan of its files.

    Every aggregation of a roll-up then reads these rows instead of opening every file again:
    one pass over the files instead of one per question. They are the chosen runs' rows of a
    few narrow columns, never the whole history.

    :raises InputError: naming the file, as `aggregate` does.
    """
    reads = list(dict.fromkeys([*_JOIN_KEYS, *reads]))
    scan_options = acero.ScanNodeOptions(
        source.dataset(), columns=reads, fragment_readahead=_FILES_IN_FLIGHT[source.local]
    )
    scan = acero.Declaration("scan", scan_options)
    project = acero.ProjectNodeOptions([pc.field(c) for c in reads], reads)
    projected = acero.Declaration("project", project, inputs=[scan])
    pairs = acero.TableSourceNodeOptions(source.selection.select(_JOIN_KEYS))
    chosen = acero.Declaration("table_source", pairs)
    join = acero.HashJoinNodeOptions("left semi", _JOIN_KEYS, _JOIN_KEYS)
    plan = acero.Declaration("hashjoin", join, inputs=[projected, chosen])
    return replace(source, rows=_table(plan, source, reads))


def _table(plan: acero.Declaration, source: TableSource, reads: Sequence[str]) -> pa.Table:
    try:
        return plan.to_table(use_threads=True)
    except (OSError, pa.ArrowException) as e:
        # NOTE: the plan's error may not say which of thousands of files is broken; find it.
        broken = _broken_file(source, reads)
        reason = redact(" ".join(str(e).split()))
        raise broken or InputError(f"{source.display}: cannot read the runs: {reason}") from e
