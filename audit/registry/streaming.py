"""Version lists asked for one node at a time, each the moment it is known to be needed.

`VersionLister.list_versions_of` answers a whole set of ids at once; the advisor learns which
packs need their list one pack at a time, while it judges their newest versions. A
`VersionStreamSource` lets it ask for each list at once and judge while the lists come in:
``ask(node_id)`` starts the request and returns its `Future`. The requests, the cache and
the answers are those of `list_versions_of`; only when each is sent changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, runtime_checkable

from audit.registry.interface import FetchedVersions, VersionLister

__all__ = ["AskVersions", "VersionStreamSource", "answered", "version_stream"]

AskVersions = Callable[[str], "Future[FetchedVersions]"]
"""Starts listing one node's versions (unless it is known already) and returns the answer to be."""


@runtime_checkable
class VersionStreamSource(Protocol):
    """A version lister that can list node by node as the ids come (`HttpRegistry`, the cache)."""

    def stream_versions(
        self, candidates: Sequence[str] = ()
    ) -> AbstractContextManager[AskVersions]:
        """Lists asked for within the block; leaving it waits for every list asked.

        :param candidates: the ids that may be asked for (any case), so that what is known
            of them can be read at once; others may be asked too.
        """
        ...


@contextmanager
def version_stream(lister: VersionLister, candidates: Sequence[str] = ()) -> Iterator[AskVersions]:
    """``lister``'s stream; for a lister that has none, each list is asked when asked for, as a
    `list_versions_of` of that one id (mirror files and other local listers answer at once)."""
    if isinstance(lister, VersionStreamSource):
        with lister.stream_versions(candidates) as ask:
            yield ask
        return

    def ask_one(node_id: str) -> Future[FetchedVersions]:
        return answered(FetchedVersions(lister.list_versions_of([node_id])[node_id]))

    yield ask_one


def answered(fetched: FetchedVersions) -> Future[FetchedVersions]:
    """A future that holds ``fetched`` already."""
    future: Future[FetchedVersions] = Future()
    future.set_result(fetched)
    return future
