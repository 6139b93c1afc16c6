"""Choose, for each installed pack that needs it, the newest version that passes every check.

The candidates are the node's versions that are Active, not deprecated and, unless asked for,
not pre-releases; the newest that the checks find nothing against (at warning or above) in the
host's environment, with the upgrade targets when given, is the recommendation, even when it is
older than the installed one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

from audit.advisor.explain import Shortlist, explain
from audit.advisor.interface import Recommendation, counts, is_trigger
from audit.advisor.judge import CandidateJudge, clean
from audit.advisor.newest import NewestLookup, known_records, newest_records, without_active
from audit.advisor.ordering import order_versions, same_version, version_order
from audit.checks.status import status_name
from audit.model import (
    VERSION_PATTERN,
    AuditedEntry,
    Environment,
    Failed,
    LookupResult,
    NodeKey,
    NodeVersion,
)
from audit.registry.interface import FetchedVersions, VersionLister, VersionListing
from audit.registry.streaming import VersionStreamSource, version_stream

__all__ = ["BANNED_PACK", "advice_targets", "advise", "needs_advice", "recommend"]

_NOT_LISTED = Failed("the node's versions were not listed")
#: Findings no version clears: the registry banned the whole pack, or its publisher.
_PACK_BANS = frozenset({"node.banned", "publisher.banned"})
BANNED_PACK = "the pack is banned; remove it"


def needs_advice(audited: AuditedEntry, env: Environment | None = None) -> bool:
    """Whether ``audited`` calls for another version.

    It does when it is an enabled registry (or local) pack with a version, and it has a finding
    at warning or above, not waived, from the status, security, OS, accelerator, ComfyUI or
    frontend checks, or a dependency conflict. Registry answers and ``*.spec-invalid`` do not
    count (DESIGN.md "Advisor").

    :param env: the host's environment; with an upgrade target in it, ComfyUI and frontend
        findings count only about the target, since that is the environment being planned.
    """
    entry = audited.entry
    if entry.disabled or entry.problem is not None or entry.key is None:
        return False
    return _pack_banned(audited) or any(
        is_trigger(f.check) and counts(f, env) for f in audited.findings
    )


def _pack_banned(audited: AuditedEntry) -> bool:
    return any(f.check in _PACK_BANS and not f.waived for f in audited.findings)


def advice_targets(
    audited: Sequence[AuditedEntry], environments: Mapping[str, Environment]
) -> list[str]:
    """The node ids whose versions `advise` needs: those of entries that need advice, once each
    (ids compare case-insensitively; the first spelling is kept), in run order."""
    return _targets(_needing(audited, environments))


def _needing(
    audited: Sequence[AuditedEntry], environments: Mapping[str, Environment]
) -> list[AuditedEntry]:
    """The entries that `needs_advice`, in run order."""
    return [a for a in audited if needs_advice(a, environments[a.entry.host])]


def _targets(needing: Sequence[AuditedEntry]) -> list[str]:
    """The node ids of ``needing`` whose versions are needed, as `advice_targets` says."""
    ids: dict[str, str] = {}
    for a in needing:
        if not _pack_banned(a):
            ids.setdefault(a.entry.node_id.lower(), a.entry.node_id)
    return list(ids.values())


def advise(
    audited: Sequence[AuditedEntry],
    versions: Mapping[str, VersionListing],
    environments: Mapping[str, Environment],
    *,
    allow_prerelease: bool = False,
) -> tuple[Recommendation, ...]:
    """Return one recommendation per entry that `needs_advice`, in run order.

    An entry whose best version is the one installed (the registry's record changed since the
    lookup, say) gets none: there is nothing to change.

    :param audited: every entry of the run, not only those to advise: a candidate must not
        conflict with the pip requirements of the other packs on its host.
    :param versions: node id (any case) → its version list, as `VersionLister` gives it; a
        node left out counts as a list that failed.
    :param environments: host → the environment its entries were checked against.
    :param allow_prerelease: whether pre-releases (``1.0.0-beta.9``) may be recommended.
    :raises KeyError: for an entry whose host is not in ``environments``.
    """
    lists = {node_id.lower(): listing for node_id, listing in versions.items()}
    needing = _needing(audited, environments)
    judge = CandidateJudge(audited)
    return _advise_as_listed(needing, lists, {}, environments, judge, allow_prerelease)


def recommend(
    lister: VersionLister,
    audited: Sequence[AuditedEntry],
    environments: Mapping[str, Environment],
    *,
    allow_prerelease: bool = False,
    newest: NewestLookup | None = None,
    judge: CandidateJudge | None = None,
) -> tuple[Recommendation, ...]:
    """List the versions of the nodes that need advice (only those, each once), then `advise`.

    Each list is asked for the moment it is known to be needed, and each pack is judged as its
    list comes in (`audit.registry.streaming`), so the requests overlap the judging; the
    recommendations are those of `advise`, in run order.

    :param newest: the registry's bulk lookup, given when the entries carry their packs' Node
        records: a pack whose newest Active version is its first candidate and passes on every
        host is settled by that version alone, and one whose Node names no Active version by
        the versions the run holds (`audit.advisor.newest`); only the rest are listed. The
        recommendations are the same either way.
    :param judge: judges the candidates; a caller that advises a run's hosts in parts keeps one
        for them all, so that what their hosts share is judged once. It must have been made
        with every entry of ``audited``'s hosts.
    """
    needing = _needing(audited, environments)
    node_ids = _targets(needing)
    judge = judge or CandidateJudge(audited)
    if newest is None and not isinstance(lister, VersionStreamSource):
        # NOTE: a lister without a stream (a mirror file) answers at once: asked together, its
        # lists need no future each.
        lists = {n.lower(): listing for n, listing in lister.list_versions_of(node_ids).items()}
        return _advise_as_listed(needing, lists, {}, environments, judge, allow_prerelease)
    with version_stream(lister, node_ids) as ask:
        asked: dict[str, Future[FetchedVersions]] = {}

        def ask_once(node_id: str) -> None:
            if node_id.lower() not in asked:
                asked[node_id.lower()] = ask(node_id)

        settled = (
            _settled_by_newest(
                newest, audited, needing, environments, node_ids, judge, allow_prerelease, ask_once
            )
            if newest is not None and node_ids
            else {}
        )
        for node_id in node_ids:
            if node_id.lower() not in settled:
                ask_once(node_id)
        return _advise_as_listed(needing, settled, asked, environments, judge, allow_prerelease)


def _settled_by_newest(
    newest: NewestLookup,
    audited: Sequence[AuditedEntry],
    needing: Sequence[AuditedEntry],
    environments: Mapping[str, Environment],
    node_ids: Sequence[str],
    judge: CandidateJudge,
    allow_prerelease: bool,
    unsettled: Callable[[str], None],
) -> dict[str, VersionListing]:
    """The packs whose newest Active version is the answer on every host that needs advice,
    each with that version as its whole list; and those with no Active version at all, each
    with the versions the run holds (nothing is judged: the answer is "no Active version").

    :param unsettled: told each pack (its id as ``node_ids`` spells it) the moment it is known
        not to be settled here, so that its list can be asked for while the rest are judged.
    """
    known = known_records(audited)
    settled: dict[str, VersionListing] = dict(without_active(audited, node_ids, known))
    pending = [node_id for node_id in node_ids if node_id.lower() not in settled]
    spelled = {node_id.lower(): node_id for node_id in pending}
    # NOTE: the newest versions the run looked up already are judged while the others are
    # fetched (`newest_records` decides each pack on its own, so the two parts make the whole).
    held = newest_records(_nothing, audited, pending, known) if pending else {}
    rest = [node_id for node_id in pending if node_id.lower() not in held]

    def failed(lower: str) -> None:
        unsettled(spelled[lower])

    with ThreadPoolExecutor(1, thread_name_prefix="newest") as pool:
        fetching = pool.submit(newest_records, newest, audited, rest, known) if rest else None
        passes = _newest_passes(held, needing, environments, judge, allow_prerelease, failed)
        fetched = fetching.result() if fetching is not None else {}
    for node_id in rest:
        if node_id.lower() not in fetched:
            unsettled(node_id)
    passes |= _newest_passes(fetched, needing, environments, judge, allow_prerelease, failed)
    records = held | fetched
    return settled | {lower: (records[lower],) for lower, ok in passes.items() if ok}


def _nothing(keys: Sequence[NodeKey]) -> Mapping[NodeKey, LookupResult]:
    """A lookup that answers nothing: `newest_records` then gives the versions the run holds."""
    return {}


def _newest_passes(
    records: Mapping[str, NodeVersion],
    needing: Sequence[AuditedEntry],
    environments: Mapping[str, Environment],
    judge: CandidateJudge,
    allow_prerelease: bool,
    failed: Callable[[str], None],
) -> dict[str, bool]:
    """Whether each pack of ``records`` (by lower-cased id) has its newest version as the answer
    on each of ``needing`` (the entries that need advice); ``failed`` is told each pack the
    moment it has not."""
    passes: dict[str, bool] = {}
    for a in needing:
        lower = a.entry.node_id.lower()
        env = environments[a.entry.host]
        if lower not in records or not passes.get(lower, True) or _pack_banned(a):
            continue
        # NOTE: a one-version list whose version is no candidate gives no version here.
        answer = _advise_one(a, (records[lower],), env, judge, allow_prerelease)
        passes[lower] = answer is None or answer.recommended_version is not None
        if not passes[lower]:
            failed(lower)
    return passes


def _advise_as_listed(
    needing: Sequence[AuditedEntry],
    settled: Mapping[str, VersionListing],
    asked: Mapping[str, Future[FetchedVersions]],
    environments: Mapping[str, Environment],
    judge: CandidateJudge,
    allow_prerelease: bool,
) -> tuple[Recommendation, ...]:
    """The recommendations of `advise` for the entries ``needing`` advice, with the lists
    ``settled`` and those ``asked`` for (by lower-cased id; a pack in neither counts as a list
    that failed): the packs whose list is at hand are judged first, the others as their lists
    come in."""
    wanting: dict[str, list[int]] = {}
    for index, a in enumerate(needing):
        wanting.setdefault(a.entry.node_id.lower(), []).append(index)
    answers: dict[int, Recommendation | None] = {}

    def advise_pack(lower: str, listing: VersionListing) -> None:
        for index in wanting.get(lower, ()):
            a = needing[index]
            env = environments[a.entry.host]
            answers[index] = _advise_one(a, listing, env, judge, allow_prerelease)

    for lower in wanting.keys() - asked.keys():
        advise_pack(lower, settled.get(lower, _NOT_LISTED))
    by_future = {future: lower for lower, future in asked.items()}
    for future in as_completed(by_future):
        advise_pack(by_future[future], future.result().result)
    return tuple(r for _, r in sorted(answers.items()) if r is not None)


def _advise_one(
    audited: AuditedEntry,
    listing: VersionListing,
    env: Environment,
    judge: CandidateJudge,
    allow_prerelease: bool,
) -> Recommendation | None:
    # NOTE: a pack settled by its newest version is asked the same question twice, with a list
    # of that one record: once to settle it, once to answer.
    versions = listing if isinstance(listing, Failed) else tuple(map(id, listing))
    return judge.remembered(
        (id(audited), versions, allow_prerelease),
        (audited, listing),
        lambda: _answer(audited, listing, env, judge, allow_prerelease),
    )


def _answer(
    audited: AuditedEntry,
    listing: VersionListing,
    env: Environment,
    judge: CandidateJudge,
    allow_prerelease: bool,
) -> Recommendation | None:
    entry = audited.entry
    triggers = sorted({f.check for f in audited.findings if is_trigger(f.check) and counts(f, env)})

    def recommendation(
        version: str | None, blocked_by: tuple[str, ...], installs: tuple[str, ...] = ()
    ) -> Recommendation:
        clears = tuple(triggers) if version is not None else ()
        return Recommendation(
            entry.host, entry.node_id, entry.version, version, clears, blocked_by, installs
        )

    if _pack_banned(audited):
        # NOTE: no version of a banned pack is safe, so none is looked for.
        return recommendation(None, (BANNED_PACK,))
    if isinstance(listing, Failed):
        reason = clean(listing.reason, limit=200)
        return recommendation(None, (f"versions list unavailable: {reason}",))
    shortlist = _shortlist(listing, allow_prerelease)
    judged = []
    for candidate in shortlist.candidates:
        judgement = judge.judge(
            audited, candidate, env, must_clear_conflict="dependency.conflict" in triggers
        )
        if not judgement.blocked_by:
            if entry.version is not None and same_version(candidate.version, entry.version):
                return None
            return recommendation(candidate.version, (), judgement.installs)
        judged.append(judgement.blocked_by)
    return recommendation(None, explain(shortlist, judged))


# NOTE: a fleet advises the same pack on many hosts; a listing is a tuple, so it can be a key.
@functools.lru_cache(maxsize=4096)
def _shortlist(listing: Sequence[NodeVersion], allow_prerelease: bool) -> Shortlist:
    """The versions worth judging, newest first, and what was passed over on the way."""
    active = [nv for nv in order_versions(listing) if _is_active(nv)]
    current = [nv for nv in active if not nv.deprecated]
    usable = [nv for nv in current if _is_usable(nv.version)]
    stable = [nv for nv in usable if allow_prerelease or version_order(nv.version).final]
    return Shortlist(
        listed=len(listing),
        active=len(active),
        deprecated=len(current) < len(active),
        prerelease=len(stable) < len(usable),
        candidates=tuple(stable),
    )


def _is_active(node_version: NodeVersion) -> bool:
    return node_version.status is not None and status_name(node_version.status) == "active"


def _is_usable(version: str) -> bool:
    # NOTE: a version that is no version (`nightly`) or unsafe in a command is never offered.
    return version_order(version).parsed and VERSION_PATTERN.fullmatch(version) is not None
