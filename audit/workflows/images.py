"""The workflow ComfyUI embeds in the images it saves.

- PNG: ``tEXt``/``iTXt``/``zTXt`` chunks with keyword ``workflow`` (UI JSON) or ``prompt`` (API).
- WebP: an ``EXIF`` chunk (TIFF), whose IFD0 tags 0x010F (Make) and 0x0110 (Model) hold
  ``workflow:<json>`` and ``prompt:<json>``.

Only the container is parsed, never the pixels; every length is checked against the data.
"""

from __future__ import annotations

import struct

from audit import safeio

__all__ = ["embedded_workflow"]

_PNG = b"\x89PNG\r\n\x1a\n"
_TEXT_LIMIT = 32 * 1024 * 1024
_KEYWORDS = ("workflow", "prompt")
_EXIF_TAGS = {0x010F, 0x0110}


def embedded_workflow(data: bytes) -> tuple[str, str] | None:
    """``(kind, json_text)`` of the workflow embedded in an image, ``workflow`` before
    ``prompt``; ``None`` when ``data`` is not a PNG or WebP image.

    :raises LookupError: for an image that holds no workflow.
    :raises ValueError: for a broken image.
    """
    if data.startswith(_PNG):
        texts, kind = _png_texts(data), "png"
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        texts, kind = _webp_texts(data), "webp"
    else:
        return None
    for keyword in _KEYWORDS:
        if keyword in texts:
            return kind, texts[keyword]
    raise LookupError(f"{kind.upper()} image without an embedded workflow or prompt")


def _png_texts(data: bytes) -> dict[str, str]:
    texts: dict[str, str] = {}
    at = len(_PNG)
    while at + 8 <= len(data):
        length, chunk = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        if len(body) != length:
            raise ValueError("PNG image cut short")
        if chunk in (b"tEXt", b"iTXt", b"zTXt"):
            keyword, text = _png_text(chunk, body)
            if keyword in _KEYWORDS:
                texts.setdefault(keyword, text)
        if chunk == b"IEND":
            break
        at += 12 + length
    return texts


def _png_text(chunk: bytes, body: bytes) -> tuple[str, str]:
    keyword, _, rest = body.partition(b"\0")
    name = keyword.decode("latin-1")
    if chunk == b"tEXt":
        # NOTE: the PNG spec says Latin-1, but ComfyUI writes UTF-8 JSON into tEXt.
        return name, rest.decode("utf-8", errors="replace")
    if chunk == b"zTXt":
        return name, _inflate(rest[1:]).decode("latin-1")
    compressed, _method = rest[:1], rest[1:2]
    _language, _, rest = rest[2:].partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    raw = _inflate(text) if compressed == b"\x01" else text
    return name, raw.decode("utf-8", errors="replace")


def _inflate(data: bytes) -> bytes:
    try:
        return safeio.inflate(data, limit=_TEXT_LIMIT)
    except safeio.Refused as error:
        raise ValueError(f"embedded text: {error}") from None


def _webp_texts(data: bytes) -> dict[str, str]:
    at = 12
    while at + 8 <= len(data):
        chunk, length = struct.unpack("<4sI", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        if len(body) != length:
            raise ValueError("WebP image cut short")
        if chunk == b"EXIF":
            return _exif_texts(body.removeprefix(b"Exif\0\0"))
        at += 8 + length + (length & 1)
    return {}


def _exif_texts(tiff: bytes) -> dict[str, str]:
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        raise ValueError("WebP EXIF data is not TIFF")
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        raise ValueError("WebP EXIF data cut short")
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    texts: dict[str, str] = {}
    for index in range(count):
        entry = tiff[ifd + 2 + 12 * index : ifd + 14 + 12 * index]
        if len(entry) < 12:
            raise ValueError("WebP EXIF data cut short")
        tag, _type, size, offset = struct.unpack(order + "HHII", entry)
        value = entry[8 : 8 + size] if size <= 4 else tiff[offset : offset + size]
        if tag in _EXIF_TAGS and len(value) == size:
            keyword, _, text = value.rstrip(b"\0").decode("utf-8", errors="replace").partition(":")
            if keyword in _KEYWORDS:
                texts.setdefault(keyword, text)
    return texts
