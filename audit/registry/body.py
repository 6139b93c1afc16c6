"""Bounded reading of an answer: its status, then its body, within the size cap and the
`ByteBudget` of answers held in memory at once.
"""

from __future__ import annotations

import json

import requests

from audit.registry.limits import ByteBudget
from audit.registry.outcomes import Failure, Outcome, Reply, Transient, request_fault
from audit.registry.retry import retry_after_seconds

__all__ = ["read_answer", "read_body"]

_CHUNK_BYTES = 64 * 1024


def read_answer(response: requests.Response, limit: int, budget: ByteBudget) -> Outcome | Transient:
    """What ``response`` comes to: a reply, or why not (its body at most ``limit`` bytes)."""
    status = response.status_code
    if status == 429 or (status >= 500 and status != 501):
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return Transient(f"HTTP {status}", retry_after=retry_after)
    body = read_body(response, limit, budget)
    try:
        if status != 200:
            # NOTE: only a 200 needs its body; a 404 is a 404 even if its page was cut.
            return Reply(status, _json_or_none(body) if isinstance(body, bytes) else None)
        if not isinstance(body, bytes):
            return body
        return _parsed(response, body)
    finally:
        # NOTE: held until parsed, since parsing is where a large answer costs most.
        if isinstance(body, bytes):
            budget.give(len(body))


def read_body(
    response: requests.Response, limit: int, budget: ByteBudget
) -> bytes | Failure | Transient:
    """The body of ``response``, held in ``budget``, or why it is not read whole."""
    too_large = Failure(f"response larger than {limit} bytes")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return too_large
    chunks: list[bytes] = []
    size = 0
    try:
        # NOTE: counted after decompression, so a small gzip bomb is caught too.
        for chunk in response.iter_content(_CHUNK_BYTES):
            if size + len(chunk) > limit:
                budget.give(size)
                return too_large
            if not budget.take(len(chunk)):
                budget.give(size)
                return Transient(f"answers held in memory would pass {budget.limit} bytes")
            size += len(chunk)
            chunks.append(chunk)
    except (OSError, ValueError) as error:
        budget.give(size)
        return request_fault(error)
    return b"".join(chunks)


def _parsed(response: requests.Response, body: bytes) -> Reply | Transient:
    try:
        return Reply(200, json.loads(body))
    except (ValueError, RecursionError):
        kind = response.headers.get("Content-Type", "untyped").split(";")[0].strip()
        return Transient(f"{kind or 'untyped'} body", bad_body=True)


def _json_or_none(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None
