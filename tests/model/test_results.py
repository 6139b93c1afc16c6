"""Tests of the result values that cross processes (`audit.parallel`)."""

from __future__ import annotations

import pickle

import pytest

from audit.model import RequirementRow

ROWS = [
    RequirementRow(
        "gpu-01", "pack", "1.0.0", "numpy<2", "numpy", "<2", None, "registry", "1.26.4", True
    ),
    RequirementRow("gpu-01", "pack", None, "=bad", None, None, None, "local", None, None),
]


@pytest.mark.parametrize("row", ROWS)
def test_a_requirement_row_pickles_to_an_equal_row(row: RequirementRow) -> None:
    copy = pickle.loads(pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == row
    assert type(copy) is RequirementRow
