"""Tests of the cache's one store: the entry codec, kinds kept apart, the format version."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.registry.store import CACHE_FILE, EntryStore, decode, encode

URL = "http://127.0.0.1:1"
WHEN = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=10,
)


@settings(deadline=None)
@given(body=json_values, hours=st.integers(-12, 12), micros=st.integers(0, 10**6 - 1))
def test_every_json_body_comes_back_as_it_was_stored(body: object, hours: int, micros: int) -> None:
    moment = WHEN.replace(microsecond=micros).astimezone(timezone(timedelta(hours=hours)))
    columns = encode(moment, body)
    assert columns is not None
    assert decode(*columns) == (moment.astimezone(UTC), body)


@pytest.mark.parametrize(
    ("fetched_at", "text", "expected"),
    [
        ("2026-11-28T12:00:00+00:00", None, (WHEN, None)),
        ("2026-11-28T12:00:00", "[1]", (WHEN, [1])),
        ("2026-11-28T13:00:00+01:00", '{"a": "é"}', (WHEN, {"a": "é"})),
        ("yesterday", "{}", None),
        ("2026-11-28T12:00:00+00:00", "{cut", None),
        ("2026-11-28T12:00:00+00:00", "[" * 100_000, None),
    ],
    ids=["none", "naive-is-utc", "offset", "bad-time", "not-json", "too-deep"],
)
def test_a_row_decodes_to_an_entry_or_to_a_miss(
    fetched_at: str, text: str | None, expected: object
) -> None:
    assert decode(fetched_at, text) == expected


def test_a_body_that_is_no_json_is_not_stored() -> None:
    looping: list[object] = []
    looping.append(looping)
    assert encode(WHEN, looping) is None


def test_kinds_and_registries_are_kept_apart(tmp_path: Path) -> None:
    store = EntryStore(tmp_path)
    store.write(URL, "a", [("k", WHEN, 1)])
    store.write(URL, "b", [("k", WHEN, 2)])
    store.write("HTTP://127.0.0.1:1/", "a", [("j", WHEN, 3)])  # NOTE: the same registry
    store.write("http://127.0.0.1:2", "a", [("k", WHEN, 4)])

    assert store.read(URL, "a", ["k", "j", "x"]) == {"k": (WHEN, 1), "j": (WHEN, 3)}
    assert store.read(URL, "b", ["k"]) == {"k": (WHEN, 2)}
    assert (store.count_of(URL, "a"), store.count_of(URL, "c"), store.problem) == (2, 0, None)


def test_many_keys_are_read_at_once_in_the_order_asked(tmp_path: Path) -> None:
    store = EntryStore(tmp_path)
    store.write(URL, "a", [(f"k{i}", WHEN, i) for i in range(1_200)])
    store.write(URL, "b", [("k7", WHEN, "other kind")])
    asked = [f"k{i}" for i in reversed(range(1_300))] + ["k7", "K7"]

    read = store.read(URL, "a", asked)

    assert list(read) == [f"k{i}" for i in reversed(range(1_200))]
    assert all(read[f"k{i}"] == (WHEN, i) for i in range(1_200))


def test_a_newer_format_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    EntryStore(tmp_path).write(URL, "a", [("k", WHEN, 1)])
    with closing(sqlite3.connect(tmp_path / CACHE_FILE)) as db:
        db.execute("PRAGMA user_version = 3")
        db.commit()
    store = EntryStore(tmp_path)

    assert store.read(URL, "a", ["k"]) == {}
    assert store.problem == "cache format 3 is not format 2"
    with closing(sqlite3.connect(tmp_path / CACHE_FILE)) as db:
        assert db.execute("SELECT count(*) FROM entries").fetchone() == (1,)
