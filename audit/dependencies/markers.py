"""Evaluate PEP 508 environment markers against the audited machine, never against this one.

A marker is judged only from the facts the `Environment` knows: ``python_version`` and
``python_full_version`` from its Python version, ``sys_platform``, ``platform_system`` and
``os_name`` from its OS. A marker that needs any other fact cannot be judged (``None``). Extras
are never requested by an install from ``requirements.txt``, so ``extra`` is always empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from packaging.markers import Marker
from packaging.version import InvalidVersion, Version

from audit.model import Environment

__all__ = ["applies", "marker_facts", "marker_variables"]

_OS_FACTS: Mapping[str, Mapping[str, str]] = {
    "linux": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"},
    "windows": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
    "macos": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
}
# NOTE: "extras" and "dependency_groups" are the lock-file (PEP 751) forms of "extra".
_NOTHING_REQUESTED: Mapping[str, str | frozenset[str]] = {
    "extra": "",
    "extras": frozenset(),
    "dependency_groups": frozenset(),
}
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_KEYWORDS = frozenset({"and", "or", "in", "not"})


def marker_facts(env: Environment) -> dict[str, str]:
    """Return the marker variables ``env`` decides, and only those.

    >>> marker_facts(Environment(os="windows", python_version="3.11.7"))["python_version"]
    '3.11'
    """
    facts = dict(_OS_FACTS.get(env.os or "", {}))
    try:
        python = Version(env.python_version) if env.python_version else None
    except InvalidVersion:
        python = None
    # NOTE: "3" says nothing of the minor version, nor "3.11" of the micro one.
    if python is not None and len(python.release) >= 2:
        facts["python_version"] = f"{python.release[0]}.{python.release[1]}"
    if python is not None and len(python.release) >= 3:
        facts["python_full_version"] = str(python)
    return facts


def marker_variables(marker: Marker) -> frozenset[str]:
    """Return the names of the environment variables ``marker`` compares.

    >>> sorted(marker_variables(Marker('python_version < "3.12" and "linux" in sys_platform')))
    ['python_version', 'sys_platform']
    """
    # NOTE: str(marker) is normalised: variables bare, values quoted.
    unquoted = _QUOTED.sub(" ", str(marker))
    return frozenset(w for w in _WORD.findall(unquoted) if w not in _KEYWORDS)


def applies(marker: Marker | None, facts: Mapping[str, str]) -> bool | None:
    """Whether a requirement with ``marker`` applies on the machine ``facts`` describe.

    :returns: ``True`` or ``False``, or ``None`` when the marker needs a fact that is unknown.
        A marker on ``extra`` holds only when that extra is requested, which never happens here.

    >>> applies(Marker('platform_system == "Windows"'), {"platform_system": "Linux"})
    False
    >>> applies(Marker('python_version < "3.12"'), {"platform_system": "Linux"}) is None
    True
    """
    if marker is None:
        return True
    if marker_variables(marker) - facts.keys() - _NOTHING_REQUESTED.keys():
        return None
    try:
        return marker.evaluate({**facts, **_NOTHING_REQUESTED})
    except ValueError:  # NOTE: an undefined comparison, e.g. an operator on unparseable versions
        return None
