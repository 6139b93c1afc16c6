"""`audit.model.tagging`: its copies are the values `dataclasses.replace` makes."""

from __future__ import annotations

import dataclasses
import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.checks import Evaluation
from audit.model import (
    AuditedEntry,
    EntrySource,
    Finding,
    FindingSource,
    ManifestEntry,
    Severity,
)
from audit.model.tagging import on_host, replaced

_FINDING = Finding(
    "render-01", "comfyui-foo", "1.0.0", "status.banned", Severity.CRITICAL, "banned",
    FindingSource.REGISTRY, expected="Active", actual="Banned",
)  # fmt: skip
_ENTRY = ManifestEntry(
    "render-01", "comfyui-foo", "1.0.0", EntrySource.REGISTRY, "fleet/render-01.json", 3
)


@settings(deadline=None)
@given(host=st.text(max_size=8), message=st.text(max_size=8))
def test_replaced_finding_equals_replace(host: str, message: str) -> None:
    got = replaced(_FINDING, host=host, message=message)
    assert got == dataclasses.replace(_FINDING, host=host, message=message)
    assert hash(got) == hash(dataclasses.replace(_FINDING, host=host, message=message))
    assert _FINDING.host == "render-01"


def test_on_host_tags_every_finding() -> None:
    tagged = on_host([_FINDING, dataclasses.replace(_FINDING, host="")], "render-02")
    assert tagged == (dataclasses.replace(_FINDING, host="render-02"),) * 2


@pytest.mark.parametrize(
    "cls", [Finding, ManifestEntry, AuditedEntry, Evaluation], ids=lambda c: c.__name__
)
def test_copied_classes_are_plain_frozen_dataclasses(cls: type) -> None:
    # NOTE: what makes copying the fields the same as `dataclasses.replace`.
    assert not hasattr(cls, "__post_init__")
    assert not hasattr(cls, "__slots__")
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert not [v for v in vars(cls).values() if isinstance(v, functools.cached_property)]


def test_replaced_entry_equals_replace() -> None:
    changes: dict[str, object] = {"version": "2.0.0", "declared": None, "problem": None}
    assert replaced(_ENTRY, **changes) == dataclasses.replace(_ENTRY, **changes)  # type: ignore[arg-type]
