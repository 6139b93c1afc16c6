"""Variant clashes: builds of one module (cv2, onnxruntime) installed or required together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from audit.dependencies import PackRequirements, audit_dependencies
from audit.model import Finding, FindingSource, Severity
from tests.dependencies.conftest import HOST, env, pack

CV2_MEMBERS = (
    "one of opencv-python, opencv-python-headless, opencv-contrib-python, "
    "opencv-contrib-python-headless"
)


def _clashes(
    packs: Sequence[PackRequirements], installed: Mapping[str, str | None] | None
) -> list[Finding]:
    result = audit_dependencies(HOST, packs, env(installed))
    return [f for f in result.findings if f.check == "dependency.variant-clash"]


@pytest.mark.parametrize(
    ("requirements", "installed", "rows"),
    [
        ({}, {"opencv-python": "4.9.0.80", "opencv-python-headless": "4.9.0.80"}, [None]),
        ({}, {"onnxruntime": "1.17.1", "onnxruntime-gpu": None}, [None]),
        ({}, {"opencv-python": "4.9.0.80"}, []),
        ({"a": ["opencv-python"], "b": ["opencv-contrib-python"]}, None, ["a", "b"]),
        ({"a": ["opencv-python"], "b": ["opencv_python>=4.7"]}, None, []),
        ({"a": ["opencv-python"]}, {"opencv-python-headless": "4.9.0.80"}, ["a"]),
        (
            {"a": ["opencv-python"]},
            {"opencv-python": "4.9.0.80", "opencv-contrib-python": "4.9"},
            ["a"],
        ),
        ({"rmbg": ["onnxruntime>=1.15.0", "onnxruntime-gpu>=1.15.0"]}, {}, ["rmbg"]),
        ({"a": ["onnxruntime"], "b": ["numpy"]}, {"onnxruntime-directml": "1.17"}, ["a"]),
        (
            {"a": ['onnxruntime-directml; platform_system == "Windows"']},
            {"onnxruntime": "1.17"},
            [],
        ),
        ({"a": ['onnxruntime-gpu; python_version < "3.12"']}, {"onnxruntime": "1.17"}, ["a"]),
        ({"a": ["opencv-python"], "off": ["opencv-python-headless"]}, {}, []),
    ],
    ids=[
        "installed-together",
        "installed-onnxruntime-url",
        "one-installed",
        "required-together",
        "same-member-twice",
        "required-vs-installed",
        "installed-together-and-required",
        "one-pack-both",
        "other-pack-irrelevant",
        "marker-excludes",
        "marker-holds",
        "disabled-pack-ignored",
    ],
)
def test_which_clashes_are_reported_and_on_which_rows(
    requirements: dict[str, list[str]],
    installed: Mapping[str, str | None] | None,
    rows: list[str | None],
) -> None:
    packs = [pack(n, "1.0", lines, disabled=n == "off") for n, lines in requirements.items()]
    found = _clashes(packs, installed)
    assert [f.node_id for f in found] == rows
    assert all(f.severity is Severity.WARNING for f in found)


def test_a_clash_lists_the_members_seen_and_where() -> None:
    packs = [
        pack("comfyui_controlnet_aux", "1.0.7", ["opencv-python-headless>=4.7.0.72"]),
        pack("ComfyUI_LayerStyle", "2.0.0", registry=["opencv-contrib-python"]),
        pack("ComfyUI-KJNodes", "1.1.0", ["opencv-python-headless"]),
    ]
    message = (
        "opencv-python-headless, opencv-contrib-python install the same cv2 module and overwrite "
        "each other: installed opencv-python-headless 4.9.0.80; required opencv-python-headless "
        "by comfyui_controlnet_aux 1.0.7, ComfyUI-KJNodes 1.1.0; opencv-contrib-python by "
        "ComfyUI_LayerStyle 2.0.0"
    )
    found = _clashes(packs, {"opencv-python-headless": "4.9.0.80"})
    assert [(f.node_id, f.source) for f in found] == [
        ("comfyui_controlnet_aux", FindingSource.LOCAL),
        ("ComfyUI_LayerStyle", FindingSource.REGISTRY),
        ("ComfyUI-KJNodes", FindingSource.LOCAL),
    ]
    assert {(f.message, f.expected, f.actual) for f in found} == {
        (message, CV2_MEMBERS, "opencv-python-headless, opencv-contrib-python")
    }


def test_an_installed_only_clash_belongs_to_the_host() -> None:
    (found,) = _clashes([], {"opencv-contrib-python": "4.9.0.80", "opencv-python": None})
    assert found == Finding(
        HOST,
        None,
        None,
        "dependency.variant-clash",
        Severity.WARNING,
        "opencv-python, opencv-contrib-python install the same cv2 module and overwrite each "
        "other: installed opencv-python, opencv-contrib-python 4.9.0.80",
        FindingSource.ENVIRONMENT,
        CV2_MEMBERS,
        "opencv-python, opencv-contrib-python",
    )
