"""The baseline: an earlier run's findings, against which each finding is marked new or known.

A finding's identity (`identity`) is its host, node id (any case, as registry ids compare),
version, check code, ``when``, ``expected``, ``actual``, ``workflow`` and ``vuln_id``. The
message is left out, since its wording may change between releases of the tool; ``expected`` and
``actual`` are in, since they tell apart two findings of one check about one pack
(``dependency.missing`` of ``numpy`` and of ``torch``), and a changed fact (a new installed
version, another ``tags_admin`` entry) is a new finding; ``workflow`` and ``vuln_id`` tell apart
one check's findings about two workflows, or two advisories with the same fix. An empty text and
a null are the same, because CSV cannot tell them apart. A baseline written before a column
existed lacks it: that column is then left out of the comparison (null on both sides).

A finding is *known* when the baseline holds one with the same identity, and, if the finding
counts for the exit code (it is not waived), one that counted too, at the same or a worse
severity. So a finding is *new* also when it newly counts: its waiver expired, its pack was
enabled again (``info`` before), or a severity override made it worse. That is what
``--fail-on-new`` must fail on.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from audit import safeio
from audit.errors import InputError, describe_error
from audit.model import AuditRun, Finding, Severity
from audit.report.csvout import restore_cell

__all__ = ["IDENTITY_COLUMNS", "Baseline", "Identity", "identity", "load_baseline"]

#: The findings-table columns that make up a finding's identity.
IDENTITY_COLUMNS = (
    "host",
    "node_id",
    "version",
    "check",
    "when",
    "expected",
    "actual",
    "workflow",
    "vuln_id",
)
#: Identity columns that baselines written before them lack.
_LATER_COLUMNS = frozenset({"workflow", "vuln_id"})

#: The further columns a baseline reads: whether and how badly each finding counted.
_STATE_COLUMNS = ("severity", "waived")
_COLUMNS = (*IDENTITY_COLUMNS, *_STATE_COLUMNS)

Identity = tuple[str | None, ...]
"""A finding's identity: the values of ``IDENTITY_COLUMNS``, normalised."""

NEW = "new"
KNOWN = "known"


def _identity(values: Sequence[object]) -> Identity:
    host, node_id, *rest = (None if v is None or v == "" else str(v) for v in values)
    return (host, None if node_id is None else node_id.lower(), *rest)


def identity(finding: Finding) -> Identity:
    """Return the identity by which a baseline knows ``finding``.

    >>> from audit.model import FindingSource, Severity
    >>> f = Finding("gpu-01", "ComfyUI-Foo", "1.0", "security.tag", Severity.WARNING,
    ...             "any message", FindingSource.REGISTRY, actual="any-code-execute")
    >>> identity(f)
    ('gpu-01', 'comfyui-foo', '1.0', 'security.tag', 'now', None, 'any-code-execute', None, None)
    """
    f = finding
    return _identity(
        (
            f.host,
            f.node_id,
            f.version,
            f.check,
            f.when.value,
            f.expected,
            f.actual,
            f.workflow,
            f.vuln_id,
        )
    )


@dataclass(frozen=True)
class Baseline:
    """Represents the findings of an earlier run, by identity."""

    path: str
    seen: frozenset[Identity]
    """Every identity in the baseline, waived or not."""
    counted: Mapping[Identity, Severity]
    """The worst severity at which each identity counted (was not waived) in the baseline."""
    absent: frozenset[int] = frozenset()
    """Positions in an identity of the columns the baseline lacks (written before them)."""

    def is_known(self, finding: Finding) -> bool:
        """Whether the baseline knows ``finding``, as the module docstring defines it."""
        key = tuple(None if i in self.absent else v for i, v in enumerate(identity(finding)))
        if finding.waived:
            return key in self.seen
        worst = self.counted.get(key)
        return worst is not None and finding.severity <= worst

    def mark(self, findings: Iterable[Finding]) -> tuple[Finding, ...]:
        """Return ``findings`` in order, each with ``baseline`` set to ``new`` or ``known``."""
        return tuple(replace(f, baseline=KNOWN if self.is_known(f) else NEW) for f in findings)

    def mark_run(self, run: AuditRun) -> AuditRun:
        """Return ``run`` with every finding marked; ``exit_code`` is left as it was."""
        entries = tuple(replace(a, findings=self.mark(a.findings)) for a in run.entries)
        return replace(run, host_findings=self.mark(run.host_findings), entries=entries)


def load_baseline(path: str | Path) -> Baseline:
    """Read the findings of a run folder (its ``findings.parquet``), or of a findings file
    (``.parquet`` or ``.csv`` as comfy-audit writes them).

    :raises InputError: of one line naming ``path`` when it is missing, not a run folder or
        findings file, unreadable, or lacks a column it needs.
    """
    name = str(path)
    where = Path(path)
    if where.is_dir():
        where = where / "findings.parquet"
        if not where.is_file():
            raise InputError(f"{name}: not a run folder: it has no findings.parquet")
    elif not where.exists():
        raise InputError(f"{name}: no such file or folder")
    suffix = where.suffix.lower()
    if suffix == ".parquet":
        found = _parquet_rows(where, name)
    elif suffix == ".csv":
        found = _csv_rows(where, name)
    else:
        raise InputError(f"{name}: not a baseline: give a run folder, or a .parquet or .csv file")
    columns, rows = found
    absent = frozenset(i for i, c in enumerate(IDENTITY_COLUMNS) if c not in columns)
    return replace(_baseline(rows, name), absent=absent)


def _baseline(rows: Iterable[Sequence[object]], name: str) -> Baseline:
    seen: set[Identity] = set()
    counted: dict[Identity, Severity] = {}
    for row in rows:
        key = _identity(row[: len(IDENTITY_COLUMNS)])
        label, waived = row[len(IDENTITY_COLUMNS) :]
        seen.add(key)
        if waived in (True, "true"):
            continue
        try:
            severity = Severity.parse(str(label))
        except ValueError:
            raise InputError(f"{name}: not a findings table: unknown severity {label!r}") from None
        counted[key] = max(severity, counted.get(key, severity))
    return Baseline(name, frozenset(seen), counted)


_Rows = tuple[frozenset[str], list[tuple[object, ...]]]
"""The columns a findings file has, and its rows (``_COLUMNS``, null where it has none)."""


def _missing(columns: Iterable[str], name: str) -> None:
    absent = [c for c in _COLUMNS if c not in columns and c not in _LATER_COLUMNS]
    if absent:
        raise InputError(f"{name}: not a findings table: it has no column {absent[0]!r}")


def _parquet_rows(path: Path, name: str) -> _Rows:
    with _translating(name):
        names = frozenset(pq.read_schema(path).names)
    _missing(names, name)
    present = [c for c in _COLUMNS if c in names]
    with _translating(name):
        table = pq.read_table(path, columns=present)
        nulls = [None] * table.num_rows
        columns = [table.column(c).to_pylist() if c in names else nulls for c in _COLUMNS]
    return names, list(zip(*columns, strict=True))


def _csv_rows(path: Path, name: str) -> _Rows:
    with _translating(name):
        text = safeio.read_bytes(path).decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        names = frozenset(reader.fieldnames or ())
        _missing(names, name)
        return names, [tuple(_restored(row.get(c)) for c in _COLUMNS) for row in reader]


def _restored(cell: str | None) -> str | None:
    return None if cell is None else restore_cell(cell)


@contextmanager
def _translating(name: str) -> Iterator[None]:
    """Turn an OS, pyarrow or decoding error into a one-line InputError naming the baseline."""
    try:
        yield
    except InputError:
        raise
    except (OSError, pa.ArrowException, UnicodeDecodeError, csv.Error, ValueError) as e:
        raise InputError(f"{name}: cannot read the baseline: {describe_error(e)}") from e
