"""Offline vulnerability databases: OSV's PyPI export (a zip) or a folder of OSV JSON/YAML.

The database is read once per run, as a stream: one record at a time is inflated (each capped)
and parsed, and only the records about a distribution the run has installed are kept, so a run
holds a few records, not the whole export.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from audit import safeio
from audit.errors import InputError
from audit.manifest.interface import Malformed
from audit.manifest.tree import Scalar, Seq, Tree
from audit.vulnerabilities.advisory import Advisory, names_in, parse_advisory
from audit.vulnerabilities.interface import Candidates, Pair

__all__ = ["MAX_RECORD_BYTES", "OfflineDatabase"]

#: Largest record read; real ones are a few KiB, the largest (long version lists) under 1 MiB.
MAX_RECORD_BYTES = 8 * 1024 * 1024
#: Most files a database may hold; the whole PyPI export has about 20,000.
MAX_RECORDS = 1_000_000
_SUFFIXES = (".json", ".yaml", ".yml")


class OfflineDatabase:
    """An implementation of `VulnerabilitySource` on a zip or folder of OSV records."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._by_name: dict[str, list[Advisory]] = {}
        self._loaded: set[str] | None = None

    @property
    def name(self) -> str:
        return str(self._path)

    def candidates(self, pairs: Sequence[Pair]) -> Candidates:
        """See `VulnerabilitySource.candidates`.

        :raises InputError: when the database cannot be read (naming the file at fault).
        """
        names = {name for name, _ in pairs}
        by_name = self._load(names)
        return Candidates({pair: tuple(by_name.get(pair[0], ())) for pair in pairs})

    def _load(self, names: set[str]) -> dict[str, list[Advisory]]:
        """The records about ``names``, read in one pass unless an earlier pass kept them."""
        if self._loaded is not None and names <= self._loaded:
            return self._by_name
        by_name: dict[str, list[Advisory]] = {}
        for label, data in self._files():
            record = _decode(label, data)
            relevant = names_in(record) & names if isinstance(record, dict) else set()
            advisory = parse_advisory(record) if relevant else None
            for name in relevant:
                if advisory is not None:
                    by_name.setdefault(name, []).append(advisory)
        self._by_name, self._loaded = by_name, set(names)
        return by_name

    def _files(self) -> Iterator[tuple[str, bytes]]:
        if self._path.is_dir():
            return _folder_files(self._path)
        return _zip_files(self._path)


def _zip_files(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        with safeio.open_binary(path) as stream, zipfile.ZipFile(stream) as archive:
            members = [i for i in archive.infolist() if _wanted(i.filename) and not i.is_dir()]
            if len(members) > MAX_RECORDS:
                raise InputError(f"{path}: more than {MAX_RECORDS} records")
            for info in members:
                yield f"{path}:{info.filename}", _member(archive, info, path)
    except (OSError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as error:
        reason = str(error) or type(error).__name__
        raise InputError(f"{path}: not a readable OSV zip: {' '.join(reason.split())}") from None


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> bytes:
    # NOTE: the declared size may lie; reading one byte past the cap is what proves it.
    with archive.open(info) as member:
        data = member.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise InputError(f"{path}:{info.filename}: inflates to more than 8 MiB")
    return data


def _folder_files(root: Path) -> Iterator[tuple[str, bytes]]:
    count = 0
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        for name in sorted(files):
            file = Path(folder) / name
            if not _wanted(name) or not safeio.stays_within(file, root):
                continue
            count += 1
            if count > MAX_RECORDS:
                raise InputError(f"{root}: more than {MAX_RECORDS} records")
            try:
                yield str(file), safeio.read_bytes(file, limit=MAX_RECORD_BYTES)
            except safeio.Refused as error:
                raise InputError(f"{file}: {error}") from None


def _wanted(name: str) -> bool:
    return name.lower().endswith(_SUFFIXES) and not name.rpartition("/")[2].startswith(".")


def _decode(label: str, data: bytes) -> object:
    """The record in one file. A record that cannot be read stops the run: a damaged database
    must not pass for a clean one."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        if label.lower().endswith(".json"):
            return json.loads(text)
        from audit.manifest.yamltree import parse_yaml  # NOTE: most databases are JSON only.

        return _plain(parse_yaml(text))
    except (ValueError, RecursionError, Malformed) as error:
        reason = " ".join(str(error).split())[:200]
        raise InputError(f"{label}: not an OSV record: {reason}") from None


def _plain(tree: Tree) -> Any:
    """The plain value of a YAML tree; dates and times become their ISO text."""
    if isinstance(tree, Scalar):
        value = tree.value
        return value if value is None or isinstance(value, str | int | float) else str(value)
    if isinstance(tree, Seq):
        return [_plain(item) for item in tree.items]
    return {str(_plain(k)): _plain(v) for k, v in tree.pairs}
