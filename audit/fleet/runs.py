"""Find the run folders under an output location, read what their ``run.json`` says, and choose
the runs of a roll-up (each host's newest, or every run since a time).

Only ``run.json`` is read here, never a table: it names the run's hosts, its start time, its exit
code and each host's upgrade target, which is all that choosing the runs of a roll-up needs.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow.fs as pafs

from audit.errors import InputError
from audit.fleet.files import read_columns, read_run_json
from audit.fleet.rundoc import decode_run_json
from audit.fleet.shares import LOCAL_WORKERS, in_shares
from audit.report.storage import Location, translating
from audit.report.tables import to_utc

__all__ = [
    "FLEET_FOLDER",
    "REPORT_FILES",
    "FoundRuns",
    "IncompleteRun",
    "Pick",
    "RunInfo",
    "find_runs",
    "newest_runs",
    "pick",
]

#: The folder under OUTPUT that holds roll-ups; it is never taken for a run.
FLEET_FOLDER = "fleet"
#: The files of a run folder besides ``run.json``; any one of them makes a folder a run.
REPORT_FILES = frozenset(
    f"{stem}.{ext}" for stem in ("nodes", "findings", "requirements") for ext in ("parquet", "csv")
)
_RUN_ID_TIME = re.compile(r"(\d{8}T\d{6}Z)")
#: run.json files read at once from an object store, where each is one request.
_REMOTE_READERS = 16


@dataclass(frozen=True)
class RunInfo:
    """Represents one complete run as its ``run.json`` describes it."""

    run_id: str
    folder: Location
    started_at: datetime
    exit_code: int
    targets: Mapping[str, str | None]
    """Each host of the run → the ComfyUI version its upgrade was checked against, if any."""
    listed: frozenset[str] | None = None
    """Names of the files in the run folder, if finding the runs listed them; else `files`
    lists them when first asked (only the chosen runs' are)."""

    @functools.cached_property
    def files(self) -> frozenset[str]:
        """Names of the (regular) files in the run folder."""
        if self.listed is not None:
            return self.listed
        with translating(self.folder.display, "cannot list the run", InputError):
            return _local_files(self.folder.path)

    def table(self, stem: str) -> Location:
        """The Parquet file ``stem`` of this run.

        :raises InputError: if the run folder has no such file.
        """
        name = f"{stem}.parquet"
        if name not in self.files:
            raise InputError(f"{self.folder.join(name).display}: missing from a complete run")
        return self.folder.join(name)


@dataclass(frozen=True)
class IncompleteRun:
    """Represents a run folder without ``run.json``: an interrupted or unfinished write."""

    run_id: str
    started_at: datetime | None
    """From the run id, which starts with the start time; ``None`` when it does not."""
    hosts: tuple[str, ...] | None
    """The hosts its ``nodes.parquet`` names, when that file is there and readable."""


@dataclass(frozen=True)
class FoundRuns:
    """Represents every run folder under an output location."""

    complete: tuple[RunInfo, ...]
    incomplete: tuple[IncompleteRun, ...]


def _folders(root: Location) -> dict[str, frozenset[str] | None]:
    """Return each child folder of ``root`` that may be a run → the names of its files, or
    ``None`` for a local folder with a ``run.json``, whose files are not listed yet."""
    if root.local:
        with translating(root.display, "cannot list the runs", InputError):
            return _local_folders(root.path)
    selector = pafs.FileSelector(root.path, recursive=True)
    with translating(root.display, "cannot list the runs", InputError):
        infos = root.filesystem.get_file_info(selector)
    prefix = root.path.rstrip("/") + "/"
    folders: dict[str, set[str]] = defaultdict(set)
    for info in infos:
        parts = info.path[len(prefix) :].split("/")
        if len(parts) != 2 or parts[0] == FLEET_FOLDER or parts[0].startswith("."):
            continue  # NOTE: ".<id>.partial-*" folders are local writes still in progress.
        if info.type == pafs.FileType.File:
            folders[parts[0]].add(parts[1])
    return {name: frozenset(files) for name, files in folders.items()}


def _local_files(path: str) -> frozenset[str]:
    """The regular files of the folder at ``path``; symbolic links are not followed."""
    with os.scandir(path) as entries:
        return frozenset(e.name for e in entries if e.is_file(follow_symlinks=False))


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _local_folders(path: str) -> dict[str, frozenset[str] | None]:
    # NOTE: a folder with a run.json (as a regular file, not a link) is a complete run, known
    # from one lstat: listing each of 10,000 run folders cost more than reading its run.json.
    # The other folders are listed, to tell an interrupted run from a folder that is none.
    folders: dict[str, frozenset[str] | None] = {}
    with os.scandir(path) as children:
        runs = [c for c in children if c.is_dir(follow_symlinks=False)]
    for child in runs:
        if child.name == FLEET_FOLDER or child.name.startswith("."):
            continue  # NOTE: ".<id>.partial-*" folders are local writes still in progress.
        if _regular(os.path.join(child.path, "run.json")):
            folders[child.name] = None
        elif names := _local_files(child.path):
            folders[child.name] = names
    return folders


def _bad(where: str, key: str, kind: str) -> InputError:
    return InputError(f"{where}: {key!r} is missing or not {kind}")


def _string(document: Mapping[str, object], key: str, where: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(where, key, "a string")
    return value


def _integer(document: Mapping[str, object], key: str, where: str) -> int:
    value = document.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(where, key, "an integer")
    return value


def _time(document: Mapping[str, object], key: str, where: str) -> datetime:
    text = _string(document, key, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(where, key, "an ISO-8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _targets(document: Mapping[str, object], where: str) -> dict[str, str | None]:
    hosts = document.get("hosts")
    if not isinstance(hosts, dict) or not hosts:
        raise _bad(where, "hosts", "a non-empty object")
    targets: dict[str, str | None] = {}
    for host, profile in hosts.items():
        target = profile.get("target_comfyui") if isinstance(profile, dict) else None
        if not isinstance(profile, dict) or not isinstance(target, str | None):
            raise InputError(f"{where}: host {host!r} has no valid environment profile")
        targets[host] = target
    return targets


def _read_run(folder: Location, files: frozenset[str] | None) -> RunInfo:
    location = folder.join("run.json")
    where = location.display
    document = decode_run_json(read_run_json(location), where)
    return RunInfo(
        run_id=_string(document, "run_id", where),
        folder=folder,
        started_at=_time(document, "started_at", where),
        exit_code=_integer(document, "exit_code", where),
        targets=_targets(document, where),
        listed=files,
    )


def _incomplete_hosts(folder: Location, files: frozenset[str]) -> tuple[str, ...] | None:
    if "nodes.parquet" not in files:
        return None
    try:
        hosts = read_columns(folder.join("nodes.parquet"), ["host"])
    except InputError:
        return None  # NOTE: an unfinished write may well have left a truncated file.
    if "host" not in hosts.column_names:
        return None
    return tuple(sorted({h for h in hosts.column("host").to_pylist() if isinstance(h, str)}))


def _incomplete(folder: Location, files: frozenset[str]) -> IncompleteRun:
    run_id = folder.path.rsplit("/", 1)[-1]
    match = _RUN_ID_TIME.match(run_id)
    started = None
    if match is not None:
        started = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return IncompleteRun(run_id, started, _incomplete_hosts(folder, files))


def _read_runs(
    folders: Sequence[tuple[Location, frozenset[str] | None]],
) -> tuple[RunInfo, ...]:
    # NOTE: on an object store each run.json is a request of its own; a few in flight at once
    # turn 10,000 round trips into a few hundred. On a local disk parsing is most of the work.
    local = all(folder.local for folder, _ in folders)
    workers = LOCAL_WORKERS if local else _REMOTE_READERS
    return tuple(in_shares(lambda folder: _read_run(*folder), folders, workers))


def find_runs(root: Location) -> FoundRuns:
    """Return every run under ``root``: complete ones (with ``run.json``) and incomplete ones.

    ``root/fleet/`` and hidden folders are skipped; a folder with none of a run's files is not a
    run. Runs are returned by folder name.

    :raises InputError: if ``root`` does not exist or cannot be listed, or a ``run.json`` cannot
        be read or is not a run document.
    """
    if not root.exists():
        raise InputError(f"{root.display}: no such folder")
    folders = _folders(root)
    complete: list[tuple[Location, frozenset[str] | None]] = []
    incomplete: list[IncompleteRun] = []
    for name in sorted(folders):
        files = folders[name]
        if files is None or "run.json" in files:
            complete.append((root.join(name), files))
        elif files & REPORT_FILES:
            incomplete.append(_incomplete(root.join(name), files))
    return FoundRuns(_read_runs(complete), tuple(incomplete))


@dataclass(frozen=True)
class Pick:
    """One host of one chosen run."""

    run: RunInfo
    host: str

    @property
    def target(self) -> str | None:
        return self.run.targets[self.host]


def newest_runs(runs: Iterable[RunInfo]) -> dict[str, RunInfo]:
    """Each host's newest run (by start time, then run id)."""
    newest: dict[str, RunInfo] = {}
    for run in runs:
        for host in run.targets:
            best = newest.get(host)
            if best is None or (run.started_at, run.run_id) > (best.started_at, best.run_id):
                newest[host] = run
    return newest


def pick(runs: Sequence[RunInfo], since: datetime | None) -> list[Pick]:
    """The hosts of the runs to roll up: each host's newest, or every run since ``since``."""
    if since is None:
        picks = [Pick(run, host) for host, run in newest_runs(runs).items()]
    else:
        cutoff = to_utc(since)
        picks = [Pick(r, host) for r in runs if r.started_at >= cutoff for host in r.targets]
    return sorted(picks, key=lambda p: (p.host, p.run.started_at, p.run.run_id))
