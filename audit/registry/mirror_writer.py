"""Writing mirror files: NodeVersion records as JSON lines, each with its ``fetched_at``.

A mirror comes from two places: the answers of a lookup (`mirror_records`) or the registry's
whole version listing (`list_all_versions`). Either way `write_mirror` writes it atomically,
and `MirrorRegistry.from_file` reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from audit import atomic
from audit.errors import ReportError
from audit.model import NodeKey, NodeVersion
from audit.registry.http_registry import HttpRegistry
from audit.registry.interface import Fetched, FetchedVersions
from audit.registry.nodes import FetchedNode

__all__ = [
    "list_all_nodes",
    "list_all_versions",
    "merge_records",
    "mirror_records",
    "node_records",
    "node_version_json",
    "version_list_records",
    "write_mirror",
]

MirrorItem = NodeVersion | Mapping[str, Any]
#: NodeVersion fields under the names the API gives them, where those differ.
_API_NAMES = {"created_at": "createdAt"}
_NOT_API_FIELDS = frozenset({"invalid_fields", "fetched_at"})


def write_mirror(records: Iterable[MirrorItem], path: str | Path) -> int:
    """Write ``records`` to the mirror file ``path``, all or nothing; return how many.

    Records are `NodeVersion` objects or raw NodeVersion JSON objects (as `mirror_records`
    and `list_all_versions` give them). The file is written under a temporary name in the
    same folder and renamed, so a reader never sees half a mirror, and an earlier mirror
    stays whole if writing fails.

    :raises ReportError: when the file cannot be written.
    """
    try:
        return atomic.write_with(path, lambda stream: _write_lines(stream, records))
    except atomic.Refused as error:
        raise ReportError(f"{path}: cannot write the mirror file: {error}") from error


def _write_lines(stream: BinaryIO, records: Iterable[MirrorItem]) -> int:
    count = 0
    for record in records:
        stream.write(_line(record).encode("utf-8"))
        count += 1
    return count


def _line(record: MirrorItem) -> str:
    obj = node_version_json(record) if isinstance(record, NodeVersion) else dict(record)
    # NOTE: ensure_ascii keeps U+2028 and friends escaped, so no line reader splits a record.
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n"


def node_version_json(node_version: NodeVersion) -> dict[str, Any]:
    """A NodeVersion as the API spells it (plus ``fetched_at``), fields that are ``None`` left out.

    Values of the wrong type were dropped when the record was parsed, so prefer the raw record
    (`Fetched.record`) where there is one.

    >>> node_version_json(NodeVersion("a", "1", deprecated=True, supported_os=("linux",)))
    {'node_id': 'a', 'version': '1', 'deprecated': True, 'supported_os': ['linux']}
    """
    obj: dict[str, Any] = {}
    for name, value in vars(node_version).items():
        if value is None or name in _NOT_API_FIELDS:
            continue
        obj[_API_NAMES.get(name, name)] = list(value) if isinstance(value, tuple) else value
    if node_version.fetched_at is not None:
        obj["fetched_at"] = node_version.fetched_at.isoformat()
    return obj


def mirror_records(answers: Mapping[NodeKey, Fetched]) -> list[dict[str, Any]]:
    """The mirror lines of a lookup's found answers (``RecordSource.fetch``), one per pair."""
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    for key, fetched in answers.items():
        line = fetched.mirror_record()
        if line is not None:
            lines.setdefault(key.normalized, line)
    return list(lines.values())


def version_list_records(lists: Mapping[str, FetchedVersions]) -> list[dict[str, Any]]:
    """The mirror lines of version lists (``fetch_versions_of``): every version of each node,
    so that an offline run can also advise which version to move to."""
    lines = []
    for fetched in lists.values():
        for record in fetched.records:
            line = dict(record)
            if fetched.fetched_at is not None:
                line["fetched_at"] = fetched.fetched_at.isoformat()
            lines.append(line)
    return lines


def merge_records(*groups: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One line per node@version (ids compare case-insensitively), a later group's winning."""
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for group in groups:
        for line in group:
            merged[(str(line.get("node_id")).lower(), str(line.get("version")))] = line
    return list(merged.values())


def node_records(answers: Mapping[str, FetchedNode]) -> list[dict[str, Any]]:
    """The mirror lines (``{"node": …}``) of a Node lookup's records, one per pack."""
    lines: dict[str, dict[str, Any]] = {}
    for node_id, fetched in answers.items():
        line = fetched.mirror_line()
        if line is not None:
            lines.setdefault(node_id.lower(), line)
    return list(lines.values())


def list_all_nodes(base_url: str, **http_options: Any) -> Iterator[dict[str, Any]]:
    """Yield every Node of the registry at ``base_url`` as a mirror line; see
    `HttpRegistry.list_nodes`.

    :raises RegistryError: when a page cannot be fetched.
    """
    return HttpRegistry(base_url, **http_options).list_nodes()


def list_all_versions(
    base_url: str, *, page_size: int = 100, **http_options: Any
) -> Iterator[dict[str, Any]]:
    """Yield every NodeVersion record of the registry at ``base_url``, with ``fetched_at``.

    Pages of ``GET /versions`` go through the same transport as lookups (retries, size cap,
    User-Agent, token, CA bundle); see `HttpRegistry.list_versions`.

    :param http_options: keyword arguments of `HttpRegistry` (concurrency bounds the pages
        in flight).
    :raises RegistryError: when a page cannot be fetched.
    """
    return HttpRegistry(base_url, **http_options).list_versions(page_size=page_size)
