"""Node records for the loopback registry (`tests.registry_server`): the ``GET /nodes`` list
route and ``GET /nodes/{id}``, modelled on real ``/nodes`` pages.

A `NodeStore` answers both routes; ids match case-insensitively. The list honours repeated
``node_id`` filters, ``include_banned`` (banned nodes are left out only for an explicit
``false``, as the API does), ``page`` and ``limit``; ids in ``omitted`` are left out of every
list answer but served by ``GET /nodes/{id}``, as the real list does with some nodes.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import NAMESPACE_URL, uuid5

__all__ = ["NodeStore", "node_record"]

JsonDict = dict[str, Any]


def node_record(
    node_id: str,
    *,
    status: str = "NodeStatusActive",
    publisher_id: str = "test-publisher",
    publisher_status: str = "PublisherStatusActive",
    latest_version: str | None = "1.0.0",
    **fields: Any,
) -> JsonDict:
    """Return a Node as a real ``/nodes`` page holds it (every key present), ``fields`` overriding.

    ``latest_version=None`` sends ``"latest_version": null``: no Active version.
    """
    latest = None
    if latest_version is not None:
        latest = {
            "changelog": "",
            "createdAt": "2025-06-01T12:00:00.000000Z",
            "dependencies": [],
            "deprecated": False,
            "downloadUrl": f"https://cdn.comfy.org/{publisher_id}/{node_id}/{latest_version}/node.zip",
            "id": str(uuid5(NAMESPACE_URL, f"{node_id}@{latest_version}")),
            "node_id": node_id,
            "status": "NodeVersionStatusActive",
            "version": latest_version,
        }
    record: JsonDict = {
        "author": "",
        "category": "",
        "description": f"{node_id} for tests",
        "downloads": 549,
        "icon": "",
        "id": node_id,
        "latest_version": latest,
        "license": '{"file": "LICENSE"}',
        "name": node_id,
        "publisher": {
            "createdAt": "2024-06-06T15:32:29.449523Z",
            "description": "",
            "id": publisher_id,
            "logo": "",
            "members": [],
            "name": publisher_id,
            "source_code_repo": "",
            "status": publisher_status,
            "support": "",
            "website": "",
        },
        "rating": 0,
        "repository": f"https://github.com/{publisher_id}/{node_id}",
        "status": status,
        "status_detail": "",
        "tags": [],
    }
    record.update(fields)
    return record


class NodeStore:
    """Node records served by the loopback registry, by lower-cased id."""

    def __init__(self, records: Iterable[Mapping[str, Any]] = (), omitted: Iterable[str] = ()):
        self._lock = threading.Lock()
        self._records: dict[str, JsonDict] = {}
        self.omitted = {node_id.lower() for node_id in omitted}
        for record in records:
            self.add(record)

    def add(self, record: Mapping[str, Any]) -> None:
        """Serve ``record`` (a Node dict with a string ``id``), replacing one of the same id."""
        node_id = record.get("id")
        if not isinstance(node_id, str):
            raise ValueError(f"a Node needs a string id: {record!r}")
        with self._lock:
            self._records[node_id.lower()] = json.loads(json.dumps(record))

    def listing(self, query: Mapping[str, list[str]]) -> tuple[int, JsonDict]:
        """The status and body of ``GET /nodes?node_id=…&include_banned=…&page=…&limit=…``."""
        try:
            page = int(query.get("page", ["1"])[0])
            limit = int(query.get("limit", ["10"])[0])
        except ValueError:
            return 400, {"error": "bad request", "message": "page and limit are integers"}
        if page < 1 or limit < 1:
            return 400, {"error": "bad request", "message": "page and limit must be positive"}
        wanted = {node_id.lower() for node_id in query.get("node_id", [])}
        hide_banned = query.get("include_banned", [""])[0] == "false"
        with self._lock:
            records = [
                r
                for low, r in self._records.items()
                if (not wanted or low in wanted)
                and low not in self.omitted
                and not (hide_banned and r.get("status") == "NodeStatusBanned")
            ]
        nodes = records[(page - 1) * limit : page * limit]
        total_pages = math.ceil(len(records) / limit)
        return 200, {
            "limit": limit,
            "nodes": nodes,
            "page": page,
            "total": len(records),
            "totalPages": total_pages,
        }

    def one(self, node_id: str) -> tuple[int, JsonDict]:
        """The status and body of ``GET /nodes/{id}``."""
        with self._lock:
            record = self._records.get(node_id.lower())
        if record is None:
            return 404, {"message": "Node not found", "details": []}
        return 200, record
