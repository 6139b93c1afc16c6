"""ComfyUI-Manager snapshots (JSON and YAML) and comfy-cli comfy-lock files."""

from __future__ import annotations

import pytest

from audit.manifest import read_manifest
from audit.model import EntrySource, ManifestEntry, NodeVersion
from tests.manifest.helpers import Problems, Write, problems_of

REGISTRY, GIT, FILE = EntrySource.REGISTRY, EntrySource.GIT, EntrySource.FILE
Full = tuple[EntrySource, str, str | None, int | None, str | None, bool]

NOT_RECOGNISED = (
    "not a recognised manifest: expected a ComfyUI-Manager snapshot "
    "(custom_nodes:, or keys such as cnr_custom_nodes, git_custom_nodes, pips)"
)

SNAPSHOT_JSON = """\
{
    "comfyui": "v0.3.30",
    "git_custom_nodes": {
        "https://user:tok@github.com/owner/ComfyUI-Foo.git": {
            "hash": "4f1a857ff1a73ad2b4cbaf1f487e6aeaf802d226",
            "disabled": false
        },
        "https://github.com/fork/ComfyUI-Foo": {
            "hash": "main",
            "disabled": true
        }
    },
    "cnr_custom_nodes": {
        "comfyui-impact-pack": "8.8.1",
        "comfyui-kjnodes": "1.1.2"
    },
    "disabled_cnr_custom_nodes": {
        "comfyui-florence2": "1.0.5"
    },
    "file_custom_nodes": [
        {
            "filename": "websocket_image_save.py",
            "disabled": false
        }
    ],
    "pips": {
        "numpy==1.26.4": "",
        "sam2 @ git+https://github.com/facebookresearch/sam2@2b90b9f": ""
    }
}
"""
SNAPSHOT_JSON_ENTRIES: list[Full] = [
    (REGISTRY, "comfyui-impact-pack", "8.8.1", 14, None, False),
    (REGISTRY, "comfyui-kjnodes", "1.1.2", 15, None, False),
    (REGISTRY, "comfyui-florence2", "1.0.5", 18, None, True),
    (
        GIT,
        "ComfyUI-Foo",
        "4f1a857ff1a73ad2b4cbaf1f487e6aeaf802d226",
        4,
        "https://github.com/owner/ComfyUI-Foo.git",
        False,
    ),
    (GIT, "ComfyUI-Foo", "main", 8, "https://github.com/fork/ComfyUI-Foo", True),
    (FILE, "websocket_image_save", None, 22, None, False),
]

SNAPSHOT_YAML = """\
custom_nodes:
  cnr_custom_nodes:
    comfyui-impact-pack: 8.8.1
    comfyui-kjnodes: '1.10'
  comfyui: 532e2850794c7b497174a0a42ac0cb1fe5b62499
  file_custom_nodes:
  - disabled: false
    filename: websocket_image_save.py
  git_custom_nodes:
    https://github.com/amanbagrecha/p2e:
      disabled: false
      hash: 1968f6aed36b300be3599ea5053e0206aaa5704b
  pips:
    aiofiles==24.1.0: ''
    cstr: git+https://github.com/WASasquatch/cstr@0520c29
"""
SNAPSHOT_YAML_ENTRIES: list[Full] = [
    (REGISTRY, "comfyui-impact-pack", "8.8.1", 3, None, False),
    (REGISTRY, "comfyui-kjnodes", "1.10", 4, None, False),
    (
        GIT,
        "p2e",
        "1968f6aed36b300be3599ea5053e0206aaa5704b",
        10,
        "https://github.com/amanbagrecha/p2e",
        False,
    ),
    (FILE, "websocket_image_save", None, 7, None, False),
]


def full(entries: tuple[ManifestEntry, ...]) -> list[Full]:
    return [(e.source, e.node_id, e.version, e.line, e.url, e.disabled) for e in entries]


def test_json_snapshot(write: Write) -> None:
    path = write("render-01.json", SNAPSHOT_JSON)
    manifest = read_manifest(path)
    assert full(manifest.entries) == SNAPSHOT_JSON_ENTRIES
    assert (manifest.format, manifest.host, manifest.comfyui) == (
        "snapshot-json",
        "render-01",
        "v0.3.30",
    )
    assert manifest.pips == {"numpy": "1.26.4", "sam2": None}
    git = [e for e in manifest.entries if e.source is GIT]
    assert [e.hash for e in git] == [e.version for e in git]
    assert all(e.hash is None for e in manifest.entries if e.source is not GIT)


def test_yaml_snapshot(write: Write) -> None:
    manifest = read_manifest(write("comfy-lock.yaml", SNAPSHOT_YAML))
    assert full(manifest.entries) == SNAPSHOT_YAML_ENTRIES
    assert (manifest.format, manifest.host) == ("snapshot-yaml", "comfy-lock")
    assert manifest.comfyui == "532e2850794c7b497174a0a42ac0cb1fe5b62499"
    assert manifest.pips == {"aiofiles": "24.1.0", "cstr": None}


def test_yaml_snapshot_keys_at_top_level(write: Write) -> None:
    unwrapped = "\n".join(line.removeprefix("  ") for line in SNAPSHOT_YAML.splitlines()[1:])
    manifest = read_manifest(write("snap.yml", unwrapped))
    moved_up = [
        (s, i, v, line - 1 if line else None, u, d) for s, i, v, line, u, d in SNAPSHOT_YAML_ENTRIES
    ]
    assert full(manifest.entries) == moved_up
    assert manifest.format == "snapshot-yaml"


def test_json_snapshot_wrapped_like_yaml(write: Write) -> None:
    manifest = read_manifest(
        write("snap.json", '{"custom_nodes": {"cnr_custom_nodes": {"a": "1"}}}')
    )
    assert [(e.node_id, e.version) for e in manifest.entries] == [("a", "1")]
    assert manifest.format == "snapshot-json"


VALID_EDGES: list[tuple[str, str, str, list[tuple[str, str | None]], str | None]] = [
    (
        "zero-packs-json",
        "s.json",
        '{"comfyui": null, "git_custom_nodes": {}, "file_custom_nodes": []}',
        [],
        None,
    ),
    (
        "all-null-json",
        "s.json",
        '{"comfyui": null, "git_custom_nodes": null, "cnr_custom_nodes": null,'
        ' "file_custom_nodes": null, "pips": null}',
        [],
        None,
    ),
    ("bare-custom-nodes-yaml", "s.yaml", "custom_nodes:\n", [], None),
    ("zero-packs-yaml", "s.yaml", "custom_nodes:\n  comfyui: v0.3.1\n", [], "v0.3.1"),
    (
        "comfy-lock-basic-version",
        "comfy-lock.yaml",
        "basic:\n  comfyui_version: v0.3.43\ncustom_nodes:\n  git_custom_nodes:\n",
        [],
        "v0.3.43",
    ),
    (
        "comfyui-wins-over-basic",
        "comfy-lock.yaml",
        "basic:\n  comfyui_version: v0.3.43\ncustom_nodes:\n  comfyui: abc123\n",
        [],
        "abc123",
    ),
    (
        "null-comfyui-falls-back-to-basic",
        "comfy-lock.yaml",
        "basic:\n  comfyui_version: v0.3.43\ncustom_nodes:\n  comfyui:\n",
        [],
        "v0.3.43",
    ),
    (
        "launcher-style-null-hash",
        "s.json",
        '{"comfyui": null,\n'
        ' "git_custom_nodes": {"https://github.com/a/b": {"hash": null, "disabled": false}}}',
        [("b", None)],
        None,
    ),
    (
        "unknown-keys-ignored",
        "s.json",
        '{"_comment": "hunyuan", "timestamp": "2025", "cnr_custom_nodes": {"a": "1"}}',
        [("a", "1")],
        None,
    ),
    (
        "missing-disabled-means-enabled",
        "s.json",
        '{"git_custom_nodes": {"https://github.com/a/b": {"hash": "h"}},\n'
        ' "file_custom_nodes": [{"filename": "x.py"}]}',
        [("b", "h"), ("x", None)],
        None,
    ),
    (
        "same-pack-enabled-and-disabled",
        "s.json",
        '{"cnr_custom_nodes": {"a": "2.0"}, "disabled_cnr_custom_nodes": {"a": "1.0"}}',
        [("a", "2.0"), ("a", "1.0")],
        None,
    ),
    (
        "cnr-version-null",
        "s.json",
        '{"cnr_custom_nodes": {"a": null}}',
        [("a", None)],
        None,
    ),
    (
        "file-in-folder",
        "s.json",
        '{"file_custom_nodes": [{"filename": "sub\\\\dir/tool.v2.py"}]}',
        [("tool.v2", None)],
        None,
    ),
    (
        "repeated-section-read-twice",
        "s.yaml",
        "cnr_custom_nodes:\n  a: '1'\ncnr_custom_nodes:\n  b: '2'\n",
        [("a", "1"), ("b", "2")],
        None,
    ),
    (
        "yaml-anchor-and-alias",
        "s.yaml",
        "custom_nodes:\n  git_custom_nodes:\n    https://github.com/a/x: &same {hash: h1}\n"
        "    https://github.com/b/x: *same\n",
        [("x", "h1"), ("x", "h1")],
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "expected", "comfyui"),
    [c[1:] for c in VALID_EDGES],
    ids=[c[0] for c in VALID_EDGES],
)
def test_snapshot_edges(
    write: Write,
    name: str,
    content: str,
    expected: list[tuple[str, str | None]],
    comfyui: str | None,
) -> None:
    manifest = read_manifest(write(name, content))
    assert [(e.node_id, e.version) for e in manifest.entries] == expected
    assert manifest.comfyui == comfyui
    assert manifest.format.startswith("snapshot-")


def test_disabled_flags(write: Write) -> None:
    manifest = read_manifest(
        write(
            "s.json",
            '{"cnr_custom_nodes": {"a": "2.0"}, "disabled_cnr_custom_nodes": {"a": "1.0"}}',
        )
    )
    assert [e.disabled for e in manifest.entries] == [False, True]


SNAPSHOT_ERRORS: list[tuple[str, str, str, Problems]] = [
    (
        "yaml-float-version",
        "s.yaml",
        "custom_nodes:\n  cnr_custom_nodes:\n    comfyui-foo: 1.10\n    bar: 1.0.0\n",
        [(3, "version of 'comfyui-foo' must be a string, quote it: got 1.1")],
    ),
    (
        "yaml-int-version",
        "s.yaml",
        "cnr_custom_nodes:\n  foo: 2\n",
        [(2, "version of 'foo' must be a string, quote it: got 2")],
    ),
    (
        "yaml-int-id",
        "s.yaml",
        "cnr_custom_nodes:\n  123: '1.0'\n",
        [(2, "node id must be a string, quote it: got 123")],
    ),
    (
        "yaml-date-version",
        "s.yaml",
        "cnr_custom_nodes:\n  foo: 2024-01-02\n",
        [(2, "version of 'foo' must be a string, quote it: got datetime.date(2024, 1, 2)")],
    ),
    (
        "yaml-number-comfyui",
        "s.yaml",
        "custom_nodes:\n  comfyui: 0.3\n",
        [(2, "comfyui must be a string, quote it: got 0.3")],
    ),
    (
        "git-entry-not-mapping",
        "s.json",
        '{"git_custom_nodes": {"https://x.org/a/b": "abc"}}',
        [(1, "git entry 'https://x.org/a/b' must be a mapping with hash and disabled, got 'abc'")],
    ),
    (
        "git-entry-message-has-no-token",
        "s.json",
        '{"git_custom_nodes": {"https://u:secret@x.org/a/b": []}}',
        [(1, "git entry 'https://x.org/a/b' must be a mapping with hash and disabled, got a list")],
    ),
    (
        "git-disabled-not-bool",
        "s.json",
        '{"git_custom_nodes": {"https://x.org/a/b": {"hash": "h", "disabled": "no"}}}',
        [(1, "disabled of 'https://x.org/a/b' must be true or false, got 'no'")],
    ),
    (
        "git-hash-number",
        "s.yaml",
        "git_custom_nodes:\n  https://x.org/a/b:\n    hash: 1234567\n",
        [(3, "hash of 'https://x.org/a/b' must be a string, quote it: got 1234567")],
    ),
    (
        "git-url-without-repository",
        "s.json",
        '{"git_custom_nodes": {"https://github.com/": {"hash": "h"}}}',
        [(1, "cannot tell the repository name from git url 'https://github.com/'")],
    ),
    (
        "cnr-section-list",
        "s.json",
        '{"cnr_custom_nodes": ["a"]}',
        [(1, "cnr_custom_nodes must be a mapping of node id to version, got a list")],
    ),
    (
        "file-section-mapping",
        "s.json",
        '{"file_custom_nodes": {"a": 1}}',
        [(1, "file_custom_nodes must be a list of {filename, disabled}, got a mapping")],
    ),
    (
        "file-item-string",
        "s.yaml",
        "file_custom_nodes:\n- x.py\n",
        [(2, "file entry must be a mapping with filename and disabled, got 'x.py'")],
    ),
    (
        "file-without-filename",
        "s.yaml",
        "file_custom_nodes:\n- disabled: true\n",
        [(2, "missing filename of a file entry")],
    ),
    (
        "pips-list",
        "s.json",
        '{"pips": ["numpy"]}',
        [(1, "pips must be a mapping of pip-freeze lines, got a list")],
    ),
    (
        "yaml-not-a-snapshot",
        "comfy.yaml",
        "name: comfy\nversion: 5-2025\n"
        "aliases:\n  custom_nodes: &custom_nodes ./ComfyUI/custom_nodes/\n",
        [(1, NOT_RECOGNISED)],
    ),
    ("yaml-list", "s.yaml", "- foo\n- bar\n", [(1, NOT_RECOGNISED)]),
    ("yaml-custom-nodes-list", "s.yaml", "custom_nodes:\n- foo\n", [(1, NOT_RECOGNISED)]),
    (
        "yaml-syntax",
        "s.yaml",
        "custom_nodes:\n  comfyui: [\n",
        [(3, "invalid YAML: did not find expected node content")],
    ),
    (
        "yaml-bad-indent",
        "s.yaml",
        "custom_nodes:\n  cnr_custom_nodes:\n    a: '1'\n   b: '2'\n",
        [(4, "invalid YAML: did not find expected key")],
    ),
    (
        "yaml-tab",
        "s.yaml",
        "custom_nodes:\n\tcomfyui: x\n",
        [(2, "invalid YAML: found character that cannot start any token")],
    ),
    (
        "yaml-two-documents",
        "s.yaml",
        "custom_nodes: {}\n---\ncustom_nodes: {}\n",
        [(2, "invalid YAML: expected a single document in the stream, but found another document")],
    ),
    (
        "yaml-control-character",
        "s.yaml",
        'custom_nodes:\n  comfyui: "\x07"\n',
        [(2, "invalid YAML: unacceptable character 0x07")],
    ),
    (
        "yaml-bad-explicit-int",
        "s.yaml",
        "cnr_custom_nodes:\n  foo: !!int abc\n",
        [(2, "invalid YAML value 'abc'")],
    ),
    (
        "yaml-empty-explicit-int",
        "s.yaml",
        "cnr_custom_nodes:\n  foo: !!int ''\n",
        [(2, "invalid YAML value ''")],
    ),
    (
        "yaml-bad-timestamp",
        "s.yaml",
        "cnr_custom_nodes:\n  foo: !!timestamp 2024-13-45\n",
        [(2, "invalid YAML value '2024-13-45'")],
    ),
    (
        "git-url-twice",
        "s.yaml",
        "git_custom_nodes:\n  https://github.com/a/b:\n    hash: h1\n"
        "  https://github.com/a/b.git:\n    hash: h2\n",
        [
            (
                4,
                "https://github.com/a/b.git listed twice with different commits: "
                "'h1' (line 2) and 'h2'",
            )
        ],
    ),
    (
        "cnr-twice-across-sections",
        "s.yaml",
        "cnr_custom_nodes:\n  a: '1'\ncnr_custom_nodes:\n  A: '2'\n",
        [(4, "A listed twice with different versions: '1' (line 2) and '2'")],
    ),
    (
        "every-problem-reported",
        "s.yaml",
        "custom_nodes:\n  comfyui: 1\n  cnr_custom_nodes:\n    a: 1.0\n    b: '1'\n"
        "  git_custom_nodes:\n    https://x.org/a/b: 1\n  pips:\n    numpy: 1.26\n",
        [
            (2, "comfyui must be a string, quote it: got 1"),
            (4, "version of 'a' must be a string, quote it: got 1.0"),
            (7, "git entry 'https://x.org/a/b' must be a mapping with hash and disabled, got 1"),
            (9, "pips value of 'numpy' must be a string, quote it: got 1.26"),
        ],
    ),
    (
        "pack-facts-of-the-wrong-shape",
        "s.yaml",
        "cnr_custom_nodes: {a: '1'}\npack_requirements:\n  a: numpy\n  b: [1]\n"
        "pack_declared:\n  a: [x]\n  b: {supported_os: OS Independent}\n",
        [
            (3, "pack_requirements of 'a' must be a list of lines, got 'numpy'"),
            (4, "a line of pack_requirements of 'b' must be a string, quote it: got 1"),
            (6, "pack_declared of 'a' must be a mapping, got a list"),
            (
                7,
                "supported_os of pack_declared of 'b' must be a list of lines,"
                " got 'OS Independent'",
            ),
        ],
    ),
    (
        "pack-facts-not-a-mapping",
        "s.json",
        '{"cnr_custom_nodes": {}, "pack_declared": []}',
        [(1, "pack_declared must be a mapping of node id to facts, got a list")],
    ),
]


def test_pack_facts_reach_the_entries_they_name(write: Write) -> None:
    manifest = read_manifest(
        write(
            "s.json",
            '{"cnr_custom_nodes": {"a": "1", "b": "2"}, "pack_requirements": {"a": ["numpy<2"]},'
            ' "pack_declared": {"b": {"supported_os": ["Microsoft :: Windows"]}, "c": {}}}',
        )
    )
    a, b = manifest.entries
    assert (a.requirements, a.declared) == (("numpy<2",), None)
    assert (b.requirements, b.declared) == (
        None,
        NodeVersion("b", "2", supported_os=("Microsoft :: Windows",)),
    )


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [c[1:] for c in SNAPSHOT_ERRORS],
    ids=[c[0] for c in SNAPSHOT_ERRORS],
)
def test_snapshot_errors(write: Write, name: str, content: str, expected: Problems) -> None:
    assert problems_of(write(name, content)) == expected


def test_forks_share_a_name_but_not_an_identity(write: Write) -> None:
    content = (
        '{"git_custom_nodes": {"https://github.com/a/ComfyUI-Foo": {"hash": "h1"},'
        ' "https://github.com/b/ComfyUI-Foo": {"hash": "h2"}}}'
    )
    manifest = read_manifest(write("s.json", content))
    assert [(e.node_id, e.url) for e in manifest.entries] == [
        ("ComfyUI-Foo", "https://github.com/a/ComfyUI-Foo"),
        ("ComfyUI-Foo", "https://github.com/b/ComfyUI-Foo"),
    ]


def test_same_git_url_same_hash_is_merged(write: Write) -> None:
    content = (
        "git_custom_nodes:\n  https://github.com/a/b:\n    hash: h\n"
        "  https://github.com/a/b/:\n    hash: h\n"
    )
    manifest = read_manifest(write("s.yaml", content))
    assert [(e.node_id, e.line) for e in manifest.entries] == [("b", 2)]
