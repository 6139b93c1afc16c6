"""Builders of AuditRun values for the report tests, and a sample run covering every column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

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
