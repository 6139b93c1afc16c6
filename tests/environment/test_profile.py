"""Tests for audit.environment.profile: overrides and the profile format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.environment.profile import (
    load_profile,
    override,
    profile_from_dict,
    profile_to_dict,
)
from audit.errors import ProfileError
from audit.model import Environment


def test_override_keeps_cpu_and_records_sources() -> None:
    env = override(
        Environment(os="linux", sources={"os": "detected"}),
        "flag",
        accelerators=["cuda"],
        comfyui_version="0.3.40",
        os=None,
    )
    assert env.accelerators == frozenset({"cuda", "cpu"})
    assert env.os == "linux"
    assert dict(env.sources) == {
        "os": "detected",
        "accelerators": "flag",
        "comfyui_version": "flag",
    }


def test_profile_round_trip(tmp_path: Path) -> None:
    env = Environment(
        os="windows",
        accelerators=frozenset({"cuda", "cpu"}),
        comfyui_version="0.3.40",
        frontend_version="1.20.5",
        target_comfyui="0.4.0",
    )
    path = tmp_path / "host.env.json"
    path.write_text(json.dumps(profile_to_dict(env)))
    loaded = load_profile(path)
    assert profile_to_dict(loaded) | {"sources": {}} == profile_to_dict(env) | {"sources": {}}
    assert set(loaded.sources.values()) == {"profile"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "p.json: expected a JSON object (the output of `comfy-audit env`)"),
        ({"os": 3}, "p.json: 'os' must be a string or null, not 3"),
        ({"os": "beos"}, "p.json: unknown OS 'beos': expected one of linux, windows, macos"),
        ({"accelerators": "cuda"}, "p.json: 'accelerators' must be a list of strings"),
        ({"comfyui_version": 0.3}, "p.json: 'comfyui_version' must be a string or null, not 0.3"),
    ],
    ids=["not-object", "os-type", "os-unknown", "accelerators-type", "version-type"],
)
def test_bad_profiles(data: object, message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        profile_from_dict(data, "p.json")
    assert str(caught.value) == message


def test_unreadable_profiles(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"missing\.json: cannot read the profile"):
        load_profile(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ProfileError, match=r"bad\.json: not JSON"):
        load_profile(bad)
