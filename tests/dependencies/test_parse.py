"""Reading requirement lines as pip does: a requirement, an unpinned URL, or an invalid line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.dependencies import InvalidLine, RequirementLine, RequirementSource, parse_line
from audit.dependencies.parse import file_lines

LOCAL = RequirementSource.LOCAL


@pytest.mark.parametrize(
    ("text", "distribution", "specifier", "marker"),
    [
        ("numpy", "numpy", None, None),
        ("Pillow", "pillow", None, None),
        ("scikit_image", "scikit-image", None, None),
        ("opencv_python>=4.7", "opencv-python", ">=4.7", None),
        ("numpy>=1.18.5, <1.25.0", "numpy", "<1.25.0,>=1.18.5", None),
        ("numpy==1.26", "numpy", "==1.26", None),
        ("imageio===2.28.1", "imageio", "===2.28.1", None),
        ("opencv-python-headless[ffmpeg]<=4.7.0.72", "opencv-python-headless", "<=4.7.0.72", None),
        ("mido[ports-rtmidi]", "mido", None, None),
        (
            "opencv-contrib-python-headless>=4.7.0.72 # IMPORTANT: this needs to be last",
            "opencv-contrib-python-headless",
            ">=4.7.0.72",
            None,
        ),
        (
            "numpy>=1.26.4,<2.0.0; python_version <= '3.11'",
            "numpy",
            "<2.0.0,>=1.26.4",
            'python_version <= "3.11"',
        ),
        ('pywin32; platform_system=="Windows"', "pywin32", None, 'platform_system == "Windows"'),
        ('torch; extra == "gpu"', "torch", None, 'extra == "gpu"'),
        ("numpy==1.26.4 --hash=sha256:0123abcd", "numpy", "==1.26.4", None),
        ("  torch>=2.1.2  ", "torch", ">=2.1.2", None),
    ],
    ids=lambda value: repr(value) if isinstance(value, str) else None,
)
def test_pep508_lines(
    text: str, distribution: str, specifier: str | None, marker: str | None
) -> None:
    line = parse_line(text, LOCAL)
    assert isinstance(line, RequirementLine)
    assert line.text == text.strip()
    assert line.distribution == distribution
    assert (str(line.specifier) if line.specifier else None) == specifier
    assert (str(line.marker) if line.marker else None) == marker
    assert line.url is None
    assert line.source is LOCAL


@pytest.mark.parametrize(
    ("text", "distribution", "url"),
    [
        (
            "git+https://github.com/WASasquatch/img2texture.git",
            None,
            "git+https://github.com/WASasquatch/img2texture.git",
        ),
        (
            "git+https://github.com/cozy-comfyui/cozy_comfyui@main#egg=cozy_comfyui",
            "cozy-comfyui",
            "git+https://github.com/cozy-comfyui/cozy_comfyui@main#egg=cozy_comfyui",
        ),
        (
            "cstr @ git+https://github.com/WASasquatch/cstr@0520c29a",
            "cstr",
            "git+https://github.com/WASasquatch/cstr@0520c29a",
        ),
        ("gdown @ git+https://github.com/melMass/gdown@main", "gdown", None),
        ("clip @ https://example.org/CLIP/archive/d50d76d.zip", "clip", None),
        ("https://example.org/onnxruntime_gpu-1.17.1-cp310-win_amd64.whl", None, None),
        ("onnxruntime_gpu-1.17.1-cp310-cp310-win_amd64.whl", None, None),
        ("./vendor/my_pkg", None, "./vendor/my_pkg"),
        ("git+https://github.com/openai/swarm.git # agents", None, None),
    ],
    ids=lambda value: repr(value) if isinstance(value, str) else None,
)
def test_urls_are_recorded_unpinned(text: str, distribution: str | None, url: str | None) -> None:
    line = parse_line(text, LOCAL)
    assert isinstance(line, RequirementLine)
    assert line.distribution == distribution
    assert line.specifier is None
    if url is not None:
        assert line.url == url
    assert line.url


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("numpy<1.24>=1.18", "not PEP 508 (expected comma"),
        ("# This custom node requires PyTorch to create the sigma schedule tensor.", "a comment"),
        ("# requirements.txt for TWanSigmaGraph", "a comment, not a requirement"),
        ("-r other.txt", "a pip option (-r), not a requirement"),
        (
            "-r external/ComfyUI/custom_nodes/comfyui_controlnet_aux/requirements.txt",
            "a pip option (-r)",
        ),
        ("--extra-index-url https://download.pytorch.org/whl/cu121", "a pip option (--extra"),
        ("-e git+https://github.com/x/y@e94fb0a#egg=y", "a pip option (-e)"),
        ("", "an empty requirement"),
        ("   ", "an empty requirement"),
        ("numpy>=", "not PEP 508"),
        ("foo; python_version <", "not PEP 508"),
        ("foo ; ", "not PEP 508"),
        ("pip install numpy", "not PEP 508"),
        ("numpy ~= 1", "not PEP 508"),
        ("git+https://github.com/x/y.git ; python_version <", "not PEP 508"),
    ],
    ids=repr,
)
def test_invalid_lines(text: str, reason: str) -> None:
    line = parse_line(text, RequirementSource.REGISTRY)
    assert isinstance(line, InvalidLine)
    assert line.reason.startswith(reason)
    assert line.text == text.strip()
    assert line.source is RequirementSource.REGISTRY


def test_a_requirements_file_drops_comments_and_blanks_and_joins_continuations() -> None:
    lines = [
        "# Base dependencies",
        "huggingface-hub>=0.19.0",
        "",
        "   # indented comment",
        "numpy>=1.18.5, \\",
        "    <1.25.0",
        "#SAM2",
        "torch  # inline comments stay: the row keeps the line as written",
        "trailing \\",
    ]
    assert list(file_lines(lines)) == [
        "huggingface-hub>=0.19.0",
        "numpy>=1.18.5, <1.25.0",
        "torch  # inline comments stay: the row keeps the line as written",
        "trailing",
    ]


@settings(deadline=None, max_examples=500)
@given(
    text=st.text(max_size=80)
    | st.from_regex(r"[A-Za-z_.\-]{1,8}\s*(\[[a-z,]*\])?\s*[<>=!~]{0,3}[0-9.*a-z+]{0,8}.{0,12}")
)
def test_parsing_never_raises(text: str) -> None:
    for source in RequirementSource:
        line = parse_line(text, source)
        assert line.text == text.strip()
        assert isinstance(line, InvalidLine) or line.distribution is not None or line.url


@settings(deadline=None)
@given(lines=st.lists(st.text(max_size=30), max_size=8))
def test_reading_a_file_never_raises(lines: list[str]) -> None:
    for logical in file_lines(lines):
        assert logical == logical.strip() and logical
        parse_line(logical, LOCAL)
