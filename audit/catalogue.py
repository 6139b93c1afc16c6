"""The one catalogue of check codes: each code's family, default severity and meaning.

Checks, the dependency audit and the policy read their codes from here; the README's check-code
table is tested against it, row by row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from audit.model import Severity

__all__ = ["CATALOGUE", "CheckCode", "severities"]


@dataclass(frozen=True)
class CheckCode:
    """Represents one check code: what a finding of it means and how bad it is by default."""

    code: str
    severity: Severity
    """The default severity; a policy file may replace it."""
    meaning: str
    """One line, as the README's table shows it."""

    @property
    def family(self) -> str:
        """The part before the dot, e.g. ``status`` for ``status.banned``."""
        return self.code.split(".", 1)[0]


CATALOGUE: tuple[CheckCode, ...] = (
    CheckCode(
        "status.banned",
        Severity.CRITICAL,
        "the registry banned this version (a reviewer rejected it)",
    ),
    CheckCode(
        "status.flagged",
        Severity.ERROR,
        "the registry's scanner flagged this version and nobody has reviewed it",
    ),
    CheckCode(
        "status.deleted",
        Severity.ERROR,
        "the version was removed from the registry",
    ),
    CheckCode(
        "status.pending",
        Severity.WARNING,
        "the version never passed review",
    ),
    CheckCode(
        "status.deprecated",
        Severity.WARNING,
        "the publisher deprecated the version",
    ),
    CheckCode(
        "status.unknown",
        Severity.WARNING,
        "the registry sent a status word (of the version, the pack or its publisher) this "
        "version of comfy-audit does not know (`NodeVersionStatusArchived`); the rest of the "
        "record is checked",
    ),
    CheckCode(
        "security.tag",
        Severity.WARNING,
        "one per `tags_admin` entry, e.g. `any-code-execute`",
    ),
    CheckCode(
        "os.unsupported",
        Severity.ERROR,
        "the declared OS list excludes this host's OS",
    ),
    CheckCode(
        "os.spec-invalid",
        Severity.WARNING,
        "every declared OS word is unknown (`Unix`): not checked",
    ),
    CheckCode(
        "accelerator.unsupported",
        Severity.ERROR,
        "the declared accelerators share nothing with this host's",
    ),
    CheckCode(
        "accelerator.spec-invalid",
        Severity.WARNING,
        "every declared accelerator word is unknown (`DirectML`): not checked",
    ),
    CheckCode(
        "comfyui.incompatible",
        Severity.ERROR,
        "the declared ComfyUI range excludes the installed (or target) version",
    ),
    CheckCode(
        "comfyui.spec-invalid",
        Severity.WARNING,
        "the declared ComfyUI range cannot be parsed: a metadata defect, not an incompatibility",
    ),
    CheckCode(
        "frontend.incompatible",
        Severity.ERROR,
        "the declared frontend range excludes the installed (or target) version",
    ),
    CheckCode(
        "frontend.spec-invalid",
        Severity.WARNING,
        "the declared frontend range cannot be parsed",
    ),
    CheckCode(
        "registry.not-found",
        Severity.WARNING,
        "the registry (or mirror file) has no such node or version",
    ),
    CheckCode(
        "registry.not-registry",
        Severity.INFO,
        "a git or file install, not a registry one",
    ),
    CheckCode(
        "registry.nightly",
        Severity.INFO,
        "a nightly or git install of a registry pack (named by `.git/.cnr-id`, its "
        "`pyproject.toml` or a snapshot's `cnr_id`): version checks skipped, pack-level "
        "checks run",
    ),
    CheckCode(
        "node.banned",
        Severity.CRITICAL,
        "the registry banned the whole pack (`NodeStatusBanned`), whatever its version's "
        "status says",
    ),
    CheckCode(
        "publisher.banned",
        Severity.CRITICAL,
        "the registry banned the pack's publisher (`PublisherStatusBanned`), and so all its packs",
    ),
    CheckCode(
        "node.deleted",
        Severity.ERROR,
        "the pack was removed from the registry (`NodeStatusDeleted`)",
    ),
    CheckCode(
        "pack.import-failed",
        Severity.ERROR,
        "ComfyUI's last log says it failed to import the pack; the reason is the message, the"
        " log line's timestamp the `actual`",
    ),
    CheckCode(
        "registry.fetch-failed",
        Severity.ERROR,
        "the lookup failed after retries (gives exit 3, not 1)",
    ),
    CheckCode(
        "registry.invalid-response",
        Severity.ERROR,
        "the registry answered with something that is not a NodeVersion, or with fields of "
        "the wrong type (the well-typed fields are still checked; exit 3, not 1)",
    ),
    CheckCode(
        "manifest.invalid-entry",
        Severity.ERROR,
        "the id or version is not a plausible registry id/version; never sent to the registry",
    ),
    CheckCode(
        "manifest.unreadable",
        Severity.ERROR,
        "with several manifests, one that is an input error (the message says why); its host "
        "is not audited (exit 3, not 1)",
    ),
    CheckCode(
        "manifest.broken-pack",
        Severity.ERROR,
        "a scanned pack's `pyproject.toml` cannot be read as a pack (merge markers, invalid "
        "TOML, no version)",
    ),
    CheckCode(
        "policy.waiver-expired",
        Severity.WARNING,
        "a policy waiver matched this finding but its `expires` date has passed",
    ),
    CheckCode(
        "env.unknown",
        Severity.INFO,
        "a check could not run because a local fact (OS, accelerators, ComfyUI or frontend "
        "version, the pack's version, the installed packages) is unknown",
    ),
    CheckCode(
        "dependency.missing",
        Severity.ERROR,
        "a pack requires a distribution that is not installed",
    ),
    CheckCode(
        "dependency.unsatisfied",
        Severity.ERROR,
        "the installed version is outside a pack's requirement (local versions such as "
        "`2.7.1+cu126` compared by PEP 440)",
    ),
    CheckCode(
        "dependency.conflict",
        Severity.ERROR,
        "packs require ranges of one distribution that no version satisfies together "
        "(`numpy<2` vs `numpy>=2`); one row per pack involved, naming every pack and its "
        "range",
    ),
    CheckCode(
        "dependency.variant-clash",
        Severity.WARNING,
        "mutually exclusive distributions installed or required together (the four `opencv-*`"
        " variants; `onnxruntime` vs `onnxruntime-gpu`, …)",
    ),
    CheckCode(
        "dependency.spec-invalid",
        Severity.WARNING,
        "a requirement line that is not PEP 508 (`numpy<1.24>=1.18`, `-r other.txt`); "
        "`git+`/URL requirements are recorded unpinned, not errors",
    ),
    CheckCode(
        "dependency.compromised",
        Severity.CRITICAL,
        "an installed release on the known-compromised list shipped in the package "
        "(`audit/dependencies/compromised.toml`, each entry citing its source: the "
        "ultralytics 8.3.41/42/45/46 releases, and what ComfyUI-Manager blocks at start-up), "
        "or named by an OSV malicious-package (`MAL-`) record (source `osv`)",
    ),
    CheckCode(
        "vulnerability.known",
        Severity.WARNING,
        "an installed distribution has a known vulnerability (OSV; source `osv`); `expected` "
        "is the nearest fixed version; the severity comes from the CVSS score (critical ≥ "
        "9.0, error ≥ 7.0, warning ≥ 4.0, else info; warning without a vector)",
    ),
    CheckCode(
        "vulnerability.lookup-failed",
        Severity.ERROR,
        "the vulnerability lookup failed for some installed distributions of a host (gives "
        "exit 3, not 1)",
    ),
    CheckCode(
        "workflow.missing-pack",
        Severity.ERROR,
        "a workflow needs a pack the host does not have (`info` when only bypassed or muted "
        "nodes need it)",
    ),
    CheckCode(
        "workflow.missing-node",
        Severity.ERROR,
        "the installed pack version does not provide a class the workflow uses (the "
        "registry's class list)",
    ),
    CheckCode(
        "workflow.disabled-pack",
        Severity.ERROR,
        "a workflow needs a pack that is disabled on the host (error although the pack is "
        "disabled)",
    ),
    CheckCode(
        "workflow.banned-node",
        Severity.CRITICAL,
        "the registry bans a class the workflow uses (`ComfyNodePolicyBanned`), or its pack "
        "or publisher",
    ),
    CheckCode(
        "workflow.deprecated-node",
        Severity.WARNING,
        "the installed pack version deprecates a class the workflow uses",
    ),
    CheckCode(
        "workflow.older-pack",
        Severity.WARNING,
        "the installed pack is older than the version the workflow was made with",
    ),
    CheckCode(
        "workflow.older-core",
        Severity.WARNING,
        "ComfyUI (now, or the target after the upgrade) is older than the `comfy-core` "
        "version the workflow was made with",
    ),
    CheckCode(
        "workflow.unresolved",
        Severity.WARNING,
        "no core list, registry answer or node map says which pack provides a class",
    ),
)
"""Every check code, in the order of the README's table."""


def severities(*families: str) -> Mapping[str, Severity]:
    """Return code → default severity for the codes of ``families``, or of all when none given.

    >>> dict(severities("policy"))
    {'policy.waiver-expired': <Severity.WARNING: 1>}
    """
    chosen = (c for c in CATALOGUE if not families or c.family in families)
    return MappingProxyType({c.code: c.severity for c in chosen})
