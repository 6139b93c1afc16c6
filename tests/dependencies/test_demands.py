"""`HostDemands` and `with_others` (the advisor's quick way) give the findings a candidate has
among the other packs of its host, as the whole host's audit with it in the installed
version's place names them: the same checks in the same order, conflicts over the same
distributions, and its own lines' findings exactly."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import NormalizedName

from audit.dependencies import PackRequirements, audit_dependencies
from audit.dependencies.demands import HostDemands, Involvement, with_others
from audit.dependencies.host import findings_of_first
from audit.dependencies.judge import index_installed
from audit.dependencies.markers import marker_facts
from audit.model import Finding
from tests.dependencies.conftest import HOST, env, pack
from tests.dependencies.test_findings_of_first import INSTALLED, LINES, hosts, seen_names

#: What `with_others` says of the findings the other packs add: what and over what.
_ADDED = {"dependency.conflict", "dependency.variant-clash"}


def summary(findings: tuple[Finding, ...] | list[Finding]) -> list[object]:
    return [
        (f.check, f.message.split(":", 1)[0] if f.check == "dependency.conflict" else None)
        if f.check in _ADDED
        else f
        for f in findings
    ]


@settings(deadline=None, max_examples=300)
@given(hosts(), st.lists(st.sampled_from(LINES), max_size=4), st.booleans())
def test_the_candidates_findings_among_the_others(
    host: tuple[list[PackRequirements], dict[str, str | None]],
    candidate_lines: list[str],
    known: bool,
) -> None:
    packs, installed = host
    environment = env(installed if known else None)
    candidate = pack(packs[0].entry.node_id, "2.0.0", registry=candidate_lines)
    planned = [candidate, *packs[1:]]
    whole = audit_dependencies(HOST, planned, environment).findings
    expected = [f for f in whole if (f.node_id, f.version) == (candidate.entry.node_id, "2.0.0")]

    index = index_installed(environment.installed)
    demands = HostDemands(packs, marker_facts(environment), index)
    involvement = demands.involvement(candidate, packs[0].entry)
    alone = findings_of_first(HOST, [candidate], environment, index, seen_names(candidate))

    assert involvement is not None
    assert summary(with_others(alone, involvement, candidate)) == summary(expected)


def test_a_candidate_that_requires_one_member_while_another_pack_requires_another_clashes() -> None:
    installed = pack("comfyui-a", "1.0.0", registry=["numpy"])
    other = pack("comfyui-b", "1.0.0", registry=["onnxruntime"])
    candidate = pack("comfyui-a", "2.0.0", registry=["onnxruntime-gpu"])
    environment = env({"onnxruntime-gpu": INSTALLED["onnxruntime"][0]})
    demands = HostDemands([installed, other], marker_facts(environment), None)

    assert demands.involvement(candidate, installed.entry) == Involvement((), ("onnxruntime",))


def test_another_pack_with_the_candidates_id_and_version_needs_the_whole_audit() -> None:
    installed = pack("comfyui-a", "1.0.0")
    twin = pack("comfyui-a", "2.0.0", registry=["numpy<2"])
    candidate = pack("comfyui-a", "2.0.0", registry=["numpy>=2"])
    demands = HostDemands([installed, twin], marker_facts(env()), None)

    assert demands.involvement(candidate, installed.entry) is None
    assert demands.involvement(replace(installed, registry=("numpy",)), installed.entry) == (
        Involvement((), ())
    )


def test_conflicts_are_named_by_distribution_in_order() -> None:
    installed = pack("comfyui-a", "1.0.0")
    others = [pack("comfyui-b", registry=["torch<2", "numpy<2"]), pack("comfyui-c")]
    candidate = pack("comfyui-a", "2.0.0", registry=["torch>=2", "numpy>=2", "pillow"])
    demands = HostDemands([installed, *others], marker_facts(env()), None)

    assert demands.involvement(candidate, installed.entry) == Involvement(
        (NormalizedName("numpy"), NormalizedName("torch")), ()
    )
