"""Find and read ``comfy-audit.toml``: every mistake is one line naming the file and the key."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from audit import safeio
from audit.catalogue import severities
from audit.checks.interface import quote
from audit.errors import InputError
from audit.model import Severity
from audit.policy.model import POLICY_CHECKS, UNSET, Policy, Waiver

__all__ = [
    "KNOWN_CHECKS",
    "MAX_GLOB",
    "MAX_POLICY_BYTES",
    "POLICY_FILE",
    "find_policy",
    "load_policy",
]

POLICY_FILE = "comfy-audit.toml"
#: Largest policy file read: hand-written policies are a few KiB.
MAX_POLICY_BYTES = 1024 * 1024
#: Longest ``node`` glob: twice the longest registry id, so that matching stays cheap.
MAX_GLOB = 256

KNOWN_CHECKS = frozenset(severities())
"""The check codes a policy file may name: every code of `audit.catalogue`."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEVERITIES = {s.label: s for s in Severity}
_THRESHOLDS = {**_SEVERITIES, "never": None}
_T = TypeVar("_T")


class _Bad(Exception):
    """One mistake in a policy file, described without the file's name."""


def find_policy(cwd: Path) -> Path | None:
    """Return ``cwd / "comfy-audit.toml"`` when it exists (even as something unreadable, which
    `load_policy` then reports), else ``None``."""
    path = cwd / POLICY_FILE
    return path if path.exists() or path.is_symlink() else None


def load_policy(path: str | Path) -> Policy:
    """Read and check the policy file at ``path``.

    Only a regular file of at most `MAX_POLICY_BYTES` is read: a FIFO or a link to a device
    in the working directory is refused, never waited on or read without end.

    :raises InputError: of one line, ``<path>: <key>: <what is wrong>``, for an unreadable file,
        invalid TOML, an unknown key or check code, a waiver without ``check``, ``node`` or
        ``reason``, a bad date, an unknown severity or a glob longer than `MAX_GLOB`.
    """
    name = str(path)
    try:
        data = safeio.read_bytes(path, limit=MAX_POLICY_BYTES)
    except safeio.Refused as e:
        raise InputError(f"{name}: cannot read the policy file: {e}") from None
    try:
        return _policy(_parse(data))
    except _Bad as e:
        raise InputError(f"{name}: {e}") from None


def _parse(data: bytes) -> dict[str, object]:
    try:
        return tomllib.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _Bad("not valid UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise _Bad(f"not valid TOML: {e}") from None
    except RecursionError:
        # NOTE: tomllib parses nested arrays recursively; a hostile file can nest too deeply.
        raise _Bad("not valid TOML: nested too deeply") from None


def _policy(document: Mapping[str, object]) -> Policy:
    _known_keys(document, ("fail-on", "severity", "waiver"), "")
    fail_on = (
        _one_of(document["fail-on"], _THRESHOLDS, "'fail-on'") if "fail-on" in document else UNSET
    )
    table = _expect(
        document.get("severity", {}), dict, "'severity'", "a table of check code = severity"
    )
    tables = _expect(
        document.get("waiver", []), list, "'waiver'", "an array of tables ([[waiver]])"
    )
    severities = {
        _check(code, "severity: "): _one_of(v, _SEVERITIES, f"severity: {quote(code)}")
        for code, v in table.items()
    }
    waivers = tuple(_waiver(number, t) for number, t in enumerate(tables, start=1))
    return Policy(fail_on, MappingProxyType(severities), waivers)


def _expect(value: object, kind: type[_T], what: str, shape: str) -> _T:
    if not isinstance(value, kind):
        raise _Bad(f"{what} must be {shape}, not {_shown(value)}")
    return value


def _one_of(value: object, choices: Mapping[str, _T], what: str) -> _T:
    if isinstance(value, str) and value in choices:
        return choices[value]
    *most, last = choices
    raise _Bad(f"{what} must be one of {', '.join(most)} or {last}, not {_shown(value)}")


def _waiver(number: int, raw: object) -> Waiver:
    where = f"waiver {number}"
    table = _expect(raw, dict, where, "a table")
    _known_keys(table, ("check", "node", "version", "reason", "expires"), f"{where}: ")
    missing = [key for key in ("check", "node", "reason") if key not in table]
    if missing:
        raise _Bad(f"{where}: missing {missing[0]!r}")

    def text(key: str) -> str:
        return _text(table[key], key, where)

    return Waiver(
        number,
        check=_waivable(text("check"), where),
        node=_glob(text("node"), where),
        reason=text("reason"),
        version=text("version") if "version" in table else None,
        expires=_date(table["expires"], where) if "expires" in table else None,
    )


def _waivable(check: str, where: str) -> str:
    if any(c in check for c in "*?["):
        raise _Bad(f"{where}: 'check' must be one exact check code, not the glob {check!r}")
    if _check(check, f"{where}: ") in POLICY_CHECKS:
        raise _Bad(f"{where}: {check!r} cannot be waived; renew or remove the expired waiver")
    return check


def _glob(node: str, where: str) -> str:
    # NOTE: fnmatch compiles a glob to a regular expression; a glob of megabytes took seconds
    # and a gigabyte to compile, and no node id is longer than 128 characters.
    if len(node) > MAX_GLOB:
        raise _Bad(f"{where}: 'node' must be at most {MAX_GLOB} characters, not {len(node):,}")
    return node


def _text(value: object, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        hint = f' (write "{value}")' if isinstance(value, int | float) else ""
        raise _Bad(f"{where}: {key!r} must be a non-empty string, not {_shown(value)}{hint}")
    return value.strip()


def _date(value: object, where: str) -> date:
    # NOTE: a TOML date-time is a datetime, which is also a date; a waiver ends on a day.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Bad(f"{where}: 'expires' must be a date such as 2027-03-31, not {_shown(value)}")


def _known_keys(table: Mapping[str, object], known: Sequence[str], where: str) -> None:
    for key in table:
        if key not in known:
            raise _Bad(f"{where}unknown key {key!r}{_hint(key, known)}")


def _check(check: str, where: str) -> str:
    if check not in KNOWN_CHECKS:
        raise _Bad(f"{where}unknown check code {check!r}{_hint(check, sorted(KNOWN_CHECKS))}")
    return check


def _hint(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _shown(value: object) -> str:
    """How a message shows a TOML value: strings quoted, tables and arrays by kind."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)
