"""The known-compromised list: shipped inside the package, every entry cited, matched exactly."""

from __future__ import annotations

from importlib import resources

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from audit.dependencies import audit_dependencies
from audit.dependencies.compromised import compromised_releases, is_compromised, load_releases
from audit.model import FindingSource, Severity
from tests.dependencies.conftest import HOST, env, pack

MANAGER = "https://github.com/Comfy-Org/ComfyUI-Manager/blob/"


def test_the_list_is_package_data_read_through_importlib_resources() -> None:
    data = resources.files("audit.dependencies").joinpath("compromised.toml")
    assert data.is_file()
    assert load_releases(data.read_text(encoding="utf-8")) == compromised_releases()


def test_the_list_holds_the_known_incidents() -> None:
    releases = compromised_releases()
    assert set(releases) == {"ultralytics", "litellm", "applebotzz"}
    assert releases[canonicalize_name("ultralytics")].versions == frozenset(
        Version(v) for v in ("8.3.41", "8.3.42", "8.3.45", "8.3.46")
    )
    assert releases[canonicalize_name("litellm")].versions == frozenset(
        {Version("1.82.7"), Version("1.82.8")}
    )
    assert releases[canonicalize_name("AppleBotzz")].versions is None


def test_every_entry_cites_its_sources_and_managers_entries_cite_its_file() -> None:
    for release in compromised_releases().values():
        assert release.summary
        assert release.sources
        assert all(s.startswith(("https://", "PYSEC-")) for s in release.sources)
        assert any(s.startswith(MANAGER) for s in release.sources), release.distribution


@pytest.mark.parametrize(
    ("name", "version", "compromised"),
    [
        ("ultralytics", "8.3.41", True),
        ("ultralytics", "8.3.42", True),
        ("ultralytics", "8.3.45", True),
        ("ultralytics", "8.3.46", True),
        ("ultralytics", "8.3.41.0", True),
        ("ultralytics", "8.3.43", False),
        ("ultralytics", "8.3.40", False),
        ("ultralytics", "8.3.47", False),
        ("ultralytics", None, False),
        ("ultralytics", "not a version", False),
        ("litellm", "1.82.7", True),
        ("litellm", "1.82.8", True),
        ("litellm", "1.82.6", False),
        ("AppleBotzz", "0.0.1", True),
        ("applebotzz", None, True),
        ("numpy", "1.26.4", False),
    ],
    ids=lambda value: str(value) if value is not None else "url-install",
)
def test_is_compromised(name: str, version: str | None, compromised: bool) -> None:
    found = is_compromised(canonicalize_name(name), version)
    assert (found is not None) == compromised


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[[release]]\nsummary = "x"\nsources = ["s"]', "needs a distribution and a summary"),
        ('[[release]]\ndistribution = "x"\nsummary = "x"', "x: sources must be"),
        ('[[release]]\ndistribution = "x"\nsummary = "x"\nsources = []', "x: sources must be"),
        (
            '[[release]]\ndistribution = "x"\nsummary = "x"\nsources = ["s"]\nversions = "1.0"',
            "x: versions must be",
        ),
        ('release = ["x"]', "must be a \\[\\[release\\]\\] table"),
        ("[[release]\n", "Expected"),
    ],
    ids=[
        "no-distribution",
        "no-sources",
        "empty-sources",
        "versions-not-a-list",
        "not-a-table",
        "toml",
    ],
)
def test_a_malformed_list_is_a_value_error(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_releases(text)


def test_an_installed_compromised_release_is_a_critical_host_finding() -> None:
    packs = [pack("comfyui-reactor", "0.5.0", ["ultralytics"]), pack("comfyui-bar", "1.0.0", [])]
    result = audit_dependencies(HOST, packs, env({"Ultralytics": "8.3.41", "numpy": "1.26.4"}))
    (found,) = result.findings
    assert (found.node_id, found.version, found.check) == (None, None, "dependency.compromised")
    assert (found.severity, found.source) == (Severity.CRITICAL, FindingSource.ENVIRONMENT)
    assert found.message.startswith("Ultralytics 8.3.41 is installed and is a known-compromised")
    assert "https://github.com/ultralytics/ultralytics/issues/18027" in found.message
    assert found.message.endswith("; required by comfyui-reactor 0.5.0")
    assert (found.expected, found.actual) == ("no known-compromised release", "Ultralytics 8.3.41")


def test_a_pack_pinning_the_installed_compromised_release_is_named_too() -> None:
    packs = [
        pack("pins", "1.0.0", ["ultralytics==8.3.41"], registry=["ultralytics==8.3.41"]),
        pack("ranges", "1.0.0", ["ultralytics>=8.3"]),
        pack("off", "1.0.0", ["ultralytics==8.3.41"], disabled=True),
    ]
    result = audit_dependencies(HOST, packs, env({"ultralytics": "8.3.41"}))
    assert [(f.node_id, f.severity, f.source) for f in result.findings] == [
        (None, Severity.CRITICAL, FindingSource.ENVIRONMENT),
        ("pins", Severity.CRITICAL, FindingSource.REGISTRY),
        ("off", Severity.INFO, FindingSource.LOCAL),
    ]
    assert result.findings[1].message.startswith(
        "the pack requires ultralytics==8.3.41, a known-compromised release installed here"
    )


def test_any_requirement_of_a_wholly_malicious_distribution_names_the_pack() -> None:
    packs = [pack("ComfyUI_LLMVISION", None, ["AppleBotzz"])]
    result = audit_dependencies(HOST, packs, env({"AppleBotzz": None}))
    assert [(f.node_id, f.actual) for f in result.findings] == [
        (None, "AppleBotzz"),
        ("ComfyUI_LLMVISION", "applebotzz"),
    ]


@pytest.mark.parametrize(
    "installed",
    [None, {"ultralytics": "8.3.40"}, {"ultralytics": None}],
    ids=["unknown", "clean-release", "url-install"],
)
def test_no_compromised_finding_without_a_known_bad_installed_release(
    installed: dict[str, str | None] | None,
) -> None:
    result = audit_dependencies(HOST, [pack(requirements=["ultralytics==8.3.41"])], env(installed))
    assert all(f.check != "dependency.compromised" for f in result.findings)
