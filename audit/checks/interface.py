"""What every check shares: the check codes with their default severities, and finding makers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType

from audit.model import (
    Environment,
    Finding,
    FindingSource,
    ManifestEntry,
    NodeVersion,
    Severity,
    When,
)

__all__ = [
    "CHECKS",
    "Check",
    "declared_words",
    "finding",
    "quote",
    "quote_all",
    "shown_version",
    "unknown",
]

CHECKS: Mapping[str, Severity] = MappingProxyType(
    {
        "manifest.invalid-entry": Severity.ERROR,
        "manifest.broken-pack": Severity.ERROR,
        "registry.not-registry": Severity.INFO,
        "registry.not-found": Severity.WARNING,
        "registry.fetch-failed": Severity.ERROR,
        "registry.invalid-response": Severity.ERROR,
        "env.unknown": Severity.INFO,
        "status.banned": Severity.CRITICAL,
        "status.flagged": Severity.ERROR,
        "status.deleted": Severity.ERROR,
        "status.pending": Severity.WARNING,
        "status.deprecated": Severity.WARNING,
        "security.tag": Severity.WARNING,
        "os.unsupported": Severity.ERROR,
        "os.spec-invalid": Severity.WARNING,
        "accelerator.unsupported": Severity.ERROR,
        "accelerator.spec-invalid": Severity.WARNING,
        "comfyui.incompatible": Severity.ERROR,
        "comfyui.spec-invalid": Severity.WARNING,
        "frontend.incompatible": Severity.ERROR,
        "frontend.spec-invalid": Severity.WARNING,
        "registry.nightly": Severity.INFO,
        "node.banned": Severity.CRITICAL,
        "publisher.banned": Severity.CRITICAL,
        "node.deleted": Severity.ERROR,
        "status.unknown": Severity.WARNING,
        "pack.import-failed": Severity.ERROR,
    }
)
"""Every check code this stage emits → its default severity."""

Check = Callable[[ManifestEntry, NodeVersion, Environment], Iterator[Finding]]
"""One check family: the findings about one registry answer in one environment."""


def finding(
    entry: ManifestEntry,
    check: str,
    message: str,
    *,
    source: FindingSource = FindingSource.REGISTRY,
    expected: str | None = None,
    actual: str | None = None,
    when: When = When.NOW,
) -> Finding:
    """Return a finding about ``entry`` at the default severity of ``check``."""
    return Finding(
        host=entry.host,
        node_id=entry.node_id,
        version=entry.version,
        check=check,
        severity=CHECKS[check],
        message=message,
        source=source,
        expected=expected,
        actual=actual,
        when=when,
    )


def unknown(
    entry: ManifestEntry,
    subject: str,
    message: str,
    *,
    expected: str | None = None,
    actual: str | None = None,
    when: When = When.NOW,
) -> Finding:
    """Return the ``env.unknown`` finding of a check that needs an unknown local fact.

    :param subject: what is unknown (``OS``, ``accelerators``, ``ComfyUI``, ``frontend``),
        which starts the message.
    """
    text = f"{subject} {message}"
    return finding(
        entry,
        "env.unknown",
        text,
        source=FindingSource.ENVIRONMENT,
        expected=expected,
        actual=actual,
        when=when,
    )


def declared_words(values: Iterable[str] | None) -> tuple[str, ...]:
    """The non-blank entries of a declared list; ``None`` and ``[]`` both mean "not declared"."""
    return tuple(v.strip() for v in values or () if v.strip())


def quote(text: str) -> str:
    """Quote registry text for a message, escaping control characters.

    >>> quote("POSIX :: Linux")
    '"POSIX :: Linux"'
    """
    return json.dumps(text, ensure_ascii=False)


def quote_all(texts: Iterable[str]) -> str:
    """Quote and join several registry words: ``"CUDA", "ROCm"``."""
    return ", ".join(quote(t) for t in texts)


def shown_version(entry: ManifestEntry, node_version: NodeVersion) -> str:
    """The version to name in a message: the manifest's, else the registry's."""
    return entry.version if entry.version is not None else node_version.version
