"""Read the requirement lines a pack states, as pip reads them, into PEP 508 requirements.

A line becomes a `RequirementLine` (a PEP 508 requirement, or a URL that pip would install,
recorded as unpinned) or an `InvalidLine` (a pip option such as ``-r other.txt``, a pasted
comment, or text that is not PEP 508, such as ``numpy<1.24>=1.18``). Parsing never raises.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

__all__ = [
    "InvalidLine",
    "Line",
    "RequirementLine",
    "RequirementSource",
    "file_lines",
    "parse_line",
]

# NOTE: pip's rule: a "#" at the start of a line or after whitespace starts a comment, so
# "git+https://host/repo#egg=name" keeps its fragment.
_COMMENT = re.compile(r"(?:^|\s+)#.*$", re.DOTALL)
# The options pip accepts after a requirement on the same line; they do not change what is required.
_PER_REQUIREMENT_OPTIONS = re.compile(
    r"\s+--(?:hash|config-settings|global-option|install-option)\b.*$", re.DOTALL
)
_URL = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://|(?:git|hg|svn|bzr)\+|file:)")
_PATH = re.compile(r"\.{1,2}[/\\]|/|~|[A-Za-z]:[/\\]")
_ARCHIVE = re.compile(r"\S+\.(?:whl|zip|tar\.gz|tgz|tar\.bz2)", re.IGNORECASE)
_EGG = re.compile(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_URL_MARKER = re.compile(r"\s+;\s*")


class RequirementSource(enum.StrEnum):
    """Represents where a requirement line was read."""

    REGISTRY = "registry"
    """The registry's ``dependencies`` of the pack's version."""
    LOCAL = "local"
    """The pack's own ``requirements.txt`` or ``[project].dependencies``."""


@dataclass(frozen=True)
class RequirementLine:
    """Represents a line that names what to install: a PEP 508 requirement, or a URL."""

    text: str
    """The line as written, without surrounding whitespace."""
    source: RequirementSource
    distribution: NormalizedName | None
    """The canonical name (``opencv_python`` → ``opencv-python``); ``None`` for a URL that does
    not say which distribution it installs."""
    specifier: SpecifierSet | None
    """The version range; ``None`` when any version will do (no range, or a URL)."""
    marker: Marker | None
    url: str | None = None

    @functools.cached_property
    def specifier_text(self) -> str:
        """The range as `SpecifierSet` writes it, made once: a fleet compares it many times."""
        return str(self.specifier) if self.specifier is not None else ""

    @functools.cached_property
    def marker_text(self) -> str | None:
        """The marker as `Marker` writes it, made once; ``None`` when the line has none."""
        return str(self.marker) if self.marker else None


@dataclass(frozen=True)
class InvalidLine:
    """Represents a line that is not a requirement pip would install as a PEP 508 one."""

    text: str
    source: RequirementSource
    reason: str
    """Why, in a few lower-case words."""


Line = RequirementLine | InvalidLine


def file_lines(lines: Iterable[str]) -> Iterator[str]:
    """Yield the logical lines of a ``requirements.txt``: blank and comment-only lines dropped,
    lines ending in a backslash joined with the next one, as pip does.

    >>> list(file_lines(["# base", "", "numpy \\\\", "  <2", "torch"]))
    ['numpy <2', 'torch']
    """
    pending: list[str] = []
    for raw in lines:
        line = raw.strip()
        # NOTE: as in pip, a comment line ending in a backslash continues nothing.
        if line.endswith("\\") and not line.startswith("#"):
            pending.append(line[:-1].strip())
            continue
        yield from _logical(" ".join([*pending, line]))
        pending = []
    yield from _logical(" ".join(pending))


def _logical(line: str) -> Iterator[str]:
    if _COMMENT.sub("", line).strip():
        yield line.strip()


# NOTE: a fleet repeats the same lines on every host, and the result is immutable.
@functools.lru_cache(maxsize=1 << 16)
def parse_line(text: str, source: RequirementSource) -> Line:
    """Parse one requirement as pip would, after dropping an inline ``# comment``.

    :param text: the line as written; a whole-line comment or blank text is an `InvalidLine`
        (callers drop those from a requirements file first, with `file_lines`).

    >>> parse_line("opencv_python>=4.7 # cv2", RequirementSource.LOCAL).distribution
    'opencv-python'
    >>> parse_line("numpy<1.24>=1.18", RequirementSource.LOCAL).reason[:40]
    'not PEP 508 (expected comma (within vers'
    """
    written = text.strip()
    body = _PER_REQUIREMENT_OPTIONS.sub("", _COMMENT.sub("", written)).strip()
    if not body:
        reason = "a comment, not a requirement" if written else "an empty requirement"
        return InvalidLine(written, source, reason)
    if body.startswith("-"):
        option = body.split(maxsplit=1)[0]
        return InvalidLine(written, source, f"a pip option ({option}), not a requirement")
    # NOTE: pip installs a line that looks like a path or an archive as a file, even when it
    # would also parse as a name ("pkg-1.0-py3-none-any.whl").
    if _URL.match(body) or _PATH.match(body) or _ARCHIVE.fullmatch(body):
        return _url_line(written, body, source)
    try:
        requirement = Requirement(body)
    except InvalidRequirement as e:
        return InvalidLine(written, source, _reason(e))
    return RequirementLine(
        text=written,
        source=source,
        distribution=canonicalize_name(requirement.name),
        specifier=requirement.specifier if len(requirement.specifier) else None,
        marker=requirement.marker,
        url=requirement.url,
    )


def _url_line(written: str, body: str, source: RequirementSource) -> Line:
    """A bare URL or path, as pip accepts it; named only by an ``#egg=`` fragment."""
    url, *rest = _URL_MARKER.split(body, maxsplit=1)
    marker_text = rest[0] if rest else ""
    try:
        marker = Marker(marker_text) if marker_text else None
    except InvalidMarker as e:
        return InvalidLine(written, source, _reason(e))
    egg = _EGG.search(url)
    name = canonicalize_name(egg[1]) if egg else None
    return RequirementLine(written, source, name, None, marker, url)


def _reason(error: ValueError) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"not PEP 508 ({first[:1].lower()}{first[1:]})"
