"""Tests of the transport's pure rules: Retry-After, back-off, redirects."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.registry.transport import redirect_refusal, retry_after_seconds, retry_delay

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("0", 0.0),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("Sat, 28 Nov 2026 12:01:30 GMT", 90.0),
        ("Sat, 28 Nov 2026 11:00:00 GMT", 0.0),
        ("-5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, NOW) == seconds


@settings(deadline=None)
@given(st.text(max_size=40) | st.from_regex(r"\d{1,30}(\.\d{1,30})?", fullmatch=True))
def test_any_retry_after_header_gives_a_sane_delay_or_none(header: str) -> None:
    seconds = retry_after_seconds(header, NOW)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [
        (0, None, 0.5),
        (1, None, 1.0),
        (3, None, 4.0),
        (10, None, 60.0),
        (0, 7.0, 7.0),
        (0, 3600.0, 60.0),
        (2, 0.0, 0.0),
    ],
)
def test_the_delay_is_jittered_back_off_or_retry_after_never_over_the_cap(
    attempt: int, retry_after: float | None, expected: float
) -> None:
    assert retry_delay(attempt, 0.5, retry_after, 60.0, rand=lambda: 1.0) == expected


def test_full_jitter_can_wait_nothing() -> None:
    assert retry_delay(3, 0.5, None, 60.0, rand=lambda: 0.0) == 0.0


def allow_all(url: str) -> bool:
    return True


@pytest.mark.parametrize(
    ("method", "status", "source", "target", "refusal"),
    [
        ("GET", 302, "https://a.org/x", "https://a.org/y", None),
        ("GET", 301, "http://127.0.0.1/x", "http://127.0.0.1/y", None),
        ("POST", 307, "https://a.org/x", "https://a.org/y", None),
        ("POST", 308, "https://a.org/x", "https://a.org/y", None),
        (
            "GET",
            302,
            "https://a.org/x",
            "http://a.org/x",
            "refused a redirect from https to http://a.org/x",
        ),
        (
            "POST",
            302,
            "https://a.org/x",
            "https://a.org/y",
            "refused an HTTP 302 redirect of a POST request",
        ),
        (
            "POST",
            303,
            "https://a.org/x",
            "https://a.org/y",
            "refused an HTTP 303 redirect of a POST request",
        ),
    ],
)
def test_redirect_rules(
    method: str, status: int, source: str, target: str, refusal: str | None
) -> None:
    assert redirect_refusal(method, status, source, target, allow_all) == refusal


def test_a_redirect_to_a_url_not_allowed_is_refused() -> None:
    refusal = redirect_refusal("GET", 302, "https://a.org/x", "https://b.org/x", lambda u: False)
    assert refusal == "refused a redirect to https://b.org/x"
