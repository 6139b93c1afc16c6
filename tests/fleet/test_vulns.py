"""The fleet roll-up's ``vulnerabilities`` table, with runs written before it existed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from audit.cli import cli
from audit.fleet.rollup import rollup
from audit.fleet.schema import VULNERABILITIES_ROLLUP_SCHEMA
from audit.model import Severity


def audit_host(tmp_path: Path, host: str, installed: dict[str, str], osv_zip: Path) -> Path:
    manifest = tmp_path / f"{host}.json"
    pips = {f"{name}=={version}": "" for name, version in installed.items()}
    manifest.write_text(json.dumps({"comfyui": "v0.3.40", "cnr_custom_nodes": {}, "pips": pips}))
    registry = tmp_path / "registry.jsonl"
    registry.write_text("")
    out = tmp_path / "out"
    before = set(out.iterdir()) if out.exists() else set()
    args = ["run", str(manifest), "--registry", str(registry), "-o", str(out), "-q"]
    args += ["--os", "linux", "--accelerator", "cuda", "--vuln-db", str(osv_zip)]
    CliRunner().invoke(cli, args, catch_exceptions=False)
    (folder,) = set(out.iterdir()) - before
    return folder


def test_hosts_exposed_worst_severity_and_the_fix_for_all(tmp_path: Path, osv_zip: Path) -> None:
    audit_host(tmp_path, "a", {"torch": "2.5.1+cu124", "requests": "2.28.0"}, osv_zip)
    audit_host(tmp_path, "b", {"torch": "2.4.0", "requests": "2.31.0"}, osv_zip)
    old = audit_host(tmp_path, "c", {"torch": "2.0.0"}, osv_zip)
    # NOTE: a run written before the table existed: it counts as having none.
    for name in ("vulnerabilities.parquet", "vulnerabilities.csv"):
        (old / name).unlink()
    rolled = rollup(tmp_path / "out", now=datetime.now(UTC))
    table = rolled.vulnerabilities
    assert table.schema == VULNERABILITIES_ROLLUP_SCHEMA
    rows = [{k: v for k, v in r.items() if k != "rollup_id"} for r in table.to_pylist()]
    assert rows == [
        {
            "vuln_id": "PYSEC-2025-41",
            "aliases": ["CVE-2025-32434", "GHSA-53q9-r3pm-6pq6"],
            "distribution": "torch",
            "severity": Severity.CRITICAL.label,
            "fixed_in": "2.6.0",
            "hosts_exposed": 2,
        },
        {
            "vuln_id": "GHSA-9wx4-h78v-vm56",
            "aliases": ["CVE-2024-35195"],
            "distribution": "requests",
            "severity": "warning",
            "fixed_in": "2.32.0",
            "hosts_exposed": 2,
        },
        {
            "vuln_id": "PYSEC-2023-74",
            "aliases": ["CVE-2023-32681", "GHSA-j8r2-6x86-q33q"],
            "distribution": "requests",
            "severity": "warning",
            "fixed_in": "2.31.0",
            "hosts_exposed": 1,
        },
        {
            "vuln_id": "PYSEC-2025-190",
            "aliases": ["CVE-2025-2149"],
            "distribution": "torch",
            "severity": "info",
            "fixed_in": None,
            "hosts_exposed": 2,
        },
        {
            "vuln_id": "PYSEC-2025-210",
            "aliases": ["CVE-2025-63396"],
            "distribution": "torch",
            "severity": "info",
            "fixed_in": None,
            "hosts_exposed": 1,
        },
    ]


def test_rendered(tmp_path: Path, osv_zip: Path) -> None:
    from audit.fleet.output import render_rollup

    audit_host(tmp_path, "a", {"torch": "2.5.1+cu124"}, osv_zip)
    text = render_rollup(rollup(tmp_path / "out", now=datetime.now(UTC)))
    assert text.split("\n\n")[-1] == (
        "known vulnerabilities of installed Python packages, worst first:\n"
        "  vulnerability   package  severity  fixed in  hosts\n"
        "  PYSEC-2025-41   torch    critical  2.6.0         1\n"
        "  PYSEC-2025-190  torch    info      -             1"
    )
