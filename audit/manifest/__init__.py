"""The manifest stage: read which packs are installed where, from snapshots, lists, CSV or JSON.

One module per format (``text``, ``csvlist``, ``jsonlist``, ``snapshot``), ``detect`` to tell
them apart by content, and ``reader`` for the public entry points below. Every malformed input
is a ``ManifestError`` that names the file, the line where known, and what was expected.

``install`` scans a ComfyUI install in place (with ``pyproject`` for each pack's own metadata),
and ``render`` writes the result as a list, JSON or a snapshot that the readers read back.

NOTE: the names are loaded on first use (PEP 562), so that the command line can import a light
part of the stage without the rest, and ``--help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.lazy import attributes

if TYPE_CHECKING:
    from audit.manifest.detect import detect_format
    from audit.manifest.install import scan_install
    from audit.manifest.interface import ManifestFormat
    from audit.manifest.reader import read_manifest, read_manifests
    from audit.manifest.render import render_json, render_text, to_snapshot

_HOMES = {
    "ManifestFormat": "audit.manifest.interface",
    "detect_format": "audit.manifest.detect",
    "read_manifest": "audit.manifest.reader",
    "read_manifests": "audit.manifest.reader",
    "render_json": "audit.manifest.render",
    "render_text": "audit.manifest.render",
    "scan_install": "audit.manifest.install",
    "to_snapshot": "audit.manifest.render",
}

__all__ = [
    "ManifestFormat",
    "detect_format",
    "read_manifest",
    "read_manifests",
    "render_json",
    "render_text",
    "scan_install",
    "to_snapshot",
]


__getattr__ = attributes(__name__, _HOMES, globals())
