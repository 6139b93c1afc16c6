"""Read manifest files: pick the reader for the format, apply the host rule, gather problems."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from audit.errors import ManifestError, Problem
from audit.manifest.csvlist import read_csv
from audit.manifest.detect import detect_format, looks_like_json
from audit.manifest.interface import Context, Malformed, ManifestFormat, Problems
from audit.manifest.jsonlist import read_json
from audit.manifest.jsontree import parse_json
from audit.manifest.snapshot import is_snapshot, read_snapshot
from audit.manifest.source import load_text
from audit.manifest.text import read_text
from audit.model import Manifest

__all__ = ["read_manifest", "read_manifests"]


def _read_json(text: str, ctx: Context, format: ManifestFormat) -> Manifest:
    # NOTE: parsed once; the tree tells a snapshot from a list, as detect_format does.
    tree = parse_json(text)
    if format is ManifestFormat.SNAPSHOT or (format is ManifestFormat.AUTO and is_snapshot(tree)):
        return read_snapshot(tree, ctx, "snapshot-json")
    return read_json(tree, ctx)


#: File names that say what a manifest is; content detection is for the others.
_YAML_SUFFIXES = (".yaml", ".yml")


def _parse(text: str, ctx: Context, format: ManifestFormat) -> Manifest:
    """:raises Malformed: for a problem that stops reading the whole file."""
    suffix = Path(ctx.path).suffix.lower()
    if format is ManifestFormat.AUTO and suffix in _YAML_SUFFIXES:
        return _read_yaml(text, ctx)
    if format is ManifestFormat.AUTO and suffix == ".json":
        return _read_json(text, ctx, format)
    if format in (ManifestFormat.AUTO, ManifestFormat.SNAPSHOT) and looks_like_json(text):
        return _read_json(text, ctx, format)
    if format is ManifestFormat.AUTO:
        format = detect_format(text)
    match format:
        case ManifestFormat.TEXT:
            return read_text(text, ctx)
        case ManifestFormat.CSV:
            return read_csv(text, ctx)
        case ManifestFormat.JSON:
            return _read_json(text, ctx, format)
        case _:
            return _read_yaml(text, ctx)


def _read_yaml(text: str, ctx: Context) -> Manifest:
    # NOTE: imported here: PyYAML takes 0.01 s to load, and most runs read JSON snapshots only.
    from audit.manifest.yamltree import parse_yaml

    return read_snapshot(parse_yaml(text), ctx, "snapshot-yaml")


def _is_empty(manifest: Manifest) -> bool:
    # NOTE: a snapshot of nothing is a valid snapshot; an empty list is a mistake.
    return not manifest.entries and not manifest.format.startswith("snapshot")


def _read(path: Path, ctx: Context, format: ManifestFormat) -> Manifest:
    """:raises Malformed: for a problem that stops reading the whole file."""
    text = load_text(path)
    if not text.strip():
        raise Malformed("no entries")
    manifest = _parse(text, ctx, format)
    if _is_empty(manifest) and not ctx.problems.items:
        raise Malformed("no entries")
    return manifest


def read_manifest(
    path: str | Path,
    *,
    host: str | None = None,
    format: ManifestFormat = ManifestFormat.AUTO,
) -> Manifest:
    """Return the manifest at ``path``, in the format given, else the one its name says
    (``.yaml``/``.yml`` YAML, ``.json`` JSON), else the one its content shows.

    :param host: the host of every entry; default the file's stem. A CSV ``host`` column or a
        JSON ``host`` key wins over it.
    :raises ManifestError: carrying every problem found in the file.
    """
    where = str(path)
    ctx = Context(where, host or Path(path).stem, Problems(where))
    try:
        manifest = _read(Path(path), ctx, ManifestFormat(format))
    except Malformed as e:
        ctx.problems.add(e.message, e.line)
        raise ManifestError(ctx.problems.all()) from None
    ctx.problems.raise_if_any()
    return manifest


def read_manifests(
    paths: Sequence[str | Path],
    *,
    host: str | None = None,
    format: ManifestFormat = ManifestFormat.AUTO,
) -> list[Manifest]:
    """Return the manifests at ``paths``, in order, reading every file before failing.

    ``host`` applies when there is exactly one manifest; with several, each takes its file stem.

    :raises ManifestError: carrying the problems of every bad file at once.
    """
    single_host = host if len(paths) == 1 else None
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            manifests.append(read_manifest(path, host=single_host, format=format))
        except ManifestError as e:
            problems.extend(e.problems)
    if problems:
        raise ManifestError(problems)
    return manifests
