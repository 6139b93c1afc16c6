"""YAML that must be refused before it is built: alias bombs, foreign tags, deep nesting."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.manifest.helpers import Problems, Write, problems_of

TOO_FAR = "YAML aliases expand too far: more than 100 aliases or too many nodes"
TOO_DEEP = "YAML nesting too deep: more than 100 levels"


def _billion_laughs() -> str:
    lines = ["custom_nodes:", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghi"
    for previous, name in itertools.pairwise(names):
        lines.append(f"  {name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def _many_aliases(count: int) -> str:
    return "x: &x '1'\nlist:\n" + "".join("- *x\n" for _ in range(count)) + "cnr_custom_nodes: {}\n"


YAML_REFUSED: list[tuple[str, str, Problems]] = [
    ("billion-laughs", _billion_laughs(), [(2, TOO_FAR)]),
    (
        "billion-laughs-under-pips",
        _billion_laughs().replace("custom_nodes:", "pips:"),
        [(2, TOO_FAR)],
    ),
    ("101-aliases", _many_aliases(101), [(103, TOO_FAR)]),
    ("recursive-alias", "custom_nodes: &a\n  pips: [*a]\n", [(1, TOO_FAR)]),
    (
        "python-tag",
        'custom_nodes:\n  comfyui: !!python/object/apply:os.system ["echo hi"]\n',
        [
            (
                2,
                "unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system': "
                "only plain YAML is read",
            )
        ],
    ),
    (
        "local-tag",
        "custom_nodes: !snapshot\n  comfyui: x\n",
        [(1, "unsupported YAML tag '!snapshot': only plain YAML is read")],
    ),
    (
        "merge-key",
        "base: &b {comfyui: x}\ncustom_nodes:\n  <<: *b\n",
        [(3, "YAML merge keys (<<) are not supported")],
    ),
    ("nested-101", "custom_nodes: " + "[" * 101 + "]" * 101 + "\n", [(1, TOO_DEEP)]),
    (
        "nested-block-101",
        "".join(f"{'  ' * i}k{i}:\n" for i in range(101)) + "  " * 101 + "v: 1\n",
        [(101, TOO_DEEP)],
    ),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in YAML_REFUSED], ids=[c[0] for c in YAML_REFUSED]
)
def test_yaml_refused(write: Write, content: str, expected: Problems) -> None:
    started = time.monotonic()
    assert problems_of(write("snap.yaml", content)) == expected
    assert time.monotonic() - started < 2


def test_100_aliases_are_fine(write: Write) -> None:
    found = problems_of(
        write("snap.yaml", _many_aliases(100).replace("cnr_custom_nodes: {}\n", "name: x\n"))
    )
    assert [message for _, message in found] == [
        "not a recognised manifest: expected a ComfyUI-Manager snapshot "
        "(custom_nodes:, or keys such as cnr_custom_nodes, git_custom_nodes, pips)"
    ]


def test_deep_nesting_beyond_the_parser_limit(write: Write) -> None:
    content = "custom_nodes: " + "[" * 5000 + "]" * 5000
    assert problems_of(write("snap.yaml", content)) == [(1, TOO_DEEP)]
