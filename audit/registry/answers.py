"""What the registry's answers to a bulk POST and a per-version GET say about each pair."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from audit.model import Failed, Found, Invalid, NodeKey, NotFound
from audit.registry.interface import Fetched, Pair
from audit.registry.parse import parse_node_version
from audit.registry.transport import Failure, NotJson, Outcome, Reply

__all__ = ["Answers", "bulk_items", "get_result", "http_reason", "match_bulk"]

Answers = dict[Pair, Fetched]


def bulk_items(outcome: Outcome) -> list[object] | None:
    """The items of a valid bulk answer, or ``None`` when the whole chunk must be asked again."""
    if not (isinstance(outcome, Reply) and outcome.status == 200):
        return None
    payload = outcome.payload
    if not isinstance(payload, dict) or not isinstance(payload.get("node_versions"), list):
        return None
    items: list[object] = payload["node_versions"]
    return items


def match_bulk(chunk: Sequence[NodeKey], items: list[object], fetched_at: datetime) -> Answers:
    """Pair bulk items with the keys asked; the first item for a pair decides it."""
    asked = {key.normalized: key for key in chunk}
    answers: Answers = {}
    decided: set[Pair] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        pair = _item_pair(item)
        if pair is None or pair not in asked or pair in decided:
            continue
        decided.add(pair)
        result = _item_result(item, asked[pair], fetched_at)
        if result is not None:
            answers[pair] = result
    return answers


def _item_pair(item: dict[str, object]) -> Pair | None:
    identifier = item.get("identifier")
    if not isinstance(identifier, dict):
        return None
    node_id, version = identifier.get("node_id"), identifier.get("version")
    if not (isinstance(node_id, str) and isinstance(version, str)):
        return None
    return (node_id.lower(), version)


def _item_result(item: dict[str, object], key: NodeKey, fetched_at: datetime) -> Fetched | None:
    """The answer a bulk item gives, or ``None`` when the per-version GET must decide."""
    status = item.get("status")
    if status == "not_found":
        return Fetched(NotFound(fetched_at=fetched_at))
    if status == "success" and item.get("node_version") is not None:
        return _record_result(item["node_version"], key, fetched_at)
    return None


def get_result(outcome: Outcome, key: NodeKey) -> Fetched:
    if isinstance(outcome, Failure):
        return Fetched(Failed(outcome.reason))
    if isinstance(outcome, NotJson):
        return Fetched(Invalid(f"not JSON: {outcome.detail}"))
    if outcome.status == 200:
        return _record_result(outcome.payload, key, datetime.now(UTC))
    if outcome.status == 404:
        return Fetched(NotFound(fetched_at=datetime.now(UTC)))
    return Fetched(Failed(http_reason(outcome)))


def _record_result(payload: object, key: NodeKey, fetched_at: datetime) -> Fetched:
    """Parse a record the registry sent for ``key``; a record for another pair is invalid.

    NOTE: a 200 without ``node_id`` is not filled in from the key: an error page served as
    JSON (``{"error": ...}``) would otherwise pass for a clean record with nothing to check.
    """
    parsed = parse_node_version(payload, fetched_at=fetched_at)
    if isinstance(parsed, Invalid):
        return Fetched(parsed)
    if parsed.key.normalized != key.normalized:
        return Fetched(Invalid(f"the registry answered with {parsed.key} when asked for {key}"))
    assert isinstance(payload, dict)  # NOTE: parse_node_version accepts nothing else
    return Fetched(Found(parsed), payload)


def http_reason(reply: Reply) -> str:
    """``HTTP 403``, plus the server's one-line message when it sent one."""
    payload = reply.payload
    message = payload.get("message") if isinstance(payload, dict) else None
    if isinstance(message, str) and message.strip():
        return f"HTTP {reply.status}: {' '.join(message.split())[:200]}"
    return f"HTTP {reply.status}"
