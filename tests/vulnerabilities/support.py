"""OSV records written for the tests, modelled on the real ones in the shared corpus (pypa,
GHSA, malicious-packages), and helpers to serve them as a zip, a folder or a loopback API."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "INSTALLED",
    "RECORDS",
    "osv_record",
    "write_folder",
    "write_zip",
]

Record = dict[str, Any]

V3_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
V4_CRITICAL = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"  # 9.3
V4_LOW = (
    "CVSS:4.0/AV:L/AC:H/AT:N/PR:L/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N/E:X/CR:X/IR:X/AR:X/MAV:X/"
    "MAC:X/MAT:X/MPR:X/MUI:X/MVC:X/MVI:X/MVA:X/MSC:X/MSI:X/MSA:X/S:X/AU:X/R:X/V:X/RE:X/U:X"
)
V3_LOW = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:L"  # 3.3
V3_MEDIUM = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N"  # 5.3
V3_HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"  # 7.5


def osv_record(
    ident: str,
    package: str,
    *events: tuple[str, str],
    aliases: Iterable[str] = (),
    versions: Iterable[str] = (),
    vectors: Iterable[tuple[str, str]] = (),
    summary: str | None = None,
    details: str = "",
    **extra: Any,
) -> Record:
    """One OSV record about one PyPI package: one ``ECOSYSTEM`` range of ``events`` (if any)."""
    affected: Record = {"package": {"ecosystem": "PyPI", "name": package}}
    if events:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": [{kind: v} for kind, v in events]}]
    if versions:
        affected["versions"] = list(versions)
    record: Record = {
        "id": ident,
        "modified": "2025-05-28T15:23:37.843138Z",
        "aliases": list(aliases),
        "details": details,
        "affected": [affected],
        "severity": [{"type": kind, "score": vector} for kind, vector in vectors],
    }
    if summary is not None:
        record["summary"] = summary
    record.update(extra)
    return record


RECORDS: tuple[Record, ...] = (
    # torch.load(weights_only=True) RCE, as pypa writes it: a range and a versions list.
    osv_record(
        "PYSEC-2025-41",
        "torch",
        ("introduced", "0"),
        ("fixed", "2.6.0"),
        aliases=["CVE-2025-32434", "GHSA-53q9-r3pm-6pq6"],
        versions=["2.4.0", "2.4.1", "2.5.0", "2.5.1"],
        vectors=[("CVSS_V3", V3_CRITICAL)],
        details="In version 2.5.1 and prior, torch.load with weights_only=True runs code. "
        "This issue has been patched in version 2.6.0.",
    ),
    # The same vulnerability from GitHub: a CVSS v4 vector, which wins.
    osv_record(
        "GHSA-53q9-r3pm-6pq6",
        "torch",
        ("introduced", "0"),
        ("fixed", "2.6.0"),
        aliases=["CVE-2025-32434"],
        vectors=[("CVSS_V4", V4_CRITICAL)],
        summary="PyTorch: torch.load with weights_only=True leads to remote code execution",
    ),
    # An odd last_affected with a local-like suffix: 2.6.0 and everything before it.
    osv_record(
        "PYSEC-2025-190",
        "torch",
        ("introduced", "0"),
        ("last_affected", "2.6.0-cu124"),
        aliases=["CVE-2025-2149"],
        vectors=[("CVSS_V4", V4_LOW)],
        details="A vulnerability was found in PyTorch 2.6.0+cu124. Quantized sigmoid.",
    ),
    # Two last_affected in a row: only up to the first, as osv-scanner evaluates it.
    osv_record(
        "PYSEC-2025-210",
        "torch",
        ("introduced", "0"),
        ("last_affected", "2.5.0-NA"),
        ("last_affected", "2.7.1-NA"),
        aliases=["CVE-2025-63396"],
        vectors=[("CVSS_V3", V3_LOW)],
        details="An issue was discovered in PyTorch v2.5 and v2.7.1. Profiler hangs.",
    ),
    # Withdrawn, with an empty fixed event: never reported.
    osv_record(
        "GHSA-rwqr-c348-m5wr",
        "aiohttp",
        ("introduced", "0"),
        ("fixed", ""),
        aliases=["CVE-2022-33124"],
        vectors=[("CVSS_V3", V3_MEDIUM)],
        summary="Withdrawn: Denial of Service in aiohttp",
        withdrawn="2022-06-28T16:39:06Z",
    ),
    # A PYSEC and a GHSA that name only the CVE: merged through it.
    osv_record(
        "PYSEC-2023-74",
        "requests",
        ("introduced", "2.3.0"),
        ("fixed", "2.31.0"),
        aliases=["CVE-2023-32681"],
        details="Requests is a HTTP library. Proxy-Authorization headers leak on redirects.",
    ),
    osv_record(
        "GHSA-j8r2-6x86-q33q",
        "requests",
        ("introduced", "2.3.0"),
        ("fixed", "2.31.0"),
        aliases=["CVE-2023-32681"],
        vectors=[("CVSS_V3", V3_MEDIUM)],
        summary="Unintended leak of Proxy-Authorization header in requests",
    ),
    # A GHSA alone (no PYSEC): its id is the GHSA; fixed in two branches.
    {
        **osv_record(
            "GHSA-9wx4-h78v-vm56",
            "requests",
            aliases=["CVE-2024-35195"],
            vectors=[("CVSS_V3", V3_MEDIUM)],
            summary="Requests session object does not verify requests after making first "
            "request with verify=False",
        ),
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "requests"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "0"},
                            {"fixed": "2.32.0"},
                        ],
                    }
                ],
            }
        ],
    },
    # Several affected entries (two packages, two ranges) and no vector: warning.
    {
        **osv_record("PYSEC-2023-227", "pillow", aliases=["CVE-2023-44271"]),
        "details": "An issue was discovered in Pillow before 10.0.0. ImageFont uses "
        "unbounded memory.",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "Pillow"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "0"},
                            {"fixed": "9.5.0"},
                            {"introduced": "9.6.0"},
                            {"fixed": "10.0.0"},
                        ],
                    }
                ],
            },
            {
                "package": {"ecosystem": "PyPI", "name": "pillow-simd"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
            },
        ],
    },
    # A range with a limit: 4.0 and later are outside it.
    osv_record(
        "PYSEC-2024-227",
        "transformers",
        ("introduced", "0"),
        ("limit", "4.36.0"),
        aliases=["CVE-2023-7018"],
        vectors=[("CVSS_V3", V3_HIGH)],
        details="Deserialization of untrusted data in transformers.",
    ),
    # A malicious package, versions list only.
    osv_record(
        "MAL-2026-15859",
        "0requests",
        versions=["0.0.1"],
        summary="Malicious code in 0requests (PyPI)",
    ),
)
"""The records; `INSTALLED` names what a host has so that each one is exercised."""

INSTALLED: Mapping[str, str] = {
    "torch": "2.5.1+cu124",
    "aiohttp": "3.8.1",
    "requests": "2.28.0",
    "Pillow": "9.6.1",
    "transformers": "4.30.0",
    "0requests": "0.0.1",
    "numpy": "1.26.4",
}


def write_zip(path: Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``records`` as OSV's PyPI export does: one ``<id>.json`` per record in a zip."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return path


def write_folder(path: Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``records`` as a folder, every second one as YAML (as pypa keeps them)."""
    path.mkdir(parents=True, exist_ok=True)
    for index, record in enumerate(records):
        if index % 2:
            (path / f"{record['id']}.yaml").write_text(yaml.safe_dump(dict(record)))
        else:
            (path / f"{record['id']}.json").write_text(json.dumps(record))
    return path
