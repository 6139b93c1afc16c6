"""The policy file ``comfy-audit.toml``: severity overrides, expiring waivers and a default fail-on.

The format (every key optional but a waiver's ``check``, ``node`` and ``reason``)::

    fail-on = "error"            # info, warning, error, critical or never
    [severity]                   # check code = severity, replacing its default
    "security.tag" = "info"
    [[waiver]]
    check = "status.flagged"     # one exact check code, never a glob
    node = "comfyui-foo*"        # a glob of node ids, any case; "*" also matches host findings
    version = "1.2.0"            # this exact version only
    reason = "reviewed the scanner hit, false positive"
    expires = 2027-03-31         # applies through this date; a TOML date or "YYYY-MM-DD"

A waiver names one exact check code so that a new kind of finding about a waived pack is never
silenced by an older, narrower decision. Any mistake in the file is an `InputError` of one line
naming the file and the key.
"""

from __future__ import annotations

import difflib
import enum
import fnmatch
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType

from audit.checks.interface import CHECKS, quote
from audit.dependencies.interface import DEPENDENCY_CHECKS
from audit.errors import InputError
from audit.model import AuditedEntry, AuditRun, Finding, FindingSource, Severity
from audit.vulnerabilities.interface import VULNERABILITY_CHECKS

__all__ = [
    "DEFAULT_FAIL_ON",
    "KNOWN_CHECKS",
    "POLICY_CHECKS",
    "POLICY_FILE",
    "UNSET",
    "PackKey",
    "Policy",
    "Unset",
    "Waiver",
    "find_policy",
    "load_policy",
    "resolve_fail_on",
]

POLICY_FILE = "comfy-audit.toml"
DEFAULT_FAIL_ON = Severity.ERROR
EXPIRED = "policy.waiver-expired"

POLICY_CHECKS: Mapping[str, Severity] = MappingProxyType({EXPIRED: Severity.WARNING})
"""Every check code the policy emits → its default severity."""

KNOWN_CHECKS = (
    frozenset(CHECKS)
    | frozenset(DEPENDENCY_CHECKS)
    | frozenset(POLICY_CHECKS)
    | frozenset(VULNERABILITY_CHECKS)
)
"""The check codes a policy file may name."""

PackKey = tuple[str, str | None, str | None]
"""``(host, node_id, version)`` of a finding or entry; ``node_id`` is None for the host itself."""

_TOP_KEYS = ("fail-on", "severity", "waiver")
_WAIVER_KEYS = ("check", "node", "version", "reason", "expires")
_REQUIRED = ("check", "node", "reason")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_THRESHOLDS = {**{s.label: s for s in Severity}, "never": None}


class Unset(enum.Enum):
    """Represents a setting the policy file leaves to the command line or the default."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True)
class Waiver:
    """Represents one accepted finding: which check, on which packs, why, and until when."""

    number: int
    """The waiver's 1-based position among the file's ``[[waiver]]`` tables, for messages."""
    check: str
    node: str
    """A glob (``fnmatch``) of node ids, compared case-insensitively like registry ids."""
    reason: str
    version: str | None = None
    """The exact version waived; ``None`` waives every version."""
    expires: date | None = None
    """The last day the waiver applies; ``None`` never expires."""

    def matches(self, finding: Finding) -> bool:
        """Whether this waiver names ``finding``, whatever its date.

        A host-level finding has no node id; it is matched as the empty id, so only a glob that
        matches the empty text (``*``) names it.
        """
        if finding.check != self.check:
            return False
        if self.version is not None and finding.version != self.version:
            return False
        return fnmatch.fnmatchcase((finding.node_id or "").lower(), self.node.lower())

    def applies_on(self, today: date) -> bool:
        """Whether the waiver still applies on ``today``: it does through its ``expires`` date."""
        return self.expires is None or today <= self.expires


@dataclass(frozen=True)
class Policy:
    """Represents a policy file: severity overrides, waivers and a default fail-on threshold."""

    fail_on: Severity | Unset | None = UNSET
    """The file's ``fail-on``; ``None`` means ``never``, ``UNSET`` that the file has none."""
    severities: Mapping[str, Severity] = field(default_factory=dict)
    """Check code → the severity that replaces its default."""
    waivers: tuple[Waiver, ...] = ()

    def apply(
        self,
        findings: Sequence[Finding],
        today: date,
        *,
        disabled: Collection[PackKey] = frozenset(),
    ) -> tuple[Finding, ...]:
        """Return ``findings`` with severities overridden and waivers applied, in the same order,
        followed by one ``policy.waiver-expired`` finding per expired waiver and pack it matched.

        A finding named by a waiver that applies on ``today`` gets ``waived=True`` and the
        first such waiver's reason; nothing else about it changes. An expired waiver waives
        nothing. Findings of ``disabled`` packs keep their severity (``info``), and so does the
        expiry warning about such a pack.
        """
        applied: list[Finding] = []
        expired: dict[tuple[Waiver, PackKey], None] = {}
        for finding in findings:
            key = _key(finding)
            overridden = self._override(finding, key in disabled)
            matching = [w for w in self.waivers if w.matches(overridden)]
            applied.append(self._waive(overridden, [w for w in matching if w.applies_on(today)]))
            expired.update(((w, key), None) for w in matching if not w.applies_on(today))
        extra = (self._expired(w, key, key in disabled) for w, key in expired)
        return (*applied, *extra)

    def apply_to_run(self, run: AuditRun, today: date) -> AuditRun:
        """Return ``run`` with the policy applied to every finding; see `Policy.apply`.

        An expiry warning goes to the first entry of its pack, else to the host findings.
        ``exit_code`` is left as it was: the caller computes it from the new findings.
        """
        disabled = {_entry_key(a) for a in run.entries if a.entry.disabled}
        applied = self.apply(run.findings, today, disabled=disabled)
        # NOTE: run.findings lists the host findings, then each entry's, in order.
        given = iter(applied)
        host = [next(given) for _ in run.host_findings]
        owned = [[next(given) for _ in a.findings] for a in run.entries]
        owner: dict[PackKey, int] = {}
        for index, a in enumerate(run.entries):
            owner.setdefault(_entry_key(a), index)
        for extra in given:
            index = owner.get(_key(extra), -1)
            (owned[index] if index >= 0 else host).append(extra)
        entries = tuple(
            replace(a, findings=tuple(f)) for a, f in zip(run.entries, owned, strict=True)
        )
        return replace(run, host_findings=tuple(host), entries=entries)

    def _override(self, finding: Finding, disabled: bool) -> Finding:
        severity = self.severities.get(finding.check)
        if disabled or severity is None or severity == finding.severity:
            return finding
        return replace(finding, severity=severity)

    @staticmethod
    def _waive(finding: Finding, waivers: Sequence[Waiver]) -> Finding:
        if not waivers:
            return finding
        return replace(finding, waived=True, waiver_reason=waivers[0].reason)

    def _expired(self, waiver: Waiver, key: PackKey, disabled: bool) -> Finding:
        host, node_id, version = key
        assert waiver.expires is not None
        only = f" version {quote(waiver.version)}" if waiver.version is not None else ""
        message = (
            f"waiver {waiver.number} for {waiver.check} on {quote(waiver.node)}{only} expired on "
            f"{waiver.expires.isoformat()} (reason: {waiver.reason}); the finding counts again"
        )
        severity = self.severities.get(EXPIRED, POLICY_CHECKS[EXPIRED])
        return Finding(
            host=host,
            node_id=node_id,
            version=version,
            check=EXPIRED,
            severity=Severity.INFO if disabled else severity,
            message=message,
            source=FindingSource.POLICY,
            actual=waiver.expires.isoformat(),
        )


def _key(finding: Finding) -> PackKey:
    return (finding.host, finding.node_id, finding.version)


def _entry_key(audited: AuditedEntry) -> PackKey:
    return (audited.entry.host, audited.entry.node_id, audited.entry.version)


def resolve_fail_on(
    command_line: Severity | Unset | None,
    policy: Policy | None,
    default: Severity | None = DEFAULT_FAIL_ON,
) -> Severity | None:
    """Return the fail-on threshold: the command line's beats the policy file's, which beats
    ``default`` (DESIGN.md "Policy and fleet"); ``None`` means never fail.

    >>> resolve_fail_on(UNSET, Policy(fail_on=Severity.WARNING)).label
    'warning'
    """
    if not isinstance(command_line, Unset):
        return command_line
    if policy is not None and not isinstance(policy.fail_on, Unset):
        return policy.fail_on
    return default


def find_policy(cwd: Path) -> Path | None:
    """Return ``cwd / "comfy-audit.toml"`` when it exists (even as something unreadable, which
    `load_policy` then reports), else ``None``."""
    path = cwd / POLICY_FILE
    return path if path.exists() or path.is_symlink() else None


class _Bad(Exception):
    """One mistake in a policy file, described without the file's name."""


def load_policy(path: str | Path) -> Policy:
    """Read and check the policy file at ``path``.

    :raises InputError: of one line, ``<path>: <key>: <what is wrong>``, for an unreadable file,
        invalid TOML, an unknown key or check code, a waiver without ``check``, ``node`` or
        ``reason``, a bad date or an unknown severity.
    """
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{name}: cannot read the policy file: {e.strerror or e}") from e
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
    _known_keys(document, _TOP_KEYS, "")
    fail_on = _threshold(document["fail-on"]) if "fail-on" in document else UNSET
    severities = _severities(document.get("severity", {}))
    waivers = _waivers(document.get("waiver", []))
    return Policy(fail_on, MappingProxyType(severities), waivers)


def _threshold(value: object) -> Severity | None:
    if isinstance(value, str) and value in _THRESHOLDS:
        return _THRESHOLDS[value]
    expected = "info, warning, error, critical or never"
    raise _Bad(f"'fail-on' must be one of {expected}, not {_shown(value)}")


def _severities(table: object) -> dict[str, Severity]:
    if not isinstance(table, dict):
        raise _Bad(f"'severity' must be a table of check code = severity, not {_shown(table)}")
    severities = {}
    for check, value in table.items():
        _known_check(check, "severity: ")
        if not isinstance(value, str) or value not in _THRESHOLDS or value == "never":
            raise _Bad(
                f"severity: {quote(check)} must be one of info, warning, error or critical, "
                f"not {_shown(value)}"
            )
        severities[check] = Severity.parse(value)
    return severities


def _waivers(tables: object) -> tuple[Waiver, ...]:
    if not isinstance(tables, list):
        raise _Bad(f"'waiver' must be an array of tables ([[waiver]]), not {_shown(tables)}")
    return tuple(_waiver(number, table) for number, table in enumerate(tables, start=1))


def _waiver(number: int, table: object) -> Waiver:
    where = f"waiver {number}"
    if not isinstance(table, dict):
        raise _Bad(f"{where} must be a table, not {_shown(table)}")
    _known_keys(table, _WAIVER_KEYS, f"{where}: ")
    for key in _REQUIRED:
        if key not in table:
            raise _Bad(f"{where}: missing {key!r}")
    check = _text(table, "check", where)
    if any(c in check for c in "*?["):
        raise _Bad(f"{where}: 'check' must be one exact check code, not the glob {check!r}")
    _known_check(check, f"{where}: ")
    if check in POLICY_CHECKS:
        raise _Bad(f"{where}: {check!r} cannot be waived; renew or remove the expired waiver")
    version = _text(table, "version", where) if "version" in table else None
    expires = _date(table["expires"], where) if "expires" in table else None
    reason = _text(table, "reason", where)
    return Waiver(number, check, _text(table, "node", where), reason, version, expires)


def _text(table: Mapping[str, object], key: str, where: str) -> str:
    value = table[key]
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


def _known_check(check: str, where: str) -> None:
    if check not in KNOWN_CHECKS:
        hint = _hint(check, sorted(KNOWN_CHECKS))
        raise _Bad(f"{where}unknown check code {check!r}{hint}")


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
