"""The dependency audit: pack requirements vs the installed packages, and conflicts between packs.

`audit_dependencies` audits one host. It reads each pack's requirement lines (the registry's
``dependencies`` and the pack's own files), judges them against the host's environment, and
returns its findings with one `RequirementRow` per line. See `DEPENDENCY_CHECKS` for the codes.
"""

from audit.dependencies.host import audit_dependencies, conflicts_among
from audit.dependencies.interface import DEPENDENCY_CHECKS, DependencyAudit, PackRequirements
from audit.dependencies.parse import (
    InvalidLine,
    Line,
    RequirementLine,
    RequirementSource,
    parse_line,
)
from audit.dependencies.solve import satisfiable

__all__ = [
    "DEPENDENCY_CHECKS",
    "DependencyAudit",
    "InvalidLine",
    "Line",
    "PackRequirements",
    "RequirementLine",
    "RequirementSource",
    "audit_dependencies",
    "conflicts_among",
    "parse_line",
    "satisfiable",
]
