"""Look up versions written short (``7.10``, ``v1.2.0``) as the registry stores them too.

The registry keeps normalised semver, three parts and no ``v`` (registry.md §5: ``1.2`` is
stored as ``1.2.0``), and ComfyUI-Manager pads ``X.Y`` to ``X.Y.0``, while a pyproject or a
hand-written list may say ``7.10``. Both forms are asked in the same request; the form as
written wins when the registry has it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from audit.model import Failed, Found, Invalid, LookupResult, NodeKey, NotFound
from audit.registry.interface import Registry

__all__ = ["lookup_padded", "padded_version", "with_padded"]

_SHORT = re.compile(r"[vV]?(\d+(?:\.\d+){0,2})")


def padded_version(version: str) -> str | None:
    """The registry's form of a short or ``v``-prefixed version; ``None`` when it has no other.

    >>> padded_version("7.10"), padded_version("v1.2.0"), padded_version("1.2.0")
    ('7.10.0', '1.2.0', None)
    """
    match = _SHORT.fullmatch(version)
    if match is None:
        return None
    parts = match.group(1).split(".")
    padded = ".".join([*parts, *["0"] * (3 - len(parts))])
    return padded if padded != version else None


def _aliases(keys: Sequence[NodeKey]) -> dict[NodeKey, NodeKey]:
    return {
        key: NodeKey(key.node_id, padded)
        for key in keys
        if (padded := padded_version(key.version)) is not None
    }


def with_padded(keys: Sequence[NodeKey]) -> list[NodeKey]:
    """``keys`` and the padded form of each short version, once each (what a mirror needs)."""
    return list(dict.fromkeys([*keys, *_aliases(keys).values()]))


def lookup_padded(registry: Registry, keys: Sequence[NodeKey]) -> Mapping[NodeKey, LookupResult]:
    """Answer ``keys`` as ``registry.lookup`` does, asking for each short version's padded form
    in the same call; each key gets the best of its two answers (`_best`)."""
    aliases = _aliases(keys)
    results = registry.lookup(with_padded(keys))
    return {
        key: _best(results[key], results[aliases[key]]) if key in aliases else results[key]
        for key in keys
    }


def _best(exact: LookupResult, padded: LookupResult) -> LookupResult:
    """The version as written when found, else the padded one; a failure beats a not-found,
    so that an unanswered lookup is never reported as an absent version."""
    for result in (exact, padded):
        if isinstance(result, Found):
            return result
    for result in (exact, padded):
        if isinstance(result, Failed | Invalid):
            return result
    assert isinstance(exact, NotFound)
    return exact
