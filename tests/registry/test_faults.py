"""Tests of HttpRegistry under injected faults: retries, budgets, timeouts, caps, redirects.

Faults are scripted per path ("fail N times, then answer"), so the tests are deterministic
whatever the scheduling; none asserts on timing.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from audit.model import Failed, Invalid, NodeKey
from audit.registry import RequestStats
from tests.registry.support import comparable, fast_registry, found, keys_of
from tests.registry_server import (
    BULK_PATH,
    SAMPLE_RECORDS,
    BadBulk,
    RegistryServer,
    node_version_record,
    version_path,
)

MakeServer = Callable[..., RegistryServer]

BANNED = SAMPLE_RECORDS[3]
BANNED_KEY = NodeKey(BANNED["node_id"], BANNED["version"])
BANNED_PATH = version_path(BANNED_KEY.node_id, BANNED_KEY.version)
#: Small enough for fast tests, large enough that a loopback answer never misses it.
TIGHT_TIMEOUT = 0.5

RECOVERABLE: list[tuple[str, dict[str, Any]]] = [
    ("status", {"status": 503}),
    ("status", {"status": 500}),
    ("status", {"status": 502, "retry_after": 1}),
    ("reset", {}),
    ("truncated", {}),
    ("html", {}),
]
FAULT_IDS = ["503", "500", "502-retry-after", "reset", "truncated", "html"]


#: What the sample registry answers when nothing goes wrong.
FAULT_FREE = {
    key: found(record) for key, record in zip(keys_of(SAMPLE_RECORDS), SAMPLE_RECORDS, strict=True)
}


@pytest.mark.parametrize(("kind", "options"), RECOVERABLE, ids=FAULT_IDS)
def test_bulk_faults_within_the_budget_are_retried(
    registry_server: RegistryServer, kind: str, options: dict[str, Any]
) -> None:
    registry_server.fail(BULK_PATH, kind, times=2, **options)
    registry = fast_registry(registry_server.url, retries=2)

    results = registry.lookup(keys_of(SAMPLE_RECORDS))

    assert comparable(results) == FAULT_FREE
    assert registry_server.paths() == [BULK_PATH] * 3
    assert registry.stats == RequestStats(requests=3, bulk_requests=3, retries=2)


@pytest.mark.parametrize(("kind", "options"), RECOVERABLE, ids=FAULT_IDS)
def test_get_faults_within_the_budget_are_retried(
    make_registry_server: MakeServer, kind: str, options: dict[str, Any]
) -> None:
    server = make_registry_server(bulk=False)
    server.fail(BANNED_PATH, kind, times=2, **options)
    registry = fast_registry(server.url, retries=2)

    results = registry.lookup(keys_of(SAMPLE_RECORDS))

    assert comparable(results) == FAULT_FREE
    assert server.paths().count(BANNED_PATH) == 3
    assert registry.stats.retries == 2


def test_a_slow_answer_is_retried_after_the_timeout(make_registry_server: MakeServer) -> None:
    server = make_registry_server(bulk=False)
    server.fail(BANNED_PATH, "slow", times=1, delay=30)
    registry = fast_registry(server.url, retries=1, timeout=TIGHT_TIMEOUT)

    results = registry.lookup([BANNED_KEY])

    assert comparable(results) == {BANNED_KEY: found(BANNED)}
    assert server.paths("GET") == [BANNED_PATH] * 2


@pytest.mark.parametrize(
    ("kind", "options", "expected"),
    [
        ("status", {"status": 503}, Failed("HTTP 503 after 2 attempts")),
        ("status", {"status": 429, "retry_after": 3600}, Failed("HTTP 429 after 2 attempts")),
        ("reset", {}, Failed("connection closed without an answer after 2 attempts")),
        ("truncated", {}, Invalid("not JSON: truncated body after 2 attempts")),
        ("html", {}, Invalid("not JSON: text/html body after 2 attempts")),
        ("slow", {"delay": 30}, Failed("timed out after 2 attempts")),
    ],
    ids=["503", "429", "reset", "truncated", "html", "slow"],
)
def test_get_faults_beyond_the_budget_give_a_one_line_reason(
    make_registry_server: MakeServer, kind: str, options: dict[str, Any], expected: object
) -> None:
    server = make_registry_server(bulk=False)
    server.fail(BANNED_PATH, kind, times=2, **options)
    registry = fast_registry(server.url, retries=1, timeout=TIGHT_TIMEOUT)
    other = keys_of(SAMPLE_RECORDS)[0]

    results = registry.lookup([BANNED_KEY, other])

    assert results[BANNED_KEY] == expected
    assert comparable(results)[other] == found(SAMPLE_RECORDS[0])
    assert server.paths().count(BANNED_PATH) == 2


@pytest.mark.parametrize(("kind", "options"), RECOVERABLE, ids=FAULT_IDS)
def test_bulk_faults_beyond_the_budget_fall_back_to_get(
    registry_server: RegistryServer, kind: str, options: dict[str, Any]
) -> None:
    registry_server.fail(BULK_PATH, kind, times=3, **options)
    registry = fast_registry(registry_server.url, retries=2)
    keys = keys_of(SAMPLE_RECORDS)

    results = registry.lookup(keys)

    assert comparable(results) == FAULT_FREE
    assert registry_server.paths("POST") == [BULK_PATH] * 3
    assert sorted(registry_server.paths("GET")) == sorted(
        version_path(k.node_id, k.version) for k in keys
    )
    assert registry.stats == RequestStats(
        requests=3 + len(keys), bulk_requests=3, get_requests=len(keys), retries=2
    )


@pytest.mark.parametrize(
    "retry_after",
    [
        "3600",
        format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True),
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "soon",
    ],
    ids=["seconds", "future-date", "past-date", "garbage"],
)
def test_429_with_retry_after_is_honoured_up_to_the_cap(
    registry_server: RegistryServer, retry_after: str
) -> None:
    registry_server.fail(BULK_PATH, "status", times=2, status=429, retry_after=retry_after)
    # An hour-long Retry-After must be cut to the cap, or this test would hang.
    registry = fast_registry(registry_server.url, retry_after_cap=0.01)

    results = registry.lookup(keys_of(SAMPLE_RECORDS))

    assert comparable(results) == FAULT_FREE
    assert registry.stats == RequestStats(requests=3, bulk_requests=3, retries=2)


@pytest.mark.parametrize("status", [400, 403, 410, 501])
def test_other_get_statuses_fail_at_once(make_registry_server: MakeServer, status: int) -> None:
    server = make_registry_server(bulk=False)
    server.fail(BANNED_PATH, "status", status=status)

    results = fast_registry(server.url).lookup([BANNED_KEY])

    assert results == {BANNED_KEY: Failed(f"HTTP {status}: injected HTTP {status}")}
    assert server.paths("GET") == [BANNED_PATH]


def test_an_answer_over_the_size_cap_is_refused(make_registry_server: MakeServer) -> None:
    big = node_version_record("big-pack", "1.0.0", changelog="x" * 5000)
    server = make_registry_server([big], bulk=False)
    registry = fast_registry(server.url, max_response_bytes=4000)

    results = registry.lookup(keys_of([big]))

    assert list(results.values()) == [Failed("response larger than 4000 bytes")]
    assert server.paths("GET") == [version_path("big-pack", "1.0.0")]  # not retried


def test_an_answer_without_length_is_counted_against_the_cap(
    make_registry_server: MakeServer,
) -> None:
    big = node_version_record("big-pack", "1.0.0", changelog="x" * 5000)
    server = make_registry_server([big, BANNED], bulk=False)
    big_path = version_path("big-pack", "1.0.0")
    server.fail(big_path, "chunked")
    server.fail(BANNED_PATH, "chunked")
    registry = fast_registry(server.url, max_response_bytes=4000)

    results = registry.lookup([*keys_of([big]), BANNED_KEY])

    assert comparable(results) == {
        keys_of([big])[0]: Failed("response larger than 4000 bytes"),
        BANNED_KEY: found(BANNED),
    }
    assert sorted(server.paths("GET")) == sorted([big_path, BANNED_PATH])


def test_a_bulk_answer_over_the_size_cap_falls_back_to_get(
    registry_server: RegistryServer,
) -> None:
    registry = fast_registry(registry_server.url, max_response_bytes=2000)

    results = registry.lookup(keys_of(SAMPLE_RECORDS))

    assert comparable(results) == FAULT_FREE
    assert registry_server.paths("POST") == [BULK_PATH]
    assert len(registry_server.paths("GET")) == len(SAMPLE_RECORDS)


def test_a_closed_port_fails_every_key_without_asking_each(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server()
    url = server.url
    server.stop()
    records = [node_version_record(f"pack-{i}", "1.0.0") for i in range(30)]
    registry = fast_registry(url, chunk_size=10, concurrency=1, retries=2)

    results = registry.lookup(keys_of(records))

    assert set(results.values()) == {Failed("connection refused after 3 attempts")}
    assert len(results) == 30
    # Once the host refused a whole retry budget, nothing else goes out.
    assert registry.stats == RequestStats(requests=3, bulk_requests=3, retries=2)


def test_a_redirect_within_the_registry_is_followed(make_registry_server: MakeServer) -> None:
    server = make_registry_server(bulk=False)
    asked = NodeKey("Banned-Pack", BANNED_KEY.version)
    asked_path = version_path(asked.node_id, asked.version)
    server.fail(asked_path, "redirect", status=301, location=BANNED_PATH)

    results = fast_registry(server.url).lookup([asked])

    assert comparable(results) == {asked: found(BANNED)}
    assert server.paths("GET") == [asked_path, BANNED_PATH]


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.2:9/nodes/banned-pack/versions/0.9.0",
        "/nodes/banned-pack/install?version=0.9.0",
        "/elsewhere",
    ],
)
def test_a_redirect_out_of_the_registry_is_refused(
    make_registry_server: MakeServer, location: str
) -> None:
    server = make_registry_server(bulk=False)
    server.fail(BANNED_PATH, "redirect", location=location)

    results = fast_registry(server.url).lookup([BANNED_KEY])

    [result] = results.values()
    assert isinstance(result, Failed)
    assert result.reason.startswith("refused a redirect to ")
    assert server.paths("GET") == [BANNED_PATH]


def test_a_redirect_loop_stops_after_five(make_registry_server: MakeServer) -> None:
    server = make_registry_server(bulk=False)
    server.fail(BANNED_PATH, "redirect", times=20, location=BANNED_PATH)

    results = fast_registry(server.url).lookup([BANNED_KEY])

    assert results == {BANNED_KEY: Failed("more than 5 redirects")}
    assert server.paths("GET") == [BANNED_PATH] * 6


def test_a_307_keeps_the_bulk_request_and_a_302_is_refused(
    registry_server: RegistryServer,
) -> None:
    registry_server.fail(BULK_PATH, "redirect", status=307, location=BULK_PATH)
    registry = fast_registry(registry_server.url)

    assert comparable(registry.lookup(keys_of(SAMPLE_RECORDS))) == FAULT_FREE
    assert registry_server.paths() == [BULK_PATH] * 2
    assert registry_server.requests[0].body == registry_server.requests[1].body

    registry_server.clear_log()
    registry_server.fail(BULK_PATH, "redirect", status=302, location=BULK_PATH)
    assert comparable(registry.lookup(keys_of(SAMPLE_RECORDS))) == FAULT_FREE
    assert registry_server.paths("POST") == [BULK_PATH]
    assert len(registry_server.paths("GET")) == len(SAMPLE_RECORDS)


# -- the fault suite: many pairs, many faults, the same answers ---------------------------------

#: Transient faults as the suite injects them. Each path fails at most `MAX_TIMES` times.
SUITE_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("status", {"status": 500}),
    ("status", {"status": 503}),
    ("status", {"status": 429, "retry_after": 1}),
    ("reset", {}),
    ("truncated", {}),
    ("html", {}),
    ("slow", {"delay": 30}),
]
MAX_TIMES = 2
#: Two attempts to spare beyond the faults, so that a loaded machine cannot exhaust it.
SUITE_RETRIES = MAX_TIMES + 2
#: Far longer than any loopback answer takes, even on a busy machine; "slow" faults wait 30 s
#: (cut short when the server stops), so each costs one timeout.
SUITE_TIMEOUT = 1.0
SUITE_SEED = 20261128


def suite_records() -> list[dict[str, Any]]:
    """200 packs of several statuses, a few with mixed-case ids."""
    statuses = ["Active", "Banned", "Flagged", "Deleted", "Pending"]
    return [
        node_version_record(
            f"Pack-{i:03}" if i % 9 == 0 else f"pack-{i:03}",
            f"1.{i % 4}.{i % 3}",
            status=f"NodeVersionStatus{statuses[i % 5]}",
            supported_os=["OS Independent"] if i % 2 else [],
        )
        for i in range(200)
    ]


ABSENT_KEYS = [NodeKey(f"absent-{i}", "1.0.0") for i in range(10)]
SUITE_KEYS = [*keys_of(suite_records()), *ABSENT_KEYS]
ABSENT_PATHS = {version_path(k.node_id, k.version) for k in ABSENT_KEYS}


def scripted_faults(paths: list[str], rng: random.Random) -> dict[str, list[tuple[int, int]]]:
    """Faults for a fifth of ``paths``: path → [(index into SUITE_FAULTS, times)].

    A slow answer fails once only: it costs a whole timeout, and the suite must stay fast.
    """
    faults = {}
    for path in rng.sample(sorted(paths), k=len(paths) // 5):
        index = rng.randrange(len(SUITE_FAULTS))
        times = 1 if SUITE_FAULTS[index][0] == "slow" else rng.randint(1, MAX_TIMES)
        faults[path] = [(index, times)]
    return faults


def inject(server: RegistryServer, faults: dict[str, list[tuple[int, int]]]) -> None:
    for path, scripts in faults.items():
        for index, times in scripts:
            kind, options = SUITE_FAULTS[index]
            server.fail(path, kind, times=times, **options)


def expected_gets(keys: list[NodeKey], faults: dict[str, list[tuple[int, int]]]) -> Counter[str]:
    """How many GETs each pair's path gets: one per failing answer, and the good one.

    NOTE: a 404 cut short is final at once: only a 200 needs its body.
    """
    counts: Counter[str] = Counter()
    for key in keys:
        path = version_path(key.node_id, key.version)
        counts[path] = 1
        for index, times in faults.get(path, []):
            cut_404 = SUITE_FAULTS[index][0] == "truncated" and path in ABSENT_PATHS
            counts[path] += 0 if cut_404 else times
    return counts


def suite_registry(url: str, **options: Any) -> Any:
    return fast_registry(url, retries=SUITE_RETRIES, timeout=SUITE_TIMEOUT, **options)


def test_per_path_faults_leave_the_results_of_a_fault_free_run(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(suite_records(), bulk=False)
    fault_free = suite_registry(server.url).lookup(SUITE_KEYS)
    paths = [version_path(k.node_id, k.version) for k in SUITE_KEYS]
    faults = scripted_faults(paths, random.Random(SUITE_SEED))
    inject(server, faults)
    server.clear_log()

    results = suite_registry(server.url).lookup(SUITE_KEYS)

    assert comparable(results) == comparable(fault_free)
    assert Counter(server.paths("GET")) == expected_gets(SUITE_KEYS, faults)


def test_bulk_and_fallback_faults_leave_the_results_of_a_fault_free_run(
    make_registry_server: MakeServer,
) -> None:
    rng = random.Random(SUITE_SEED + 1)
    # A fifth of the pairs get a bulk `error` item, so they go to the per-version GET.
    fallback = rng.sample(SUITE_KEYS, k=len(SUITE_KEYS) // 5)
    server = make_registry_server(
        suite_records(), error_pairs=[(k.node_id, k.version) for k in fallback]
    )
    fault_free = suite_registry(server.url, chunk_size=100).lookup(SUITE_KEYS)
    faults = scripted_faults([version_path(k.node_id, k.version) for k in fallback], rng)
    bulk_kinds = rng.sample(range(len(SUITE_FAULTS)), k=MAX_TIMES)
    faults[BULK_PATH] = [(index, 1) for index in bulk_kinds]
    inject(server, faults)
    server.clear_log()

    results = suite_registry(server.url, chunk_size=100).lookup(SUITE_KEYS)

    assert comparable(results) == comparable(fault_free)
    chunks = -(-len(SUITE_KEYS) // 100)
    assert len(server.paths("POST")) == chunks + MAX_TIMES
    assert Counter(server.paths("GET")) == expected_gets(fallback, faults)


def test_with_the_registry_refusing_connections_every_pair_fails_after_few_attempts(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server()
    url = server.url
    server.stop()
    keys = [NodeKey(f"pack-{i:03}", "1.0.0") for i in range(300)]
    registry = fast_registry(url, retries=2, concurrency=4)

    results = registry.lookup(keys)

    assert set(results.values()) == {Failed("connection refused after 3 attempts")}
    assert len(results) == 300
    # Bulk chunks already in flight may each use their budget; after that nothing goes out.
    assert registry.stats.requests <= 3 * 3


def test_with_the_registry_answering_503_every_pair_fails_after_few_attempts(
    make_registry_server: MakeServer,
) -> None:
    records = [node_version_record(f"pack-{i:03}", "1.0.0") for i in range(300)]
    server = make_registry_server(records)
    keys = keys_of(records)
    attempts = 3
    server.fail(BULK_PATH, "status", times=3 * attempts, status=503)
    for key in keys:
        server.fail(version_path(key.node_id, key.version), "status", times=attempts, status=503)
    registry = fast_registry(server.url, retries=attempts - 1, chunk_size=100)

    results = registry.lookup(keys)

    assert all(isinstance(result, Failed) for result in results.values())
    assert len(results) == 300
    # The circuit breaker (tests/registry/test_breaker.py): 3 * 3 bulk attempts, then GETs
    # until 10 in a row have failed, plus those in flight in the other 7 workers.
    assert registry.stats.bulk_requests == 3 * attempts
    assert 10 <= registry.stats.requests <= 10 + 7


@pytest.mark.parametrize("mode", list(BadBulk))
def test_spoilt_bulk_answers_leave_the_results_of_a_fault_free_run(
    make_registry_server: MakeServer, mode: BadBulk
) -> None:
    server = make_registry_server(suite_records())
    fault_free = suite_registry(server.url, chunk_size=100).lookup(SUITE_KEYS)
    chunks = -(-len(SUITE_KEYS) // 100)
    server.fail(BULK_PATH, "bad_bulk", times=chunks, mode=mode)
    server.clear_log()

    results = suite_registry(server.url, chunk_size=100).lookup(SUITE_KEYS)

    assert comparable(results) == comparable(fault_free)
    assert len(server.paths("POST")) == chunks
