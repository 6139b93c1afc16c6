"""Builders of AuditRun values for the report tests, and a sample run covering every column."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import audit.cli
import audit.pipeline
from audit.model import (
    AuditedEntry,
    AuditRun,
    EntrySource,
    Environment,
    Failed,
    Finding,
    FindingSource,
    Found,
    LookupResult,
    ManifestEntry,
    NodeVersion,
    RequirementRow,
    Severity,
    When,
)
from audit.pipeline import Auditor
from tests.registry_server import node_version_record
from tests.s3_server import CLEARED, S3Server

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
LINUX_CUDA = Environment(
    os="linux",
    accelerators=frozenset({"cuda", "cpu"}),
    comfyui_version="0.3.30",
    sources={"os": "detected", "accelerators": "nvidia-smi"},
)
DEFAULT_HOSTS = {"gpu-01": LINUX_CUDA}


def entry(
    node_id: str = "comfyui-foo",
    version: str | None = "1.2.0",
    *,
    host: str = "gpu-01",
    source: EntrySource = EntrySource.REGISTRY,
    url: str | None = None,
    hash: str | None = None,
    disabled: bool = False,
) -> ManifestEntry:
    return ManifestEntry(
        host=host,
        node_id=node_id,
        version=version,
        source=source,
        manifest=f"{host}.json",
        url=url,
        hash=hash,
        disabled=disabled,
    )


def finding(
    check: str = "os.unsupported",
    severity: Severity = Severity.WARNING,
    message: str = "a message",
    *,
    host: str = "gpu-01",
    node_id: str | None = "comfyui-foo",
    version: str | None = "1.2.0",
    source: FindingSource = FindingSource.REGISTRY,
    expected: str | None = None,
    actual: str | None = None,
    when: When = When.NOW,
) -> Finding:
    return Finding(
        host=host,
        node_id=node_id,
        version=version,
        check=check,
        severity=severity,
        message=message,
        source=source,
        expected=expected,
        actual=actual,
        when=when,
    )


def audited(
    manifest_entry: ManifestEntry,
    result: LookupResult | None = None,
    findings: Sequence[Finding] = (),
    *,
    compatible_now: bool | None = None,
    compatible_after_upgrade: bool | None = None,
) -> AuditedEntry:
    return AuditedEntry(
        entry=manifest_entry,
        result=result,
        findings=tuple(findings),
        compatible_now=compatible_now,
        compatible_after_upgrade=compatible_after_upgrade,
    )


def make_run(
    entries: Sequence[AuditedEntry] = (),
    host_findings: Sequence[Finding] = (),
    *,
    run_id: str = "run-1",
    host_environments: Mapping[str, Environment] | None = None,
    options: Mapping[str, object] | None = None,
    exit_code: int = 0,
    requirements: Sequence[RequirementRow] = (),
) -> AuditRun:
    return AuditRun(
        run_id=run_id,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=2, milliseconds=500),
        environment=LINUX_CUDA,
        host_environments=host_environments if host_environments is not None else DEFAULT_HOSTS,
        entries=tuple(entries),
        host_findings=tuple(host_findings),
        options={"fail_on": "error"} if options is None else options,
        exit_code=exit_code,
        requirements=tuple(requirements),
    )


def requirement(
    text: str = "numpy>=1.26",
    distribution: str | None = "numpy",
    specifier: str | None = ">=1.26",
    *,
    host: str = "gpu-01",
    node_id: str = "comfyui-foo",
    version: str | None = "1.2.0",
    marker: str | None = None,
    source: str = "registry",
    installed_version: str | None = None,
    satisfied: bool | None = None,
) -> RequirementRow:
    return RequirementRow(
        host=host,
        node_id=node_id,
        version=version,
        requirement=text,
        distribution=distribution,
        specifier=specifier,
        marker=marker,
        source=source,
        installed_version=installed_version,
        satisfied=satisfied,
    )


#: One row per kind of cell: met, unmet, unjudged (marker), and not PEP 508 at all.
SAMPLE_REQUIREMENTS = (
    requirement(installed_version="1.26.4", satisfied=True),
    requirement(
        "torch<2", "torch", "<2", source="local", installed_version="2.9.1+cu126", satisfied=False
    ),
    requirement(
        'pywin32; python_version < "3.12"',
        "pywin32",
        None,
        marker='python_version < "3.12"',
        source="local",
    ),
    requirement("numpy<1.24>=1.18", None, None, node_id="bar", version="2.0", source="local"),
)


FOO_VERSION = NodeVersion(
    node_id="comfyui-foo",
    version="1.2.0",
    status="NodeVersionStatusActive",
    deprecated=False,
    supported_os=("linux", "windows"),
    supported_accelerators=("cuda",),
    supported_comfyui_version=">=0.4.0",
    dependencies=("numpy>=1.26", "torch"),
    tags_admin=(),
    fetched_at=datetime(2024, 4, 30, 8, 15, 0, tzinfo=UTC),
)
COMFYUI_TOO_OLD = finding(
    "comfyui.version",
    Severity.ERROR,
    "needs ComfyUI >=0.4.0, installed 0.3.30",
    expected=">=0.4.0",
    actual="0.3.30",
)
DEPENDENCIES_NOTE = finding("dependency.info", Severity.INFO, "2 requirements")
FETCH_FAILED = finding(
    "registry.fetch-failed",
    Severity.ERROR,
    "timed out after 3 attempts",
    node_id="bar",
    version="2.0",
)
ENV_UNKNOWN = finding(
    "env.unknown",
    Severity.WARNING,
    "installed packages are unknown",
    node_id=None,
    version=None,
    source=FindingSource.ENVIRONMENT,
)


def sample_run(run_id: str = "run-1") -> AuditRun:
    """One host, three entries: found (cached), git (not looked up, disabled), failed."""
    foo = audited(
        entry(),
        Found(FOO_VERSION, cache_hit=True),
        [COMFYUI_TOO_OLD, DEPENDENCIES_NOTE],
        compatible_now=False,
    )
    git = audited(
        entry(
            "my-node",
            "0123abc",
            source=EntrySource.GIT,
            url="https://github.com/me/my-node",
            hash="0123abc",
            disabled=True,
        ),
        compatible_now=True,
    )
    bar = audited(entry("bar", "2.0"), Failed("timed out"), [FETCH_FAILED])
    return make_run(
        [foo, git, bar],
        [ENV_UNKNOWN],
        run_id=run_id,
        exit_code=3,
        requirements=SAMPLE_REQUIREMENTS,
    )


@pytest.fixture
def run() -> AuditRun:
    return sample_run()


def read_frame(path: Path) -> pd.DataFrame:
    """Read a Parquet report as a notebook would, with list cells turned into Python lists."""
    frame = pd.read_parquet(path)
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(lambda v: v.tolist() if isinstance(v, np.ndarray) else v)
    return frame


def parquet_rows(path: Path) -> list[dict[str, object]]:
    return list(pq.read_table(path).to_pylist())


@pytest.fixture(scope="session")
def moto_server() -> Iterator[S3Server]:
    """One local S3-compatible server (moto) on 127.0.0.1 for the whole session."""
    with S3Server.start() as server:
        yield server


@pytest.fixture
def s3(moto_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The local S3 server, emptied, with the AWS environment pointing at it and nowhere else."""
    moto_server.reset()
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in moto_server.environment().items():
        monkeypatch.setenv(name, value)
    return moto_server


#: What a fleet's registry mirror knows: versions that are fine, banned, deprecated, broken
#: by the 0.4.0 upgrade, wrong for Windows, too new for 0.3.x, or malformed.
FLEET_RECORDS = [
    node_version_record(
        "comfyui-kjnodes",
        version,
        supported_os=["OS Independent"],
        supported_accelerators=["GPU :: NVIDIA CUDA"],
        supported_comfyui_version=">=0.3.0",
    )
    for version in ("1.0.0", "1.1.2")
] + [
    *(
        node_version_record(
            "comfyui-impact-pack", version, supported_comfyui_version=">=0.3.0,<0.4.0"
        )
        for version in ("8.7.0", "8.8.1")
    ),
    node_version_record("comfyui-mxtoolkit", "0.9.92", status="NodeVersionStatusBanned"),
    node_version_record("comfyui-easy-use", "1.3.0", deprecated=True),
    node_version_record("comfyui-linux-only", "1.0.0", supported_os=["POSIX :: Linux"]),
    node_version_record("comfyui-new-only", "2.0.0", supported_comfyui_version=">=0.4.0"),
    node_version_record("comfyui-broken", "1.0.0", supported_accelerators="cuda"),
]
LINUX = ("--os", "linux", "--accelerator", "cuda")
TO_040 = ("--target-comfyui", "0.4.0")


class FleetMaker:
    """Makes runs with the real CLI (``comfy-audit run``) against a mirror file.

    Each run starts at the time the test gives, and its id is that time plus ``-000000``
    unless the test names one, so that the tables a roll-up makes can be written down exactly.
    """

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.mirror = root / "mirror.jsonl"
        self.mirror.write_text("".join(json.dumps(r) + "\n" for r in FLEET_RECORDS))
        self._at = T0
        self._run_id = ""
        self._runs = 0
        monkeypatch.setattr(audit.pipeline, "Auditor", self._auditor)
        monkeypatch.setattr(audit.pipeline, "new_run_id", lambda now: self._run_id)

    def _auditor(self, registry: Any, options: Any, *args: Any, **kwargs: Any) -> Auditor:
        # NOTE: whatever clock the CLI passes, the run starts when the test says.
        return Auditor(registry, options, clock=lambda: self._at)

    def _snapshot(self, host: str, packs: Mapping[str, str]) -> Path:
        folder = self.root / "manifests" / str(self._runs)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{host}.json"
        snapshot = {
            "comfyui": "v0.3.40",
            "cnr_custom_nodes": dict(packs),
            "git_custom_nodes": {},
            "file_custom_nodes": [{"filename": "websocket_image_save.py", "disabled": False}],
            "pips": {"numpy==1.26.4": ""},
        }
        path.write_text(json.dumps(snapshot))
        return path

    def run(
        self,
        output: str | Path,
        at: datetime,
        hosts: Mapping[str, Mapping[str, str]],
        *flags: str,
        run_id: str | None = None,
    ) -> str:
        """Audit one snapshot per host (named by host) in one run; return the run id.

        Each snapshot lists ``hosts[host]`` (node id → version) and one file node, which is
        not a registry pack (an info finding).
        """
        self._runs += 1
        self._at = at
        self._run_id = run_id or f"{at:%Y%m%dT%H%M%SZ}-000000"
        manifests = [str(self._snapshot(host, packs)) for host, packs in hosts.items()]
        args = ["run", *manifests, "--registry", str(self.mirror), "-o", str(output), *flags]
        result = CliRunner().invoke(audit.cli.cli, args, catch_exceptions=False)
        assert result.exit_code in (0, 1, 3), result.output
        return self._run_id
