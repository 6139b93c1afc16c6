"""What a policy is and what it does to findings: severity overrides, expiring waivers, fail-on."""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from audit.catalogue import severities
from audit.model import AuditedEntry, AuditRun, Finding, FindingSource, Severity

__all__ = [
    "DEFAULT_FAIL_ON",
    "EXPIRED",
    "POLICY_CHECKS",
    "UNSET",
    "PackKey",
    "Policy",
    "Unset",
    "Waiver",
    "resolve_fail_on",
]

DEFAULT_FAIL_ON = Severity.ERROR
EXPIRED = "policy.waiver-expired"

POLICY_CHECKS: Mapping[str, Severity] = severities("policy")
"""Every check code the policy emits → its default severity (from `audit.catalogue`)."""

PackKey = tuple[str, str | None, str | None]
"""``(host, node_id, version)`` of a finding or entry; ``node_id`` is None for the host itself."""

#: The expired waivers met so far, each with the pack it matched, in the order first met.
_Expired = dict[tuple["Waiver", PackKey], None]


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
        expired: _Expired = {}
        applied = self._judge_all(findings, today, disabled, expired)
        return (*applied, *self._expiry_warnings(expired, disabled))

    def apply_to_run(self, run: AuditRun, today: date) -> AuditRun:
        """Return ``run`` with the policy applied to every finding where it stands; see `apply`.

        An expiry warning goes to the first entry of its pack, else to the host findings.
        ``exit_code`` is left as it was: the caller computes it from the new findings.
        """
        disabled = {_entry_key(a) for a in run.entries if a.entry.disabled}
        expired: _Expired = {}
        host = self._judge_all(run.host_findings, today, disabled, expired)
        owned = [self._judge_all(a.findings, today, disabled, expired) for a in run.entries]
        owner: dict[PackKey, list[Finding]] = {}
        for audited, findings in zip(run.entries, owned, strict=True):
            owner.setdefault(_entry_key(audited), findings)
        for warning in self._expiry_warnings(expired, disabled):
            owner.get(_key(warning), host).append(warning)
        entries = (replace(a, findings=tuple(f)) for a, f in zip(run.entries, owned, strict=True))
        return replace(run, host_findings=tuple(host), entries=tuple(entries))

    def _judge_all(
        self,
        findings: Iterable[Finding],
        today: date,
        disabled: Collection[PackKey],
        expired: _Expired,
    ) -> list[Finding]:
        """Judge each finding on its own, noting in ``expired`` the expired waivers it meets."""
        judged = []
        for finding in findings:
            key = _key(finding)
            overridden = self._override(finding, key in disabled)
            matching = [w for w in self.waivers if w.matches(overridden)]
            judged.append(_waive(overridden, [w for w in matching if w.applies_on(today)]))
            expired.update(((w, key), None) for w in matching if not w.applies_on(today))
        return judged

    def _override(self, finding: Finding, disabled: bool) -> Finding:
        severity = self.severities.get(finding.check)
        if disabled or severity is None or severity == finding.severity:
            return finding
        return replace(finding, severity=severity)

    def _expiry_warnings(
        self, expired: _Expired, disabled: Collection[PackKey]
    ) -> Iterable[Finding]:
        return (self._expired(w, key, key in disabled) for w, key in expired)

    def _expired(self, waiver: Waiver, key: PackKey, disabled: bool) -> Finding:
        # NOTE: imported here: loading the checks would slow down the options of ``--help``.
        from audit.checks.interface import quote

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


def _waive(finding: Finding, waivers: Sequence[Waiver]) -> Finding:
    if not waivers:
        return finding
    return replace(finding, waived=True, waiver_reason=waivers[0].reason)


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
