"""Run a share of pure work in a forked process beside this one, on a processor to spare.

A fleet's per-host work is Python, bound to one processor; machines have more. `beside` starts
work in a child made by ``fork``: a copy of this process, so the work reads the run's objects as
they are, and nothing is sent to it. Only its result comes back, pickled over a pipe.

Work is shared in parts: `in_chunks_later` cuts it in chunks, which the child takes one by one
from the first while this process goes on to other work, and this process takes from the last
when it asks for the results, so that the two end together however long each chunk and this
process's other work take (`Pending` makes such results a sequence read when first needed).
`in_chunks` does the same around one piece of other work.

Only pure work may go there: work that changes nothing this process will see, and may read files
of its own, but must not use the files, sockets or database connections this process holds, nor
print. Where forking is not safe (not Linux, one processor, or other threads running, whose locks
a child would inherit held), the work runs here instead, when its result is asked for. A child
that fails in any way (its work raised, it was killed) costs only time: the work then runs here,
and raises here if it must.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from audit.cpus import processors
from audit.lazy import finish_preloads

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

__all__ = [
    "Background",
    "Chunked",
    "Pending",
    "beside",
    "held_bytes",
    "in_chunks",
    "in_chunks_later",
    "only_here",
    "started",
    "stop_children",
]

_M = TypeVar("_M")
_R = TypeVar("_R")
_T = TypeVar("_T")


def held_bytes() -> int:
    """The most memory this process has held so far: what a child may come to hold as well,
    when this process writes to every page after forking it (0 where no child is forked)."""
    if processors() < 2:
        return 0
    import resource  # NOTE: Unix only; processors() is 1 elsewhere.

    # NOTE: Linux gives kibibytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Background(Generic[_R]):
    """Work started by `beside`, and its forked child if it has one."""

    def __init__(self, work: Callable[[], _R], child: tuple[BaseProcess, Connection] | None):
        self._work = work
        self._child = child

    def result(self) -> _R:
        """The work's result: the child's, or the work's run here when there is no child or the
        child gave none."""
        child, self._child = self._child, None
        if child is None:
            return self._work()
        outcome = _received(*child)
        return cast("_R", outcome[0]) if outcome is not None else self._work()

    def abandon(self) -> None:
        """Stop the child, if there is one, without its result."""
        child, self._child = self._child, None
        if child is not None:
            process, connection = child
            connection.close()
            _stop(process)


def started(work: Callable[[], _R], *, fork: bool = True) -> Background[_R]:
    """Start ``work`` in a forked process when ``fork`` asks for one and one can run beside this
    one; `Background.result` gives its result either way, and `Background.abandon` stops it."""
    child = _fork(work) if fork and processors() > 1 and _alone() else None
    return Background(work, child)


@contextmanager
def beside(work: Callable[[], _R], *, fork: bool = True) -> Iterator[Background[_R]]:
    """`started` ``work``, whose child is stopped if its result was not asked for by the end of
    the block."""
    background = started(work, fork=fork)
    try:
        yield background
    finally:
        background.abandon()


def in_chunks(
    work: Callable[[Sequence[_T]], _R],
    items: Sequence[_T],
    chunk: int,
    meanwhile: Callable[[], _M],
) -> tuple[_M, list[_R]]:
    """``meanwhile()``, and the `in_chunks_later` results of ``work`` over ``items``: a child
    works through the chunks while this process does ``meanwhile``, and then this process
    takes the next chunks too, so that the two end together however long ``meanwhile`` takes.
    It follows the child from the first: what it reports counts the chunks in order."""
    chunked = in_chunks_later(work, items, chunk)
    try:
        return meanwhile(), chunked.results(from_last=False)
    finally:
        chunked.abandon()


def in_chunks_later(
    work: Callable[[Sequence[_T]], _R], items: Sequence[_T], chunk: int
) -> Chunked[_T, _R]:
    """``work`` of each chunk of ``items`` (``chunk`` items, the last fewer), begun now in a
    forked child when one can run: it takes the chunks one after another from the first.
    `Chunked.results` takes the rest from the last one back, here, until the two meet; this
    process may go on to other work before it asks, and the two still end together. ``work``
    must be pure, and each process keeps its own state from chunk to chunk."""
    parts = [items[start : start + chunk] for start in range(0, len(items), chunk)]
    return Chunked(work, parts, fork=len(parts) > 1 and processors() > 1)


class Chunked(Generic[_T, _R]):
    """The results of `in_chunks_later`, made by a child and by this process."""

    def __init__(
        self, work: Callable[[Sequence[_T]], _R], parts: Sequence[Sequence[_T]], *, fork: bool
    ) -> None:
        self._work, self._parts, self._forked = work, parts, fork
        self._claims = claims = _Claims(len(parts), shared=fork)
        # NOTE: the child pickles each result as it goes: when it ends, with this process, only
        # the bytes are left to send. Its work holds no reference to ``self``: no cycle then
        # keeps ``work``'s objects alive once the results are made.
        self._other = started(
            lambda: claims.work_through(lambda part: _pickled(work(part)), parts), fork=fork
        )

    def results(self, *, from_last: bool = True) -> list[_R]:
        """``work`` of each chunk, in order: those this process claims, and the child's; a
        chunk the child took but did not give back is done here.

        :param from_last: whether this process takes the chunks the child has not from the
            last one back (the child's next chunks then follow those it did, in its state), or
            after the child's, in order. Without a child, every chunk is taken in order.
        """
        backwards = from_last and self._forked
        mine = self._claims.work_through(self._work, self._parts, from_last=backwards)
        theirs = {index: pickle.loads(result) for index, result in self._other.result().items()}
        done = {**theirs, **mine}
        return [done[i] if i in done else self._work(part) for i, part in enumerate(self._parts)]

    def abandon(self) -> None:
        """Stop the child, if it is still working, without its results."""
        self._other.abandon()


def _pickled(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def only_here(report: Callable[..., None]) -> Callable[..., None]:
    """``report``, which does nothing when called in a forked child: a child must not print."""
    here = os.getpid()

    def reported(*args: object) -> None:
        if os.getpid() == here:
            report(*args)

    return reported


class _Claims:
    """The chunks of `in_chunks_later` taken so far from either end, counted in memory a child
    shares when ``shared``."""

    def __init__(self, count: int, *, shared: bool) -> None:
        self._ends: Any = _Unshared([0, count])
        if shared:
            # NOTE: imported only here: a run that never forks never pays for multiprocessing.
            import multiprocessing

            self._ends = multiprocessing.get_context("fork").Array("q", [0, count])

    def _claim(self, from_last: bool) -> int | None:
        with self._ends.get_lock():
            first, end = self._ends[0], self._ends[1]
            if first >= end:
                return None
            if from_last:
                self._ends[1] = end - 1
                return cast("int", end - 1)
            self._ends[0] = first + 1
            return cast("int", first)

    def work_through(
        self,
        work: Callable[[Sequence[_T]], _R],
        parts: Sequence[Sequence[_T]],
        *,
        from_last: bool = False,
    ) -> dict[int, _R]:
        """``work`` of each chunk this process claims, by chunk, until none is left."""
        results = {}
        while (index := self._claim(from_last)) is not None:
            results[index] = work(parts[index])
        return results


class _Unshared(list[int]):
    """Two ends no other process reads: their lock is no lock."""

    def get_lock(self) -> AbstractContextManager[None]:
        return nullcontext()


class Pending(Sequence[_T]):
    """A sequence whose items are made when first asked for, by a function that may wait for a
    child (`in_chunks_later`): a run's advice goes on in a child while this process writes the
    reports that do not need it. It compares, and pickles, as the tuple of its items."""

    def __init__(self, items: Callable[[], Sequence[_T]]) -> None:
        self._make: Callable[[], Sequence[_T]] | None = items
        self._items: tuple[_T, ...] = ()

    def _made(self) -> tuple[_T, ...]:
        # NOTE: made again when asked again after a failure: never empty for want of trying.
        if self._make is not None:
            self._items = tuple(self._make())
            self._make = None
        return self._items

    def __len__(self) -> int:
        return len(self._made())

    @overload
    def __getitem__(self, index: int) -> _T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[_T, ...]: ...
    def __getitem__(self, index: int | slice) -> _T | tuple[_T, ...]:
        return self._made()[index]

    def __iter__(self) -> Iterator[_T]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Pending):
            other = other._made()
        return isinstance(other, tuple) and self._made() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Pending({self._made()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple, (self._made(),)


def stop_children() -> None:
    """Stop every child still working, whose result no one asked for (a run that failed while
    its advice went on): the process is about to end."""
    # NOTE: only a process that forked has multiprocessing loaded.
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None:
        for process in multiprocessing.active_children():
            _stop(process)


def _alone() -> bool:
    """Whether this is the process's only thread, once the imports `audit.lazy.preload` started
    have finished (an import holds the import lock, which a child would inherit held)."""
    finish_preloads()
    return threading.active_count() == 1


def _fork(work: Callable[[], object]) -> tuple[BaseProcess, Connection]:
    # NOTE: imported only here: a run that never forks never pays for multiprocessing.
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(work, sending, os.getpid()), daemon=True)
    # NOTE: frozen, the objects of the moment are never traversed by the child's collector,
    # which would otherwise write to (and so copy) every page that holds one. Ctrl-C is held
    # while forking: the child ignores it (this process stops the child), and must not get it
    # before it can.
    gc.freeze()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        gc.unfreeze()
    sending.close()
    return process, receiving


def _child(work: Callable[[], object], sending: Connection, parent: int) -> None:
    _end_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # NOTE: a failure sends nothing; the parent then does the work itself and reports it there.
    try:
        sending.send((work(),))
    except BaseException:
        pass
    finally:
        sending.close()


#: prctl's option that has the kernel signal a process when its parent ends (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


def _end_with(parent: int) -> None:
    """Have the kernel kill this child when the process ``parent`` that forked it ends, however
    it ends (SIGKILL, the OOM killer): its work is of use to that process alone, and it may
    hold as much memory."""
    try:
        import ctypes  # NOTE: imported here, in the child: the run itself never needs it.

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # NOTE: the parent ended before the kernel was told.
        os._exit(1)


def _received(process: BaseProcess, connection: Connection) -> tuple[object] | None:
    """The child's result, or ``None`` when it ended without one."""
    try:
        outcome = connection.recv()
    except (EOFError, OSError):
        outcome = None
    except BaseException:
        _stop(process)
        raise
    finally:
        connection.close()
    process.join()
    return outcome if isinstance(outcome, tuple) else None


def _stop(process: BaseProcess) -> None:
    if process.is_alive():
        process.kill()
    process.join()
