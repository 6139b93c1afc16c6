"""Fixtures of the manifest tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.manifest.helpers import Write


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write ``content`` to ``tmp_path/name`` (text as UTF-8, no newline translation)."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return _write
