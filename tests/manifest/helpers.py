"""Helpers of the manifest tests: read a manifest back as plain tuples, or its problems."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from audit.errors import ManifestError
from audit.manifest import ManifestFormat, read_manifest
from audit.model import Manifest

Write = Callable[[str, str | bytes], Path]
Problems = list[tuple[int | None, str]]
Row = tuple[str, str | None, int | None]


def problems_of(path: Path, format: ManifestFormat = ManifestFormat.AUTO) -> Problems:
    """The (line, message) of every problem reading ``path``; fails when it reads cleanly."""
    with pytest.raises(ManifestError) as caught:
        read_manifest(path, format=format)
    assert all(p.path == str(path) for p in caught.value.problems)
    return [(p.line, p.message) for p in caught.value.problems]


def rows(manifest: Manifest) -> list[Row]:
    """(node_id, version, line) of every entry."""
    return [(e.node_id, e.version, e.line) for e in manifest.entries]
