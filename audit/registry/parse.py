"""Tolerant parsing of the registry's NodeVersion records, shared by the HTTP client and mirrors."""

from __future__ import annotations

from datetime import UTC, datetime

from audit.model import Invalid, NodeVersion

__all__ = ["normalize_status", "parse_node_version"]

_STATUS_PREFIX = "nodeversionstatus"
_STATUSES = {
    word: f"NodeVersionStatus{word.capitalize()}"
    for word in ("active", "deleted", "banned", "pending", "flagged")
}


def normalize_status(text: str) -> str | None:
    """Return the API form (``NodeVersionStatusBanned``) of a status, or ``None`` if unknown.

    The API sends ``NodeVersionStatusX``; the registry's database entities, which show up in
    fixtures and hand-made mirrors, use the lowercase internal form (``banned``).

    >>> normalize_status("banned"), normalize_status("NodeVersionStatusFlagged")
    ('NodeVersionStatusBanned', 'NodeVersionStatusFlagged')
    """
    word = text.strip().lower()
    return _STATUSES.get(word.removeprefix(_STATUS_PREFIX))


def parse_node_version(obj: object, *, fetched_at: datetime | None = None) -> NodeVersion | Invalid:
    """Return the NodeVersion that ``obj`` (decoded JSON) describes, or why it is none at all.

    Only a value that is not an object, or has no string ``node_id`` or ``version``, is
    `Invalid`. Any other field of the wrong type becomes ``None`` and is named in
    ``invalid_fields``; missing and ``null`` fields are ``None``; unknown keys are ignored.

    :param fetched_at: when the record was fetched; wins over a mirror line's ``fetched_at``.
    """
    if not isinstance(obj, dict):
        return Invalid(f"not a JSON object (got {_describe(obj)})")
    node_id = _identity(obj, "node_id")
    version = _identity(obj, "version")
    if isinstance(node_id, Invalid):
        return node_id
    if isinstance(version, Invalid):
        return version
    fields = _Fields(obj)
    return NodeVersion(
        node_id=node_id,
        version=version,
        status=fields.status(),
        status_reason=fields.string("status_reason"),
        deprecated=fields.boolean("deprecated"),
        supported_os=fields.strings("supported_os"),
        supported_accelerators=fields.strings("supported_accelerators"),
        supported_comfyui_version=fields.string("supported_comfyui_version"),
        supported_comfyui_frontend_version=fields.string("supported_comfyui_frontend_version"),
        dependencies=fields.strings("dependencies"),
        tags=fields.strings("tags"),
        tags_admin=fields.strings("tags_admin"),
        # NOTE: NodeVersion says `createdAt` (camel case) while Node says `created_at`;
        # accept the latter too, for mirrors written from our own field names.
        created_at=fields.string("createdAt" if "createdAt" in obj else "created_at", "created_at"),
        fetched_at=fields.timestamp("fetched_at") if fetched_at is None else _as_utc(fetched_at),
        invalid_fields=tuple(fields.invalid),
    )


class _Fields:
    """Reads the optional fields of one record, noting the ones of the wrong type."""

    def __init__(self, obj: dict[str, object]) -> None:
        self._obj = obj
        self.invalid: list[str] = []

    def _wrong(self, name: str) -> None:
        self.invalid.append(name)

    def string(self, key: str, name: str | None = None) -> str | None:
        value = self._obj.get(key)
        if value is None or isinstance(value, str):
            return value
        self._wrong(name or key)
        return None

    def boolean(self, key: str) -> bool | None:
        value = self._obj.get(key)
        if value is None or isinstance(value, bool):
            return value
        self._wrong(key)
        return None

    def strings(self, key: str) -> tuple[str, ...] | None:
        value = self._obj.get(key)
        if value is None:
            return None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        self._wrong(key)
        return None

    def status(self) -> str | None:
        raw = self.string("status")
        if raw is None or not raw.strip():
            return None  # NOTE: real pages hold "" for a status nobody set: no value, no defect
        normalized = normalize_status(raw)
        if normalized is None:
            # NOTE: an enum word we do not know is data (the registry may add a status), not a
            # broken answer: keep it as sent, and the status check reports it.
            return raw
        return normalized

    def timestamp(self, key: str) -> datetime | None:
        text = self.string(key)
        if text is None:
            return None
        try:
            return _as_utc(datetime.fromisoformat(text))
        except (ValueError, OverflowError):
            self._wrong(key)
            return None


def _identity(obj: dict[str, object], key: str) -> str | Invalid:
    value = obj.get(key)
    if isinstance(value, str) and value:
        return value
    if value is None:
        return Invalid(f"no {key}")
    return Invalid(f"{key} is {_describe(value)}, not a non-empty string")


def _as_utc(moment: datetime) -> datetime:
    """Make ``moment`` aware and in UTC; a naive timestamp is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _describe(value: object) -> str:
    """Name the JSON type of ``value`` for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
