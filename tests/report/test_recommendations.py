"""The ``recommendations`` table and the advisor's section of the terminal summary."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.advisor import Recommendation
from audit.model import AuditRun, Found, Severity, When
from audit.parallel import Pending
from audit.report import RECOMMENDATIONS_SCHEMA, recommendations_table, render_summary, summarise
from audit.report.write import csv_bytes
from audit.vulnerabilities import DistributionAdvice
from tests.report.conftest import FOO_VERSION, audited, entry, finding, make_run, read_frame

STRINGS = pa.list_(pa.field("element", pa.string()))
# NOTE: written out by hand, so that any change to the public layout fails here first.
EXPECTED = [
    ("run_id", pa.string(), False),
    ("host", pa.string(), False),
    ("node_id", pa.string(), True),
    ("version", pa.string(), True),
    ("recommended_version", pa.string(), True),
    ("clears", STRINGS, False),
    ("blocked_by", STRINGS, False),
    ("installs", STRINGS, False),
    ("distribution", pa.string(), True),
]
MOVE = Recommendation(
    "gpu-01",
    "comfyui-foo",
    "1.2.0",
    "1.5.0",
    ("comfyui.incompatible", "status.flagged"),
    (),
    ("numpy>=2", "scipy"),
)
STUCK = Recommendation(
    "gpu-01",
    "rgthree-comfy",
    "1.0.0",
    None,
    (),
    ("every Active version requires ComfyUI <0.4.0", "0.9.0: carries tags_admin x"),
)


def advised_run(*recommendations: Recommendation, **options: object) -> AuditRun:
    foo = audited(
        entry(),
        Found(FOO_VERSION),
        [
            finding("comfyui.incompatible", Severity.ERROR, "requires ComfyUI >=0.4.0"),
            finding("status.flagged", Severity.ERROR, "flagged"),
        ],
    )
    stuck = audited(
        entry("rgthree-comfy", "1.0.0"),
        None,
        [
            finding(
                "comfyui.incompatible",
                Severity.ERROR,
                "requires ComfyUI <0.4.0; target is 0.4.0",
                node_id="rgthree-comfy",
                version="1.0.0",
                when=When.AFTER_UPGRADE,
            )
        ],
    )
    run = make_run([foo, stuck], options=options or None)
    return replace(run, recommendations=recommendations)


def test_the_exact_schema() -> None:
    assert [(f.name, f.type, f.nullable) for f in RECOMMENDATIONS_SCHEMA] == EXPECTED
    assert RECOMMENDATIONS_SCHEMA.metadata == {b"comfy-audit.schema_version": b"3"}


def test_an_empty_table_has_the_full_schema() -> None:
    table = recommendations_table(make_run())
    assert table.schema == RECOMMENDATIONS_SCHEMA
    assert table.num_rows == 0


def test_rows() -> None:
    assert recommendations_table(advised_run(MOVE, STUCK)).to_pylist() == [
        {
            "run_id": "run-1",
            "host": "gpu-01",
            "node_id": "comfyui-foo",
            "version": "1.2.0",
            "recommended_version": "1.5.0",
            "clears": ["comfyui.incompatible", "status.flagged"],
            "blocked_by": [],
            "installs": ["numpy>=2", "scipy"],
            "distribution": None,
        },
        {
            "run_id": "run-1",
            "host": "gpu-01",
            "node_id": "rgthree-comfy",
            "version": "1.0.0",
            "recommended_version": None,
            "clears": [],
            "blocked_by": [
                "every Active version requires ComfyUI <0.4.0",
                "0.9.0: carries tags_admin x",
            ],
            "installs": [],
            "distribution": None,
        },
    ]


def test_a_vulnerable_distribution_is_a_row_without_a_pack() -> None:
    upgrade = DistributionAdvice(
        "gpu-01", "torch", "2.5.1+cu124", "2.6.0", ("vulnerability.known",), ()
    )
    run = replace(advised_run(MOVE), upgrades=(upgrade,))
    assert recommendations_table(run).to_pylist()[1:] == [
        {
            "run_id": "run-1",
            "host": "gpu-01",
            "node_id": None,
            "version": "2.5.1+cu124",
            "recommended_version": "2.6.0",
            "clears": ["vulnerability.known"],
            "blocked_by": [],
            "installs": [],
            "distribution": "torch",
        }
    ]


def test_parquet_and_csv(tmp_path: Path) -> None:
    table = recommendations_table(advised_run(MOVE, STUCK))
    path = tmp_path / "recommendations.parquet"
    pq.write_table(table, path)

    assert pq.read_schema(path).remove_metadata() == RECOMMENDATIONS_SCHEMA.remove_metadata()
    frame = read_frame(path)
    assert frame["recommended_version"].isna().tolist() == [False, True]
    assert frame["blocked_by"].tolist()[1] == list(STUCK.blocked_by)
    assert list(csv.reader(io.StringIO(csv_bytes(table).decode())))[1:] == [
        [
            "run-1",
            "gpu-01",
            "comfyui-foo",
            "1.2.0",
            "1.5.0",
            "comfyui.incompatible;status.flagged",
            "",
            "numpy>=2;scipy",
            "",
        ],
        [
            "run-1",
            "gpu-01",
            "rgthree-comfy",
            "1.0.0",
            "",
            "",
            "every Active version requires ComfyUI <0.4.0;0.9.0: carries tags_admin x",
            "",
            "",
        ],
    ]


def test_no_advice_no_section() -> None:
    summary = render_summary(advised_run(), None)
    assert "advice" not in summary and "verdict" not in summary


def test_the_advice_section() -> None:
    summary = render_summary(advised_run(MOVE, STUCK), Path("outputs/run-1"))
    advice = summary.split("\n\n")[-2]
    assert advice == (
        "advice: 1 pack change, 1 pack with no fitting version\n"
        "  comfyui-foo@1.2.0 -> 1.5.0  clears comfyui.incompatible, status.flagged\n"
        "  rgthree-comfy@1.0.0  no fitting version: every Active version requires ComfyUI "
        "<0.4.0; 0.9.0: carries tags_admin x"
    )


def test_the_upgrade_verdict_comes_with_a_target() -> None:
    run = advised_run(MOVE, STUCK)
    run = replace(run, environment=replace(run.environment, target_comfyui="0.4.0"))
    advice = render_summary(run, None).split("\n\n")[-2]
    assert advice.splitlines()[-1] == "upgrade verdict: blocked by these packs: rgthree-comfy@1.0.0"


def test_the_summary_reads_the_advice_only_when_it_is_rendered() -> None:
    """The advice may still be in the making (`audit.parallel.Pending`) while the rest of the
    summary is rendered."""
    done = advised_run(MOVE, STUCK)
    done = replace(done, environment=replace(done.environment, target_comfyui="0.4.0"))
    read: list[str] = []

    def advice() -> tuple[Recommendation, ...]:
        read.append("advice")
        return (MOVE, STUCK)

    render = summarise(replace(done, recommendations=Pending(advice)))
    assert read == []
    assert render(Path("outputs/run-1")) == render_summary(done, Path("outputs/run-1"))
    assert read == ["advice"]


def test_a_clean_upgrade_is_called_safe_when_the_advisor_ran() -> None:
    run = make_run(options={"advice": True})
    run = replace(run, environment=replace(run.environment, target_comfyui="0.4.0"))
    assert render_summary(run, None).split("\n\n")[-2] == "upgrade verdict: upgrade is safe"
    off = replace(run, options={"advice": False})
    assert "verdict" not in render_summary(off, None)


def test_hosts_are_named_in_a_fleet() -> None:
    other = replace(MOVE, host="gpu-02")
    run = advised_run(MOVE, other)
    run = replace(run, entries=(*run.entries, replace(run.entries[0], entry=entry(host="gpu-02"))))
    lines = render_summary(run, None).split("\n\n")[-2].splitlines()
    assert lines[1:] == [
        "  gpu-01  comfyui-foo@1.2.0 -> 1.5.0  clears comfyui.incompatible, status.flagged",
        "  gpu-02  comfyui-foo@1.2.0 -> 1.5.0  clears comfyui.incompatible, status.flagged",
    ]


def test_a_long_advice_list_is_cut_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("audit.report.summary.MAX_ADVICE_LINES", 2)
    many = [replace(MOVE, node_id=f"pack-{n}") for n in range(5)]
    upgrade = DistributionAdvice("gpu-01", "torch", "2.5.1", "2.6.0", ("vulnerability.known",), ())
    run = replace(advised_run(*many), upgrades=(upgrade,) * 3)
    *_, advice, distributions, _ = render_summary(run, None).split("\n\n")
    assert advice.splitlines() == [
        "advice: 5 pack changes, 0 packs with no fitting version",
        "  pack-0@1.2.0 -> 1.5.0  clears comfyui.incompatible, status.flagged",
        "  pack-1@1.2.0 -> 1.5.0  clears comfyui.incompatible, status.flagged",
        "  ... and 3 more: see recommendations.csv",
    ]
    assert distributions.splitlines() == [
        "vulnerable packages: 3 to upgrade, 0 held back by a pack",
        "  torch 2.5.1: upgrade to 2.6.0",
        "  torch 2.5.1: upgrade to 2.6.0",
        "  ... and 1 more: see recommendations.csv",
    ]
