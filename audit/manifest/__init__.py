"""The manifest stage: read which packs are installed where, from snapshots, lists, CSV or JSON.

One module per format (``text``, ``csvlist``, ``jsonlist``, ``snapshot``), ``detect`` to tell
them apart by content, and ``reader`` for the public entry points below. Every malformed input
is a ``ManifestError`` that names the file, the line where known, and what was expected.
"""

from audit.manifest.detect import detect_format
from audit.manifest.interface import ManifestFormat
from audit.manifest.reader import read_manifest, read_manifests

__all__ = ["ManifestFormat", "detect_format", "read_manifest", "read_manifests"]
