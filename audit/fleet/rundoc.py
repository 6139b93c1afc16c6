"""Decode the few keys of a ``run.json`` that choosing the runs of a roll-up needs.

Why msgspec, not `json`: a run's ``run.json`` holds each host's environment profile with its
whole pip list (10 KB for one host, megabytes for a fleet run), and a roll-up reads every
``run.json`` under OUTPUT, 10,000 of them. `json.loads` builds every one of those objects only
for them to be dropped (0.7 s of a 10,000-run roll-up); msgspec checks that the rest is JSON
and skips it without building anything (0.1 s).
"""

from __future__ import annotations

import msgspec

from audit.errors import InputError

__all__ = ["decode_run_json"]


class _Profile(msgspec.Struct):
    """A host's environment profile: only its upgrade target."""

    target_comfyui: object = None


class _RunDocument(msgspec.Struct):
    """A ``run.json``: its id, start, exit code, and each host's profile."""

    run_id: object = None
    started_at: object = None
    exit_code: object = None
    hosts: dict[str, _Profile] | None = None


class _RawRunDocument(msgspec.Struct):
    """A ``run.json`` whose ``hosts`` are not as `_RunDocument` has them: kept raw, to say how."""

    run_id: object = None
    started_at: object = None
    exit_code: object = None
    hosts: msgspec.Raw = msgspec.Raw(b"null")


_DOCUMENT = msgspec.json.Decoder(_RunDocument)
_RAW_DOCUMENT = msgspec.json.Decoder(_RawRunDocument)
_HOSTS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_PROFILE = msgspec.json.Decoder(_Profile)


def _profile(raw: msgspec.Raw) -> dict[str, object] | None:
    try:
        return _target(_PROFILE.decode(raw))
    except (msgspec.ValidationError, RecursionError):
        return None  # NOTE: not an object; the caller says which host has no valid profile.


def _hosts(raw: msgspec.Raw) -> dict[str, dict[str, object] | None] | None:
    try:
        hosts = _HOSTS.decode(raw)
    except (msgspec.ValidationError, RecursionError):
        return None  # NOTE: null, or not an object; the caller says so.
    return {host: _profile(profile) for host, profile in hosts.items()}


def decode_run_json(data: bytes, where: str) -> dict[str, object]:
    """Return ``run_id``, ``started_at``, ``exit_code`` and ``hosts`` (each host → a mapping
    with its ``target_comfyui``, or ``None`` when its profile is not an object) of the
    ``run.json`` ``data``, each ``None`` when missing; the rest is checked to be JSON, not kept.

    :raises InputError: naming ``where``, if ``data`` is not JSON or not a JSON object.
    """
    try:
        document = _DOCUMENT.decode(data)
    except msgspec.ValidationError:
        return _raw_document(data, where)
    except msgspec.DecodeError as e:
        raise InputError(f"{where}: not JSON: {e}") from None
    except RecursionError:
        raise InputError(f"{where}: not JSON: nested too deeply") from None
    hosts = document.hosts
    return {
        "run_id": document.run_id,
        "started_at": document.started_at,
        "exit_code": document.exit_code,
        "hosts": None if hosts is None else {h: _target(p) for h, p in hosts.items()},
    }


def _target(profile: _Profile) -> dict[str, object]:
    return {"target_comfyui": profile.target_comfyui}


def _raw_document(data: bytes, where: str) -> dict[str, object]:
    """`decode_run_json` of a document that is JSON but not shaped as a run's: which part is
    not, the caller's checks say."""
    try:
        document = _RAW_DOCUMENT.decode(data)
    except msgspec.ValidationError:
        raise InputError(f"{where}: not a JSON object") from None
    return {
        "run_id": document.run_id,
        "started_at": document.started_at,
        "exit_code": document.exit_code,
        "hosts": _hosts(document.hosts),
    }
