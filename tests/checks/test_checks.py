"""Tests for audit.checks: evaluate() over one table of cases, findings and compatibility."""

from __future__ import annotations

import doctest
import re
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audit.checks.interface
import audit.checks.platform
import audit.checks.registry
import audit.checks.status
from audit.checks import CHECKS, evaluate
from audit.model import (
    EntrySource,
    Environment,
    Failed,
    Finding,
    FindingSource,
    Found,
    Invalid,
    LookupResult,
    Manifest,
    ManifestEntry,
    NodeAnswer,
    NodeVersion,
    NotFound,
    RegistryNode,
    Severity,
)

ENTRY = ManifestEntry(
    host="render-01",
    node_id="comfyui-foo",
    version="1.2.0",
    source=EntrySource.REGISTRY,
    manifest="snapshot.json",
    line=4,
)
ENV = Environment(
    os="linux",
    accelerators=frozenset({"cuda", "cpu"}),
    comfyui_version="0.3.40",
    frontend_version="1.20.5",
)
GIT_URL = "https://github.com/someone/ComfyUI-Foo"


def entry(**changes: Any) -> ManifestEntry:
    return replace(ENTRY, **changes)


def env(**changes: Any) -> Environment:
    return replace(ENV, **changes)


def found(**fields: Any) -> Found:
    """A registry answer for comfyui-foo 1.2.0: Active unless ``fields`` say otherwise."""
    fields.setdefault("status", "NodeVersionStatusActive")
    return Found(NodeVersion("comfyui-foo", "1.2.0", **fields))


Expected = tuple[tuple[str, str, str], ...]
"""The findings as ``(check, severity, when)``, in order."""


@dataclass(frozen=True)
class Case:
    """Represents one row of the table: an entry, its lookup and environment, and the result."""

    id: str
    result: LookupResult | None
    expected: Expected
    entry: ManifestEntry = ENTRY
    env: Environment = ENV
    node: NodeAnswer | None = None
    """The pack's Node answer; ``None`` when it was not looked up."""


def now(check: str, severity: str | None = None) -> tuple[str, str, str]:
    return (check, severity or CHECKS[check].label, "now")


def after(check: str, severity: str | None = None) -> tuple[str, str, str]:
    return (check, severity or CHECKS[check].label, "after-upgrade")


def node(**fields: Any) -> RegistryNode:
    """The Node record of comfyui-foo: Active, by an Active publisher, unless ``fields`` say."""
    fields.setdefault("status", "NodeStatusActive")
    fields.setdefault("publisher_id", "someone")
    fields.setdefault("publisher_status", "PublisherStatusActive")
    return RegistryNode("comfyui-foo", **fields)


UNKNOWN = now("env.unknown")
NIGHTLY = entry(
    source=EntrySource.GIT, version="5c5457a4", url=GIT_URL, hash="5c5457a4", registry_pack=True
)
BANNED_NODE = node(status="NodeStatusBanned")
LOCAL_WINDOWS = NodeVersion("comfyui-foo", "1.2.0", supported_os=("Microsoft :: Windows",))
BAD_ID = "comfyui\x00foo"
CPU_ONLY = frozenset({"cpu"})

CASES = [
    # --- entries without a registry answer ---
    Case("invalid-id", None, (now("manifest.invalid-entry"),), entry(node_id="../../etc")),
    Case("invalid-id-control-char", None, (now("manifest.invalid-entry"),), entry(node_id=BAD_ID)),
    Case("invalid-version", None, (now("manifest.invalid-entry"),), entry(version="1.0/../x")),
    Case(
        "invalid-entry-hides-lookup",
        found(status="NodeVersionStatusBanned"),
        (now("manifest.invalid-entry"),),
        entry(node_id="bad id"),
    ),
    Case(
        "invalid-entry-disabled",
        None,
        (now("manifest.invalid-entry", "info"),),
        entry(node_id="bad id", disabled=True),
    ),
    Case(
        "git-install",
        None,
        (now("registry.not-registry"),),
        entry(source=EntrySource.GIT, version="5c5457a4", url=GIT_URL, hash="5c5457a4"),
    ),
    Case(
        "file-install",
        None,
        (now("registry.not-registry"),),
        entry(source=EntrySource.FILE, node_id="my_nodes", version=None),
    ),
    Case("registry-version-unknown", None, (UNKNOWN,), entry(version=None)),
    # --- pack-level checks: the Node record, whichever version is installed ---
    Case("node-active", found(), (), node=node()),
    Case("node-banned-version-active", found(), (now("node.banned"),), node=BANNED_NODE),
    Case("node-banned-db-word", found(), (now("node.banned"),), node=node(status="banned")),
    Case(
        "publisher-banned",
        found(),
        (now("publisher.banned"),),
        node=node(publisher_status="PublisherStatusBanned"),
    ),
    Case(
        "node-and-publisher-banned",
        found(status="NodeVersionStatusBanned"),
        (now("status.banned"), now("node.banned"), now("publisher.banned")),
        node=node(status="NodeStatusBanned", publisher_status="PublisherStatusBanned"),
    ),
    Case("node-deleted", found(), (now("node.deleted"),), node=node(status="NodeStatusDeleted")),
    Case("node-status-unknown", found(), (now("status.unknown"),), node=node(status="Frozen")),
    Case(
        "publisher-status-unknown",
        found(),
        (now("status.unknown"),),
        node=node(publisher_status="PublisherStatusSuspended"),
    ),
    Case("node-status-empty", found(), (), node=node(status=None, publisher_status=None)),
    Case("node-no-record", found(), (), node=NotFound("no Node record (HTTP 404)")),
    Case("node-fetch-failed", found(), (now("registry.fetch-failed"),), node=Failed("timed out")),
    Case("node-invalid", found(), (now("registry.invalid-response"),), node=Invalid("no id")),
    Case(
        "node-malformed-publisher",
        found(),
        (now("registry.invalid-response"),),
        node=node(publisher_status=None, invalid_fields=("publisher",)),
    ),
    Case(
        "disabled-node-banned",
        found(status="NodeVersionStatusPending"),
        (now("status.pending", "info"), now("node.banned")),
        entry(disabled=True),
        node=BANNED_NODE,
    ),
    Case("nightly", None, (now("registry.nightly"),), NIGHTLY, node=node()),
    Case(
        "nightly-banned",
        None,
        (now("registry.nightly"), now("node.banned")),
        NIGHTLY,
        node=BANNED_NODE,
    ),
    Case(
        "nightly-disabled-banned",
        None,
        (now("registry.nightly", "info"), now("node.banned")),
        replace(NIGHTLY, disabled=True),
        node=BANNED_NODE,
    ),
    Case(
        "nightly-declares-windows",
        None,
        (now("registry.nightly"), now("os.unsupported"), now("publisher.banned")),
        replace(NIGHTLY, declared=LOCAL_WINDOWS),
        node=node(publisher_status="PublisherStatusBanned"),
    ),
    Case(
        "broken-pack-gets-no-pack-checks",
        None,
        (now("manifest.broken-pack"),),
        entry(version=None, problem="pyproject.toml is not valid TOML"),
        node=BANNED_NODE,
    ),
    # --- packs read from an install: broken ones, and what their own pyproject declares ---
    Case(
        "broken-pack",
        None,
        (now("manifest.broken-pack"),),
        entry(source=EntrySource.LOCAL, version=None, problem="pyproject.toml has no version"),
    ),
    Case(
        "broken-pack-disabled",
        None,
        (now("manifest.broken-pack", "info"),),
        entry(version=None, problem="pyproject.toml is not valid TOML", disabled=True),
    ),
    Case(
        "git-install-declares-windows",
        None,
        (now("registry.not-registry"), now("os.unsupported")),
        entry(source=EntrySource.GIT, url=GIT_URL, declared=LOCAL_WINDOWS),
    ),
    Case(
        "local-pack-unknown-to-registry-declares-windows",
        NotFound(),
        (now("registry.not-found"), now("os.unsupported")),
        entry(source=EntrySource.LOCAL, declared=LOCAL_WINDOWS),
    ),
    Case(
        "registry-answer-beats-declared",
        found(),
        (),
        entry(source=EntrySource.LOCAL, declared=LOCAL_WINDOWS),
    ),
    Case(
        "declared-not-used-when-lookup-failed",
        Failed("timeout"),
        (now("registry.fetch-failed"),),
        entry(declared=LOCAL_WINDOWS),
    ),
    Case(
        "declared-range-and-target",
        None,
        (now("registry.not-registry"), after("comfyui.incompatible")),
        entry(
            source=EntrySource.FILE,
            version=None,
            declared=NodeVersion("comfyui-foo", "", supported_comfyui_version="<0.4.0"),
        ),
        env(target_comfyui="0.4.0"),
    ),
    Case("local-version-unknown", None, (UNKNOWN,), entry(source=EntrySource.LOCAL, version=None)),
    Case("not-found", NotFound(), (now("registry.not-found"),)),
    Case("fetch-failed", Failed("HTTP 503 after 4 attempts"), (now("registry.fetch-failed"),)),
    Case("invalid-response", Invalid("not a JSON object"), (now("registry.invalid-response"),)),
    Case(
        "fetch-failed-disabled",
        Failed("timeout"),
        (now("registry.fetch-failed", "info"),),
        entry(disabled=True),
    ),
    # --- status, deprecation, admin tags ---
    Case("active-clean", found(), ()),
    Case("status-missing", found(status=None), ()),
    Case(
        "status-unknown-word",
        found(status="NodeVersionStatusArchived", supported_os=("Windows",)),
        (now("status.unknown", "warning"), now("os.unsupported")),
    ),
    Case("banned", found(status="NodeVersionStatusBanned"), (now("status.banned", "critical"),)),
    Case("banned-lowercase", found(status="banned"), (now("status.banned"),)),
    Case("flagged", found(status="NodeVersionStatusFlagged"), (now("status.flagged", "error"),)),
    Case("deleted", found(status="NodeVersionStatusDeleted"), (now("status.deleted", "error"),)),
    Case("pending", found(status="NodeVersionStatusPending"), (now("status.pending", "warning"),)),
    Case("deprecated", found(deprecated=True), (now("status.deprecated", "warning"),)),
    Case("not-deprecated", found(deprecated=False), ()),
    Case(
        "banned-and-deprecated",
        found(status="NodeVersionStatusBanned", deprecated=True),
        (now("status.banned"), now("status.deprecated")),
    ),
    Case(
        "admin-tags",
        found(tags_admin=("any-code-execute", "credential-access")),
        (now("security.tag", "warning"), now("security.tag", "warning")),
    ),
    Case(
        "admin-tags-repeated-and-blank",
        found(tags_admin=("any-network-requests", "", "any-network-requests")),
        (now("security.tag"),),
    ),
    Case("admin-tags-empty", found(tags_admin=()), ()),
    Case("publisher-tags-ignored", found(tags=("video", "sampling")), ()),
    # --- OS: both vocabularies, empty versus null ---
    Case("os-null", found(supported_os=None), (), env=env(os="windows")),
    Case("os-empty", found(supported_os=()), (), env=env(os="windows")),
    Case("os-blank-words", found(supported_os=("", "  ")), (), env=env(os="windows")),
    Case("os-independent", found(supported_os=("OS Independent",)), (), env=env(os="windows")),
    Case(
        "os-independent-env-unknown", found(supported_os=("OS Independent",)), (), env=env(os=None)
    ),
    Case(
        "os-classifier-excludes",
        found(supported_os=("POSIX :: Linux",)),
        (now("os.unsupported", "error"),),
        env=env(os="windows"),
    ),
    Case("os-classifier-deeper", found(supported_os=("POSIX :: Linux :: Ubuntu",)), ()),
    Case("os-posix-linux", found(supported_os=("POSIX",)), ()),
    Case("os-posix-macos", found(supported_os=("POSIX",)), (), env=env(os="macos")),
    Case(
        "os-posix-windows",
        found(supported_os=("POSIX",)),
        (now("os.unsupported"),),
        env=env(os="windows"),
    ),
    Case(
        "os-windows-classifier",
        found(supported_os=("Microsoft :: Windows",)),
        (now("os.unsupported"),),
    ),
    Case("os-macos-x", found(supported_os=("MacOS :: MacOS X",)), (), env=env(os="macos")),
    Case(
        "os-admin-words-exclude",
        found(supported_os=("Windows", "macOS")),
        (now("os.unsupported"),),
    ),
    Case("os-admin-distro", found(supported_os=("Ubuntu 22.04", "CentOS")), ()),
    Case("os-admin-case", found(supported_os=("LINUX",)), ()),
    Case("os-admin-darwin", found(supported_os=("Darwin",)), (), env=env(os="macos")),
    Case("os-mixed-vocabularies", found(supported_os=("Microsoft :: Windows", "Linux")), ()),
    Case("os-unknown-word-ignored", found(supported_os=("Unix", "Linux")), ()),
    Case(
        "os-unknown-word-ignored-excludes",
        found(supported_os=("Unix", "Linux")),
        (now("os.unsupported"),),
        env=env(os="windows"),
    ),
    Case(
        "os-all-words-unknown",
        found(supported_os=("Unix", "BeOS")),
        (now("os.spec-invalid", "warning"),),
    ),
    Case(
        "os-all-words-unknown-env-unknown",
        found(supported_os=("Unix",)),
        (now("os.spec-invalid"),),
        env=env(os=None),
    ),
    Case("os-env-unknown", found(supported_os=("POSIX :: Linux",)), (UNKNOWN,), env=env(os=None)),
    # --- accelerators ---
    Case("acc-null", found(supported_accelerators=None), (), env=env(accelerators=CPU_ONLY)),
    Case("acc-empty", found(supported_accelerators=()), (), env=env(accelerators=CPU_ONLY)),
    Case("acc-classifier-match", found(supported_accelerators=("GPU :: NVIDIA CUDA",)), ()),
    Case(
        "acc-classifier-cpu-host",
        found(supported_accelerators=("GPU :: NVIDIA CUDA",)),
        (now("accelerator.unsupported", "error"),),
        env=env(accelerators=CPU_ONLY),
    ),
    Case("acc-deeper-classifier", found(supported_accelerators=("GPU :: NVIDIA CUDA :: 12",)), ()),
    Case(
        "acc-admin-word-excludes",
        found(supported_accelerators=("CUDA",)),
        (now("accelerator.unsupported"),),
        env=env(accelerators=frozenset({"rocm", "cpu"})),
    ),
    Case(
        "acc-any-shared",
        found(supported_accelerators=("CUDA", "ROCm")),
        (),
        env=env(accelerators=frozenset({"rocm", "cpu"})),
    ),
    Case(
        "acc-metal",
        found(supported_accelerators=("GPU :: Apple Metal",)),
        (),
        env=env(os="macos", accelerators=frozenset({"metal", "cpu"})),
    ),
    Case(
        "acc-mps",
        found(supported_accelerators=("MPS",)),
        (),
        env=env(accelerators=frozenset({"metal", "cpu"})),
    ),
    Case(
        "acc-xpu",
        found(supported_accelerators=("XPU",)),
        (),
        env=env(accelerators=frozenset({"intel", "cpu"})),
    ),
    Case(
        "acc-ascend",
        found(supported_accelerators=("NPU :: Huawei Ascend",)),
        (),
        env=env(accelerators=frozenset({"ascend", "cpu"})),
    ),
    Case(
        "acc-cpu-declared", found(supported_accelerators=("CPU",)), (), env=env(accelerators=None)
    ),
    Case(
        "acc-all-words-unknown",
        found(supported_accelerators=("DirectML", "OpenCL")),
        (now("accelerator.spec-invalid", "warning"),),
    ),
    Case("acc-unknown-word-ignored", found(supported_accelerators=("DirectML", "CUDA")), ()),
    Case(
        "acc-unknown-word-ignored-excludes",
        found(supported_accelerators=("DirectML", "CUDA")),
        (now("accelerator.unsupported"),),
        env=env(accelerators=CPU_ONLY),
    ),
    Case(
        "acc-no-substring-match",
        found(supported_accelerators=("CUDA-less OpenCL",)),
        (now("accelerator.spec-invalid"),),
    ),
    Case(
        "acc-env-unknown",
        found(supported_accelerators=("CUDA",)),
        (UNKNOWN,),
        env=env(accelerators=None),
    ),
    # --- ComfyUI range ---
    Case("comfyui-null", found(supported_comfyui_version=None), ()),
    Case("comfyui-empty", found(supported_comfyui_version=""), ()),
    Case("comfyui-blank", found(supported_comfyui_version="  "), ()),
    Case("comfyui-inside", found(supported_comfyui_version=">=0.3.0,<1.0.0"), ()),
    Case(
        "comfyui-versions-not-text",
        found(supported_comfyui_version="<0.4.0"),
        (now("comfyui.incompatible", "error"),),
        env=env(comfyui_version="0.12.3"),
    ),
    Case(
        "comfyui-versions-not-text-inside",
        found(supported_comfyui_version=">=0.4.0"),
        (),
        env=env(comfyui_version="0.12.3"),
    ),
    Case("comfyui-npm", found(supported_comfyui_version="^0.3.0"), ()),
    Case(
        "comfyui-npm-excludes",
        found(supported_comfyui_version=">=0.4.0 <1.0.0"),
        (now("comfyui.incompatible"),),
    ),
    Case(
        "comfyui-git-describe",
        found(supported_comfyui_version=">=0.3.30"),
        (),
        env=env(comfyui_version="v0.3.30-20-g5c5457a4"),
    ),
    Case(
        "comfyui-pre-release-inside",
        found(supported_comfyui_version=">=0.3.0,<0.4.0"),
        (),
        env=env(comfyui_version="0.3.41rc1"),
    ),
    Case(
        "comfyui-pre-release-outside",
        found(supported_comfyui_version=">=0.3.0,<0.4.0"),
        (now("comfyui.incompatible"),),
        env=env(comfyui_version="0.4.0rc1"),
    ),
    Case(
        "comfyui-spec-invalid",
        found(supported_comfyui_version="latest"),
        (now("comfyui.spec-invalid", "warning"),),
    ),
    Case(
        "comfyui-bare-operator",
        found(supported_comfyui_version=">="),
        (now("comfyui.spec-invalid"),),
    ),
    Case("comfyui-trailing-comma", found(supported_comfyui_version=">=0.3.0,"), ()),
    Case(
        "comfyui-spec-invalid-env-unknown",
        found(supported_comfyui_version="latest"),
        (now("comfyui.spec-invalid"),),
        env=env(comfyui_version=None),
    ),
    Case(
        "comfyui-env-unknown",
        found(supported_comfyui_version=">=0.3.0"),
        (UNKNOWN,),
        env=env(comfyui_version=None),
    ),
    Case(
        "comfyui-env-commit",
        found(supported_comfyui_version=">=0.3.0"),
        (UNKNOWN,),
        env=env(comfyui_version="5c5457a4"),
    ),
    # --- ComfyUI upgrade what-if ---
    Case(
        "target-breaks",
        found(supported_comfyui_version=">=0.3.0,<0.4.0"),
        (after("comfyui.incompatible", "error"),),
        env=env(target_comfyui="0.4.0"),
    ),
    Case(
        "target-fixes",
        found(supported_comfyui_version=">=0.4.0"),
        (now("comfyui.incompatible"),),
        env=env(target_comfyui="0.4.0"),
    ),
    Case(
        "target-both-fail",
        found(supported_comfyui_version="<0.3.0"),
        (now("comfyui.incompatible"), after("comfyui.incompatible")),
        env=env(target_comfyui="0.4.0"),
    ),
    Case(
        "target-versions-not-text",
        found(supported_comfyui_version="<0.4.0"),
        (after("comfyui.incompatible"),),
        env=env(target_comfyui="0.12.0"),
    ),
    Case(
        "target-unparseable",
        found(supported_comfyui_version=">=0.3.0"),
        (after("env.unknown", "info"),),
        env=env(target_comfyui="next"),
    ),
    Case(
        "target-with-local-unknown",
        found(supported_comfyui_version="<0.4.0"),
        (UNKNOWN, after("comfyui.incompatible")),
        env=env(comfyui_version=None, target_comfyui="0.4.0"),
    ),
    Case(
        "target-spec-invalid-once",
        found(supported_comfyui_version="latest"),
        (now("comfyui.spec-invalid"),),
        env=env(target_comfyui="0.4.0"),
    ),
    Case(
        "target-without-range",
        found(supported_comfyui_version=""),
        (),
        env=env(target_comfyui="0.4.0"),
    ),
    Case(
        "target-frontend-does-not-rerun-comfyui",
        found(supported_comfyui_version="<0.3.0"),
        (now("comfyui.incompatible"),),
        env=env(target_frontend="1.30.0"),
    ),
    # --- frontend range ---
    Case("frontend-null", found(supported_comfyui_frontend_version=None), ()),
    Case("frontend-empty", found(supported_comfyui_frontend_version=""), ()),
    Case("frontend-inside", found(supported_comfyui_frontend_version=">=1.19,<1.22"), ()),
    Case(
        "frontend-excludes",
        found(supported_comfyui_frontend_version=">=1.21.0"),
        (now("frontend.incompatible", "error"),),
    ),
    Case(
        "frontend-spec-invalid",
        found(supported_comfyui_frontend_version="~> newest"),
        (now("frontend.spec-invalid", "warning"),),
    ),
    Case(
        "frontend-env-unknown",
        found(supported_comfyui_frontend_version=">=1.19.0"),
        (UNKNOWN,),
        env=env(frontend_version=None),
    ),
    Case(
        "frontend-target-breaks",
        found(supported_comfyui_frontend_version="~1.20.0"),
        (after("frontend.incompatible"),),
        env=env(target_frontend="1.21.0"),
    ),
    Case(
        "frontend-target-unparseable",
        found(supported_comfyui_frontend_version="~1.20.0"),
        (after("env.unknown"),),
        env=env(target_frontend="newest"),
    ),
    # --- malformed answers: the well-typed rest is still checked ---
    Case(
        "invalid-fields-still-banned",
        found(
            status="NodeVersionStatusBanned",
            supported_os=None,
            invalid_fields=("supported_os",),
        ),
        (now("registry.invalid-response", "error"), now("status.banned")),
    ),
    Case(
        "invalid-fields-still-checks-os",
        found(supported_os=("Windows",), invalid_fields=("tags_admin", "deprecated")),
        (now("registry.invalid-response"), now("os.unsupported")),
    ),
    # --- everything at once, and disabled packs ---
    Case(
        "everything",
        found(
            status="NodeVersionStatusFlagged",
            deprecated=True,
            tags_admin=("any-code-execute",),
            supported_os=("Microsoft :: Windows",),
            supported_accelerators=("GPU :: AMD ROCm",),
            supported_comfyui_version="<0.3.0",
            supported_comfyui_frontend_version="<1.0.0",
            invalid_fields=("dependencies",),
        ),
        (
            now("registry.invalid-response"),
            now("status.flagged"),
            now("status.deprecated"),
            now("security.tag"),
            now("os.unsupported"),
            now("accelerator.unsupported"),
            now("comfyui.incompatible"),
            now("frontend.incompatible"),
        ),
    ),
    Case(
        "disabled-banned",
        found(status="NodeVersionStatusBanned", supported_os=("Windows",)),
        (now("status.banned", "critical"), now("os.unsupported", "info")),
        entry(disabled=True),
    ),
    Case(
        "disabled-target",
        found(supported_comfyui_version="<0.4.0"),
        (after("comfyui.incompatible", "info"),),
        entry(disabled=True),
        env(target_comfyui="0.4.0"),
    ),
]


def observed(findings: tuple[Finding, ...]) -> Expected:
    return tuple((f.check, f.severity.label, f.when.value) for f in findings)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_evaluate(case: Case) -> None:
    assert (
        observed(evaluate(case.entry, case.result, case.env, case.node).findings) == case.expected
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_findings_name_the_entry_and_their_source(case: Case) -> None:
    for found_ in evaluate(case.entry, case.result, case.env, case.node).findings:
        assert (found_.host, found_.node_id, found_.version) == (
            case.entry.host,
            case.entry.node_id,
            case.entry.version,
        )
        assert found_.source == expected_source(found_, case)


def expected_source(found_: Finding, case: Case) -> FindingSource:
    if found_.check in ("manifest.invalid-entry", "registry.not-registry", "registry.nightly"):
        return FindingSource.MANIFEST
    if found_.check == "manifest.broken-pack":
        return FindingSource.LOCAL
    if found_.check == "env.unknown":
        entry_level = found_.message.startswith("installed version unknown")
        return FindingSource.MANIFEST if entry_level else FindingSource.ENVIRONMENT
    from_the_pack = case.entry.declared is not None and not isinstance(case.result, Found)
    platform = found_.check.partition(".")[0] in ("os", "accelerator", "comfyui", "frontend")
    return FindingSource.LOCAL if from_the_pack and platform else FindingSource.REGISTRY


def test_every_check_code_is_covered_by_the_table() -> None:
    emitted = {check for case in CASES for check, _, _ in case.expected}
    # NOTE: a manifest that cannot be read has no entry to evaluate (see the next test), and
    # import failures come from ComfyUI's log, not from an entry (test_imports.py).
    assert emitted == set(CHECKS) - {"manifest.unreadable", "pack.import-failed"}


def test_an_unreadable_manifest_is_its_hosts_one_finding() -> None:
    manifest = Manifest("fleet/cut.json", "cut", "unreadable", (), unreadable="fleet/cut.json: x")
    assert audit.checks.registry.check_unreadable(manifest) == Finding(
        host="cut",
        node_id=None,
        version=None,
        check="manifest.unreadable",
        severity=Severity.ERROR,
        message="fleet/cut.json: x",
        source=FindingSource.MANIFEST,
        actual="fleet/cut.json",
    )


def test_check_defaults_follow_the_design() -> None:
    assert CHECKS["status.banned"] is Severity.CRITICAL
    assert {code for code, s in CHECKS.items() if s is Severity.INFO} == {
        "registry.not-registry",
        "registry.nightly",
        "env.unknown",
    }
    assert all(code.count(".") == 1 for code in CHECKS)


def test_ids_and_versions_are_kept_as_the_manifest_wrote_them() -> None:
    written = entry(node_id="ComfyUI-Foo", version="1.2")
    (banned,) = evaluate(written, found(status="NodeVersionStatusBanned"), ENV).findings
    assert (banned.node_id, banned.version) == ("ComfyUI-Foo", "1.2")
    assert banned.message == "version 1.2 is banned by the registry"


def one(
    result: LookupResult | None, *, entry_: ManifestEntry = ENTRY, env_: Environment = ENV
) -> Finding:
    (only,) = evaluate(entry_, result, env_).findings
    return only


@pytest.mark.parametrize(
    ("finding", "message", "expected", "actual"),
    [
        (
            one(found(status="NodeVersionStatusBanned")),
            "version 1.2.0 is banned by the registry",
            None,
            "NodeVersionStatusBanned",
        ),
        (
            one(
                found(supported_comfyui_version=">=0.3.0,<0.4.0"),
                env_=env(target_comfyui="0.4.0"),
            ),
            "requires ComfyUI >=0.3.0,<0.4.0; target is 0.4.0",
            ">=0.3.0,<0.4.0",
            "0.4.0",
        ),
        (
            one(found(supported_comfyui_version=" <0.4.0 "), env_=env(comfyui_version="0.12.3")),
            "requires ComfyUI <0.4.0; this install has 0.12.3",
            "<0.4.0",
            "0.12.3",
        ),
        (
            one(found(supported_os=("POSIX :: Linux",)), env_=env(os="windows")),
            'declares OS "POSIX :: Linux"; this host is windows',
            "POSIX :: Linux",
            "windows",
        ),
        (
            one(found(supported_os=("POSIX :: Linux", "MacOS")), env_=env(os="windows")),
            'declares OS "POSIX :: Linux", "MacOS"; this host is windows',
            "POSIX :: Linux; MacOS",
            "windows",
        ),
        (
            one(
                found(supported_accelerators=("GPU :: NVIDIA CUDA",)),
                env_=env(accelerators=CPU_ONLY),
            ),
            'declares accelerators "GPU :: NVIDIA CUDA"; this host has cpu',
            "GPU :: NVIDIA CUDA",
            "cpu",
        ),
        (
            one(found(supported_os=("Unix\x1b[31m",))),
            'declares OS "Unix\\u001b[31m", none of them known: not checked',
            "Unix\x1b[31m",
            None,
        ),
        (
            one(found(supported_comfyui_version="latest")),
            'declared ComfyUI range "latest" cannot be parsed: not checked',
            "latest",
            None,
        ),
        (
            one(found(supported_comfyui_version=">=0.3.0"), env_=env(comfyui_version=None)),
            "ComfyUI version unknown: cannot check the declared range >=0.3.0",
            ">=0.3.0",
            None,
        ),
        (
            one(
                found(supported_comfyui_frontend_version="~1.20.0"), env_=env(frontend_version="x")
            ),
            "frontend version 'x' is not a version: cannot check the declared range ~1.20.0",
            "~1.20.0",
            "x",
        ),
        (
            one(found(tags_admin=("any-code-execute",))),
            'version 1.2.0 carries the registry security tag "any-code-execute"',
            None,
            "any-code-execute",
        ),
        (
            one(found(invalid_fields=("supported_os", "tags_admin"))),
            "registry sent malformed supported_os, tags_admin; the other fields were checked",
            None,
            "supported_os; tags_admin",
        ),
        (
            one(None, entry_=entry(node_id=BAD_ID)),
            "invalid node id 'comfyui\\x00foo': not looked up in the registry",
            None,
            None,
        ),
        (
            one(None, entry_=entry(node_id="a b", version="1 2")),
            "invalid node id 'a b' and version '1 2': not looked up in the registry",
            None,
            None,
        ),
        (
            one(None, entry_=entry(source=EntrySource.GIT, version="5c5457a4", url=GIT_URL)),
            "git install, not a registry pack: registry checks skipped",
            None,
            GIT_URL,
        ),
        (
            one(None, entry_=entry(source=EntrySource.FILE, node_id="my_nodes", version=None)),
            "file install, not a registry pack: registry checks skipped",
            None,
            "my_nodes",
        ),
        (
            one(None, entry_=entry(version=None)),
            "installed version unknown: registry checks skipped",
            None,
            None,
        ),
        (
            one(Failed("HTTP 503 after 4 attempts")),
            "registry lookup failed: HTTP 503 after 4 attempts",
            None,
            None,
        ),
    ],
    ids=[
        "banned",
        "target-incompatible",
        "now-incompatible",
        "os-unsupported",
        "os-unsupported-several",
        "accelerator-unsupported",
        "os-spec-invalid-escaped",
        "comfyui-spec-invalid",
        "comfyui-env-unknown",
        "frontend-env-unparseable",
        "security-tag",
        "invalid-fields",
        "invalid-id-repr",
        "invalid-id-and-version",
        "git-install",
        "file-install",
        "version-unknown",
        "fetch-failed",
    ],
)
def test_messages(finding: Finding, message: str, expected: str | None, actual: str | None) -> None:
    assert (finding.message, finding.expected, finding.actual) == (message, expected, actual)


def test_declared_findings_say_they_are_local() -> None:
    windows = entry(source=EntrySource.GIT, url=GIT_URL, declared=LOCAL_WINDOWS)
    evaluation = evaluate(windows, None, ENV)
    assert [(f.check, f.source) for f in evaluation.findings] == [
        ("registry.not-registry", FindingSource.MANIFEST),
        ("os.unsupported", FindingSource.LOCAL),
    ]
    assert (evaluation.compatible_now, evaluation.compatible_after_upgrade) == (False, None)


# --- compatible_now / compatible_after_upgrade ---

COMPATIBILITY = [
    # (id, result, env, entry, (compatible_now, compatible_after_upgrade))
    ("not-looked-up", None, ENV, entry(version=None), (None, None)),
    ("not-found", NotFound(), ENV, ENTRY, (None, None)),
    ("fetch-failed", Failed("timeout"), env(target_comfyui="0.4.0"), ENTRY, (None, None)),
    ("clean", found(), ENV, ENTRY, (True, None)),
    ("clean-with-target", found(), env(target_comfyui="0.4.0"), ENTRY, (True, True)),
    (
        "banned-is-not-incompatible",
        found(status="NodeVersionStatusBanned"),
        ENV,
        ENTRY,
        (True, None),
    ),
    (
        "os-unsupported",
        found(supported_os=("Windows",)),
        env(target_comfyui="0.4.0"),
        ENTRY,
        (False, False),
    ),
    (
        "os-unknown",
        found(supported_os=("Windows",)),
        env(os=None, target_comfyui="0.4.0"),
        ENTRY,
        (None, None),
    ),
    ("os-spec-invalid", found(supported_os=("Unix",)), ENV, ENTRY, (None, None)),
    ("accelerator-unsupported", found(supported_accelerators=("ROCm",)), ENV, ENTRY, (False, None)),
    (
        "accelerator-spec-invalid",
        found(supported_accelerators=("DirectML",)),
        ENV,
        ENTRY,
        (None, None),
    ),
    (
        "target-breaks",
        found(supported_comfyui_version="<0.4.0"),
        env(target_comfyui="0.4.0"),
        ENTRY,
        (True, False),
    ),
    (
        "target-fixes",
        found(supported_comfyui_version=">=0.4.0"),
        env(target_comfyui="0.4.0"),
        ENTRY,
        (False, True),
    ),
    (
        "comfyui-unknown-now-target-known",
        found(supported_comfyui_version=">=0.3.0"),
        env(comfyui_version=None, target_comfyui="0.4.0"),
        ENTRY,
        (None, True),
    ),
    (
        "comfyui-unknown-target-is-frontend-only",
        found(supported_comfyui_version=">=0.3.0"),
        env(comfyui_version=None, target_frontend="1.21.0"),
        ENTRY,
        (None, None),
    ),
    (
        "frontend-unknown-target-is-comfyui-only",
        found(supported_comfyui_frontend_version=">=1.0.0"),
        env(frontend_version=None, target_comfyui="0.4.0"),
        ENTRY,
        (None, None),
    ),
    (
        "frontend-incompatible-now-only-comfyui-target",
        found(supported_comfyui_frontend_version="<1.0.0"),
        env(target_comfyui="0.4.0"),
        ENTRY,
        (False, False),
    ),
    (
        "frontend-target-breaks",
        found(supported_comfyui_frontend_version="~1.20.0"),
        env(target_frontend="1.21.0"),
        ENTRY,
        (True, False),
    ),
    (
        "target-unparseable",
        found(supported_comfyui_version=">=0.3.0"),
        env(target_comfyui="next"),
        ENTRY,
        (True, None),
    ),
    (
        "spec-invalid-counts-after-upgrade",
        found(supported_comfyui_version="latest"),
        env(target_comfyui="0.4.0"),
        ENTRY,
        (None, None),
    ),
    (
        "disabled-still-incompatible",
        found(supported_os=("Windows",)),
        ENV,
        entry(disabled=True),
        (False, None),
    ),
]


@pytest.mark.parametrize(
    ("result", "env_", "entry_", "expected"),
    [case[1:] for case in COMPATIBILITY],
    ids=[case[0] for case in COMPATIBILITY],
)
def test_compatibility(
    result: LookupResult | None,
    env_: Environment,
    entry_: ManifestEntry,
    expected: tuple[bool | None, bool | None],
) -> None:
    evaluation = evaluate(entry_, result, env_)
    assert (evaluation.compatible_now, evaluation.compatible_after_upgrade) == expected


# --- robustness and documentation ---

words = st.one_of(st.none(), st.lists(st.text(max_size=30), max_size=4).map(tuple))
texts = st.one_of(st.none(), st.text(max_size=30))


@settings(deadline=None)
@given(
    status=texts,
    supported_os=words,
    supported_accelerators=words,
    comfyui=texts,
    frontend=texts,
    tags_admin=words,
    os_name=st.sampled_from([None, "linux", "windows", "macos"]),
    local=texts,
    target=texts,
)
def test_evaluate_never_raises_on_registry_text(
    status: str | None,
    supported_os: tuple[str, ...] | None,
    supported_accelerators: tuple[str, ...] | None,
    comfyui: str | None,
    frontend: str | None,
    tags_admin: tuple[str, ...] | None,
    os_name: str | None,
    local: str | None,
    target: str | None,
) -> None:
    result = found(
        status=status,
        supported_os=supported_os,
        supported_accelerators=supported_accelerators,
        supported_comfyui_version=comfyui,
        supported_comfyui_frontend_version=frontend,
        tags_admin=tags_admin,
    )
    environment = env(os=os_name, comfyui_version=local, target_comfyui=target)
    evaluation = evaluate(ENTRY, result, environment)
    assert all(f.check in CHECKS for f in evaluation.findings)


@pytest.mark.parametrize(
    "module",
    [audit.checks.interface, audit.checks.platform, audit.checks.status],
    ids=lambda module: module.__name__,
)
def test_doctests(module: ModuleType) -> None:
    assert doctest.testmod(module).failed == 0


def test_every_check_code_is_in_the_readme_table_at_its_severity() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## Check codes\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z.-]+)` \| (\w+) \|", table, re.MULTILINE))
    assert {code: rows.get(code) for code in CHECKS} == {c: s.label for c, s in CHECKS.items()}
