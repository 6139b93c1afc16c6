"""End to end through the command line: ``--vuln-db`` (API, zip, folder, none), the
``vulnerabilities`` table, advice rows, exit codes, and ``mirror --vulns``."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner, Result

from audit.cli import cli
from audit.report.schema import VULNERABILITIES_SCHEMA
from tests.osv_server import BATCH_PATH, OsvServer
from tests.registry_server import Fault, node_version_record
from tests.vulnerabilities.support import INSTALLED

REGISTRY = [
    node_version_record("comfyui-pinned", "1.0.0", dependencies=["torch<2.6", "requests"]),
    node_version_record("comfyui-loose", "2.0.0", dependencies=["requests>=2.0"]),
]
MACHINE = ["--os", "linux", "--accelerator", "cuda", "--comfyui-version", "0.3.40"]


def snapshot(path: Path, *, pinned_disabled: bool = False) -> Path:
    nodes = {"comfyui-loose": "2.0.0"}
    document = {
        "comfyui": "v0.3.40",
        "cnr_custom_nodes": nodes,
        "git_custom_nodes": {},
        "file_custom_nodes": [],
        "pips": {f"{name}=={version}": "" for name, version in INSTALLED.items()},
    }
    if pinned_disabled:
        document["cnr_custom_nodes"] = {**nodes}
        document["disabled_cnr_custom_nodes"] = {"comfyui-pinned": "1.0.0"}
    else:
        document["cnr_custom_nodes"] = {**nodes, "comfyui-pinned": "1.0.0"}
    path.write_text(json.dumps(document))
    return path


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def run(tmp_path: Path, name: str, *args: object) -> tuple[Result, Path]:
    mirror = tmp_path / "registry.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in REGISTRY))
    manifest = tmp_path / "gpu-01.json"
    if not manifest.exists():
        snapshot(manifest)
    out = tmp_path / name
    result = invoke("run", manifest, "--registry", mirror, "-o", out, "-q", *MACHINE, *args)
    (folder,) = out.iterdir()
    return result, folder


def rows(folder: Path, stem: str) -> list[dict[str, str]]:
    with (folder / f"{stem}.csv").open(encoding="utf-8", newline="") as stream:
        return [{k: v for k, v in row.items() if k != "run_id"} for row in csv.DictReader(stream)]


def test_torch_gets_cve_2025_32434_and_zip_and_api_agree(
    tmp_path: Path, osv_zip: Path, make_osv_server: Callable[..., OsvServer]
) -> None:
    server = make_osv_server(page_size=3)
    by_zip, zipped = run(tmp_path, "zip", "--vuln-db", osv_zip)
    by_api, asked = run(tmp_path, "api", "--vuln-db", server.url)
    assert by_zip.exit_code == by_api.exit_code == 1
    assert rows(zipped, "findings") == rows(asked, "findings")
    assert rows(zipped, "vulnerabilities") == rows(asked, "vulnerabilities")
    torch = [r for r in rows(zipped, "vulnerabilities") if r["vuln_id"] == "PYSEC-2025-41"]
    assert torch == [
        {
            "host": "gpu-01",
            "distribution": "torch",
            "installed_version": "2.5.1+cu124",
            "vuln_id": "PYSEC-2025-41",
            "aliases": "CVE-2025-32434;GHSA-53q9-r3pm-6pq6",
            "severity": "critical",
            "score": "9.3",
            "fixed_in": "2.6.0",
            "summary": "PyTorch: torch.load with weights_only=True leads to remote code execution",
            "required_by": "comfyui-pinned 1.0.0",
        }
    ]
    # Each finding names its advisory, so that a baseline tells two of one version apart.
    known = [(r["vuln_id"], r["actual"]) for r in rows(zipped, "findings") if r["source"] == "osv"]
    listed = [(r["vuln_id"], r["installed_version"]) for r in rows(zipped, "vulnerabilities")]
    assert sorted(known) == sorted(listed) and len(set(known)) == 7
    assert pq.read_table(zipped / "vulnerabilities.parquet").schema == VULNERABILITIES_SCHEMA
    document = json.loads((zipped / "run.json").read_text())
    assert (document["options"]["vuln_db"], document["counts"]["vulnerabilities"]) == (
        str(osv_zip),
        7,
    )


def test_advice_upgrades_or_names_the_pack_that_holds_back(tmp_path: Path, osv_zip: Path) -> None:
    _, folder = run(tmp_path, "out", "--vuln-db", osv_zip)
    advice = [r for r in rows(folder, "recommendations") if r["distribution"]]
    assert [
        (r["distribution"], r["node_id"], r["recommended_version"], r["blocked_by"]) for r in advice
    ] == [
        ("pillow", "", "10.0.0", ""),
        ("requests", "", "2.32.0", ""),
        ("torch", "", "", "comfyui-pinned 1.0.0 requires torch<2.6"),
    ]


def test_findings_of_a_package_only_a_disabled_pack_needs_keep_their_severity(
    tmp_path: Path, osv_zip: Path
) -> None:
    snapshot(tmp_path / "gpu-01.json", pinned_disabled=True)
    _, folder = run(tmp_path, "out", "--vuln-db", osv_zip)
    torch = [r for r in rows(folder, "findings") if "PYSEC-2025-41" in r["message"]]
    assert [r["severity"] for r in torch] == ["critical"]


def test_without_vuln_db_a_mirror_run_checks_nothing(tmp_path: Path) -> None:
    result, folder = run(tmp_path, "out")
    assert result.exit_code == 0
    assert rows(folder, "vulnerabilities") == []
    header = next(csv.reader((folder / "vulnerabilities.csv").read_text().splitlines()))
    assert header == VULNERABILITIES_SCHEMA.names
    assert json.loads((folder / "run.json").read_text())["options"]["vuln_db"] == "none"


def test_a_lasting_fault_exits_3_never_clean(
    tmp_path: Path, make_osv_server: Callable[..., OsvServer]
) -> None:
    server = make_osv_server()
    server.fail(BATCH_PATH, Fault.STATUS, times=50)
    result, folder = run(
        tmp_path, "out", "--vuln-db", server.url, "--retries", "0", "--fail-on", "never"
    )
    assert result.exit_code == 3
    (failed,) = [r for r in rows(folder, "findings") if r["check"] == "vulnerability.lookup-failed"]
    assert failed["message"] == (
        f"vulnerability lookup in {server.url} failed for 7 installed distributions "
        "(0requests, aiohttp, numpy, pillow, requests, …): HTTP 503 after 1 attempt"
    )


def test_mirror_vulns_writes_a_folder_that_run_reads(
    tmp_path: Path, osv_zip: Path, make_osv_server: Callable[..., OsvServer]
) -> None:
    from tests.registry_server import RegistryServer

    manifest = snapshot(tmp_path / "gpu-01.json")
    folder = tmp_path / "advisories"
    with RegistryServer(REGISTRY) as registry:
        result = invoke(
            "mirror", manifest, "-o", tmp_path / "m.jsonl", "--registry", registry.url,
            "--no-cache", "--vulns", folder, "--vuln-db", make_osv_server().url,
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote 10 advisories" in result.stderr
    _, by_folder = run(tmp_path, "folder", "--vuln-db", folder)
    _, by_zip = run(tmp_path, "zip", "--vuln-db", osv_zip)
    assert rows(by_folder, "vulnerabilities") == rows(by_zip, "vulnerabilities")
