"""How a run's work is spread over its hosts: advice made in parts comes back in run order."""

from __future__ import annotations

from audit.advisor import Recommendation
from audit.hostwork import entries_by_host, entry_positions, in_run_order, positioned
from audit.model import AuditedEntry
from tests.advisor.support import entry

# NOTE: a CSV manifest may interleave its hosts, and list a pack twice.
RUN = [
    AuditedEntry(entry(node_id, "1.0.0", host=host), None, (), None, None)
    for host, node_id in [
        ("gpu-01", "pack-a"),
        ("gpu-02", "pack-a"),
        ("gpu-01", "pack-b"),
        ("gpu-02", "pack-c"),
        ("gpu-01", "pack-a"),
    ]
]


def advice(host: str, node_id: str) -> Recommendation:
    return Recommendation(host, node_id, "1.0.0", "1.1.0", ("status.flagged",), ())


def part(host: str) -> list[tuple[int, Recommendation]]:
    """The advice of one host's entries, as a process advises them: in run order."""
    positions = entry_positions(RUN)[host]
    audited = [RUN[n] for n in positions]
    return positioned(audited, positions, [advice(a.entry.host, a.entry.node_id) for a in audited])


def test_entries_by_host_are_each_host_s_in_run_order() -> None:
    entries = [a.entry for a in RUN]
    assert entries_by_host(entries, ["gpu-01", "gpu-02", "idle"]) == {
        "gpu-01": [entries[0], entries[2], entries[4]],
        "gpu-02": [entries[1], entries[3]],
        "idle": [],
    }


def test_entry_positions_are_each_host_s_in_run_order() -> None:
    assert entry_positions(RUN) == {"gpu-01": [0, 2, 4], "gpu-02": [1, 3]}


def test_each_recommendation_gets_its_entrys_first_position() -> None:
    assert [n for n, _ in part("gpu-01")] == [0, 2, 0]
    assert [n for n, _ in part("gpu-02")] == [1, 3]


def test_parts_come_back_in_run_order_whichever_comes_first() -> None:
    expected = (
        advice("gpu-01", "pack-a"),
        advice("gpu-01", "pack-a"),
        advice("gpu-02", "pack-a"),
        advice("gpu-01", "pack-b"),
        advice("gpu-02", "pack-c"),
    )
    assert in_run_order([*part("gpu-01"), *part("gpu-02")]) == expected
    assert in_run_order([*part("gpu-02"), *part("gpu-01")]) == expected
