"""The vulnerability stage: known-vulnerable Python packages in each install, from OSV.

- `OsvApi` asks the OSV API (query batch, then each advisory once), through the registry's
  transport and cache; `OfflineDatabase` reads OSV's PyPI export zip or a folder of records;
- `open_vulnerability_source` picks one from ``--vuln-db`` (`default_vuln_db` when not given);
- `audit_vulnerabilities` matches every host's installed distributions, exactly as the OSV
  schema says (`audit.vulnerabilities.advisory`), and merges aliases into one finding;
- `write_advisories` writes the records a set of installs needs as an OSV folder.
"""

from audit.vulnerabilities.advisory import Advisory, parse_advisory, release_of
from audit.vulnerabilities.factory import NONE, default_vuln_db, open_vulnerability_source
from audit.vulnerabilities.interface import (
    VULNERABILITY_CHECKS,
    Candidates,
    DistributionAdvice,
    VulnerabilityAudit,
    VulnerabilityRow,
    VulnerabilitySource,
)
from audit.vulnerabilities.offline import OfflineDatabase
from audit.vulnerabilities.osv_api import DEFAULT_OSV_URL, OsvApi
from audit.vulnerabilities.stage import audit_vulnerabilities
from audit.vulnerabilities.writer import write_advisories

__all__ = [
    "DEFAULT_OSV_URL",
    "NONE",
    "VULNERABILITY_CHECKS",
    "Advisory",
    "Candidates",
    "DistributionAdvice",
    "OfflineDatabase",
    "OsvApi",
    "VulnerabilityAudit",
    "VulnerabilityRow",
    "VulnerabilitySource",
    "audit_vulnerabilities",
    "default_vuln_db",
    "open_vulnerability_source",
    "parse_advisory",
    "release_of",
    "write_advisories",
]
