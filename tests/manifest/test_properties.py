"""Properties: any input is a manifest or a ManifestError; valid lists read back unchanged."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.errors import ManifestError
from audit.manifest import ManifestFormat, read_manifest
from audit.model import ID_PATTERN, VERSION_PATTERN, Manifest

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

FRAGMENTS = [
    "foo@1", "@", "#", " # c", ",", ":", ": ", " ", "\n", "\r\n", "\t", "{", "}", "[", "]",
    '"', "'", "- ", "&a ", "*a", "!!int ", "!x ", "<<: ", "---", "node_id,version", "host",
    "custom_nodes:", "  ", "cnr_custom_nodes:", "git_custom_nodes:", "pips:", "comfyui:", "hash:",
    "disabled:", "file_custom_nodes:", "filename:", "null", "true", "1.10", "\ufeff", "\\u0000",
    "\\ud800", "https://u:t@x.org/a/b", '"node_id": ', "numpy==1.0", "-e x#egg=y",
]  # fmt: skip
KEYS = [
    "comfyui", "git_custom_nodes", "cnr_custom_nodes", "disabled_cnr_custom_nodes",
    "file_custom_nodes", "pips", "custom_nodes", "basic", "comfyui_version", "hash", "disabled",
    "filename", "node_id", "version", "host", "https://github.com/a/b", "numpy==1.0", "",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["1.0", "", "v0.3.30", "git+https://x/y@z"])
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)
SNAPSHOTS = st.dictionaries(st.sampled_from(KEYS[:6]), STRUCTURES, min_size=1)


def _read_any(path: Path, format: ManifestFormat) -> Manifest | None:
    """Read ``path``; a ManifestError is a fine answer, any other exception fails the test."""
    try:
        manifest = read_manifest(path, format=format)
    except ManifestError as e:
        assert e.problems
        assert all(p.path == str(path) and p.message for p in e.problems)
        return None
    assert all(isinstance(e.node_id, str) and e.node_id for e in manifest.entries)
    assert all(e.version is None or isinstance(e.version, str) for e in manifest.entries)
    assert all(e.manifest == str(path) and e.host for e in manifest.entries)
    return manifest


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return tmp_path / "fuzz.txt"


@SETTINGS
@given(data=st.binary(max_size=2048), format=st.sampled_from(ManifestFormat))
def test_random_bytes(target: Path, data: bytes, format: ManifestFormat) -> None:
    target.write_bytes(data)
    _read_any(target, format)


@SETTINGS
@given(
    parts=st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=40),
    format=st.sampled_from(ManifestFormat),
)
def test_random_manifest_like_text(target: Path, parts: list[str], format: ManifestFormat) -> None:
    target.write_bytes("".join(parts).encode("utf-8", "surrogatepass"))
    _read_any(target, format)


@SETTINGS
@given(value=STRUCTURES | SNAPSHOTS, as_yaml=st.booleans(), format=st.sampled_from(ManifestFormat))
def test_random_structures(
    target: Path, value: object, as_yaml: bool, format: ManifestFormat
) -> None:
    text = yaml.safe_dump(value, allow_unicode=True) if as_yaml else json.dumps(value)
    target.write_text(text, encoding="utf-8")
    _read_any(target, format)


@SETTINGS
@given(value=SNAPSHOTS, wrap=st.booleans())
def test_random_yaml_snapshots(target: Path, value: dict[str, object], wrap: bool) -> None:
    target.write_text(yaml.safe_dump({"custom_nodes": value} if wrap else value), encoding="utf-8")
    manifest = _read_any(target, ManifestFormat.AUTO)
    assert manifest is None or manifest.format == "snapshot-yaml"


VALID_IDS = st.from_regex(ID_PATTERN, fullmatch=True)
VALID_VERSIONS = st.none() | st.from_regex(VERSION_PATTERN, fullmatch=True)
PAIRS = st.lists(
    st.tuples(VALID_IDS, VALID_VERSIONS), min_size=1, max_size=30, unique_by=lambda p: p[0].lower()
)


@SETTINGS
@given(pairs=PAIRS)
def test_valid_lines_read_back(target: Path, pairs: list[tuple[str, str | None]]) -> None:
    target.write_text("".join(f"{i}@{v}\n" if v else f"{i}\n" for i, v in pairs), encoding="utf-8")
    manifest = read_manifest(target)
    assert manifest.format == "text"
    assert [(e.node_id, e.version, e.line) for e in manifest.entries] == [
        (i, v, n) for n, (i, v) in enumerate(pairs, start=1)
    ]


ODD = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\ufeff@#\r\n"), min_size=1
).filter(lambda s: s == s.strip() and s != "")


@SETTINGS
@given(
    pairs=st.lists(
        st.tuples(ODD, st.none() | ODD), min_size=1, max_size=20, unique_by=lambda p: p[0].lower()
    )
)
def test_odd_lines_read_back_as_text(target: Path, pairs: list[tuple[str, str | None]]) -> None:
    target.write_text("".join(f"{i}@{v}\n" if v else f"{i}\n" for i, v in pairs), encoding="utf-8")
    manifest = read_manifest(target, format=ManifestFormat.TEXT)
    assert [(e.node_id, e.version) for e in manifest.entries] == pairs


CELLS = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\ufeff"), min_size=1
).filter(lambda s: s == s.strip())


@SETTINGS
@given(
    pairs=st.lists(
        st.tuples(CELLS, st.none() | CELLS),
        min_size=1,
        max_size=20,
        unique_by=lambda p: p[0].lower(),
    )
)
def test_csv_rows_read_back(target: Path, pairs: list[tuple[str, str | None]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([("node_id", "version"), *((i, v or "") for i, v in pairs)])
    target.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    manifest = read_manifest(target, format=ManifestFormat.CSV)
    assert [(e.node_id, e.version) for e in manifest.entries] == pairs
