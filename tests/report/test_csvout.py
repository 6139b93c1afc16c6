"""CSV files through Arrow: the text of every kind of cell, formula-looking text neutralised."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from audit.model import Severity
from audit.report.csvout import restore_cell, write_csv
from audit.report.schema import SEVERITY_TYPE
from audit.report.tables import severity_array

# NOTE: OWASP "CSV Injection": these first characters make a spreadsheet evaluate the cell.
NEUTRALISED = [
    ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
    ("+1", "'+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("'=x", "''=x"),
    ("''-x", "'''-x"),
    ("'plain", "'plain"),
    ("a=b", "a=b"),
    (" =x", " =x"),
    ("", ""),
]


UTC_MICROSECONDS = pa.timestamp("us", "UTC")


def _written(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    write_csv(table, sink)
    return sink.getvalue()


def _cells(table: pa.Table) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_written(table).decode("utf-8"), newline="")))


@pytest.mark.parametrize(("value", "cell"), NEUTRALISED)
def test_formula_text_gets_a_leading_quote(value: str, cell: str) -> None:
    assert _cells(pa.table({"text": [value]}))[1] == [cell]
    assert restore_cell(cell) == value


@pytest.mark.parametrize(("value", "cell"), NEUTRALISED)
def test_list_cells_are_neutralised_after_joining(value: str, cell: str) -> None:
    table = pa.table({"tags": pa.array([[value, "b"]], pa.list_(pa.string()))})
    assert _cells(table)[1] == [f"{cell};b" if value else ";b"]


def test_every_kind_of_cell() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=UTC)
    table = pa.table(
        {
            "text": pa.array(["a", None, "-1"]),
            "flag": pa.array([True, False, None]),
            "count": pa.array([-3, 0, None], pa.int32()),
            "tags": pa.array([["x", "y"], [], None], pa.list_(pa.string())),
            "counts": pa.array([[6, 1], None, [2]], pa.list_(pa.int64())),
            "at": pa.array(
                [moment, None, moment.replace(microsecond=0)], pa.timestamp("us", "UTC")
            ),
            "severity": severity_array([Severity.ERROR, None, Severity.INFO]),
        }
    )
    assert table.schema.field("severity").type == SEVERITY_TYPE
    assert _written(table).decode("utf-8") == (
        '"text","flag","count","tags","counts","at","severity"\r\n'
        '"a",true,-3,"x;y","6;1","2024-05-01T12:00:00.000005Z","error"\r\n'
        ',false,0,"",,,\r\n'
        '"\'-1",,,,"2","2024-05-01T12:00:00.000000Z","info"\r\n'
    )


def test_line_breaks_and_quotes_stay_inside_their_cell() -> None:
    table = pa.table({"text": ['say "hi"\r\nbye', "a,b"], "n": [1, 2]})
    assert _cells(table) == [["text", "n"], ['say "hi"\r\nbye', "1"], ["a,b", "2"]]


def test_an_empty_table_is_its_header() -> None:
    table = pa.table({"text": pa.array([], pa.string()), "n": pa.array([], pa.int64())})
    assert _written(table) == b'"text","n"\r\n'


def test_many_rows_are_all_written_to_a_stream_left_open() -> None:
    values = [f"={n}" if n % 2 else str(n) for n in range(150_000)]
    sink = io.BytesIO()
    write_csv(pa.table({"text": values}), sink)
    cells = list(csv.reader(io.StringIO(sink.getvalue().decode("utf-8"), newline="")))
    assert (len(cells), sink.closed) == (150_001, False)
    assert [restore_cell(row[0]) for row in cells[1:]] == values


def test_lists_with_nulls_in_sliced_chunks_are_joined() -> None:
    lists = [None if n % 3 == 0 else [f"={n}", None, "b"] for n in range(150_000)]
    whole = pa.array(lists, pa.list_(pa.string()))
    # NOTE: slices of one array: each chunk's offsets start where its slice does.
    tags = pa.chunked_array([whole.slice(0, 70_001), whole.slice(70_001)])
    cells = _cells(pa.table({"tags": tags, "n": range(150_000)}))
    assert cells[1:4] == [["", "0"], ["'=1;;b", "1"], ["'=2;;b", "2"]]
    assert cells[70_001:70_004] == [["'=70000;;b", "70000"], ["'=70001;;b", "70001"], ["", "70002"]]
    assert len(cells) == 150_001
    assert cells[-1] == ["'=149999;;b", "149999"]


def test_repeated_times_in_chunks_are_each_written() -> None:
    first, second = datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
    chunks = [[first, None, first], [second, first, None]]
    times = pa.chunked_array([pa.array(c, UTC_MICROSECONDS) for c in chunks])
    written = [row[0] for row in _cells(pa.table({"at": times, "n": range(6)}))[1:]]
    one, two = "2025-01-02T03:04:05.000006Z", "2025-06-01T00:00:00.000000Z"
    assert written == [one, "", one, two, one, ""]
