"""`RequirementRows`: requirement rows held column by column are the rows they were made of."""

from __future__ import annotations

import pickle
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from audit.model import REQUIREMENT_FIELDS, RequirementRow, RequirementRows

_TEXT = st.text(max_size=6)
_MAYBE = st.none() | _TEXT
_ROWS = st.lists(
    st.builds(
        RequirementRow, _TEXT, _TEXT, _MAYBE, _TEXT, _MAYBE, _MAYBE, _MAYBE, _TEXT, _MAYBE,
        st.none() | st.booleans(),
    ),
    max_size=5,
)  # fmt: skip


@given(rows=_ROWS)
def test_rows_come_back_as_they_went_in(rows: list[RequirementRow]) -> None:
    held = RequirementRows.of(rows)
    assert (len(held), list(held), [held[i] for i in range(len(rows))]) == (len(rows), rows, rows)
    assert list(held[1:]) == rows[1:]
    assert pickle.loads(pickle.dumps(held)) == held
    assert RequirementRows.of(held) is held


@given(first=_ROWS, second=_ROWS)
def test_joined_rows_are_the_parts_in_order(
    first: list[RequirementRow], second: list[RequirementRow]
) -> None:
    joined = RequirementRows.joined([RequirementRows.of(first), RequirementRows.of(second)])
    assert list(joined) == first + second
    assert joined.column("host") == tuple(row.host for row in first + second)


def test_no_rows_have_every_column_empty() -> None:
    held = RequirementRows.of([])
    assert (len(held), list(held), held.columns) == (0, [], ((),) * len(REQUIREMENT_FIELDS))


@given(rows=_ROWS)
def test_rows_made_of_cells_are_the_rows_of_those_cells(rows: list[RequirementRow]) -> None:
    cells = [tuple(getattr(row, name) for name in REQUIREMENT_FIELDS) for row in rows]
    assert RequirementRows.of_cells(cells) == RequirementRows.of(rows)


@given(rows=_ROWS, host=_TEXT)
def test_rows_on_another_host_change_only_the_host(rows: list[RequirementRow], host: str) -> None:
    moved = RequirementRows.of(rows).on_host(host)
    assert list(moved) == [replace(row, host=host) for row in rows]
