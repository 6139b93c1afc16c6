"""Version checks: the ComfyUI and frontend ranges a version declares, now and after an upgrade."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from audit.checks.interface import finding, quote, unknown
from audit.model import Environment, Finding, ManifestEntry, NodeVersion, When
from audit.versions import VersionRange, parse_local_version, parse_range

__all__ = ["check_comfyui", "check_frontend"]


@dataclass(frozen=True)
class _Subject:
    """Represents what is checked: ComfyUI itself or its frontend."""

    family: str
    """The prefix of the check codes: ``comfyui`` or ``frontend``."""
    label: str
    """How messages name it; also the subject of its ``env.unknown`` findings."""


_COMFYUI = _Subject("comfyui", "ComfyUI")
_FRONTEND = _Subject("frontend", "frontend")


def check_comfyui(
    entry: ManifestEntry, node_version: NodeVersion, env: Environment
) -> Iterator[Finding]:
    """Whether the ComfyUI version (and the target, if any) is in the declared range."""
    spec = node_version.supported_comfyui_version
    return _check(_COMFYUI, entry, spec, env.comfyui_version, env.target_comfyui)


def check_frontend(
    entry: ManifestEntry, node_version: NodeVersion, env: Environment
) -> Iterator[Finding]:
    """Whether the frontend version (and the target, if any) is in the declared range."""
    spec = node_version.supported_comfyui_frontend_version
    return _check(_FRONTEND, entry, spec, env.frontend_version, env.target_frontend)


def _check(
    subject: _Subject,
    entry: ManifestEntry,
    spec: str | None,
    local: str | None,
    target: str | None,
) -> Iterator[Finding]:
    if spec is None or not spec.strip():
        return  # not declared: the publisher set no constraint
    declared = parse_range(spec)
    if declared is None:
        # A metadata defect, never an incompatibility (DESIGN.md "Check codes").
        message = f"declared {subject.label} range {quote(spec)} cannot be parsed: not checked"
        yield finding(entry, f"{subject.family}.spec-invalid", message, expected=spec)
        return
    yield from _against(subject, entry, declared, local, When.NOW)
    if target:
        yield from _against(subject, entry, declared, target, When.AFTER_UPGRADE)


def _against(
    subject: _Subject, entry: ManifestEntry, declared: VersionRange, text: str | None, when: When
) -> Iterator[Finding]:
    version = parse_local_version(text) if text else None
    whose = "this install has" if when is When.NOW else "target is"
    if version is None:
        message = f"{_unknown_fact(text, when)}: cannot check the declared range {declared}"
        yield unknown(entry, subject.label, message, expected=declared.text, actual=text, when=when)
    elif not declared.contains(version):
        message = f"requires {subject.label} {declared}; {whose} {text}"
        check = f"{subject.family}.incompatible"
        yield finding(entry, check, message, expected=declared.text, actual=text, when=when)


def _unknown_fact(text: str | None, when: When) -> str:
    if when is When.AFTER_UPGRADE:
        return f"target {text!r} is not a version"
    return f"version {text!r} is not a version" if text else "version unknown"
