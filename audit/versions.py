"""Tolerant parsing of local ComfyUI versions and of the version ranges packs declare.

Registry ranges are free text (see ``reference/registry.md`` §3.2): mostly PEP 440 with
comfy-cli's extra operators (``<>``, ``=``, a bare ``X.Y.Z``), sometimes npm semver (``^1.0.0``,
``>=0.3.0 <1.0.0``), sometimes garbage. Both dialects become one ``VersionRange``: an OR of
AND-groups of PEP 440 specifiers, evaluated with pre-releases allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import Version

__all__ = ["VersionRange", "parse_local_version", "parse_range"]

# NOTE: `git describe --tags` output (comfy-cli's outdated.py strips the same suffix).
_DESCRIBE_SUFFIX = re.compile(r"(?:-[0-9]+-g[0-9a-f]{4,40})?(?:-dirty)?$")
_PEP_PART = re.compile(r"(===|==|!=|<>|<=|>=|~=|<|>|=)?\s*(.*)", re.DOTALL)
_PEP_OPERATORS = {"<>": "!=", "=": "=="}
# Only a full X.Y.Z is an exact pin; a bare "1.2" is left to npm, where it means 1.2.x.
_BARE_VERSION = re.compile(r"v?[0-9]+(?:\.[0-9]+){2,}\S*", re.ASCII)
_NPM_OPERATOR_SPACE = re.compile(r"(<=|>=|<|>|=|~>|~|\^)\s+")
_NPM_HYPHEN = re.compile(r"(\S+)\s+-\s+(\S+)")
_NPM_COMPARATOR = re.compile(r"(~>?|\^|[<>]?=?)(.*)", re.DOTALL)
_NPM_PARTIAL = re.compile(
    r"v?(?P<major>[0-9]+|[xX*])"
    r"(?:\.(?P<minor>[0-9]+|[xX*])"
    r"(?:\.(?P<patch>[0-9]+|[xX*])(?P<pre>-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)?)?",
    re.ASCII,
)
# NOTE: no version is below 0 except pre-releases of 0, which `<0` excludes: matches nothing.
_NOTHING = "<0"

Partial = tuple[int | None, int | None, int | None, str]
"""An npm partial version: major, minor, patch (``None`` = wildcard) and a pre-release tag."""


def parse_local_version(text: str) -> Version | None:
    """Return the version of a local ComfyUI or frontend, or ``None`` if ``text`` is not one.

    A ``v`` prefix and a ``git describe`` suffix are dropped; pre-releases are kept.

    :param text: the version as the install, a flag or a profile gave it.

    >>> parse_local_version("v0.12.3-16-gf350a842")
    <Version('0.12.3')>
    >>> parse_local_version("0.4.0rc1")
    <Version('0.4.0rc1')>
    >>> parse_local_version("f350a842") is None
    True
    """
    try:
        return Version(_DESCRIBE_SUFFIX.sub("", text.strip(), count=1))
    except ValueError:  # InvalidVersion, or an integer too long to convert
        return None


@dataclass(frozen=True)
class VersionRange:
    """Represents a declared version range: an OR (npm ``||``) of AND-groups of specifiers."""

    text: str
    """The range as declared, without surrounding whitespace."""
    groups: tuple[SpecifierSet, ...]
    """The alternatives; a version is in the range when any group contains it."""

    def contains(self, version: Version) -> bool:
        """Whether ``version`` is in the range; a pre-release counts like any other version.

        >>> parse_range(">=0.3.0,<1.0.0").contains(Version("0.12.3"))
        True
        """
        # A locally installed pre-release is a fact, not a choice (DESIGN.md).
        return any(group.contains(version, prereleases=True) for group in self.groups)

    def __str__(self) -> str:
        return self.text


def parse_range(text: str) -> VersionRange | None:
    """Parse a declared range, PEP 440 first, then npm semver; ``None`` if neither fits.

    :param text: the range as the registry holds it. Blank text gives ``None``; callers treat
        it as "not declared" before calling.

    >>> parse_range("<>0.3.1, >=0.3.0").contains(Version("0.3.1"))
    False
    >>> parse_range("^1.2.0 || 2.x").contains(Version("2.5.0"))
    True
    >>> parse_range("latest") is None
    True
    """
    stripped = text.strip()
    groups = []
    for alternative in stripped.split("||"):
        group = _parse_group(alternative.strip())
        if group is None:
            return None
        groups.append(group)
    return VersionRange(stripped, tuple(groups))


def _parse_group(text: str) -> SpecifierSet | None:
    # NOTE: an empty alternative means "any version" to npm; a typo is likelier, so it fails.
    if not text:
        return None
    try:
        specifiers: Sequence[Specifier | str] | None = _pep440_group(text)
        if specifiers is None:
            specifiers = _npm_group(text)
        return None if specifiers is None else SpecifierSet(specifiers)
    except ValueError:  # InvalidSpecifier, or an integer too long to convert
        return None


def _pep440_group(text: str) -> list[Specifier] | None:
    """Comma-separated PEP 440 parts, with comfy-cli's ``<>``, ``=`` and bare versions."""
    # NOTE: comfy-cli's check lets empty parts through (">=1.0.0,"); they constrain nothing.
    parts = [part.strip() for part in text.split(",") if part.strip()]
    specifiers = [_pep440_part(part) for part in parts]
    valid = [s for s in specifiers if s is not None]
    return valid if parts and len(valid) == len(parts) else None


def _pep440_part(part: str) -> Specifier | None:
    match = _PEP_PART.fullmatch(part)
    assert match is not None  # the pattern matches every string
    operator, version = match.group(1) or "", match.group(2)
    if not operator and not _BARE_VERSION.fullmatch(version):
        return None
    operator = _PEP_OPERATORS.get(operator, operator) or "=="
    try:
        return Specifier(operator + version)
    except ValueError:
        return None


def _npm_group(text: str) -> list[str] | None:
    """Space-separated npm comparators, or one hyphen range, as PEP 440 specifier strings."""
    hyphen = _NPM_HYPHEN.fullmatch(text)
    if hyphen:
        low, high = _npm_partial(hyphen.group(1)), _npm_partial(hyphen.group(2))
        return None if low is None or high is None else _at_least(low) + _up_to(high)
    specifiers: list[str] = []
    for token in _NPM_OPERATOR_SPACE.sub(r"\1", text).split():
        comparator = _npm_comparator(token)
        if comparator is None:
            return None
        specifiers += comparator
    return specifiers


def _npm_partial(text: str) -> Partial | None:
    match = _NPM_PARTIAL.fullmatch(text)
    if match is None:
        return None
    numbers: list[int | None] = []
    for name in ("major", "minor", "patch"):
        value = match.group(name)
        # NOTE: npm ignores whatever follows a wildcard (1.x.3 is 1.x).
        wild = value is None or not value.isdigit() or (bool(numbers) and numbers[-1] is None)
        numbers.append(None if wild else int(value))
    major, minor, patch = numbers
    pre = match.group("pre") or ""
    # NOTE: a numeric npm tag (the "-0" of "<1.1.0-0") is the lowest pre-release, a PEP 440
    # dev release; "1.1.0-0" itself would read as the post-release 1.1.0.post0.
    if pre[1:].isdigit():
        pre = f".dev{pre[1:]}"
    return major, minor, patch, pre if patch is not None else ""


def _npm_comparator(token: str) -> list[str] | None:
    match = _NPM_COMPARATOR.fullmatch(token)
    assert match is not None  # the pattern matches every string
    operator, partial = match.group(1), _npm_partial(match.group(2))
    if partial is None:
        return None
    if operator in ("~", "~>"):
        return _tilde(partial)
    if operator == "^":
        return _caret(partial)
    return _primitive(operator, partial)


def _primitive(operator: str, partial: Partial) -> list[str]:
    """``<``, ``<=``, ``>``, ``>=`` or exact, where a partial version is an x-range."""
    major, minor, patch, pre = partial
    if operator in ("", "=") and patch is not None:
        return [f"=={_floor(partial)}"]
    if operator in ("", "="):  # "1.2" is the x-range 1.2.x
        return _at_least(partial) + _up_to(partial)
    if operator == ">=":
        return _at_least(partial)
    if operator == "<=":
        return _up_to(partial)
    if major is None:  # ">*" and "<*": no version is above or below every version
        return [_NOTHING]
    if patch is None:  # ">1.2" is ">=1.3.0"; "<1.2" is "<1.2.0"
        return [f">={_next(partial)}"] if operator == ">" else [f"<{_floor(partial)}"]
    return [f"{operator}{major}.{minor}.{patch}{pre}"]


def _tilde(partial: Partial) -> list[str]:
    """``~1.2.3`` allows patch updates: ``>=1.2.3,<1.3.0``; ``~1`` is ``1.x``."""
    major, minor, _, _ = partial
    if major is None or minor is None:
        return _at_least(partial) + _up_to(partial)
    return [*_at_least(partial), f"<{major}.{minor + 1}.0"]


def _caret(partial: Partial) -> list[str]:
    """``^`` allows changes that keep the left-most non-zero part: ``^0.2.3`` is ``<0.3.0``."""
    major, minor, patch, _ = partial
    if major is None or minor is None or major > 0:
        upper = f"<{major + 1}.0.0" if major is not None else None
    elif patch is None or minor > 0:
        upper = f"<0.{minor + 1}.0"
    else:
        upper = f"<0.0.{patch + 1}"
    return _at_least(partial) + ([upper] if upper else [])


def _at_least(partial: Partial) -> list[str]:
    """The lower bound of a partial: ``1.2`` → ``>=1.2.0``; ``*`` → none."""
    return [] if partial[0] is None else [f">={_floor(partial)}"]


def _up_to(partial: Partial) -> list[str]:
    """The upper bound of a partial: ``1.2`` → ``<1.3.0``; ``1.2.3`` → ``<=1.2.3``."""
    if partial[0] is None:
        return []
    if partial[2] is None:
        return [f"<{_next(partial)}"]
    return [f"<={_floor(partial)}"]


def _floor(partial: Partial) -> str:
    major, minor, patch, pre = partial
    return f"{major or 0}.{minor or 0}.{patch or 0}{pre}"


def _next(partial: Partial) -> str:
    """The first version above an x-range: ``1`` → ``2.0.0``, ``1.2`` → ``1.3.0``."""
    major, minor, _, _ = partial
    if minor is None:
        return f"{(major or 0) + 1}.0.0"
    return f"{major}.{minor + 1}.0"
