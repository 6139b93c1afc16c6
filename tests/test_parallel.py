"""Work beside the process: in a forked child where one may run, else here; the same result."""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import cast

import pytest

from audit import lazy, parallel
from audit.lazy import preload

PARENT = os.getpid()
#: Opened by `test_a_preload_under_way_is_finished_first`.
GATE = threading.Event()


@pytest.fixture
def two_processors(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second processor, whatever the machine running the tests has, and no other thread.

    NOTE: the test session's own servers run in threads; the work forked here never meets them.
    """
    monkeypatch.setattr(parallel, "processors", lambda: 2)
    monkeypatch.setattr(parallel, "_alone", lambda: True)


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The pids of the children `beside` forked during the test."""
    started: list[int] = []
    fork = parallel._fork

    def counted(work: Callable[[], object]) -> tuple[BaseProcess, Connection]:
        child = fork(work)
        started.append(cast("int", child[0].pid))
        return child

    monkeypatch.setattr(parallel, "_fork", counted)
    yield started


def _pid() -> int:
    return os.getpid()


@pytest.mark.usefixtures("two_processors")
def test_work_runs_in_a_forked_child(forks: list[int]) -> None:
    with parallel.beside(_pid) as other:
        here = _pid()
        there = other.result()
    assert here == PARENT
    assert [there] == forks
    assert there != PARENT


@pytest.mark.usefixtures("two_processors")
def test_a_result_of_many_objects_comes_back_whole(forks: list[int]) -> None:
    rows = [(f"host-{n}", n, None, n % 2 == 0) for n in range(50_000)]
    with parallel.beside(lambda: rows) as other:
        assert other.result() == rows
    assert len(forks) == 1


@pytest.mark.usefixtures("two_processors")
def test_work_not_to_be_forked_runs_here_when_asked_for(forks: list[int]) -> None:
    calls: list[int] = []

    def work() -> int:
        calls.append(_pid())
        return len(calls)

    with parallel.beside(work, fork=False) as other:
        assert calls == []
        assert other.result() == 1
    assert calls == [PARENT]
    assert forks == []


def test_one_processor_runs_the_work_here(
    monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    monkeypatch.setattr(parallel, "processors", lambda: 1)
    with parallel.beside(_pid) as other:
        assert other.result() == PARENT
    assert forks == []


def test_no_child_is_forked_while_another_thread_runs(
    monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    # NOTE: a lock another thread holds would stay held in a child that never has that thread.
    monkeypatch.setattr(parallel, "processors", lambda: 2)
    release = threading.Event()
    waiting = threading.Thread(target=release.wait)
    waiting.start()
    try:
        with parallel.beside(_pid) as other:
            assert other.result() == PARENT
    finally:
        release.set()
        waiting.join()
    assert forks == []


def test_the_preloads_under_way_finish_before_a_fork(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # NOTE: the preload's import holds until `beside` waits for preloads.
    (tmp_path / "held_import.py").write_text(
        "from tests import test_parallel\ntest_parallel.GATE.wait()\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(parallel, "processors", lambda: 2)
    finish = lazy.finish_preloads

    def opened() -> None:
        GATE.set()
        finish()

    monkeypatch.setattr("audit.parallel.finish_preloads", opened)
    thread = preload("held_import")
    try:
        with parallel.beside(_pid, fork=True) as other:
            assert not thread.is_alive()
            other.result()
    finally:
        GATE.set()


class Boom(Exception):
    pass


@pytest.mark.usefixtures("two_processors")
def test_work_that_raises_in_the_child_raises_here(forks: list[int]) -> None:
    ran_in: list[int] = []

    def work() -> int:
        ran_in.append(_pid())
        raise Boom(f"raised in {_pid()}")

    with pytest.raises(Boom, match=f"raised in {PARENT}"), parallel.beside(work) as other:
        other.result()
    # NOTE: the child's attempt is in its own memory; here only the parent's shows.
    assert ran_in == [PARENT]
    assert len(forks) == 1


@pytest.mark.usefixtures("two_processors")
def test_a_child_that_is_killed_costs_only_time(forks: list[int]) -> None:
    def work() -> int:
        if _pid() != PARENT:
            os.kill(_pid(), signal.SIGKILL)
        return 42

    with parallel.beside(work) as other:
        assert other.result() == 42
    assert len(forks) == 1


@pytest.mark.usefixtures("two_processors")
def test_a_child_whose_result_is_not_asked_for_is_stopped(forks: list[int]) -> None:
    never = threading.Event()
    with parallel.beside(never.wait):
        pass
    (pid,) = forks
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@pytest.mark.usefixtures("two_processors")
@pytest.mark.parametrize(("count", "forked"), [(9, 1), (2, 0), (0, 0)])
def test_in_chunks_later_gives_every_chunk_s_result_in_order(
    count: int, forked: int, forks: list[int]
) -> None:
    def work(items: Sequence[int]) -> list[int]:
        return list(items)

    chunked = parallel.in_chunks_later(work, list(range(count)), 2)
    assert chunked.results() == [list(range(count))[i : i + 2] for i in range(0, count, 2)]
    assert len(forks) == forked


@pytest.mark.usefixtures("two_processors")
def test_the_child_leaves_ctrl_c_to_this_process(forks: list[int]) -> None:
    def handlers() -> tuple[object, bool]:
        return signal.getsignal(signal.SIGINT), signal.SIGINT in signal.pthread_sigmask(
            signal.SIG_BLOCK, set()
        )

    with parallel.beside(handlers) as other:
        assert other.result() == (signal.SIG_IGN, False)
    assert handlers() == (signal.default_int_handler, False)
    assert len(forks) == 1


def test_without_a_child_the_chunks_are_worked_through_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # NOTE: a run's progress counts the chunks as they are done.
    monkeypatch.setattr(parallel, "processors", lambda: 1)
    worked: list[int] = []

    def work(items: Sequence[int]) -> int:
        worked.append(items[0])
        return items[0]

    assert parallel.in_chunks_later(work, list(range(6)), 2).results() == [0, 2, 4]
    assert worked == [0, 2, 4]


@pytest.mark.usefixtures("two_processors")
def test_in_chunks_later_goes_on_while_the_child_works_and_takes_from_the_last_chunk(
    forks: list[int],
) -> None:
    # NOTE: the child goes on only once this process has done the last two chunks, from the
    # end, in `results`. Had in_chunks_later waited for the child, the child would give up (and
    # this process do its chunk too): every row would say "here".
    with _handoff(last_item=3) as (work, child_took_first):
        chunked = parallel.in_chunks_later(work, list(range(6)), 2)
        child_took_first()
        assert chunked.results() == [([0, 1], False), ([2, 3], True), ([4, 5], True)]
    assert len(forks) == 1


@pytest.mark.usefixtures("two_processors")
def test_in_chunks_stops_the_child_when_this_process_s_work_raises(forks: list[int]) -> None:
    never = threading.Event()

    def work(items: Sequence[int]) -> list[int]:
        never.wait()
        return list(items)

    def meanwhile() -> None:
        raise Boom("here")

    with pytest.raises(Boom, match="here"):
        parallel.in_chunks(work, list(range(6)), 2, meanwhile)
    (pid,) = forks
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@pytest.mark.usefixtures("two_processors")
def test_stop_children_stops_a_child_whose_result_no_one_asked_for(forks: list[int]) -> None:
    never = threading.Event()
    parallel.started(never.wait)
    parallel.stop_children()
    (pid,) = forks
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_pending_makes_its_items_once_and_only_when_asked() -> None:
    made: list[int] = []

    def items() -> list[int]:
        made.append(1)
        return [3, 1, 2]

    pending = parallel.Pending(items)
    assert made == []
    assert (len(pending), pending[0], pending[1:], list(pending)) == (3, 3, (1, 2), [3, 1, 2])
    assert made == [1]


def test_pending_whose_making_failed_tries_again_when_asked_again() -> None:
    tries: list[int] = []

    def items() -> list[int]:
        tries.append(1)
        if len(tries) == 1:
            raise Boom("the first try")
        return [7]

    pending = parallel.Pending(items)
    with pytest.raises(Boom, match="the first try"):
        len(pending)
    assert (list(pending), len(tries)) == ([7], 2)


@pytest.mark.parametrize(
    ("other", "equal"),
    [((3, 1), True), ((1, 3), False), ([3, 1], False), (parallel.Pending(lambda: [3, 1]), True)],
)
def test_pending_compares_as_the_tuple_of_its_items(other: object, equal: bool) -> None:
    pending = parallel.Pending(lambda: [3, 1])
    assert (pending == other, other == pending) == (equal, equal)


def test_pending_pickles_and_prints_as_its_items() -> None:
    pending = parallel.Pending(lambda: ["a"])
    assert pickle.loads(pickle.dumps(pending)) == ("a",)
    assert type(pickle.loads(pickle.dumps(pending))) is tuple
    assert repr(pending) == "Pending(('a',))"


@pytest.mark.usefixtures("two_processors")
def test_held_bytes_is_this_process_s_peak_memory() -> None:
    # NOTE: the peak so far is at least what is resident now.
    with Path("/proc/self/status").open() as status:
        resident = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    assert parallel.held_bytes() >= resident * 1024


def test_held_bytes_is_none_where_no_child_is_forked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "processors", lambda: 1)
    assert parallel.held_bytes() == 0


def _waited(readable: int) -> None:
    """Wait for a byte on ``readable``; a test whose other side never writes fails instead of
    hanging."""
    if not select.select([readable], [], [], 30)[0]:
        raise Boom("the other process never wrote")
    os.read(readable, 1)


@contextlib.contextmanager
def _handoff(
    last_item: int,
) -> Iterator[tuple[Callable[[Sequence[int]], tuple[list[int], bool]], Callable[[], None]]]:
    """A chunk's work that fixes who takes which chunk, and the wait for the child's word: the
    child takes the first chunk, says so, and goes on only once this process has done the
    chunk that ends with ``last_item``. Each row says whether this process made it."""
    took_first, took_last = os.pipe(), os.pipe()

    def work(items: Sequence[int]) -> tuple[list[int], bool]:
        if _pid() != PARENT:
            os.write(took_first[1], b"x")
            _waited(took_last[0])
        elif items[-1] == last_item:
            os.write(took_last[1], b"x")
        return list(items), _pid() == PARENT

    try:
        yield work, lambda: _waited(took_first[0])
    finally:
        for end in (*took_first, *took_last):
            os.close(end)


@pytest.mark.usefixtures("two_processors")
def test_in_chunks_shares_the_chunks_between_the_child_and_this_process(
    forks: list[int],
) -> None:
    # NOTE: this process does the last chunk after the second, so who takes which is fixed.
    with _handoff(last_item=6) as (work, child_took_first):

        def meanwhile() -> str:
            child_took_first()
            return "checked"

        done, results = parallel.in_chunks(work, list(range(7)), 3, meanwhile)
    assert (done, results) == ("checked", [([0, 1, 2], False), ([3, 4, 5], True), ([6], True)])
    assert len(forks) == 1


@pytest.mark.usefixtures("two_processors")
def test_in_chunks_does_here_the_chunks_a_killed_child_took(forks: list[int]) -> None:
    readable, writable = os.pipe()

    def work(items: Sequence[int]) -> tuple[list[int], bool]:
        if _pid() != PARENT:
            os.write(writable, b"x")
            os.kill(_pid(), signal.SIGKILL)
        return list(items), _pid() == PARENT

    done, results = parallel.in_chunks(work, list(range(4)), 2, lambda: _waited(readable))
    assert (done, results) == (None, [([0, 1], True), ([2, 3], True)])
    assert len(forks) == 1
    os.close(readable)
    os.close(writable)


@pytest.mark.parametrize(("count", "processors"), [(4, 1), (2, 2)], ids=["one-cpu", "one-chunk"])
def test_in_chunks_forks_no_child_for_nothing_to_share(
    count: int, processors: int, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "processors", lambda: processors)
    monkeypatch.setattr(parallel, "_alone", lambda: True)
    done, results = parallel.in_chunks(list, list(range(count)), 2, lambda: "checked")
    assert (done, results) == ("checked", [[0, 1], [2, 3]][: (count + 1) // 2])
    assert forks == []


@pytest.mark.usefixtures("two_processors")
def test_only_here_does_nothing_in_a_child(forks: list[int], tmp_path: Path) -> None:
    marks = tmp_path / "marks"

    def write(text: str) -> None:
        with marks.open("a") as stream:
            stream.write(text)

    mark = parallel.only_here(write)
    with parallel.beside(lambda: mark("child ")) as other:
        other.result()
    mark("here")
    assert marks.read_text() == "here"
    assert len(forks) == 1


#: Run in a subprocess: fork a helper that waits forever, say its pid, then wait for stdin.
_RUN_WITH_A_HELPER = """
import multiprocessing, os, sys
from audit import parallel
parallel.processors = lambda: 2
never, kept_open = os.pipe()
background = parallel.started(lambda: os.read(never, 1))
(helper,) = multiprocessing.active_children()
print(helper.pid, flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="Linux only forks helpers")
def test_a_helper_ends_with_its_run_however_the_run_ends() -> None:
    run = subprocess.Popen(
        [sys.executable, "-c", _RUN_WITH_A_HELPER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run.stdout is not None
    helper = int(run.stdout.readline())
    ended = os.pidfd_open(helper)
    try:
        run.kill()
        run.communicate(timeout=60)
        # NOTE: a pidfd turns readable when its process ends; the timeout only bounds a failure.
        readable, _, _ = select.select([ended], [], [], 60)
        assert readable == [ended]
    finally:
        os.close(ended)
        with contextlib.suppress(ProcessLookupError):
            os.kill(helper, signal.SIGKILL)
