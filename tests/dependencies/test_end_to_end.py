"""One host whose installed set and packs conflict, audited end to end: every finding, every row.

The packs are modelled on real packs' files (ComfyUI-RMBG, comfyui_controlnet_aux, WAS Node
Suite, Jovimetrix, ReActor) and the installed set on a ComfyUI-Manager snapshot's ``pips``.
"""

from __future__ import annotations

from dataclasses import replace

from audit.dependencies import DependencyAudit, audit_dependencies
from audit.model import Finding, FindingSource, RequirementRow, Severity
from tests.dependencies.conftest import HOST, env, pack

LOCAL, REGISTRY, ENVIRONMENT = (
    FindingSource.LOCAL,
    FindingSource.REGISTRY,
    FindingSource.ENVIRONMENT,
)
VERSIONS = {
    "comfyui-rmbg": "2.9.0",
    "comfyui_controlnet_aux": "1.0.7",
    "was-node-suite-comfyui": "1.0.2",
    "comfyui-jovimetrix": "1.7.0",
    "comfyui-reactor": "0.6.0",
}
PACKS = [
    pack(
        "comfyui-rmbg",
        "2.9.0",
        [
            "# Base dependencies",
            "huggingface-hub>=0.19.0",
            "opencv-python>=4.7.0",
            "onnxruntime>=1.15.0",
            "onnxruntime-gpu>=1.15.0",
            "protobuf>=3.20.2,<6.0.0",
            "",
            "#SAM3",
            "numpy==1.26",
        ],
    ),
    pack(
        "comfyui_controlnet_aux",
        "1.0.7",
        [
            "torch",
            "opencv-python-headless>=4.7.0.72",
            "numpy",
            "mediapipe",
            "opencv-contrib-python-headless>=4.7.0.72 # IMPORTANT: this needs to be last",
        ],
        registry=["torch", "opencv-python-headless>=4.7.0.72", "numpy", "mediapipe"],
    ),
    pack(
        "was-node-suite-comfyui",
        "1.0.2",
        [
            "numpy<1.24>=1.18",
            "git+https://github.com/WASasquatch/img2texture.git",
            "opencv-python-headless[ffmpeg]<=4.7.0.72",
            "scikit-image==0.20.0",
        ],
    ),
    pack(
        "comfyui-jovimetrix",
        "1.7.0",
        registry=[],
        declared=[
            "numpy>=1.26.4,<2.0.0; python_version <= '3.11'",
            "numpy>=2.0.0; python_version >= '3.12'",
            'pywin32; platform_system=="Windows"',
            "opencv-contrib-python",
        ],
    ),
    pack(
        "comfyui-reactor",
        "0.6.0",
        ["insightface==0.7.3", "numpy==1.26.4", "ultralytics==8.3.42"],
        disabled=True,
    ),
]
PIPS: dict[str, str | None] = {
    "numpy": "1.26.4",
    "opencv-python": "4.9.0.80",
    "opencv_python_headless": "4.9.0.80",
    "onnxruntime": "1.17.1",
    "torch": "2.9.1+cu126",
    "protobuf": "6.31.0",
    "huggingface-hub": "0.24.5",
    "scikit-image": "0.22.0",
    "mediapipe": "0.10.10",
    "ultralytics": "8.3.42",
    "img2texture": None,
}
CV2 = "opencv-python, opencv-python-headless, opencv-contrib-python, opencv-contrib-python-headless"
CV2_CLASH = (
    f"{CV2} install the same cv2 module and overwrite each other: installed opencv-python "
    "4.9.0.80, opencv-python-headless 4.9.0.80; required opencv-python by comfyui-rmbg 2.9.0; "
    "opencv-python-headless by comfyui_controlnet_aux 1.0.7, was-node-suite-comfyui 1.0.2; "
    "opencv-contrib-python-headless by comfyui_controlnet_aux 1.0.7; opencv-contrib-python by "
    "comfyui-jovimetrix 1.7.0"
)
NUMPY_CONFLICT = (
    "numpy: no version satisfies every pack: comfyui-jovimetrix 1.7.0 wants <2.0.0,>=1.26.4, "
    "comfyui-rmbg 2.9.0 wants ==1.26"
)
ULTRALYTICS = (
    "a cryptocurrency miner was injected into these PyPI releases (December 2024); 8.3.47 and "
    "later are clean (see https://github.com/ultralytics/ultralytics/issues/18027)"
)


def _finding(
    node_id: str | None,
    check: str,
    severity: Severity,
    message: str,
    source: FindingSource,
    expected: str,
    actual: str,
) -> Finding:
    version = VERSIONS[node_id] if node_id else None
    return Finding(HOST, node_id, version, check, severity, message, source, expected, actual)


def _audit() -> DependencyAudit:
    return audit_dependencies(HOST, PACKS, env(PIPS, os="linux", python="3.11.9"))


def test_every_finding_of_the_host() -> None:
    error, warning, info = Severity.ERROR, Severity.WARNING, Severity.INFO
    missing, unmet = "dependency.missing", "dependency.unsatisfied"
    clash = "dependency.variant-clash"
    assert list(_audit().findings) == [
        _finding(
            "comfyui-rmbg",
            missing,
            error,
            "onnxruntime-gpu>=1.15.0 is required but not installed",
            LOCAL,
            "onnxruntime-gpu>=1.15.0",
            "not installed",
        ),
        _finding(
            "comfyui-rmbg",
            unmet,
            error,
            "protobuf 6.31.0 is installed, but the pack requires protobuf<6.0.0,>=3.20.2",
            LOCAL,
            "<6.0.0,>=3.20.2",
            "6.31.0",
        ),
        _finding(
            "comfyui-rmbg",
            unmet,
            error,
            "numpy 1.26.4 is installed, but the pack requires numpy==1.26",
            LOCAL,
            "==1.26",
            "1.26.4",
        ),
        _finding(
            "comfyui_controlnet_aux",
            missing,
            error,
            "opencv-contrib-python-headless>=4.7.0.72 is required but not installed",
            LOCAL,
            "opencv-contrib-python-headless>=4.7.0.72",
            "not installed",
        ),
        _finding(
            "was-node-suite-comfyui",
            "dependency.spec-invalid",
            warning,
            '"numpy<1.24>=1.18": not PEP 508 (expected comma (within version specifier), '
            "semicolon (after version specifier) or end); not checked",
            LOCAL,
            "a PEP 508 requirement",
            "numpy<1.24>=1.18",
        ),
        _finding(
            "was-node-suite-comfyui",
            unmet,
            error,
            "opencv-python-headless 4.9.0.80 is installed, but the pack requires "
            "opencv-python-headless<=4.7.0.72",
            LOCAL,
            "<=4.7.0.72",
            "4.9.0.80",
        ),
        _finding(
            "was-node-suite-comfyui",
            unmet,
            error,
            "scikit-image 0.22.0 is installed, but the pack requires scikit-image==0.20.0",
            LOCAL,
            "==0.20.0",
            "0.22.0",
        ),
        _finding(
            "comfyui-jovimetrix",
            missing,
            error,
            "opencv-contrib-python is required but not installed",
            LOCAL,
            "opencv-contrib-python",
            "not installed",
        ),
        _finding(
            "comfyui-reactor",
            missing,
            info,
            "insightface==0.7.3 is required but not installed",
            LOCAL,
            "insightface==0.7.3",
            "not installed",
        ),
        _finding(
            "comfyui-rmbg",
            "dependency.conflict",
            error,
            NUMPY_CONFLICT,
            LOCAL,
            "==1.26",
            "comfyui-jovimetrix 1.7.0 wants <2.0.0,>=1.26.4",
        ),
        _finding(
            "comfyui-jovimetrix",
            "dependency.conflict",
            error,
            NUMPY_CONFLICT,
            LOCAL,
            "<2.0.0,>=1.26.4",
            "comfyui-rmbg 2.9.0 wants ==1.26",
        ),
        *(
            _finding(node_id, clash, warning, CV2_CLASH, LOCAL, f"one of {CV2}", CV2)
            for node_id in (
                "comfyui-rmbg",
                "comfyui_controlnet_aux",
                "was-node-suite-comfyui",
                "comfyui-jovimetrix",
            )
        ),
        _finding(
            "comfyui-rmbg",
            clash,
            warning,
            "onnxruntime, onnxruntime-gpu install the same onnxruntime module and overwrite each "
            "other: installed onnxruntime 1.17.1; required onnxruntime by comfyui-rmbg 2.9.0; "
            "onnxruntime-gpu by comfyui-rmbg 2.9.0",
            LOCAL,
            "one of onnxruntime, onnxruntime-gpu, onnxruntime-directml, onnxruntime-silicon",
            "onnxruntime, onnxruntime-gpu",
        ),
        _finding(
            None,
            "dependency.compromised",
            Severity.CRITICAL,
            f"ultralytics 8.3.42 is installed and is a known-compromised release: {ULTRALYTICS}; "
            "required by comfyui-reactor 0.6.0",
            ENVIRONMENT,
            "no known-compromised release",
            "ultralytics 8.3.42",
        ),
        _finding(
            "comfyui-reactor",
            "dependency.compromised",
            info,
            "the pack requires ultralytics==8.3.42, a known-compromised release installed here: "
            + ULTRALYTICS,
            LOCAL,
            "no known-compromised release",
            "ultralytics==8.3.42",
        ),
    ]


def _row(
    node_id: str,
    requirement: str,
    distribution: str | None,
    specifier: str | None,
    installed: str | None,
    satisfied: bool | None,
    *,
    marker: str | None = None,
    source: str = "local",
) -> RequirementRow:
    return RequirementRow(
        HOST,
        node_id,
        VERSIONS[node_id],
        requirement,
        distribution,
        specifier,
        marker,
        source,
        installed,
        satisfied,
    )


def test_every_row_of_the_host() -> None:
    rmbg, aux, was = "comfyui-rmbg", "comfyui_controlnet_aux", "was-node-suite-comfyui"
    jovi, reactor = "comfyui-jovimetrix", "comfyui-reactor"
    headless, contrib_headless = "opencv-python-headless", "opencv-contrib-python-headless"
    registry_lines = [
        _row(aux, "torch", "torch", None, "2.9.1+cu126", True, source="registry"),
        _row(
            aux,
            f"{headless}>=4.7.0.72",
            headless,
            ">=4.7.0.72",
            "4.9.0.80",
            True,
            source="registry",
        ),
        _row(aux, "numpy", "numpy", None, "1.26.4", True, source="registry"),
        _row(aux, "mediapipe", "mediapipe", None, "0.10.10", True, source="registry"),
    ]
    assert list(_audit().requirements) == [
        _row(rmbg, "huggingface-hub>=0.19.0", "huggingface-hub", ">=0.19.0", "0.24.5", True),
        _row(rmbg, "opencv-python>=4.7.0", "opencv-python", ">=4.7.0", "4.9.0.80", True),
        _row(rmbg, "onnxruntime>=1.15.0", "onnxruntime", ">=1.15.0", "1.17.1", True),
        _row(rmbg, "onnxruntime-gpu>=1.15.0", "onnxruntime-gpu", ">=1.15.0", None, False),
        _row(rmbg, "protobuf>=3.20.2,<6.0.0", "protobuf", "<6.0.0,>=3.20.2", "6.31.0", False),
        _row(rmbg, "numpy==1.26", "numpy", "==1.26", "1.26.4", False),
        *registry_lines,
        *(replace(row, source="local") for row in registry_lines),
        _row(
            aux,
            f"{contrib_headless}>=4.7.0.72 # IMPORTANT: this needs to be last",
            contrib_headless,
            ">=4.7.0.72",
            None,
            False,
        ),
        _row(was, "numpy<1.24>=1.18", None, None, None, None),
        _row(was, "git+https://github.com/WASasquatch/img2texture.git", None, None, None, None),
        _row(was, f"{headless}[ffmpeg]<=4.7.0.72", headless, "<=4.7.0.72", "4.9.0.80", False),
        _row(was, "scikit-image==0.20.0", "scikit-image", "==0.20.0", "0.22.0", False),
        _row(
            jovi,
            "numpy>=1.26.4,<2.0.0; python_version <= '3.11'",
            "numpy",
            "<2.0.0,>=1.26.4",
            "1.26.4",
            True,
            marker='python_version <= "3.11"',
        ),
        _row(
            jovi,
            "numpy>=2.0.0; python_version >= '3.12'",
            "numpy",
            ">=2.0.0",
            "1.26.4",
            True,
            marker='python_version >= "3.12"',
        ),
        _row(
            jovi,
            'pywin32; platform_system=="Windows"',
            "pywin32",
            None,
            None,
            True,
            marker='platform_system == "Windows"',
        ),
        _row(jovi, "opencv-contrib-python", "opencv-contrib-python", None, None, False),
        _row(reactor, "insightface==0.7.3", "insightface", "==0.7.3", None, False),
        _row(reactor, "numpy==1.26.4", "numpy", "==1.26.4", "1.26.4", True),
        _row(reactor, "ultralytics==8.3.42", "ultralytics", "==8.3.42", "8.3.42", True),
    ]


def test_on_python_3_12_the_numpy_conflict_moves_to_the_other_jovimetrix_line() -> None:
    result = audit_dependencies(HOST, PACKS, env(PIPS, python="3.12.3"))
    conflicts = [f for f in result.findings if f.check == "dependency.conflict"]
    assert [(f.node_id, f.expected) for f in conflicts] == [
        ("comfyui-rmbg", "==1.26"),
        ("comfyui-jovimetrix", ">=2.0.0"),
    ]


def test_the_same_host_from_an_old_snapshot_without_pips() -> None:
    result = audit_dependencies(HOST, PACKS, env(None))
    assert [(f.node_id, f.check) for f in result.findings] == [
        (None, "env.unknown"),
        ("was-node-suite-comfyui", "dependency.spec-invalid"),
        ("comfyui-rmbg", "dependency.conflict"),
        ("comfyui-jovimetrix", "dependency.conflict"),
        *(
            (node_id, "dependency.variant-clash")
            for node_id in (
                "comfyui-rmbg",
                "comfyui_controlnet_aux",
                "was-node-suite-comfyui",
                "comfyui-jovimetrix",
                "comfyui-rmbg",
            )
        ),
    ]
    assert len(result.requirements) == len(_audit().requirements)
