"""Write the advisories a set of installs needs as a folder of OSV JSON (``mirror --vulns``)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from audit.errors import ReportError
from audit.model import ID_PATTERN, Environment
from audit.vulnerabilities.interface import VulnerabilitySource
from audit.vulnerabilities.stage import installed_pairs

__all__ = ["WrittenAdvisories", "write_advisories"]


@dataclass(frozen=True)
class WrittenAdvisories:
    """Represents what `write_advisories` did."""

    records: int
    pairs: int
    """Distinct installed (distribution, release) pairs asked for."""
    failed: Mapping[tuple[str, str], str]


def write_advisories(
    source: VulnerabilitySource, environments: Mapping[str, Environment], folder: str | Path
) -> WrittenAdvisories:
    """Write every record ``source`` has for the installed distributions of ``environments``
    into ``folder`` as ``<id>.json``, which ``--vuln-db FOLDER`` reads back; each file is
    written whole or not at all.

    :raises ReportError: when the folder or a file cannot be written.
    """
    hosts = installed_pairs(environments)
    pairs: Sequence[tuple[str, str]] = list(
        dict.fromkeys((i.distribution, str(i.release)) for m in hosts.values() for i in m)
    )
    answer = source.candidates(pairs) if pairs else None
    records = (
        {}
        if answer is None
        else {a.id: a.record for found in answer.advisories.values() for a in found}
    )
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for ident, record in sorted(records.items()):
            if ID_PATTERN.fullmatch(ident) is not None:
                _write_whole(target / f"{ident}.json", record)
    except (OSError, TypeError, ValueError) as error:
        raise ReportError(f"{target}: cannot write the advisories: {error}") from None
    return WrittenAdvisories(len(records), len(pairs), {} if answer is None else answer.failed)


def _write_whole(path: Path, record: Mapping[str, object]) -> None:
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    partial.write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n")
    os.replace(partial, path)
