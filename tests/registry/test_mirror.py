"""Tests of MirrorRegistry: reading mirror files, answering from them, and reporting bad lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from audit.errors import InputError, MirrorError
from audit.model import Found, NodeKey, NodeVersion, NotFound
from audit.registry import MirrorRegistry, Registry, parse_node_version

# Verbatim lines of a real registry dump (api.comfy.org NodeVersion records).
REAL_LINES = [
    '{"changelog": "", "comfy_node_extract_status": "success", "createdAt": "2025-03-23T07:15:02.554829Z", "dependencies": ["Pillow", "requests", "google-generativeai", "openai"], "deprecated": false, "downloadUrl": "", "id": "2c3ab0e3-fe73-42bc-b987-30f6a6f04013", "node_id": "AS_LLM_nodes", "status": "NodeVersionStatusPending", "version": "1.0.1"}',  # noqa: E501
    '{"changelog": "", "comfy_node_extract_status": "success", "createdAt": "2025-03-23T12:06:05.098542Z", "dependencies": ["Pillow", "requests", "google-generativeai", "openai"], "deprecated": false, "downloadUrl": "", "id": "dbc703e8-6e47-47cf-931b-69199a4e4c2d", "node_id": "AS_LLM_nodes", "status": "NodeVersionStatusActive", "version": "1.0.2"}',  # noqa: E501
    '{"changelog": "", "comfy_node_extract_status": "failed", "createdAt": "2025-04-17T10:24:13.849472Z", "dependencies": ["setproctitle", "attrdict", "librosa", "pydub", "pyloudnorm", "x-transformers", "torchdiffeq", "openai-whisper>=20240930", "torch>=2.0.0"], "deprecated": false, "downloadUrl": "", "id": "1220c7b7-54eb-485c-a335-4938cb45993c", "node_id": "ComfyUI-AV-MegaTTS3", "status": "NodeVersionStatusFlagged", "version": "1.0.1"}',  # noqa: E501
]


def write(tmp_path: Path, *lines: str, name: str = "mirror.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_real_lines_are_answered(tmp_path: Path) -> None:
    mirror: Registry = MirrorRegistry.from_file(write(tmp_path, *REAL_LINES))
    keys = [
        NodeKey("AS_LLM_nodes", "1.0.2"),
        NodeKey("as_llm_nodes", "1.0.1"),
        NodeKey("comfyui-av-megatts3", "1.0.1"),
    ]

    results = mirror.lookup(keys)

    assert list(results) == keys
    expected = [
        parse_node_version(json.loads(line))
        for line in (REAL_LINES[1], REAL_LINES[0], REAL_LINES[2])
    ]
    assert list(results.values()) == [Found(nv) for nv in expected if isinstance(nv, NodeVersion)]
    assert all(isinstance(r, Found) and r.cache_hit is False for r in results.values())


def test_a_pair_missing_from_the_mirror_is_not_found(tmp_path: Path) -> None:
    mirror = MirrorRegistry.from_file(write(tmp_path, *REAL_LINES, name="fleet.jsonl"))
    keys = [NodeKey("AS_LLM_nodes", "9.9.9"), NodeKey("nowhere", "1.0.1")]
    assert mirror.lookup(keys) == dict.fromkeys(
        keys, NotFound("not in the mirror file fleet.jsonl")
    )


def test_fetched_at_is_read_and_the_oldest_reported(tmp_path: Path) -> None:
    lines = [
        '{"node_id": "a", "version": "1", "fetched_at": "2026-11-20T08:00:00Z"}',
        '{"node_id": "b", "version": "1", "fetched_at": "2026-11-01T10:00:00+02:00"}',
        '{"node_id": "c", "version": "1"}',
    ]
    mirror = MirrorRegistry.from_file(write(tmp_path, *lines))

    assert mirror.oldest_fetched_at == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    result = mirror.lookup([NodeKey("a", "1")])[NodeKey("a", "1")]
    assert isinstance(result, Found)
    assert result.node_version.fetched_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_no_fetched_at_means_no_oldest(tmp_path: Path) -> None:
    assert MirrorRegistry.from_file(write(tmp_path, *REAL_LINES)).oldest_fetched_at is None


def test_a_bad_fetched_at_is_an_invalid_field_not_an_error(tmp_path: Path) -> None:
    mirror = MirrorRegistry.from_file(
        write(tmp_path, '{"node_id": "a", "version": "1", "fetched_at": "then"}')
    )
    result = mirror.lookup([NodeKey("a", "1")])[NodeKey("a", "1")]
    assert result == Found(NodeVersion("a", "1", invalid_fields=("fetched_at",)))


def test_blank_lines_crlf_and_a_bom_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "mirror.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n\r\n".join([*REAL_LINES, "  "]).encode() + b"\r\n")
    mirror = MirrorRegistry.from_file(path)
    assert all(
        isinstance(r, Found) for r in mirror.lookup([NodeKey("AS_LLM_nodes", "1.0.1")]).values()
    )


def test_a_line_separator_inside_a_string_does_not_split_the_line(tmp_path: Path) -> None:
    mirror = MirrorRegistry.from_file(
        write(tmp_path, '{"node_id": "a", "version": "1", "status_reason": "x\u2028y"}')
    )
    result = mirror.lookup([NodeKey("a", "1")])[NodeKey("a", "1")]
    assert isinstance(result, Found) and result.node_version.status_reason == "x\u2028y"


def test_a_later_line_for_the_same_pair_wins(tmp_path: Path) -> None:
    lines = [
        '{"node_id": "a", "version": "1", "status": "NodeVersionStatusActive"}',
        '{"node_id": "A", "version": "1", "status": "NodeVersionStatusBanned"}',
    ]
    result = MirrorRegistry.from_file(write(tmp_path, *lines)).lookup([NodeKey("a", "1")])
    assert result == {
        NodeKey("a", "1"): Found(NodeVersion("A", "1", status="NodeVersionStatusBanned"))
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON: Expecting property name enclosed in double quotes (column 2)"),
        ('{"node_id": "a", "version": "1"', "not JSON: Expecting ',' delimiter (column 32)"),
        ("[1, 2]", "not a JSON object (got an array)"),
        ('"a@1"', "not a JSON object (got a string)"),
        ("null", "not a JSON object (got null)"),
        ('{"version": "1.0.0"}', "no node_id"),
        ('{"node_id": "a", "version": 1}', "version is a number, not a non-empty string"),
        ("[" * 100_000, "not JSON: nested too deeply"),
    ],
    ids=["garbage", "cut", "array", "string", "null", "no-id", "number-version", "deep"],
)
def test_a_bad_line_names_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, REAL_LINES[0], "", line, REAL_LINES[1])
    with pytest.raises(MirrorError) as caught:
        MirrorRegistry.from_file(path)
    assert str(caught.value) == f"{path}:3: {message}"
    assert isinstance(caught.value, InputError)


def test_a_missing_file_is_a_mirror_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.jsonl"
    with pytest.raises(MirrorError) as caught:
        MirrorRegistry.from_file(str(path))
    assert str(caught.value) == f"{path}: cannot read the mirror file: no such file or directory"


def test_a_directory_is_a_mirror_error(tmp_path: Path) -> None:
    with pytest.raises(MirrorError) as caught:
        MirrorRegistry.from_file(tmp_path)
    reason = "a directory, not a regular file"
    assert str(caught.value) == f"{tmp_path}: cannot read the mirror file: {reason}"


def test_a_file_that_is_not_utf8_is_a_mirror_error(tmp_path: Path) -> None:
    path = tmp_path / "mirror.jsonl"
    path.write_bytes(b'{"node_id": "caf\xe9", "version": "1"}\n')
    with pytest.raises(MirrorError) as caught:
        MirrorRegistry.from_file(path)
    assert str(caught.value) == f"{path}: not UTF-8 text (byte 16)"


def test_an_empty_mirror_answers_not_found(tmp_path: Path) -> None:
    mirror = MirrorRegistry.from_file(write(tmp_path, ""))
    assert mirror.lookup([NodeKey("a", "1")]) == {
        NodeKey("a", "1"): NotFound("not in the mirror file mirror.jsonl")
    }
    assert mirror.oldest_fetched_at is None
