"""A loopback Comfy Registry for tests and benchmarks: real HTTP, fixture data, scripted faults.

Build one from NodeVersion dicts, start it (it is a context manager) and point a client at
`RegistryServer.url`::

    records = [node_version_record("comfyui-foo", "1.0.0", status="NodeVersionStatusBanned")]
    with RegistryServer(records) as server:
        server.fail(BULK_PATH, "status", times=2, status=503)  # then it answers normally
        HttpRegistry(server.url, backoff_base=0.001).lookup([NodeKey("comfyui-foo", "1.0.0")])
        assert [r.path for r in server.requests] == [BULK_PATH] * 3

Routes, the part of api.comfy.org that a NodeVersion audit touches (ids match case-insensitively,
versions exactly; path segments are percent-decoded):

- ``POST /bulk/nodes/versions``: one ``success`` / ``not_found`` item per pair asked, or
  ``error`` for the pairs named in ``error_pairs``; a ``success`` identifier spells the id as
  the record does, which may differ in case from the id asked. With ``bulk=False`` the route
  does not exist (``no_bulk_status``, 404 by default), as on servers that predate it.
- ``GET /nodes/{id}/versions/{version}``: the record, or 404 ``{"message": ...}``.
- ``GET /nodes/{id}/versions``: a plain JSON array of that node's records (``statuses`` filters).
- ``GET /versions?page=&pageSize=&nodeId=&statuses=``: ``{total, versions, page, pageSize,
  totalPages}``; a ``pageSize`` outside 1..100 is a 400, as on the real API.
- ``GET /nodes?node_id=…`` and ``GET /nodes/{id}``: Node records (`tests.registry_nodes`), only
  when the server is given ``nodes``; without, it predates them and answers 404.

Faults are deterministic, never random: `RegistryServer.fail` makes the next N requests to one
path misbehave, then the server answers normally again (see `Fault`). Every request is logged,
faulted or not, before it is answered (`RegistryServer.requests`), so a test can assert on the
log as soon as its client returns, without sleeping. ``latency`` delays every answer (for
benchmarks).
"""

from __future__ import annotations

import enum
import json
import math
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import NAMESPACE_URL, uuid5

from tests.registry_nodes import NodeStore

__all__ = [
    "BULK_PATH",
    "SAMPLE_RECORDS",
    "BadBulk",
    "Fault",
    "LoggedRequest",
    "RegistryServer",
    "node_version_record",
    "version_path",
]

BULK_PATH = "/bulk/nodes/versions"
_MAX_PAGE_SIZE = 100

JsonDict = dict[str, Any]


class Fault(enum.StrEnum):
    """Represents a way `RegistryServer.fail` can make a request misbehave."""

    STATUS = "status"
    """Answer ``status`` (default 503) with a JSON error body, and ``Retry-After`` if given."""
    RESET = "reset"
    """Close the connection without answering."""
    TRUNCATED = "truncated"
    """Announce the whole answer in Content-Length, send half of it, and close."""
    HTML = "html"
    """Answer 200 with an HTML error page, as a misconfigured proxy does."""
    SLOW = "slow"
    """Answer only after ``delay`` seconds (for timeout tests with tiny client timeouts)."""
    BAD_BULK = "bad_bulk"
    """Answer 200 with a bulk answer that is wrong as ``mode`` says (see `BadBulk`)."""
    CHUNKED = "chunked"
    """Answer normally, but chunked, without Content-Length (for response size caps)."""
    REDIRECT = "redirect"
    """Answer ``status`` (default 302) with ``Location: location`` (required; may be relative)."""


class BadBulk(enum.StrEnum):
    """Represents how a ``bad_bulk`` fault spoils a bulk answer."""

    OMIT = "omit"
    """Leave out every second item (the 2nd, 4th…); the first item is kept."""
    DUPLICATE = "duplicate"
    """Follow every item with a contradicting copy (``not_found``) for the same pair."""
    UNASKED = "unasked"
    """Put items for pairs nobody asked for before the right items."""
    SHAPE = "shape"
    """Answer JSON that is not a bulk answer at all."""


@dataclass(frozen=True)
class LoggedRequest:
    """Represents one request the server received."""

    method: str
    path: str
    """The path exactly as sent (still percent-encoded), without the query."""
    query: Mapping[str, list[str]]
    body: object
    """The decoded JSON body; ``None`` when empty, the raw text when not JSON."""
    headers: Mapping[str, str]

    @property
    def segments(self) -> list[str]:
        """The percent-decoded path segments: ``/nodes/a%2Fb/versions/1`` → ``[nodes, a/b, …]``."""
        return [unquote(part) for part in self.path.split("/")[1:]]


@dataclass
class _Script:
    kind: Fault
    remaining: int
    options: Mapping[str, Any]


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


def node_version_record(node_id: str, version: str, **fields: Any) -> JsonDict:
    """Return a NodeVersion as api.comfy.org sends it (every key present), ``fields`` overriding.

    Keys that are not identifiers go through a dict: ``**{"createdAt": "2025-01-01T00:00:00Z"}``.
    """
    record: JsonDict = {
        "changelog": "",
        "comfy_node_extract_status": "success",
        "createdAt": "2025-06-01T12:00:00.000000Z",
        "dependencies": [],
        "deprecated": False,
        "downloadUrl": f"https://cdn.comfy.org/test-publisher/{node_id}/{version}/node.zip",
        "id": str(uuid5(NAMESPACE_URL, f"{node_id}@{version}")),
        "node_id": node_id,
        "status": "NodeVersionStatusActive",
        "status_reason": "",
        "supported_accelerators": [],
        "supported_comfyui_frontend_version": "",
        "supported_comfyui_version": "",
        "supported_os": [],
        "tags": [],
        "tags_admin": [],
        "version": version,
    }
    record.update(fields)
    return record


def version_path(node_id: str, version: str) -> str:
    """The per-version route of a pair as a client sends it for ids of safe characters."""
    return f"/nodes/{node_id}/versions/{version}"


#: A small realistic registry: one record per status, declared platforms, admin tags, nulls.
SAMPLE_RECORDS: tuple[JsonDict, ...] = (
    node_version_record(
        "comfyui-kjnodes",
        "1.1.9",
        dependencies=["pillow>=10.3.0", "scipy", "color-matcher", "matplotlib", "mss"],
        supported_os=["OS Independent"],
        supported_accelerators=["GPU :: NVIDIA CUDA"],
        supported_comfyui_version=">=0.3.0",
    ),
    node_version_record("comfyui-kjnodes", "1.1.8", deprecated=True),
    node_version_record(
        "ComfyUI-outputlists_combiner",
        "0.0.15",
        status="NodeVersionStatusFlagged",
        comfy_node_extract_status="pending",
    ),
    node_version_record(
        "banned-pack",
        "0.9.0",
        status="NodeVersionStatusBanned",
        status_reason="eval() on user input",
        tags_admin=["any-code-execute", "credential-access"],
    ),
    node_version_record("AS_LLM_nodes", "1.0.1", status="NodeVersionStatusPending"),
    node_version_record("removed-pack", "2.0.0", status="NodeVersionStatusDeleted"),
    node_version_record(
        "comfyui-hibiki",
        "1.0.0",
        status="NodeVersionStatusFlagged",
        supported_os=None,
        supported_accelerators=None,
        **{"createdAt": "2025-02-09T10:00:00Z"},
    ),
)


class RegistryServer:
    """A real HTTP server on 127.0.0.1 (a free port) serving registry records from memory.

    :param records: NodeVersion dicts, served verbatim; a later record for the same pair wins.
    :param bulk: whether ``POST /bulk/nodes/versions`` exists.
    :param no_bulk_status: what the bulk route answers when it does not exist.
    :param error_pairs: ``(node_id, version)`` pairs the bulk route answers with ``error``.
    :param latency: seconds to wait before answering any request.
    :param nodes: Node records to serve (`tests.registry_nodes.node_record`); ``None``: no
        Node routes at all.
    :param omitted_nodes: ids that list answers leave out (``GET /nodes/{id}`` serves them).
    """

    def __init__(
        self,
        records: Iterable[Mapping[str, Any]] = (),
        *,
        bulk: bool = True,
        no_bulk_status: int = 404,
        error_pairs: Iterable[tuple[str, str]] = (),
        latency: float = 0.0,
        nodes: Iterable[Mapping[str, Any]] | None = None,
        omitted_nodes: Iterable[str] = (),
    ) -> None:
        self.nodes = None if nodes is None else NodeStore(nodes, omitted_nodes)
        self.bulk = bulk
        self.no_bulk_status = no_bulk_status
        self.latency = latency
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], object] = {}
        # NOTE: each node's records, in the order of `_records`: a version list answers from its
        # node's records alone, as the real registry's index does, not by scanning every record
        # (which made the server's CPU, not the client, the cost of a run's version lists).
        self._by_node: dict[str, dict[str, object]] = {}
        self._error_pairs = {(node_id.lower(), version) for node_id, version in error_pairs}
        self._scripts: dict[str, deque[_Script]] = {}
        self._log: list[LoggedRequest] = []
        self._errors: list[str] = []
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._comfy_nodes: dict[tuple[str, str], list[JsonDict]] = {}
        self._class_packs: dict[str, JsonDict] = {}
        self._gate: Callable[[], object] | None = None
        for record in records:
            self.add(record)

    # -- data -------------------------------------------------------------------------------

    def add(self, record: Mapping[str, Any]) -> None:
        """Serve ``record`` (a NodeVersion dict with string ``node_id`` and ``version``)."""
        node_id, version = record.get("node_id"), record.get("version")
        if not (isinstance(node_id, str) and isinstance(version, str)):
            raise ValueError(f"a record needs string node_id and version: {record!r}")
        self.answer_with(node_id, version, dict(record))

    def answer_with(self, node_id: str, version: str, payload: object) -> None:
        """Answer the pair with ``payload`` verbatim (any JSON value: a broken record, a list…)."""
        copy = json.loads(json.dumps(payload))
        with self._lock:
            self._records[(node_id.lower(), version)] = copy
            self._by_node.setdefault(node_id.lower(), {})[version] = copy

    def add_comfy_nodes(self, node_id: str, version: str, nodes: Iterable[JsonDict]) -> None:
        """Serve ``nodes`` (ComfyNode dicts) as the classes of ``node_id@version``."""
        with self._lock:
            self._comfy_nodes[(node_id.lower(), version)] = [dict(n) for n in nodes]

    def add_class_pack(self, name: str, node: JsonDict) -> None:
        """Answer ``GET /comfy-nodes/{name}/node`` with ``node`` (a Node dict)."""
        with self._lock:
            self._class_packs[name] = dict(node)

    # -- faults and log ---------------------------------------------------------------------

    def fail(self, path: str, kind: Fault | str, *, times: int = 1, **options: Any) -> None:
        """Make the next ``times`` requests to ``path`` misbehave as ``kind`` says.

        ``path`` is matched exactly against the request path, percent-encoded or decoded, and
        without the query; `BULK_PATH` and `version_path` build the usual ones. Scripts for
        the same path run one after the other.

        :param options: ``status`` (int) and ``retry_after`` (str or number) for ``status``;
            ``delay`` (seconds, default 5; cut short when the server stops) for ``slow``;
            ``mode`` (`BadBulk`, default ``omit``) for ``bad_bulk``; ``location`` and
            ``status`` (default 302) for ``redirect``.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        script = _Script(Fault(kind), times, options)
        with self._lock:
            self._scripts.setdefault(path, deque()).append(script)

    def hold(self, gate: Callable[[], object]) -> None:
        """From now on, each request calls ``gate`` before it is answered (after any latency):
        a barrier's ``wait`` answers requests only once enough are in flight at once, an
        event's holds them until it is set."""
        self._gate = gate

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def paths(self, method: str | None = None) -> list[str]:
        """The paths of the logged requests, optionally only those of one method."""
        return [r.path for r in self.requests if method is None or r.method == method]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    @property
    def errors(self) -> list[str]:
        """Tracebacks of unexpected errors in request handlers (a bug in a test or here)."""
        with self._lock:
            return list(self._errors)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>``; the server must be started."""
        if self._httpd is None:
            raise RuntimeError("the registry server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> RegistryServer:
        if self._httpd is not None:
            raise RuntimeError("the registry server is already running")
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # how soon stop() returns
            name="registry-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; slow answers still pending are abandoned."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- serving (called from handler threads) ----------------------------------------------

    def _receive(self, request: LoggedRequest) -> _Script | None:
        """Log ``request`` and take the fault scripted for its path, if any."""
        with self._lock:
            self._log.append(request)
            queue = self._scripts.get(request.path) or self._scripts.get(unquote(request.path))
            if not queue:
                return None
            script = queue[0]
            script.remaining -= 1
            if script.remaining == 0:
                queue.popleft()
            return script

    def _wait(self, seconds: float) -> bool:
        """Wait, unless the server stops first; return whether it is still running."""
        if seconds > 0:
            self._stopping.wait(seconds)
        return not self._stopping.is_set()

    def _note_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)

    def _route(self, request: LoggedRequest) -> _Answer:
        match (request.method, request.segments):
            case ("POST", ["bulk", "nodes", "versions"]):
                return self._bulk(request.body)
            case ("GET", ["nodes", node_id, "versions", version]):
                return self._version(node_id, version)
            case ("GET", ["nodes", node_id, "versions"]):
                return self._versions_of(node_id, request.query)
            case ("GET", ["versions"]):
                return self._page(request.query)
            case ("GET", ["nodes"]) if self.nodes is not None:
                return _json(*self.nodes.listing(request.query))
            case ("GET", ["nodes", node_id]) if self.nodes is not None:
                return _json(*self.nodes.one(node_id))
            case ("GET", ["nodes", node_id, "versions", version, "comfy-nodes"]):
                return self._comfy_nodes_of(node_id, version, request.query)
            case ("GET", ["comfy-nodes", name, "node"]):
                with self._lock:
                    node = self._class_packs.get(name)
                return _json(404, {"message": "Not Found"}) if node is None else _json(200, node)
        return _json(404, {"message": "Not Found"})

    def _comfy_nodes_of(
        self, node_id: str, version: str, query: Mapping[str, list[str]]
    ) -> _Answer:
        """One page (``page``, ``limit``, default 10) of a version's classes."""
        with self._lock:
            nodes = self._comfy_nodes.get((node_id.lower(), version))
        if nodes is None:
            return _json(404, {"message": "Node version not found"})
        page = int(query.get("page", ["1"])[0])
        limit = int(query.get("limit", ["10"])[0])
        pages = max(1, math.ceil(len(nodes) / limit))
        chunk = nodes[(page - 1) * limit : page * limit]
        return _json(200, {"comfy_nodes": chunk, "totalNumberOfPages": pages})

    def _bulk(self, body: object) -> _Answer:
        if not self.bulk:
            return _json(self.no_bulk_status, {"message": "Not Found"})
        pairs = _bulk_pairs(body)
        if pairs is None:
            return _json(400, {"error": "bad request", "message": "invalid node_versions"})
        return _json(200, {"node_versions": [self._bulk_item(*pair) for pair in pairs]})

    def _bulk_item(self, node_id: str, version: str) -> JsonDict:
        identifier = {"node_id": node_id, "version": version}
        key = (node_id.lower(), version)
        with self._lock:
            record = self._records.get(key)
        if key in self._error_pairs:
            return {"identifier": identifier, "status": "error", "error_message": "internal error"}
        if record is None:
            return {"identifier": identifier, "status": "not_found"}
        if isinstance(record, dict) and isinstance(record.get("node_id"), str):
            # The registry's own spelling of the id, so clients must match case-insensitively.
            identifier["node_id"] = record["node_id"]
        return {"identifier": identifier, "status": "success", "node_version": record}

    def _version(self, node_id: str, version: str) -> _Answer:
        with self._lock:
            record = self._records.get((node_id.lower(), version))
        if record is None:
            return _json(404, {"message": "Node version not found", "details": []})
        return _json(200, record)

    def _versions_of(self, node_id: str, query: Mapping[str, list[str]]) -> _Answer:
        records = self._select(node_id, query)
        if not records:
            return _json(404, {"message": "Node not found", "details": []})
        return _json(200, records)

    def _page(self, query: Mapping[str, list[str]]) -> _Answer:
        try:
            page = int(query.get("page", ["1"])[0])
            size = int(query.get("pageSize", ["10"])[0])
        except ValueError:
            return _json(400, {"error": "bad request", "message": "page and pageSize are integers"})
        if page < 1 or not 1 <= size <= _MAX_PAGE_SIZE:
            message = f"page must be >= 1 and pageSize between 1 and {_MAX_PAGE_SIZE}"
            return _json(400, {"error": "bad request", "message": message})
        records = self._select(query.get("nodeId", [None])[0], query)
        versions = records[(page - 1) * size : page * size]
        total_pages = math.ceil(len(records) / size)
        return _json(
            200,
            {
                "total": len(records),
                "versions": versions,
                "page": page,
                "pageSize": size,
                "totalPages": total_pages,
            },
        )

    def _select(self, node_id: str | None, query: Mapping[str, list[str]]) -> list[object]:
        """The records of one node (or all), filtered by the ``statuses`` query parameter."""
        statuses = set(query.get("statuses", []) + query.get("statuses[]", []))
        with self._lock:
            if node_id is None:
                records = list(self._records.values())
            else:
                records = list(self._by_node.get(node_id.lower(), {}).values())
        return [
            record
            for record in records
            if not statuses or (isinstance(record, dict) and record.get("status") in statuses)
        ]

    def _faulty(self, script: _Script, request: LoggedRequest) -> _Answer | None:
        """The answer a fault gives; ``None`` for the faults the handler acts out itself."""
        options = script.options
        match script.kind:
            case Fault.STATUS:
                status = int(options.get("status", 503))
                retry_after = options.get("retry_after")
                headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
                return _json(status, {"message": f"injected HTTP {status}"}, headers)
            case Fault.HTML:
                return _Answer(200, _HTML_PAGE, "text/html; charset=utf-8")
            case Fault.BAD_BULK:
                return self._bad_bulk(BadBulk(options.get("mode", BadBulk.OMIT)), request)
            case Fault.REDIRECT:
                headers = {"Location": str(options["location"])}
                return _json(int(options.get("status", 302)), {"message": "moved"}, headers)
        return None

    def _bad_bulk(self, mode: BadBulk, request: LoggedRequest) -> _Answer:
        if mode is BadBulk.SHAPE:
            return _json(200, {"versions": [], "message": "not a bulk answer"})
        items = [self._bulk_item(*pair) for pair in _bulk_pairs(request.body) or []]
        if mode is BadBulk.OMIT:
            items = items[::2]
        elif mode is BadBulk.DUPLICATE:
            items = [
                copy
                for item in items
                for copy in (item, {"identifier": item["identifier"], "status": "not_found"})
            ]
        else:
            unasked = node_version_record("unasked-node", "9.9.9")
            items.insert(0, self._bulk_item_for(unasked))
            if items[1:]:
                other = dict(items[1]["identifier"], version="0.0.0-unasked")
                items.insert(0, self._bulk_item_for(node_version_record(**other)))
        return _json(200, {"node_versions": items})

    @staticmethod
    def _bulk_item_for(record: JsonDict) -> JsonDict:
        identifier = {"node_id": record["node_id"], "version": record["version"]}
        return {"identifier": identifier, "status": "success", "node_version": record}


_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>upstream unavailable</p></body></html>\n"
)


def _json(status: int, payload: object, headers: Mapping[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(payload).encode(), headers=headers or {})


def _bulk_pairs(body: object) -> list[tuple[str, str]] | None:
    """The pairs a bulk request asks for, or ``None`` when it is not a bulk request."""
    items = body.get("node_versions") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    pairs = []
    for item in items:
        node_id = item.get("node_id") if isinstance(item, dict) else None
        version = item.get("version") if isinstance(item, dict) else None
        if not (isinstance(node_id, str) and isinstance(version, str)):
            return None
        pairs.append((node_id, version))
    return pairs


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # NOTE: the default backlog of 5 overflows when 8+ workers connect at once, and an
    # overflowing SYN is retried a second later: enough to break tests with tiny timeouts.
    request_queue_size = 128

    def __init__(self, registry: RegistryServer) -> None:
        self.registry = registry
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # clients hang up on slow or broken answers on purpose
        self.registry._note_error(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    # NOTE: headers and body go out as separate writes; with Nagle's algorithm on, the body
    # waits for the client's delayed ACK (40 ms on Linux) on every request.
    disable_nagle_algorithm = True
    # NOTE: idle keep-alive connections end after this, so no handler thread lingers forever.
    timeout = 30

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the request log is `RegistryServer.requests`."""

    def _serve(self) -> None:
        registry = self.server.registry
        request = self._parse()
        script = registry._receive(request)
        if not registry._wait(registry.latency):
            return self._hang_up()
        if registry._gate is not None:
            registry._gate()
        answer = registry._route(request)
        if script is None:
            return self._send(answer)
        faulty = registry._faulty(script, request)
        if faulty is not None:
            return self._send(faulty)
        match script.kind:
            case Fault.RESET:
                return self._hang_up()
            case Fault.TRUNCATED:
                return self._send(answer, cut=True)
            case Fault.CHUNKED:
                return self._send_chunked(answer)
            case Fault.SLOW if registry._wait(float(script.options.get("delay", 5.0))):
                return self._send(answer)
        return self._hang_up()

    def _parse(self) -> LoggedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: object = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        split = urlsplit(self.path)
        return LoggedRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query),
            body=body,
            headers=dict(self.headers.items()),
        )

    def _send(self, answer: _Answer, *, cut: bool = False) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body[: len(answer.body) // 2] if cut else answer.body)
        if cut:
            self.close_connection = True

    def _send_chunked(self, answer: _Answer, size: int = 1024) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(answer.body), size):
            piece = answer.body[start : start + size]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def _hang_up(self) -> None:
        self.close_connection = True
