"""Tests of what one request comes to: the reading of an outcome, the one-line reasons."""

from __future__ import annotations

import pytest

from audit.registry.outcomes import Failure, NotJson, Outcome, Reply, answered, one_line


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Reply(200, {"a": 1}), Reply(200, {"a": 1})),
        (Reply(404, None), "HTTP 404"),
        (NotJson("text/html body after 5 attempts"), "not JSON: text/html body after 5 attempts"),
        (Failure("connection refused after 5 attempts"), "connection refused after 5 attempts"),
    ],
    ids=["ok", "status", "not-json", "failure"],
)
def test_an_outcome_is_a_200_reply_or_one_reason(outcome: Outcome, expected: object) -> None:
    assert answered(outcome) == expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("bad\n   value"), "bad value"),
        (ValueError(), "ValueError"),
        (ValueError("y" * 500), "y" * 200),
        (PermissionError(13, "Permission denied", "/x"), "Permission denied"),
    ],
    ids=["joined", "empty", "capped", "os-error"],
)
def test_an_error_is_one_capped_line(error: BaseException, expected: str) -> None:
    assert one_line(error) == expected
