"""read_manifests: the host rule, and every bad file reported in one error."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.errors import ManifestError
from audit.manifest import ManifestFormat, read_manifest, read_manifests
from tests.manifest.helpers import Write


def _hosts(paths: list[Path], host: str | None) -> list[list[str]]:
    return [[e.host for e in m.entries] for m in read_manifests(paths, host=host)]


def test_one_manifest_takes_the_host(write: Write) -> None:
    assert _hosts([write("a.txt", "foo@1\n")], "gpu-7") == [["gpu-7"]]


def test_one_manifest_without_host_takes_its_stem(write: Write) -> None:
    manifests = read_manifests(
        [write("render-03.snapshot.json", '{"cnr_custom_nodes": {"a": "1"}}')]
    )
    assert [(m.host, m.entries[0].host) for m in manifests] == [
        ("render-03.snapshot", "render-03.snapshot")
    ]


def test_several_manifests_take_their_stems(write: Write) -> None:
    paths = [write("a.txt", "foo@1\n"), write("b.txt", "foo@1\n")]
    assert _hosts(paths, "ignored") == [["a"], ["b"]]
    assert [m.host for m in read_manifests(paths, host="ignored")] == ["a", "b"]


def test_csv_host_column_wins(write: Write) -> None:
    path = write("a.csv", "node_id,version,host\nfoo,1,gpu-1\nbar,1,\n")
    assert _hosts([path], "flag") == [["gpu-1", "flag"]]
    assert _hosts([path, write("b.txt", "x@1\n")], "flag") == [["gpu-1", "a"], ["b"]]


def test_json_host_key_wins(write: Write) -> None:
    path = write(
        "a.json", '[{"node_id": "foo", "version": "1", "host": "gpu-2"}, {"node_id": "bar"}]'
    )
    assert _hosts([path], None) == [["gpu-2", "a"]]


def test_nothing_is_merged_across_manifests(write: Write) -> None:
    paths = [write("a.txt", "foo@1\n"), write("b.txt", "foo@2\n")]
    assert [[(e.node_id, e.version) for e in m.entries] for m in read_manifests(paths)] == [
        [("foo", "1")],
        [("foo", "2")],
    ]


def test_no_manifests() -> None:
    assert read_manifests([]) == []


def test_every_bad_file_in_one_error(write: Write, tmp_path: Path) -> None:
    good = write("good.txt", "foo@1\n")
    bad = write("bad.txt", "foo@1\nfoo@2\n@3\n")
    empty = write("empty.txt", "")
    missing = tmp_path / "missing.txt"
    with pytest.raises(ManifestError) as caught:
        read_manifests([good, bad, empty, missing])
    assert str(caught.value).splitlines() == [
        f"{bad}:2: foo listed twice with different versions: '1' (line 1) and '2'",
        f"{bad}:3: missing node id in '@3': expected node_id@version",
        f"{empty}: no entries",
        f"{missing}: cannot read: no such file or directory",
    ]


def test_manifest_error_is_an_input_error(write: Write) -> None:
    with pytest.raises(ValueError, match="no entries"):
        read_manifest(write("a.txt", "# none\n"))


def test_format_accepts_its_value(write: Write) -> None:
    manifest = read_manifest(write("a.txt", "foo,bar@1\n"), format=ManifestFormat("text"))
    assert manifest.format == "text"


def test_path_is_kept_as_given(write: Write) -> None:
    path = write("a.txt", "foo@1\n")
    manifest = read_manifest(str(path))
    assert (manifest.path, manifest.entries[0].manifest, manifest.entries[0].location) == (
        str(path),
        str(path),
        f"{path}:1",
    )
