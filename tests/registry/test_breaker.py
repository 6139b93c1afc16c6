"""Tests of the circuit breaker: a registry that is down costs a bounded number of attempts.

Every bound is asserted on request counts against the loopback registry, never on time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from audit.cli import cli
from audit.model import Failed
from audit.registry import transport
from audit.registry.transport import CircuitBreaker, breaker_threshold
from tests.registry.support import comparable, fast_registry, found, keys_of
from tests.registry_server import BULK_PATH, RegistryServer, node_version_record, version_path

MakeServer = Callable[..., RegistryServer]

RECORDS = [node_version_record(f"pack-{i:03}", "1.0.0") for i in range(300)]
KEYS = keys_of(RECORDS)
PATHS = [version_path(k.node_id, k.version) for k in KEYS]
#: More failures than any run below could ask for: the registry never recovers.
FOREVER = 10_000


def down(server: RegistryServer, kind: str = "status", **options: object) -> None:
    """Make every route a lookup of `KEYS` uses fail, whatever it is asked."""
    for path in [BULK_PATH, *PATHS]:
        server.fail(path, kind, times=FOREVER, **options)


def unavailable(reason: str, failures: int = 10) -> Failed:
    return Failed(f"registry unavailable: {reason} ({failures} failures in a row; giving up)")


def test_the_threshold_is_two_retry_budgets_and_at_least_ten() -> None:
    assert [breaker_threshold(r) for r in (0, 1, 4, 5, 9)] == [10, 10, 10, 12, 20]


def test_one_path_alone_never_opens_the_breaker() -> None:
    breaker = CircuitBreaker(10)
    for _ in range(25):
        breaker.failed(BULK_PATH, "HTTP 503")
    assert breaker.reason is None
    breaker.failed(PATHS[0], "HTTP 500")
    assert breaker.reason == "registry unavailable: HTTP 500 (26 failures in a row; giving up)"


def test_a_success_closes_the_breaker() -> None:
    breaker = CircuitBreaker(3)
    for path in PATHS[:3]:
        breaker.failed(path, "timed out")
    assert breaker.reason is not None
    breaker.succeeded()
    assert breaker.reason is None
    breaker.failed(PATHS[3], "timed out")
    breaker.failed(PATHS[4], "timed out")
    assert breaker.reason is None


def test_one_worker_stops_after_the_bulk_budgets_and_one_get(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(RECORDS)
    down(server, status=503)
    registry = fast_registry(server.url, retries=4, concurrency=1, chunk_size=100)

    results = registry.lookup(KEYS)

    # The bulk requests (3 * 5 attempts, one path) come first; the first GET opens it.
    assert server.paths() == [BULK_PATH] * 15 + [PATHS[0]]
    assert registry.stats.requests == 16
    assert set(results.values()) == {unavailable("HTTP 503", 16)}


def test_one_worker_with_gets_only_stops_after_exactly_the_threshold(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(RECORDS, bulk=False)  # the bulk route answers 404: GETs only
    for path in PATHS:
        server.fail(path, "status", times=FOREVER, status=503)
    registry = fast_registry(server.url, retries=4, concurrency=1)

    results = registry.lookup(KEYS)

    assert server.paths("GET") == [PATHS[0]] * 5 + [PATHS[1]] * 5
    assert registry.stats.get_requests == 10
    # Those two used their whole budget; the others fail at once, with the one-line reason.
    assert results[KEYS[0]] == results[KEYS[1]] == Failed("HTTP 503 after 5 attempts")
    assert set(list(results.values())[2:]) == {unavailable("HTTP 503")}


@pytest.mark.parametrize("retries", [0, 2, 4, 9])
def test_many_workers_stop_within_the_documented_bound(
    make_registry_server: MakeServer, retries: int
) -> None:
    server = make_registry_server(RECORDS)
    down(server, status=503)
    concurrency = 8
    registry = fast_registry(server.url, retries=retries, concurrency=concurrency)

    results = registry.lookup(KEYS)

    bulk_attempts = 3 * (retries + 1)
    opened_at = max(breaker_threshold(retries), bulk_attempts + 1)
    assert opened_at <= len(server.requests) <= opened_at + concurrency - 1
    assert len(server.requests) == registry.stats.requests
    assert server.paths("POST") == [BULK_PATH] * bulk_attempts
    # A pair whose GET had used up its budget when the breaker opened keeps that reason.
    asked = set(server.paths("GET"))
    for key, result in results.items():
        if version_path(key.node_id, key.version) not in asked:
            assert result == unavailable("HTTP 503", opened_at)
        else:
            assert isinstance(result, Failed)


def test_timeouts_open_the_breaker_too(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS, bulk=False)
    for path in PATHS:
        server.fail(path, "slow", times=FOREVER, delay=30)
    registry = fast_registry(server.url, retries=1, concurrency=2, timeout=0.2)

    results = registry.lookup(KEYS)

    assert 10 <= registry.stats.get_requests <= 10 + 1
    assert results[KEYS[-1]] == unavailable("timed out")


def test_a_success_in_between_starts_the_count_again(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS, bulk=False)
    server.fail(PATHS[0], "status", times=FOREVER, status=503)
    server.fail(PATHS[1], "status", times=4, status=503)  # 9 failures in a row, then an answer
    for path in PATHS[2:]:
        server.fail(path, "status", times=FOREVER, status=503)
    registry = fast_registry(server.url, retries=4, concurrency=1)

    results = registry.lookup(KEYS)

    assert comparable(results)[KEYS[1]] == found(RECORDS[1])
    # Without the reset, the first failure of PATHS[2] would have been the tenth in a row.
    assert server.paths("GET") == [PATHS[0]] * 5 + [PATHS[1]] * 5 + [PATHS[2]] * 5 + [PATHS[3]] * 5
    assert results[KEYS[4]] == unavailable("HTTP 503")


def test_one_pair_that_always_fails_does_not_fail_the_others(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(RECORDS[:20], bulk=False)
    server.fail(PATHS[0], "status", times=FOREVER, status=503)
    # 13 attempts on one path, more than the minimum threshold of 10.
    registry = fast_registry(server.url, retries=12, concurrency=1)

    results = registry.lookup(KEYS[:20])

    assert results[KEYS[0]] == Failed("HTTP 503 after 13 attempts")
    assert comparable(results) == {KEYS[0]: results[KEYS[0]]} | {
        key: found(record) for key, record in zip(KEYS[1:20], RECORDS[1:20], strict=True)
    }


def test_a_run_against_a_registry_that_is_down_writes_its_reports_and_exits_3(
    tmp_path: Path, make_registry_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NOTE: the command line has no back-off flag; the waits, not the counts, are cut short.
    monkeypatch.setattr(transport, "retry_delay", lambda *args: 0.001)
    server = make_registry_server(RECORDS)
    down(server, status=503)
    manifest = tmp_path / "render-01.txt"
    manifest.write_text("".join(f"{k.node_id}@{k.version}\n" for k in KEYS))
    out = tmp_path / "out"
    args = ["run", manifest, "--registry", server.url, "-o", out, "--no-cache", "-q"]

    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    assert result.exit_code == 3
    # The defaults: --retries 4, --chunk-size 100, --concurrency 8: 3 * 5 + 1 + 7; and at most
    # one Node list request per 100 ids (this registry has no Node routes: 404, no retries).
    paths = server.paths()
    assert len(paths) - paths.count("/nodes") <= 23
    assert paths.count("/nodes") <= 3
    (run_dir,) = out.iterdir()
    findings = pd.read_parquet(run_dir / "findings.parquet")
    failed = findings[findings.check == "registry.fetch-failed"]
    assert sorted(failed.node_id) == [k.node_id for k in KEYS]
    assert set(failed.message) == {
        "registry lookup failed: registry unavailable: HTTP 503 (16 failures in a row; giving up)"
    }


def test_a_failing_bulk_route_alone_is_no_outage(make_registry_server: MakeServer) -> None:
    """15 bulk failures in a row, but on one path: its pairs fall back to GETs, which answer."""
    server = make_registry_server(RECORDS)
    server.fail(BULK_PATH, "status", times=FOREVER, status=503)
    registry = fast_registry(server.url, retries=4, concurrency=1, chunk_size=100)

    results = registry.lookup(KEYS)

    assert comparable(results) == {k: found(r) for k, r in zip(KEYS, RECORDS, strict=True)}
    assert server.paths("POST") == [BULK_PATH] * 15
    assert len(server.paths("GET")) == 300
