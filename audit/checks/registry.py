"""Entry-level checks: entries that cannot be looked up, and registry answers that are no answer."""

from __future__ import annotations

from collections.abc import Iterator

from audit.checks.interface import CHECKS, finding
from audit.model import (
    ID_PATTERN,
    VERSION_PATTERN,
    EntrySource,
    Failed,
    Finding,
    FindingSource,
    Invalid,
    Manifest,
    ManifestEntry,
    NodeVersion,
    NotFound,
)

__all__ = [
    "check_answer",
    "check_fields",
    "check_invalid_entry",
    "check_not_looked_up",
    "check_problem",
    "check_unreadable",
]


def check_problem(entry: ManifestEntry) -> Finding:
    """Report a pack whose files on disk cannot be read as a pack (its only finding)."""
    assert entry.problem is not None
    return finding(entry, "manifest.broken-pack", entry.problem, source=FindingSource.LOCAL)


def check_unreadable(manifest: Manifest) -> Finding:
    """Report a fleet run's manifest that is an input error (its host's only finding)."""
    assert manifest.unreadable is not None
    return Finding(
        host=manifest.host,
        node_id=None,
        version=None,
        check="manifest.unreadable",
        severity=CHECKS["manifest.unreadable"],
        message=manifest.unreadable,
        source=FindingSource.MANIFEST,
        actual=manifest.path,
    )


def check_invalid_entry(entry: ManifestEntry) -> Finding:
    """Say which of the id and version of an entry that is not ``is_valid`` is unsafe."""
    bad = []
    if ID_PATTERN.fullmatch(entry.node_id) is None:
        bad.append(f"node id {entry.node_id!r}")
    if entry.version is not None and VERSION_PATTERN.fullmatch(entry.version) is None:
        bad.append(f"version {entry.version!r}")
    message = f"invalid {' and '.join(bad)}: not looked up in the registry"
    return finding(entry, "manifest.invalid-entry", message, source=FindingSource.MANIFEST)


def check_not_looked_up(entry: ManifestEntry) -> Iterator[Finding]:
    """Explain why a valid entry has no registry answer: a git or file install, or no version."""
    if entry.source is EntrySource.GIT and entry.registry_pack:
        message = f"git install of the registry pack {entry.node_id}: version checks skipped"
        actual = entry.url or entry.hash
        yield finding(
            entry, "registry.nightly", message, source=FindingSource.MANIFEST, actual=actual
        )
    elif entry.source in (EntrySource.GIT, EntrySource.FILE):
        message = f"{entry.source.value} install, not a registry pack: registry checks skipped"
        actual = entry.url or entry.node_id
        yield finding(
            entry, "registry.not-registry", message, source=FindingSource.MANIFEST, actual=actual
        )
    elif entry.version is None:
        message = "installed version unknown: registry checks skipped"
        yield finding(entry, "env.unknown", message, source=FindingSource.MANIFEST)


def check_answer(entry: ManifestEntry, result: NotFound | Failed | Invalid) -> Finding:
    """Turn a lookup that gave no NodeVersion into its finding."""
    if isinstance(result, NotFound):
        return finding(entry, "registry.not-found", result.reason)
    if isinstance(result, Failed):
        return finding(entry, "registry.fetch-failed", f"registry lookup failed: {result.reason}")
    message = f"registry answered with something that is not a node version: {result.reason}"
    return finding(entry, "registry.invalid-response", message)


def check_fields(entry: ManifestEntry, node_version: NodeVersion) -> Iterator[Finding]:
    """Name the fields of a registry answer that had the wrong type (the rest is still checked)."""
    fields = node_version.invalid_fields
    if fields:
        message = f"registry sent malformed {', '.join(fields)}; the other fields were checked"
        yield finding(entry, "registry.invalid-response", message, actual="; ".join(fields))
