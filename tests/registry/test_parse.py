"""Tests of parse_node_version: every field, wrong types, statuses, nulls, and a property."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.model import Invalid, NodeVersion
from audit.registry import parse_node_version

# Verbatim from the live API (registry-backend issue #225), status_reason as the reporter left it.
REAL_RECORD = json.loads("""{
    "changelog": "",
    "comfy_node_extract_status": "pending",
    "createdAt": "2026-09-04T10:28:31.162471Z",
    "dependencies": [],
    "deprecated": false,
    "downloadUrl": "https://cdn.comfy.org/geroldmeisinger/ComfyUI-outputlists_combiner/0.0.15/node.zip",
    "id": "bb24a54d-db13-4c5d-bd19-8bf4ba50d774",
    "node_id": "ComfyUI-outputlists_combiner",
    "status": "NodeVersionStatusFlagged",
    "status_reason": "... see below for a readable version...",
    "supported_accelerators": [],
    "supported_comfyui_frontend_version": "",
    "supported_comfyui_version": "",
    "supported_os": [],
    "tags": [],
    "tags_admin": [],
    "version": "0.0.15"
}""")

FULL_RECORD: dict[str, Any] = {
    "node_id": "comfyui-kjnodes",
    "version": "1.1.9",
    "status": "NodeVersionStatusBanned",
    "status_reason": "Passed automated checks",
    "deprecated": True,
    "supported_os": ["OS Independent", "Microsoft :: Windows"],
    "supported_accelerators": ["GPU :: NVIDIA CUDA"],
    "supported_comfyui_version": ">=0.3.0,<1.0.0",
    "supported_comfyui_frontend_version": ">=1.19.0",
    "dependencies": ["scipy", "pillow>=10.3.0"],
    "tags": ["video"],
    "tags_admin": ["any-code-execute"],
    "createdAt": "2025-03-23T07:15:02.554829Z",
}

LIST_FIELDS = ("supported_os", "supported_accelerators", "dependencies", "tags", "tags_admin")
STRING_FIELDS = (
    "status_reason",
    "supported_comfyui_version",
    "supported_comfyui_frontend_version",
)


def parsed(obj: object, **kwargs: Any) -> NodeVersion:
    result = parse_node_version(obj, **kwargs)
    assert isinstance(result, NodeVersion), result
    return result


def test_real_record_from_the_api() -> None:
    assert parsed(REAL_RECORD) == NodeVersion(
        node_id="ComfyUI-outputlists_combiner",
        version="0.0.15",
        status="NodeVersionStatusFlagged",
        status_reason="... see below for a readable version...",
        deprecated=False,
        supported_os=(),
        supported_accelerators=(),
        supported_comfyui_version="",
        supported_comfyui_frontend_version="",
        dependencies=(),
        tags=(),
        tags_admin=(),
        created_at="2026-09-04T10:28:31.162471Z",
    )


def test_every_field_is_read_and_lists_become_tuples() -> None:
    assert parsed(FULL_RECORD) == NodeVersion(
        node_id="comfyui-kjnodes",
        version="1.1.9",
        status="NodeVersionStatusBanned",
        status_reason="Passed automated checks",
        deprecated=True,
        supported_os=("OS Independent", "Microsoft :: Windows"),
        supported_accelerators=("GPU :: NVIDIA CUDA",),
        supported_comfyui_version=">=0.3.0,<1.0.0",
        supported_comfyui_frontend_version=">=1.19.0",
        dependencies=("scipy", "pillow>=10.3.0"),
        tags=("video",),
        tags_admin=("any-code-execute",),
        created_at="2025-03-23T07:15:02.554829Z",
    )


def test_missing_fields_are_none() -> None:
    assert parsed({"node_id": "a", "version": "1"}) == NodeVersion(node_id="a", version="1")


def test_null_fields_are_none_and_not_invalid() -> None:
    record = dict.fromkeys(FULL_RECORD) | {"node_id": "a", "version": "1", "fetched_at": None}
    assert parsed(record) == NodeVersion(node_id="a", version="1")


def test_extra_keys_are_ignored() -> None:
    record = REAL_RECORD | {"surprise": {"nested": [1, 2]}, "downloads": 12}
    assert parsed(record) == parsed(REAL_RECORD)


@pytest.mark.parametrize(
    ("key", "value", "name"),
    [
        ("supported_os", "Linux", "supported_os"),
        ("supported_os", {"os": "linux"}, "supported_os"),
        ("supported_accelerators", ["CUDA", None], "supported_accelerators"),
        ("dependencies", ["numpy", 1], "dependencies"),
        ("tags", "video", "tags"),
        ("tags_admin", [["any-code-execute"]], "tags_admin"),
        ("deprecated", "yes", "deprecated"),
        ("deprecated", 0, "deprecated"),
        ("status", 3, "status"),
        ("status_reason", {"message": "by admin"}, "status_reason"),
        ("supported_comfyui_version", 0.3, "supported_comfyui_version"),
        ("supported_comfyui_frontend_version", [">=1.0.0"], "supported_comfyui_frontend_version"),
        ("createdAt", 1700000000, "created_at"),
        ("fetched_at", 1700000000, "fetched_at"),
        ("fetched_at", "yesterday", "fetched_at"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_field_of_the_wrong_type_is_none_and_named(key: str, value: object, name: str) -> None:
    result = parsed(FULL_RECORD | {key: value})
    assert getattr(result, name) is None
    assert result.invalid_fields == (name,)
    # The well-typed rest is still there: a bad supported_os never hides a ban.
    assert result.node_id == "comfyui-kjnodes"
    if name != "status":
        assert result.status == "NodeVersionStatusBanned"


def test_invalid_fields_follow_the_field_order() -> None:
    record = FULL_RECORD | {"tags_admin": 1, "supported_os": 2, "deprecated": 3, "createdAt": 4}
    result = parsed(record)
    assert result.invalid_fields == ("deprecated", "supported_os", "tags_admin", "created_at")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("NodeVersionStatusActive", "NodeVersionStatusActive"),
        ("NodeVersionStatusDeleted", "NodeVersionStatusDeleted"),
        ("NodeVersionStatusBanned", "NodeVersionStatusBanned"),
        ("NodeVersionStatusPending", "NodeVersionStatusPending"),
        ("NodeVersionStatusFlagged", "NodeVersionStatusFlagged"),
        ("active", "NodeVersionStatusActive"),
        ("deleted", "NodeVersionStatusDeleted"),
        ("banned", "NodeVersionStatusBanned"),
        ("pending", "NodeVersionStatusPending"),
        ("flagged", "NodeVersionStatusFlagged"),
        ("BANNED", "NodeVersionStatusBanned"),
        ("Flagged", "NodeVersionStatusFlagged"),
        ("nodeversionstatusbanned", "NodeVersionStatusBanned"),
        (" pending ", "NodeVersionStatusPending"),
    ],
)
def test_known_statuses_are_normalised(status: str, expected: str) -> None:
    result = parsed({"node_id": "a", "version": "1", "status": status})
    assert (result.status, result.invalid_fields) == (expected, ())


@pytest.mark.parametrize("status", ["NodeVersionStatusApproved", "NodeStatusBanned", "ok"])
def test_an_unknown_status_is_kept_as_data(status: str) -> None:
    # NOTE: a new status word is data (checked as status.unknown), not a broken answer.
    result = parsed({"node_id": "a", "version": "1", "status": status})
    assert (result.status, result.invalid_fields) == (status, ())


@pytest.mark.parametrize("status", ["", "  "])
def test_an_empty_status_is_no_status(status: str) -> None:
    result = parsed({"node_id": "a", "version": "1", "status": status})
    assert (result.status, result.invalid_fields) == (None, ())


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([], "not a JSON object (got an array)"),
        ("comfyui-kjnodes", "not a JSON object (got a string)"),
        (None, "not a JSON object (got null)"),
        (3, "not a JSON object (got a number)"),
        (True, "not a JSON object (got a boolean)"),
        ({}, "no node_id"),
        ({"version": "1.0.0"}, "no node_id"),
        ({"node_id": None, "version": "1.0.0"}, "no node_id"),
        ({"node_id": "a"}, "no version"),
        ({"node_id": 7, "version": "1.0.0"}, "node_id is a number, not a non-empty string"),
        ({"node_id": "", "version": "1.0.0"}, "node_id is an empty string, not a non-empty string"),
        ({"node_id": "a", "version": ["1"]}, "version is an array, not a non-empty string"),
        ({"node_id": "a", "version": {"v": 1}}, "version is an object, not a non-empty string"),
    ],
)
def test_what_is_not_a_node_version_is_invalid(obj: object, reason: str) -> None:
    assert parse_node_version(obj) == Invalid(reason)


def test_created_at_is_also_read_from_snake_case() -> None:
    assert parsed({"node_id": "a", "version": "1", "created_at": "2025"}).created_at == "2025"
    both = {"node_id": "a", "version": "1", "createdAt": "camel", "created_at": "snake"}
    assert parsed(both).created_at == "camel"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01T12:00:00+02:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01T10:00:00.250000+00:00", datetime(2026, 11, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2026-11-01T10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
    ],
)
def test_a_mirror_fetched_at_becomes_an_aware_utc_datetime(text: str, expected: datetime) -> None:
    result = parsed({"node_id": "a", "version": "1", "fetched_at": text})
    assert result.fetched_at == expected
    assert result.fetched_at is not None and result.fetched_at.utcoffset() == timedelta(0)


def test_the_fetched_at_argument_wins() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    record = {"node_id": "a", "version": "1", "fetched_at": "not even a date"}
    result = parsed(record, fetched_at=moment)
    assert result.fetched_at == moment
    assert result.fetched_at is not None and result.fetched_at.tzinfo is UTC
    assert result.invalid_fields == ()


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
FIELD_NAMES = (
    "status",
    "deprecated",
    "createdAt",
    "created_at",
    "fetched_at",
    *LIST_FIELDS,
    *STRING_FIELDS,
)
RECORD_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "node_id": st.text(max_size=8) | JSON_VALUES,
        "version": st.text(max_size=8) | JSON_VALUES,
        **{
            name: JSON_VALUES | st.lists(st.text(max_size=8)) | st.sampled_from(["banned", ""])
            for name in FIELD_NAMES
        },
    },
)


@settings(deadline=None)
@given(JSON_VALUES | RECORD_LIKE)
def test_any_json_value_gives_a_node_version_or_invalid(obj: object) -> None:
    result = parse_node_version(obj)
    assert isinstance(result, NodeVersion | Invalid)
    if isinstance(result, Invalid):
        return
    assert isinstance(obj, dict) and isinstance(obj["node_id"], str) and obj["node_id"]
    assert set(result.invalid_fields) <= {
        "status",
        "deprecated",
        "created_at",
        "fetched_at",
        *LIST_FIELDS,
        *STRING_FIELDS,
    }
    for name in LIST_FIELDS:
        value = getattr(result, name)
        assert value is None or all(isinstance(item, str) for item in value)
        assert value is None or isinstance(value, tuple)
    assert result.fetched_at is None or result.fetched_at.tzinfo is UTC


@settings(deadline=None)
@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20), RECORD_LIKE)
def test_a_string_id_and_version_are_enough(
    node_id: str, version: str, rest: dict[str, Any]
) -> None:
    result = parse_node_version(rest | {"node_id": node_id, "version": version})
    assert isinstance(result, NodeVersion)
    assert result.key.normalized == (node_id.lower(), version)
