"""A loopback OSV API for tests and benchmarks: real HTTP, fixture records, scripted faults.

It is a `RegistryServer` with the OSV routes instead of the registry's, so faults
(`RegistryServer.fail`, with `BATCH_PATH` or `vuln_path`), the request log and the lifecycle
are the registry server's::

    with OsvServer(records, page_size=2) as server:
        server.fail(BATCH_PATH, "status", times=2, status=503)
        OsvApi(server.url, ...).candidates([("torch", "2.5.1")])

Routes:

- ``POST /v1/querybatch``: ``{"queries": [{"package": {"name", "ecosystem"}, "version",
  "page_token"?}]}`` → ``{"results": [...]}``, one per query: ``{}`` when no record names the
  package, else ``{"vulns": [{"id", "modified"}]}`` with at most ``page_size`` ids and a
  ``next_page_token`` when there are more. More than 1,000 queries is a 400, as on osv.dev.
  NOTE: it answers every record that is not withdrawn and names the package, whatever the
  version: a superset, which the client matches itself (osv.dev's own matching may differ).
- ``GET /v1/vulns/{id}``: the record, or 404.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from packaging.utils import canonicalize_name

from tests.registry_server import LoggedRequest, RegistryServer, _Answer, _json

__all__ = ["BATCH_PATH", "MAX_QUERIES", "OsvServer", "vuln_path"]

BATCH_PATH = "/v1/querybatch"
MAX_QUERIES = 1000


def vuln_path(ident: str) -> str:
    return f"/v1/vulns/{ident}"


class OsvServer(RegistryServer):
    """A real HTTP server on 127.0.0.1 serving OSV records from memory.

    :param records: OSV records (dicts with an ``id``), served verbatim.
    :param page_size: most ids in one query's result before it is paged.
    """

    def __init__(
        self, records: Iterable[Mapping[str, Any]] = (), *, page_size: int = 1000, **options: Any
    ) -> None:
        super().__init__(**options)
        self.page_size = page_size
        self._osv: dict[str, dict[str, Any]] = {}
        self._by_name: dict[str, set[str]] = {}
        for record in records:
            self.add_record(record)

    def add_record(self, record: Mapping[str, Any]) -> None:
        copy = json.loads(json.dumps(record))
        ident = str(copy["id"])
        names = {canonicalize_name(str(a["package"]["name"])) for a in copy.get("affected", [])}
        with self._lock:
            self._osv[ident] = copy
            for name in names if not copy.get("withdrawn") else ():
                self._by_name.setdefault(name, set()).add(ident)

    def batches(self) -> list[LoggedRequest]:
        """The query batch requests received so far."""
        return [r for r in self.requests if r.path == BATCH_PATH]

    def _route(self, request: LoggedRequest) -> _Answer:
        match (request.method, request.segments):
            case ("POST", ["v1", "querybatch"]):
                return self._batch(request.body)
            case ("GET", ["v1", "vulns", ident]):
                with self._lock:
                    record = self._osv.get(ident)
                if record is None:
                    return _json(404, {"code": 5, "message": "Bug not found."})
                return _json(200, record)
        return _json(404, {"code": 5, "message": "Not Found"})

    def _batch(self, body: object) -> _Answer:
        queries = body.get("queries") if isinstance(body, dict) else None
        if not isinstance(queries, list) or len(queries) > MAX_QUERIES:
            return _json(400, {"code": 3, "message": "Too many queries."})
        return _json(200, {"results": [self._result(q) for q in queries]})

    def _result(self, query: object) -> dict[str, Any]:
        package = query.get("package") if isinstance(query, dict) else None
        name = package.get("name") if isinstance(package, dict) else None
        if not isinstance(name, str) or not isinstance(query, dict):
            return {}
        ids = self._ids_naming(canonicalize_name(name))
        token = query.get("page_token")
        start = int(token.removeprefix("p")) if isinstance(token, str) else 0
        page = ids[start : start + self.page_size]
        if not page:
            return {}
        result: dict[str, Any] = {
            "vulns": [{"id": i, "modified": "2026-01-01T00:00:00Z"} for i in page]
        }
        if start + self.page_size < len(ids):
            result["next_page_token"] = f"p{start + self.page_size}"
        return result

    def _ids_naming(self, name: str) -> list[str]:
        with self._lock:
            return sorted(self._by_name.get(name, ()))
