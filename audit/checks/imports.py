"""``pack.import-failed``: the packs ComfyUI's last log says it could not import."""

from __future__ import annotations

from collections.abc import Iterator

from audit.checks.interface import finding
from audit.model import Finding, FindingSource, Manifest

__all__ = ["import_findings"]


def import_findings(manifest: Manifest) -> Iterator[Finding]:
    """One finding per enabled pack of ``manifest`` that failed to import (ids compare
    case-insensitively); the reason is the message, the log line's timestamp the ``actual``."""
    failures = {n.lower(): f for n, f in (manifest.import_failures or {}).items()}
    for entry in manifest.entries:
        failure = failures.get(entry.node_id.lower())
        if failure is None or entry.disabled:
            continue
        message = f"ComfyUI failed to import the pack at its last start: {failure.reason}"
        yield finding(
            entry,
            "pack.import-failed",
            message,
            source=FindingSource.LOCAL,
            actual=failure.timestamp,
        )
