"""The sources: the OSV API (batches, pages, records once, cache, faults) and the offline
databases (zip, folder), which must all give the same findings."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit.errors import InputError
from audit.model import Environment, Severity
from audit.vulnerabilities import (
    VulnerabilityAudit,
    VulnerabilitySource,
    audit_vulnerabilities,
    open_vulnerability_source,
)
from audit.vulnerabilities.offline import MAX_RECORD_BYTES, OfflineDatabase
from tests.osv_server import BATCH_PATH, OsvServer, vuln_path
from tests.registry_server import Fault
from tests.vulnerabilities.support import INSTALLED, osv_record, write_zip

HOSTS = {"gpu-01": Environment(installed=dict(INSTALLED))}


def api(server: OsvServer, cache: Path | None = None, **options: object) -> VulnerabilitySource:
    source = open_vulnerability_source(
        server.url,
        cache_dir=cache,
        retries=1,
        timeout=5.0,
        **options,  # type: ignore[arg-type]
    )
    assert source is not None
    return source


def summary(audit: VulnerabilityAudit) -> list[tuple[str, str, str, str | None, str]]:
    return [
        (r.distribution, r.vuln_id, r.severity.label, r.fixed_in, ";".join(r.aliases))
        for r in audit.rows
    ]


EXPECTED = [
    ("0requests", "MAL-2026-15859", "critical", None, ""),
    ("pillow", "PYSEC-2023-227", "warning", "10.0.0", "CVE-2023-44271"),
    ("requests", "GHSA-9wx4-h78v-vm56", "warning", "2.32.0", "CVE-2024-35195"),
    ("requests", "PYSEC-2023-74", "warning", "2.31.0", "CVE-2023-32681;GHSA-j8r2-6x86-q33q"),
    ("torch", "PYSEC-2025-190", "info", None, "CVE-2025-2149"),
    ("torch", "PYSEC-2025-41", "critical", "2.6.0", "CVE-2025-32434;GHSA-53q9-r3pm-6pq6"),
    ("transformers", "PYSEC-2024-227", "error", None, "CVE-2023-7018"),
]


def test_the_api_finds_what_the_records_say(make_osv_server: Callable[..., OsvServer]) -> None:
    server = make_osv_server(page_size=2)
    audit = audit_vulnerabilities(api(server), HOSTS, [])
    assert summary(audit) == EXPECTED
    # one page of every query, then the second pages of torch (4 records) and requests (3)
    first, second = (r.body["queries"] for r in server.batches())  # type: ignore[index]
    assert len(first) == 7
    assert second == [
        {"package": {"name": n, "ecosystem": "PyPI"}, "version": v, "page_token": "p2"}
        for n, v in (("requests", "2.28.0"), ("torch", "2.5.1"))
    ]
    gets = server.paths("GET")
    assert sorted(gets) == sorted(set(gets)), "every advisory is asked for once"


def test_zip_folder_and_api_agree(
    make_osv_server: Callable[..., OsvServer], osv_zip: Path, osv_folder: Path
) -> None:
    findings = [
        audit_vulnerabilities(source, HOSTS, []).findings
        for source in (
            api(make_osv_server()),
            OfflineDatabase(osv_zip),
            OfflineDatabase(osv_folder),
        )
    ]
    assert findings[0] == findings[1] == findings[2]
    assert summary(audit_vulnerabilities(OfflineDatabase(osv_zip), HOSTS, [])) == EXPECTED


def test_the_torch_finding(osv_zip: Path) -> None:
    audit = audit_vulnerabilities(OfflineDatabase(osv_zip), HOSTS, [])
    (torch,) = [f for f in audit.findings if "PYSEC-2025-41" in f.message]
    assert (torch.check, torch.severity, torch.source.value) == (
        "vulnerability.known",
        Severity.CRITICAL,
        "osv",
    )
    assert (torch.expected, torch.actual, torch.node_id) == ("2.6.0", "2.5.1+cu124", None)
    assert torch.message == (
        "torch 2.5.1+cu124 has a known vulnerability: PYSEC-2025-41, CVE-2025-32434, "
        "GHSA-53q9-r3pm-6pq6 (CVSS 9.3): PyTorch: torch.load with weights_only=True leads "
        "to remote code execution; fixed in 2.6.0"
    )
    (mal,) = [f for f in audit.findings if f.check == "dependency.compromised"]
    assert mal.severity is Severity.CRITICAL


def test_a_warm_cache_sends_nothing(
    make_osv_server: Callable[..., OsvServer], tmp_path: Path
) -> None:
    server = make_osv_server()
    cold = audit_vulnerabilities(api(server, tmp_path / "cache"), HOSTS, [])
    server.clear_log()
    warm = audit_vulnerabilities(api(server, tmp_path / "cache"), HOSTS, [])
    assert server.requests == []
    assert warm == cold
    offline = open_vulnerability_source(server.url, cache_dir=tmp_path / "cache", offline=True)
    assert audit_vulnerabilities(offline, HOSTS, []) == cold
    assert server.requests == []


def test_expired_answers_are_asked_again(
    make_osv_server: Callable[..., OsvServer], tmp_path: Path
) -> None:
    server = make_osv_server()
    audit_vulnerabilities(api(server, tmp_path / "cache"), HOSTS, [])
    server.clear_log()
    audit_vulnerabilities(api(server, tmp_path / "cache", refresh=True), HOSTS, [])
    assert len(server.batches()) == 1
    server.clear_log()
    audit_vulnerabilities(api(server, tmp_path / "cache", max_age=timedelta(0)), HOSTS, [])
    assert len(server.batches()) == 1


def test_offline_without_cache_is_incomplete(
    make_osv_server: Callable[..., OsvServer], tmp_path: Path
) -> None:
    server = make_osv_server()
    source = open_vulnerability_source(server.url, cache_dir=tmp_path / "c", offline=True)
    audit = audit_vulnerabilities(source, HOSTS, [])
    assert [f.check for f in audit.findings] == ["vulnerability.lookup-failed"]
    assert server.requests == []


def test_batches_hold_at_most_1000_queries(make_osv_server: Callable[..., OsvServer]) -> None:
    server = make_osv_server()
    many = {"h": Environment(installed={f"pkg-{i}": "1.0" for i in range(2500)})}
    audit = audit_vulnerabilities(api(server), many, [])
    sizes = [len(r.body["queries"]) for r in server.batches()]  # type: ignore[index]
    assert (sizes, audit.findings) == ([1000, 1000, 500], ())


@pytest.mark.parametrize(
    ("path", "fault", "times"),
    [
        (BATCH_PATH, Fault.STATUS, 1),
        (BATCH_PATH, Fault.RESET, 1),
        (BATCH_PATH, Fault.TRUNCATED, 1),
        (vuln_path("PYSEC-2025-41"), Fault.HTML, 1),
        (vuln_path("GHSA-53q9-r3pm-6pq6"), Fault.STATUS, 1),
    ],
)
def test_a_transient_fault_leaves_the_result_unchanged(
    make_osv_server: Callable[..., OsvServer], path: str, fault: Fault, times: int
) -> None:
    clean = audit_vulnerabilities(api(make_osv_server()), HOSTS, [])
    server = make_osv_server()
    server.fail(path, fault, times=times)
    assert audit_vulnerabilities(api(server, backoff_base=0.0), HOSTS, []) == clean


@pytest.mark.parametrize(
    ("path", "fault", "failed", "reported"),
    [
        (BATCH_PATH, Fault.STATUS, 7, 0),
        (BATCH_PATH, Fault.HTML, 7, 0),
        (vuln_path("PYSEC-2025-41"), Fault.STATUS, 1, 4),
        (vuln_path("MAL-2026-15859"), Fault.RESET, 1, 4),
    ],
)
def test_a_lasting_fault_makes_the_run_incomplete(
    make_osv_server: Callable[..., OsvServer], path: str, fault: Fault, failed: int, reported: int
) -> None:
    server = make_osv_server()
    server.fail(path, fault, times=10)
    audit = audit_vulnerabilities(api(server), HOSTS, [])
    (lookup,) = [f for f in audit.findings if f.check == "vulnerability.lookup-failed"]
    assert lookup.severity is Severity.ERROR
    assert f"failed for {failed} installed distribution" in lookup.message
    # what was answered is still reported; nothing failed is reported clean
    assert len({r.distribution for r in audit.rows}) == reported


def test_a_missing_advisory_is_a_failed_lookup(make_osv_server: Callable[..., OsvServer]) -> None:
    server = make_osv_server()
    server.fail(vuln_path("PYSEC-2023-227"), Fault.STATUS, times=5, status=404)
    audit = audit_vulnerabilities(api(server), HOSTS, [])
    (lookup,) = [f for f in audit.findings if f.check == "vulnerability.lookup-failed"]
    assert lookup.message.endswith("advisory PYSEC-2023-227: HTTP 404")


def test_plain_http_is_for_loopback_only() -> None:
    with pytest.raises(InputError, match="plain http is only for this machine"):
        open_vulnerability_source("http://osv.example.org")
    assert open_vulnerability_source("none") is None


def test_a_damaged_zip_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(InputError, match="not a readable OSV zip"):
        OfflineDatabase(bad).candidates([("torch", "2.5.1")])
    broken = write_zip(tmp_path / "broken.zip", [])
    with zipfile.ZipFile(broken, "a") as archive:
        archive.writestr("X.json", "{not json")
    with pytest.raises(InputError, match=r"broken.zip:X.json: not an OSV record"):
        OfflineDatabase(broken).candidates([("torch", "2.5.1")])


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("X.json", b" " * (MAX_RECORD_BYTES + 1))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InputError, match="inflates to more than 8 MiB"):
        OfflineDatabase(bomb).candidates([("torch", "2.5.1")])


def test_a_fifo_is_refused(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "all.zip"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        OfflineDatabase(fifo).candidates([("torch", "2.5.1")])


def test_the_clock_decides_freshness(
    make_osv_server: Callable[..., OsvServer], tmp_path: Path
) -> None:
    from audit.registry.cache import RegistryCache
    from audit.vulnerabilities.osv_api import OsvApi

    server = make_osv_server()
    cache = RegistryCache(tmp_path / "cache")
    first = api(server, tmp_path / "cache")
    audit_vulnerabilities(first, HOSTS, [])
    later = datetime.now(UTC) + timedelta(hours=2)
    source = OsvApi(server.url, None, cache, clock=lambda: later)
    assert (
        audit_vulnerabilities(source, HOSTS, []).rows
        == audit_vulnerabilities(first, HOSTS, []).rows
    )


def test_a_record_under_another_id_is_a_failed_lookup(
    make_osv_server: Callable[..., OsvServer],
) -> None:
    server = make_osv_server()
    other = vuln_path("GHSA-53q9-r3pm-6pq6")
    server.fail(vuln_path("PYSEC-2025-41"), Fault.REDIRECT, times=5, location=other)
    audit = audit_vulnerabilities(api(server), HOSTS, [])
    (lookup,) = [f for f in audit.findings if f.check == "vulnerability.lookup-failed"]
    assert lookup.message.endswith("advisory PYSEC-2025-41: not an OSV record for that id")


def test_a_redirect_elsewhere_is_refused(make_osv_server: Callable[..., OsvServer]) -> None:
    server = make_osv_server()
    server.fail(BATCH_PATH, Fault.REDIRECT, times=5, status=307, location="/elsewhere")
    audit = audit_vulnerabilities(api(server), HOSTS, [])
    (lookup,) = [f for f in audit.findings if f.check == "vulnerability.lookup-failed"]
    assert lookup.message.endswith(f"refused a redirect to {server.url}/elsewhere")
    assert all("Authorization" not in r.headers for r in server.requests)


PYPA_YAML = """\
id: PYSEC-2025-41
modified: 2025-05-28T15:23:37.843138Z
published: 2025-04-18T16:15:23Z
aliases:
- CVE-2025-32434
details: In version 2.5.1 and prior, torch.load runs code. Patched in 2.6.0.
affected:
- package:
    name: torch
    ecosystem: PyPI
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: "0"
    - fixed: 2.6.0
"""


def test_a_pypa_yaml_with_timestamps_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "vulns" / "torch"
    folder.mkdir(parents=True)
    (folder / "PYSEC-2025-41.yaml").write_text(PYPA_YAML)
    (folder / ".hidden.yaml").write_text("not: [an, advisory")
    (folder / "notes.txt").write_text("ignored")
    audit = audit_vulnerabilities(OfflineDatabase(tmp_path / "vulns"), HOSTS, [])
    assert [(r.vuln_id, r.fixed_in) for r in audit.rows] == [("PYSEC-2025-41", "2.6.0")]


def test_a_hostile_folder(tmp_path: Path) -> None:
    import os

    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(osv_record("X", "torch", versions=["2.5.1"])))
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "link.json").symlink_to(outside)
    assert audit_vulnerabilities(OfflineDatabase(folder), HOSTS, []).rows == ()
    os.mkfifo(folder / "pipe.json")
    with pytest.raises(InputError, match=r"pipe.json: a FIFO, not a regular file"):
        OfflineDatabase(folder).candidates([("torch", "2.5.1")])
