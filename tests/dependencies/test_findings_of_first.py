"""`findings_of_first` (the advisor's shortcut) gives exactly the first pack's findings of the
whole host's audit."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import NormalizedName

from audit.dependencies import PackRequirements, RequirementLine, audit_dependencies
from audit.dependencies.host import findings_of_first
from audit.dependencies.judge import index_installed, pack_lines
from audit.dependencies.variants import family_of
from tests.dependencies.conftest import HOST, env, pack

LINES = [
    "numpy<2",
    "numpy>=2",
    "NumPy",
    "torch>=2.6",
    "torch<2.6; python_version<'3.12'",
    "opencv-python",
    "opencv-python-headless>=4.8",
    "onnxruntime-gpu",
    "onnxruntime",
    "pillow==9.0.0",
    "pillow>=10",
    "ultralytics==8.3.41",
    "git+https://github.com/me/thing.git",
    "not a requirement !!",
]
INSTALLED = {
    "numpy": ["1.26.4", "2.1.0"],
    "torch": ["2.5.1+cu124", "2.7.1"],
    "opencv-python": ["4.10.0.84"],
    "onnxruntime": ["1.19.0"],
    "Pillow": ["9.0.0", "10.4.0"],
    "ultralytics": ["8.3.41"],
}


@st.composite
def hosts(draw: st.DrawFn) -> tuple[list[PackRequirements], dict[str, str | None]]:
    count = draw(st.integers(1, 5))
    packs = [
        pack(
            f"comfyui-pack-{i}",
            "1.0.0",
            registry=draw(st.lists(st.sampled_from(LINES), max_size=4)),
            disabled=i > 0 and draw(st.booleans()),
        )
        for i in range(count)
    ]
    names = draw(st.lists(st.sampled_from(sorted(INSTALLED)), unique=True))
    installed: dict[str, str | None] = {n: draw(st.sampled_from(INSTALLED[n])) for n in names}
    return packs, installed


def seen_names(first: PackRequirements) -> set[NormalizedName]:
    lines = [line for line in pack_lines(first) if isinstance(line, RequirementLine)]
    names = {NormalizedName(line.distribution) for line in lines if line.distribution}
    families = [family_of(name) for name in names]
    return names | {m for family in families if family is not None for m in family.members}


@settings(deadline=None, max_examples=300)
@given(hosts(), st.booleans(), st.booleans())
def test_the_first_packs_findings_of_the_whole_audit(
    host: tuple[list[PackRequirements], dict[str, str | None]], known: bool, partial: bool
) -> None:
    packs, installed = host
    environment = replace(env(installed if known else None), installed_partial=partial)
    first = packs[0].entry
    whole = audit_dependencies(HOST, packs, environment).findings
    expected = tuple(f for f in whole if (f.node_id, f.version) == (first.node_id, first.version))

    index = index_installed(environment.installed)
    got = findings_of_first(HOST, packs, environment, index, seen_names(packs[0]))

    assert got == expected
