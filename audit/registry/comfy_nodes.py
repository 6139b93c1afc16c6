"""Which node classes a pack version provides, and which pack provides a class: the registry's
comfy-nodes routes, over HTTP, from the cache, or from a mirror file.

- ``GET /nodes/{id}/versions/{version}/comfy-nodes?limit=1000&page=N`` lists a version's
  classes (``{comfy_nodes, totalNumberOfPages}``); pages after the first are followed.
- ``GET /comfy-nodes/{name}/node`` answers the Node that provides a class (404: none).

Mirror lines: ``{"comfy_nodes_of": {"node_id", "version"}, "comfy_nodes": [...]}`` and
``{"comfy_node_name": X, "node": Node|null}``, so that no reader takes them for a NodeVersion.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from audit import safeio
from audit.errors import MirrorError
from audit.model import ID_PATTERN, VERSION_PATTERN, Failed, NodeKey
from audit.registry.http_registry import HttpRegistry
from audit.registry.interface import Pair
from audit.registry.transport import Failure, NotJson, Outcome, Transport

__all__ = [
    "BANNED_POLICY",
    "ClassList",
    "ComfyNode",
    "ComfyNodesSource",
    "HttpComfyNodes",
    "MirrorComfyNodes",
    "PackOf",
    "is_side_line",
    "mirror_lines",
]

BANNED_POLICY = "ComfyNodePolicyBanned"
PAGE_LIMIT = 1000
#: A registry that claims more pages than this is not answered in full.
MAX_PAGES = 50
_SIDE_KEYS = ("comfy_nodes_of", "comfy_node_name")


@dataclass(frozen=True)
class ComfyNode:
    """Represents one class a pack version provides."""

    name: str
    deprecated: bool = False
    policy: str | None = None

    @property
    def banned(self) -> bool:
        return self.policy == BANNED_POLICY


@dataclass(frozen=True)
class ClassList:
    """Represents a pack version's classes as the registry lists them (empty: not extracted)."""

    nodes: tuple[ComfyNode, ...]
    records: tuple[Mapping[str, Any], ...] = ()
    fetched_at: datetime | None = None

    @property
    def known(self) -> bool:
        """Whether the registry extracted this version's classes; if not, nothing is missing."""
        return bool(self.nodes)


@dataclass(frozen=True)
class PackOf:
    """Represents the registry's answer to "which pack provides this class"."""

    node_id: str | None
    record: Mapping[str, Any] | None = None
    fetched_at: datetime | None = None


ClassesAnswer = ClassList | Failed
PackAnswer = PackOf | Failed


class ComfyNodesSource(Protocol):
    """Anything that answers the two comfy-nodes questions; failures are values, not errors."""

    def classes_of(self, keys: Sequence[NodeKey]) -> Mapping[Pair, ClassesAnswer]:
        """Each distinct pair once (ids compare case-insensitively)."""
        ...

    def packs_of(self, names: Sequence[str]) -> Mapping[str, PackAnswer]:
        """Each distinct class name once."""
        ...


def parse_comfy_node(item: object) -> ComfyNode | None:
    if not isinstance(item, dict) or not isinstance(item.get("comfy_node_name"), str):
        return None
    policy = item.get("policy")
    return ComfyNode(
        item["comfy_node_name"],
        item.get("deprecated") is True,
        policy if isinstance(policy, str) else None,
    )


def class_list(records: Iterable[object], fetched_at: datetime | None) -> ClassList:
    kept = [r for r in records if parse_comfy_node(r) is not None]
    nodes = tuple(n for n in map(parse_comfy_node, kept) if n is not None)
    return ClassList(nodes, tuple(kept), fetched_at)  # type: ignore[arg-type]


def pack_of(record: object, fetched_at: datetime | None) -> PackOf:
    node_id = record.get("id") if isinstance(record, dict) else None
    if not isinstance(node_id, str) or ID_PATTERN.fullmatch(node_id) is None:
        return PackOf(None, None, fetched_at)
    return PackOf(node_id, record, fetched_at)  # type: ignore[arg-type]


class HttpComfyNodes:
    """An implementation of `ComfyNodesSource` that asks the registry, with the retries,
    limits and concurrency of ``http``."""

    def __init__(self, http: HttpRegistry) -> None:
        self._http = http

    def classes_of(self, keys: Sequence[NodeKey]) -> dict[Pair, ClassesAnswer]:
        wanted = {k.normalized: k for k in keys}
        with self._http.side_transport(_allowed) as transport, self._pool() as pool:
            found = pool.map(
                lambda k: (k.normalized, _classes(transport, self._url(k))), wanted.values()
            )
            return dict(found)

    def packs_of(self, names: Sequence[str]) -> dict[str, PackAnswer]:
        wanted = list(dict.fromkeys(names))
        with self._http.side_transport(_allowed) as transport, self._pool() as pool:
            return dict(pool.map(lambda n: (n, _pack(transport, self._name_url(n))), wanted))

    def _pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(self._http.concurrency, thread_name_prefix="comfy-nodes")

    def _url(self, key: NodeKey) -> str | None:
        if (
            ID_PATTERN.fullmatch(key.node_id) is None
            or VERSION_PATTERN.fullmatch(key.version) is None
        ):
            return None
        node, version = quote(key.node_id, safe=""), quote(key.version, safe="")
        return f"{self._http.base_url}/nodes/{node}/versions/{version}/comfy-nodes"

    def _name_url(self, name: str) -> str | None:
        if not name.strip() or len(name) > 256 or name in (".", ".."):
            return None
        return f"{self._http.base_url}/comfy-nodes/{quote(name, safe='')}/node"


def _allowed(url: str) -> bool:
    """Only the two comfy-nodes routes (what a redirect may lead to as well)."""
    path = url.split("://", 1)[-1].partition("/")[2].partition("?")[0]
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return False
    if parts[-1] == "comfy-nodes":
        return len(parts) >= 5 and parts[-5] == "nodes" and parts[-3] == "versions"
    return len(parts) >= 3 and parts[-3] == "comfy-nodes" and parts[-1] == "node"


def _failure(outcome: Outcome) -> Failed | None:
    if isinstance(outcome, Failure):
        return Failed(outcome.reason)
    if isinstance(outcome, NotJson):
        return Failed(f"not JSON: {outcome.detail}")
    if outcome.status not in (200, 404):
        return Failed(f"HTTP {outcome.status}")
    return None


def _classes(transport: Transport, url: str | None) -> ClassesAnswer:
    if url is None:
        return Failed("not looked up: the id or version is not safe to put in a URL")
    now = datetime.now(UTC)
    records: list[object] = []
    page, pages = 1, 1
    while page <= pages:
        outcome = transport.send("GET", f"{url}?limit={PAGE_LIMIT}&page={page}")
        failed = _failure(outcome)
        if failed is not None:
            return failed
        assert not isinstance(outcome, Failure | NotJson)
        if outcome.status == 404:
            return ClassList((), (), now)
        payload = outcome.payload
        items = payload.get("comfy_nodes") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            return Failed("the registry answered with something that is not a comfy-nodes list")
        records += items
        total = payload.get("totalNumberOfPages") if isinstance(payload, dict) else None
        pages = min(total, MAX_PAGES) if isinstance(total, int) and total > 0 else 1
        page += 1
    return class_list(records, now)


def _pack(transport: Transport, url: str | None) -> PackAnswer:
    if url is None:
        return PackOf(None)
    outcome = transport.send("GET", url)
    failed = _failure(outcome)
    if failed is not None:
        return failed
    assert not isinstance(outcome, Failure | NotJson)
    now = datetime.now(UTC)
    return PackOf(None, None, now) if outcome.status == 404 else pack_of(outcome.payload, now)


def is_side_line(obj: object) -> bool:
    """Whether a mirror line is a comfy-nodes line (not a NodeVersion)."""
    return isinstance(obj, dict) and any(key in obj for key in _SIDE_KEYS)


class MirrorComfyNodes:
    """An implementation of `ComfyNodesSource` that answers from a mirror file's comfy-nodes
    lines; what the file does not hold is not known (a version's classes: unknown, a class: no
    pack), never a failure."""

    def __init__(self, classes: Mapping[Pair, ClassList], packs: Mapping[str, PackOf]) -> None:
        self._classes = dict(classes)
        self._packs = dict(packs)

    @classmethod
    def from_file(cls, path: str | Path) -> MirrorComfyNodes:
        """:raises MirrorError: naming the file and line of a broken comfy-nodes line."""
        try:
            text = safeio.read_text(path, limit=2 * 1024 * 1024 * 1024)
        except safeio.Refused as error:
            raise MirrorError(f"{path}: cannot read the mirror file: {error}") from None
        classes: dict[Pair, ClassList] = {}
        packs: dict[str, PackOf] = {}
        for number, line in enumerate(text.split("\n"), start=1):
            # NOTE: a cheap test first: most lines of a mirror are NodeVersions.
            if '"comfy_node' not in line:
                continue
            _read_line(f"{path}:{number}", line, classes, packs)
        return cls(classes, packs)

    def classes_of(self, keys: Sequence[NodeKey]) -> dict[Pair, ClassesAnswer]:
        return {k.normalized: self._classes.get(k.normalized, ClassList(())) for k in keys}

    def packs_of(self, names: Sequence[str]) -> dict[str, PackAnswer]:
        return {name: self._packs.get(name, PackOf(None)) for name in names}


def _read_line(
    where: str, line: str, classes: dict[Pair, ClassList], packs: dict[str, PackOf]
) -> None:
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        raise MirrorError(f"{where}: not JSON") from None
    if not is_side_line(obj):
        return
    of, name = obj.get("comfy_nodes_of"), obj.get("comfy_node_name")
    if isinstance(of, dict) and isinstance(obj.get("comfy_nodes"), list):
        node_id, version = of.get("node_id"), of.get("version")
        if isinstance(node_id, str) and isinstance(version, str):
            classes[(node_id.lower(), version)] = class_list(obj["comfy_nodes"], None)
            return
    elif isinstance(name, str) and "node" in obj:
        packs[name] = pack_of(obj["node"], None)
        return
    raise MirrorError(
        f"{where}: a comfy-nodes line needs comfy_nodes_of and comfy_nodes, "
        "or comfy_node_name and node"
    )


def mirror_lines(
    classes: Mapping[NodeKey, ClassesAnswer], packs: Mapping[str, PackAnswer]
) -> list[dict[str, Any]]:
    """The mirror lines of the answers that are facts (failures are left out)."""
    lines: list[dict[str, Any]] = []
    for key, answer in classes.items():
        if isinstance(answer, ClassList):
            of = {"node_id": key.node_id, "version": key.version}
            lines.append({"comfy_nodes_of": of, "comfy_nodes": [dict(r) for r in answer.records]})
    for name, found in packs.items():
        if isinstance(found, PackOf):
            record = None if found.record is None else dict(found.record)
            lines.append({"comfy_node_name": name, "node": record})
    return lines
