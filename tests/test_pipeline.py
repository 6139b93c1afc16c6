"""Tests for audit.pipeline: per-host environments and the exit code."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from audit.model import Environment, Finding, FindingSource, Manifest, Severity
from audit.pipeline import exit_code, host_environment, new_run_id

BASE = Environment(os="linux", sources={"os": "detected"})
FROM_PROFILE = Environment(installed={"numpy": "2.1.0"}, sources={"installed": "profile"})


def manifest(comfyui: str | None = None, pips: dict[str, str | None] | None = None) -> Manifest:
    return Manifest("h.json", "h", "snapshot-json", (), comfyui=comfyui, pips=pips)


@pytest.mark.parametrize(
    ("comfyui", "base", "expected"),
    [
        ("v0.3.30", BASE, "v0.3.30"),
        ("0.3.30", BASE, "0.3.30"),
        ("5c5457a4", BASE, None),
        ("72f6be1690868af852a624084a949b785fc056ea", BASE, None),
        ("main", BASE, None),
        (None, BASE, None),
        ("v0.3.30", Environment(comfyui_version="0.4.0"), "0.4.0"),
    ],
    ids=["tag", "bare-version", "short-commit", "commit", "branch", "null", "flag-wins"],
)
def test_comfyui_version_from_the_snapshot(
    comfyui: str | None, base: Environment, expected: str | None
) -> None:
    env = host_environment(manifest(comfyui), base, installed_is_explicit=False)
    assert env.comfyui_version == expected


@pytest.mark.parametrize(
    ("base", "pips", "explicit", "installed", "source"),
    [
        (BASE, {"numpy": "1.26.4"}, False, {"numpy": "1.26.4"}, "snapshot h.json pips"),
        (FROM_PROFILE, {"numpy": "1.26.4"}, True, {"numpy": "2.1.0"}, "profile"),
        (FROM_PROFILE, {"numpy": "1.26.4"}, False, {"numpy": "1.26.4"}, "snapshot h.json pips"),
        (FROM_PROFILE, None, False, {"numpy": "2.1.0"}, "profile"),
        (BASE, None, False, None, None),
    ],
    ids=["pips", "explicit-beats-pips", "found-interpreter-loses", "no-pips", "unknown"],
)
def test_installed_packages_precedence(
    base: Environment,
    pips: dict[str, str | None] | None,
    explicit: bool,
    installed: dict[str, str] | None,
    source: str | None,
) -> None:
    env = host_environment(manifest(pips=pips), base, installed_is_explicit=explicit)
    assert (env.installed, env.sources.get("installed")) == (installed, source)


def finding(check: str, severity: Severity) -> Finding:
    return Finding("h", "n", "1", check, severity, "m", FindingSource.REGISTRY)


FAILED = finding("registry.fetch-failed", Severity.ERROR)
DISABLED_FAILED = finding("registry.fetch-failed", Severity.INFO)


@pytest.mark.parametrize(
    ("findings", "fail_on", "code"),
    [
        ([], Severity.ERROR, 0),
        ([finding("status.pending", Severity.WARNING)], Severity.ERROR, 0),
        ([finding("status.pending", Severity.WARNING)], Severity.WARNING, 1),
        ([finding("status.banned", Severity.CRITICAL)], None, 0),
        ([FAILED], Severity.ERROR, 3),
        ([FAILED], None, 3),
        ([FAILED, finding("status.banned", Severity.CRITICAL)], Severity.ERROR, 1),
        ([DISABLED_FAILED], Severity.ERROR, 0),
        ([finding("registry.invalid-response", Severity.ERROR)], Severity.ERROR, 3),
    ],
    ids=[
        "clean", "below", "at-threshold", "never", "incomplete", "incomplete-never",
        "finding-beats-incomplete", "disabled-failure", "invalid-response",
    ],
)  # fmt: skip
def test_exit_code(findings: list[Finding], fail_on: Severity | None, code: int) -> None:
    assert exit_code(findings, fail_on) == code


def test_run_ids_differ_within_a_second() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    ids = {new_run_id(now) for _ in range(50)}
    assert len(ids) == 50
    assert all(i.startswith("20261128T120000Z-") for i in ids)


def test_checks_run_once_per_distinct_pack_and_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from audit import checks
    from audit.model import EntrySource, Found, ManifestEntry, NodeKey, NodeVersion
    from audit.pipeline import AuditOptions, Auditor

    class Registry:
        def lookup(self, keys: Sequence[NodeKey]) -> dict[NodeKey, Found]:
            return {k: Found(NodeVersion(k.node_id, k.version, status="banned")) for k in keys}

    calls = []
    real = checks.evaluate

    def counting(*args: object) -> checks.Evaluation:
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(checks, "evaluate", counting)

    def host(name: str) -> Manifest:
        entries = tuple(
            ManifestEntry(name, f"pack-{i}", "1.0.0", EntrySource.REGISTRY, f"{name}.txt")
            for i in range(5)
        )
        return Manifest(f"{name}.txt", name, "text", entries, pips={})

    hosts = [host(f"h{n}") for n in range(20)]
    run = Auditor(Registry(), AuditOptions()).run(hosts, BASE, {})
    assert len(calls) == 5
    assert len(run.entries) == 100
    banned = [f for f in run.findings if f.check == "status.banned"]
    assert sorted({f.host for f in banned}) == sorted(f"h{n}" for n in range(20))
