"""What every check shares: the check codes with their default severities, and finding makers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping

from audit.catalogue import severities
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

#: The catalogue's families whose findings this stage emits.
_FAMILIES = (
    "manifest",
    "registry",
    "env",
    "status",
    "security",
    "os",
    "accelerator",
    "comfyui",
    "frontend",
    "node",
    "publisher",
    "pack",
)

CHECKS: Mapping[str, Severity] = severities(*_FAMILIES)
"""Every check code this stage emits → its default severity (from `audit.catalogue`)."""

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
