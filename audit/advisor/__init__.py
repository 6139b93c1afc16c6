"""The upgrade advisor: for every pack that is unsafe or blocks the upgrade, the version to move to.

After the checks, `advice_targets` names the nodes that need advice and a `VersionLister` lists
their versions (one request per node; `recommend` does both); `advise` then picks, per entry, the
newest version that is Active, not deprecated (nor a pre-release, unless allowed) and that the
checks find nothing against in the host's environment, upgrade targets included. The plan
comes out as a verdict (`upgrade_verdict`), shell commands (`plan_commands`) or a
ComfyUI-Manager snapshot (`plan_snapshot`).
"""

from audit.advisor.choose import advice_targets, advise, needs_advice, recommend
from audit.advisor.interface import Recommendation, is_trigger
from audit.advisor.judge import CandidateJudge
from audit.advisor.ordering import is_prerelease, order_versions, same_version, version_order
from audit.advisor.plan import (
    changed_by_upgrade,
    changed_verdict,
    plan_commands,
    plan_paths,
    plan_snapshot,
    upgrade_verdict,
)

__all__ = [
    "CandidateJudge",
    "Recommendation",
    "advice_targets",
    "advise",
    "changed_by_upgrade",
    "changed_verdict",
    "is_prerelease",
    "is_trigger",
    "needs_advice",
    "order_versions",
    "plan_commands",
    "plan_paths",
    "plan_snapshot",
    "recommend",
    "same_version",
    "upgrade_verdict",
    "version_order",
]
