"""Matching exactly as the OSV schema says, and the odd events real records carry."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from audit.vulnerabilities.advisory import parse_advisory, release_of
from tests.vulnerabilities.support import RECORDS, osv_record

BY_ID = {r["id"]: r for r in RECORDS}


@pytest.mark.parametrize(
    ("text", "release"),
    [
        ("2.5.1+cu124", "2.5.1"),
        ("2.6.0-cu124", "2.6.0"),
        ("2.5.0-NA", "2.5.0"),
        ("1.0.post1", "1.0.post1"),
        ("2.0-1", "2.0.post1"),
        ("", None),
        ("not a version", None),
    ],
)
def test_release_of(text: str, release: str | None) -> None:
    assert release_of(text) == (None if release is None else Version(release))


@pytest.mark.parametrize(
    ("ident", "distribution", "version", "affected"),
    [
        ("PYSEC-2025-41", "torch", "2.5.1", True),
        ("PYSEC-2025-41", "torch", "2.6.0", False),
        ("PYSEC-2025-41", "torch", "1.0", True),
        # last_affected "2.6.0-cu124" is 2.6.0, inclusive
        ("PYSEC-2025-190", "torch", "2.6.0", True),
        ("PYSEC-2025-190", "torch", "2.6.1", False),
        # last_affected "2.5.0-NA" then "2.7.1-NA": up to 2.5.0 only, as osv-scanner decides
        ("PYSEC-2025-210", "torch", "2.5.0", True),
        ("PYSEC-2025-210", "torch", "2.5.1", False),
        ("PYSEC-2025-210", "torch", "2.7.1", False),
        # withdrawn: never, whatever its (empty) fixed event says
        ("GHSA-rwqr-c348-m5wr", "aiohttp", "3.8.1", False),
        ("PYSEC-2023-74", "requests", "2.2.0", False),
        ("PYSEC-2023-74", "requests", "2.3.0", True),
        ("PYSEC-2023-74", "requests", "2.31.0", False),
        # two ranges in one entry, and a second entry for another package
        ("PYSEC-2023-227", "pillow", "9.4.0", True),
        ("PYSEC-2023-227", "pillow", "9.5.0", False),
        ("PYSEC-2023-227", "pillow", "9.6.1", True),
        ("PYSEC-2023-227", "pillow", "10.0.0", False),
        ("PYSEC-2023-227", "pillow-simd", "99.0", True),
        ("PYSEC-2023-227", "torch", "1.0", False),
        # limit: nothing at or above it
        ("PYSEC-2024-227", "transformers", "4.30.0", True),
        ("PYSEC-2024-227", "transformers", "4.36.0", False),
        # versions list only
        ("MAL-2026-15859", "0requests", "0.0.1", True),
        ("MAL-2026-15859", "0requests", "0.0.2", False),
    ],
)
def test_matches(ident: str, distribution: str, version: str, affected: bool) -> None:
    advisory = parse_advisory(BY_ID[ident])
    assert advisory is not None
    assert advisory.matches(distribution, Version(version)) is affected


def test_empty_fixed_leaves_the_range_open() -> None:
    record = osv_record("X-1", "aiohttp", ("introduced", "0"), ("fixed", ""))
    advisory = parse_advisory(record)
    assert advisory is not None
    assert advisory.matches("aiohttp", Version("99"))
    assert advisory.fixes("aiohttp") == []


def test_unreadable_events_err_towards_reporting() -> None:
    record = osv_record("X-2", "a", ("introduced", "garbage!"), ("fixed", "also garbage!"))
    advisory = parse_advisory(record)
    assert advisory is not None
    assert advisory.matches("a", Version("1.0"))


def test_a_git_range_is_not_an_ecosystem_range() -> None:
    record = osv_record("X-3", "a")
    record["affected"][0]["ranges"] = [
        {"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}]}
    ]
    advisory = parse_advisory(record)
    assert advisory is not None
    assert not advisory.matches("a", Version("1.0"))


def test_summary_falls_back_to_the_first_sentence_of_details() -> None:
    advisory = parse_advisory(BY_ID["PYSEC-2025-41"])
    assert advisory is not None
    assert advisory.summary == (
        "In version 2.5.1 and prior, torch.load with weights_only=True runs code."
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)
FIELDS = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=8)},
    optional={
        "aliases": JSON,
        "affected": st.lists(
            st.fixed_dictionaries(
                {"package": st.just({"ecosystem": "PyPI", "name": "a"})},
                optional={
                    "ranges": st.lists(
                        st.fixed_dictionaries(
                            {"type": st.just("ECOSYSTEM")},
                            optional={
                                "events": st.lists(
                                    st.dictionaries(
                                        st.sampled_from(
                                            ["introduced", "fixed", "last_affected", "limit"]
                                        ),
                                        st.text(max_size=8) | JSON,
                                        max_size=2,
                                    )
                                )
                            },
                        )
                    ),
                    "versions": JSON,
                },
            )
        )
        | JSON,
        "severity": JSON,
        "summary": JSON,
        "details": JSON,
        "withdrawn": JSON,
    },
)


@settings(deadline=None, max_examples=200)
@given(record=FIELDS, version=st.sampled_from(["0", "1.0", "2.5.1", "10!1.0"]))
def test_hostile_records_never_crash(record: dict[str, object], version: str) -> None:
    advisory = parse_advisory(record)
    if advisory is not None:
        advisory.matches("a", Version(version))
        advisory.fixes("a")


VERSIONS = st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)).map(
    lambda t: Version(".".join(map(str, t)))
)


@settings(deadline=None, max_examples=200)
@given(introduced=VERSIONS, fixed=VERSIONS, last=VERSIONS, version=VERSIONS)
def test_one_range_means_what_the_schema_says(
    introduced: Version, fixed: Version, last: Version, version: Version
) -> None:
    # NOTE: a range must start before it ends; the schema says nothing of one that does not.
    introduced, fixed = sorted((introduced, fixed))
    introduced, last = min(introduced, last), max(introduced, last)

    def affects(*events: tuple[str, str]) -> bool:
        advisory = parse_advisory(osv_record("X", "a", *events))
        assert advisory is not None
        return advisory.matches("a", version)

    assert affects(("introduced", str(introduced)), ("fixed", str(fixed))) == (
        introduced <= version < fixed
    )
    assert affects(("introduced", str(introduced)), ("last_affected", str(last))) == (
        introduced <= version <= last
    )
    assert affects(("introduced", "0"), ("limit", str(fixed))) == (version < fixed)
    # a local label on either side compares as its release
    local = Version(f"{version}+cu124")
    advisory = parse_advisory(osv_record("Y", "a", ("introduced", f"{introduced}-cu121")))
    assert advisory is not None
    assert advisory.matches("a", release_of(str(local)) or local) == (version >= introduced)
