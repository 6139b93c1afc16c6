"""Security checks: the admin tags the registry's review put on a version (§4.4 of registry.md)."""

from __future__ import annotations

from collections.abc import Iterator

from audit.checks.interface import declared_words, finding, quote, shown_version
from audit.model import Environment, Finding, ManifestEntry, NodeVersion

__all__ = ["check_tags"]


def check_tags(
    entry: ManifestEntry, node_version: NodeVersion, env: Environment
) -> Iterator[Finding]:
    """One ``security.tag`` finding per distinct ``tags_admin`` entry, in registry order."""
    # NOTE: the vocabulary is open (any-code-execute, credential-access, …): every tag counts.
    version = shown_version(entry, node_version)
    for tag in dict.fromkeys(declared_words(node_version.tags_admin)):
        message = f"version {version} carries the registry security tag {quote(tag)}"
        yield finding(entry, "security.tag", message, actual=tag)
