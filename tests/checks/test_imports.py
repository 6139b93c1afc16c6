"""Tests of ``pack.import-failed`` (audit.checks.imports)."""

from __future__ import annotations

from audit.checks.imports import import_findings
from audit.model import (
    EntrySource,
    Finding,
    FindingSource,
    ImportFailure,
    Manifest,
    ManifestEntry,
    Severity,
)

BROKEN = ManifestEntry("render-01", "ComfyUI-Broken", "1.0.0", EntrySource.REGISTRY, "s.json", 3)
FINE = ManifestEntry("render-01", "comfyui-fine", "2.0.0", EntrySource.REGISTRY, "s.json", 4)
OFF = ManifestEntry("render-01", "comfyui-off", None, EntrySource.FILE, "s.json", 5, disabled=True)
FAILED = ImportFailure("No module named 'cv2'", "2026-11-30 08:00:05.301")


def manifest(failures: dict[str, ImportFailure] | None) -> Manifest:
    entries = (BROKEN, FINE, OFF)
    return Manifest("s.json", "render-01", "snapshot-json", entries, import_failures=failures)


def test_a_failed_pack_gets_one_error_with_the_reason_and_the_timestamp() -> None:
    found = list(import_findings(manifest({"comfyui-broken": FAILED, "comfyui-off": FAILED})))
    assert found == [
        Finding(
            host="render-01",
            node_id="ComfyUI-Broken",
            version="1.0.0",
            check="pack.import-failed",
            severity=Severity.ERROR,
            message="ComfyUI failed to import the pack at its last start: No module named 'cv2'",
            source=FindingSource.LOCAL,
            actual="2026-11-30 08:00:05.301",
        )
    ]


def test_unknown_or_no_failures_give_nothing() -> None:
    assert list(import_findings(manifest(None))) == []
    assert list(import_findings(manifest({}))) == []
