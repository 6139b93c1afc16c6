"""Workflow files modelled on the corpus (../shared/corpus/workflows): UI and API JSON, and
PNG/WebP images carrying them, built in code so that each test shows what it reads."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

JsonDict = dict[str, Any]

#: The shared corpus of real workflows (tests that read it skip when it is absent).
CORPUS = Path(os.environ.get("COMFY_AUDIT_CORPUS", "/work/shared/corpus")) / "workflows"


def ui_node(
    node_id: int,
    class_type: str,
    cnr_id: str | None = None,
    ver: str | None = None,
    *,
    aux_id: str | None = None,
    mode: int = 0,
) -> JsonDict:
    """A litegraph node as the frontend saves it (``properties`` as in the corpus)."""
    properties: JsonDict = {"Node name for S&R": class_type}
    if aux_id is not None:
        properties["aux_id"] = aux_id
    if ver is not None:
        properties["ver"] = ver
    if cnr_id is not None:
        properties["cnr_id"] = cnr_id
    return {"id": node_id, "type": class_type, "mode": mode, "properties": properties}


def ui_workflow(
    nodes: list[JsonDict],
    *,
    subgraphs: list[JsonDict] | None = None,
    group_nodes: dict[str, list[JsonDict]] | None = None,
    node_versions: dict[str, str] | None = None,
) -> JsonDict:
    extra: JsonDict = {"ds": {"scale": 1, "offset": [0, 0]}}
    if group_nodes is not None:
        extra["groupNodes"] = {
            name: {"nodes": inner, "links": [], "external": []}
            for name, inner in group_nodes.items()
        }
    if node_versions is not None:
        extra["node_versions"] = node_versions
    document: JsonDict = {
        "last_node_id": len(nodes),
        "last_link_id": 0,
        "nodes": nodes,
        "links": [],
        "groups": [],
        "config": {},
        "extra": extra,
        "version": 0.4,
    }
    if subgraphs is not None:
        document["definitions"] = {"subgraphs": subgraphs}
    return document


def subgraph(uuid: str, nodes: list[JsonDict], inner: list[JsonDict] | None = None) -> JsonDict:
    """A subgraph definition; ``inner`` nests further definitions inside it."""
    definition: JsonDict = {"id": uuid, "version": 1, "name": uuid[:8], "nodes": nodes, "links": []}
    if inner is not None:
        definition["definitions"] = {"subgraphs": inner}
    return definition


def api_workflow(classes: dict[str, str], **extra: Any) -> JsonDict:
    """An API prompt: ``{id: {class_type, inputs}}``, plus stray keys such as ``_meta``."""
    document: JsonDict = {key: {"class_type": c, "inputs": {}} for key, c in classes.items()}
    return {**extra, **document}


def png(texts: dict[str, str], *, compressed: bool = False) -> bytes:
    """A 1x1 PNG with ``texts`` as ``tEXt`` chunks (``iTXt``, zlib, when ``compressed``)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\0\0\0\0"))
    text_chunks = b""
    for key, value in texts.items():
        if compressed:
            body = key.encode() + b"\0\x01\x00\0\0" + zlib.compress(value.encode())
            text_chunks += chunk(b"iTXt", body)
        else:
            text_chunks += chunk(b"tEXt", key.encode() + b"\0" + value.encode())
    return b"\x89PNG\r\n\x1a\n" + header + text_chunks + pixels + chunk(b"IEND", b"")


def webp(texts: dict[int, str]) -> bytes:
    """A WebP whose EXIF (little-endian TIFF) holds ``texts`` by tag, as ComfyUI writes them."""
    entries, data = [], b""
    offset = 8 + 2 + 12 * len(texts) + 4
    for tag, text in sorted(texts.items()):
        raw = text.encode() + b"\0"
        entries.append(struct.pack("<HHII", tag, 2, len(raw), offset + len(data)))
        data += raw
    tiff = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(texts))
    tiff += b"".join(entries) + b"\0\0\0\0" + data
    exif = b"EXIF" + struct.pack("<I", len(tiff)) + tiff + (b"\0" if len(tiff) % 2 else b"")
    vp8 = b"VP8L" + struct.pack("<I", 0)
    body = b"WEBP" + vp8 + exif
    return b"RIFF" + struct.pack("<I", len(body)) + body


def dumps(document: object) -> str:
    return json.dumps(document)
