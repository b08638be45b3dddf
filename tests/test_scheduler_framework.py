"""The framework: normalisation, host selection, one scheduling cycle, node infos and bad input."""

from __future__ import annotations

import random
from collections import Counter

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeprop.conformance.strategies import scheduler as strategies
from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.reference.scheduler import (
    Code,
    InvalidInput,
    NodeInfo,
    Profile,
    Snapshot,
    Status,
    default_normalize_score,
    default_profile,
    schedule_one,
    select_host,
)
from kubeprop.reference.scheduler.framework import fit_error_message
from kubeprop.reference.scheduler.helper import go_div
from kubeprop.reference.scheduler.plugins import DEFAULT_PLUGINS, REGISTRY
from kubeprop.reference.scheduler.resources import is_scalar_resource_name, pod_requests
from kubeprop.spec.api.core import (
    ContainerImage,
    ContainerPort,
    Node,
    NodeStatus,
    Pod,
    Toleration,
)

# -- normalisation (helper.DefaultNormalizeScore) -----------------------------------------

NORMALIZE_CASES = {
    "scores are rescaled so that the highest becomes 100": (
        False,
        {"a": 1, "b": 2, "c": 3},
        {"a": 33, "b": 66, "c": 100},
    ),
    "reversed scores are 100 minus the rescaled score": (
        True,
        {"a": 1, "b": 2, "c": 3},
        {"a": 67, "b": 34, "c": 0},
    ),
    "all-zero scores stay zero": (False, {"a": 0, "b": 0}, {"a": 0, "b": 0}),
    "all-zero scores become 100 when reversed": (True, {"a": 0, "b": 0}, {"a": 100, "b": 100}),
    "the quotient is truncated, never rounded": (False, {"a": 2, "b": 3}, {"a": 66, "b": 100}),
    "one node scores 100": (False, {"a": 7}, {"a": 100}),
    "upstream's case of 1000 and 10000": (
        False,
        {"a": 1000, "b": 10000, "c": 20000, "d": 30000, "e": 40000, "f": 50000},
        {"a": 2, "b": 20, "c": 40, "d": 60, "e": 80, "f": 100},
    ),
    "upstream's reversed case": (
        True,
        {"a": 1000, "b": 10000, "c": 20000, "d": 30000, "e": 40000, "f": 50000},
        {"a": 98, "b": 80, "c": 60, "d": 40, "e": 20, "f": 0},
    ),
    "upstream's case with a zero score": (
        False,
        {"a": 0, "b": 1, "c": 1, "d": 1},
        {"a": 0, "b": 100, "c": 100, "d": 100},
    ),
}


@pytest.mark.parametrize("name", list(NORMALIZE_CASES))
def test_default_normalize_score(name):
    reverse, raw, expected = NORMALIZE_CASES[name]
    assert default_normalize_score(raw, reverse=reverse) == expected


def test_normalisation_does_not_mutate_its_input():
    raw = {"a": 1, "b": 4}
    default_normalize_score(raw, reverse=True)
    assert raw == {"a": 1, "b": 4}


@pytest.mark.parametrize(
    ("a", "b", "quotient"), [(7, 2, 3), (-7, 2, -3), (7, -2, -3), (-7, -2, 3), (0, 5, 0)]
)
def test_go_integer_division_truncates_toward_zero(a, b, quotient):
    assert go_div(a, b) == quotient


# -- selectHost --------------------------------------------------------------------------


def test_select_host_picks_the_highest_total():
    assert select_host({"a": 10, "b": 30, "c": 20}, random.Random(0)) == "b"


def test_select_host_breaks_ties_uniformly_with_the_seeded_rng():
    picks = Counter(
        select_host({"a": 5, "b": 9, "c": 9, "d": 9}, random.Random(s)) for s in range(3000)
    )
    assert set(picks) == {"b", "c", "d"}
    assert all(800 < count < 1200 for count in picks.values())


def test_select_host_is_deterministic_for_a_seed():
    totals = {name: 1 for name in "abcdef"}
    assert [select_host(totals, random.Random(7)) for _ in range(3)] == [
        select_host(totals, random.Random(7))
    ] * 3


# -- the default profile -----------------------------------------------------------------


def test_the_default_profile_weights_taint_toleration_3_affinity_and_spread_2_others_1():
    profile = default_profile()
    weights = {p.name: profile.weight(p.name) for p in profile.at("score")}
    assert weights == {
        "TaintToleration": 3,
        "NodeAffinity": 2,
        "NodeResourcesFit": 1,
        "PodTopologySpread": 2,
        "InterPodAffinity": 2,
        "NodeResourcesBalancedAllocation": 1,
        "ImageLocality": 1,
    }


def test_the_default_profile_filters_in_upstream_order():
    assert [p.name for p in default_profile().at("filter")] == [
        "NodeUnschedulable",
        "NodeName",
        "TaintToleration",
        "NodeAffinity",
        "NodePorts",
        "NodeResourcesFit",
        "PodTopologySpread",
        "InterPodAffinity",
    ]


def test_the_default_profile_preempts_and_binds_with_the_default_plugins():
    profile = default_profile()
    assert [p.name for p in profile.at("post_filter")] == ["DefaultPreemption"]
    assert [p.name for p in profile.at("bind")] == ["DefaultBinder"]


def test_an_unregistered_plugin_is_rejected_naming_it():
    with pytest.raises(InvalidInput, match="plugin 'Nope' is not registered"):
        Profile.build(REGISTRY, ["Nope"])


def test_a_score_weight_below_one_is_rejected_with_the_field_path():
    with pytest.raises(
        InvalidInput, match=r"plugins.score\[NodeAffinity\].weight: Invalid value: 0"
    ):
        Profile.build(REGISTRY, [("NodeAffinity", 0)])


def test_registering_a_plugin_twice_is_rejected():
    with pytest.raises(InvalidInput, match="registered twice: NodeName"):
        REGISTRY.merge({"NodeName": lambda args, handle: None})


# -- one cycle ------------------------------------------------------------------------------

CPU = {"cpu": "2", "memory": "4Gi"}


def test_the_node_with_the_highest_weighted_total_is_chosen():
    nodes = [make_node("busy", CPU), make_node("idle", CPU)]
    existing = [make_pod("e", ({"cpu": "1500m", "memory": "1Gi"},), node_name="busy")]
    pod = make_pod("p", ({"cpu": "100m", "memory": "100Mi"},))
    result = schedule_one(default_profile(), pod, Snapshot.of(nodes, existing), random.Random(0))
    assert result.node_name == "idle"
    assert result.totals["idle"] > result.totals["busy"]
    for node, scores in result.scores.items():
        weights = {"TaintToleration": 3, "NodeAffinity": 2}
        assert result.totals[node] == sum(s * weights.get(p, 1) for p, s in scores.items())


def test_a_pod_fitting_no_node_gets_upstreams_fit_error():
    nodes = [
        make_node("a", CPU, taints=("dedicated=x:NoSchedule",)),
        make_node("b", {"cpu": "1", "memory": "1Gi"}),
        make_node("c", {"cpu": "1", "memory": "1Gi"}),
    ]
    pod = make_pod("p", ({"cpu": "1500m"},))
    result = schedule_one(default_profile(), pod, Snapshot.of(nodes), random.Random(0))
    assert result.node_name is None
    assert result.status.code is Code.UNSCHEDULABLE
    assert result.status.reasons == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: x}, "
        "2 Insufficient cpu.",
    )
    assert dict(result.filtered) == {
        "a": ("node(s) had untolerated taint {dedicated: x}",),
        "b": ("Insufficient cpu",),
        "c": ("Insufficient cpu",),
    }


def test_filters_stop_at_the_first_rejection_of_a_node():
    node = make_node("a", {"cpu": "1"}, unschedulable=True, taints=("k:NoSchedule",))
    result = schedule_one(default_profile(), make_pod(), Snapshot.of([node]), random.Random(0))
    assert dict(result.filtered) == {"a": ("node(s) were unschedulable",)}


def test_the_only_feasible_node_is_chosen_without_scoring():
    nodes = [make_node("a", CPU), make_node("b", CPU, unschedulable=True)]
    result = schedule_one(default_profile(), make_pod(), Snapshot.of(nodes), random.Random(0))
    assert result.node_name == "a"
    assert not result.scores and not result.totals


def test_a_tolerating_pod_may_land_on_a_tainted_node():
    nodes = [make_node("a", CPU, taints=("gpu=x:NoSchedule",))]
    pod = make_pod(tolerations=(Toleration(key="gpu", operator="Exists"),))
    assert (
        schedule_one(default_profile(), pod, Snapshot.of(nodes), random.Random(0)).node_name == "a"
    )


def test_equal_nodes_are_chosen_uniformly():
    nodes = [make_node(name, CPU) for name in "abc"]
    snapshot = Snapshot.of(nodes)
    rng = random.Random(3)
    picks = Counter(
        schedule_one(default_profile(), make_pod(), snapshot, rng).node_name for _ in range(600)
    )
    assert set(picks) == {"a", "b", "c"}


def test_scheduling_never_changes_the_snapshot():
    snapshot = Snapshot.of([make_node("a", CPU), make_node("b", CPU)])
    before = snapshot
    schedule_one(default_profile(), make_pod("p", ({"cpu": "1"},)), snapshot, random.Random(0))
    assert snapshot == before


def test_assume_counts_the_pod_on_its_node():
    snapshot = Snapshot.of([make_node("a", CPU)]).assume(make_pod("p", ({"cpu": "1"},)), "a")
    info = snapshot.get("a")
    assert info.requested["cpu"] == 1000
    assert info.non_zero_requested == {"cpu": 1000, "memory": 200 * 1024 * 1024}
    assert info.pods[0].spec.node_name == "a"


def test_an_empty_snapshot_is_an_error_not_a_traceback():
    result = schedule_one(default_profile(), make_pod(), Snapshot.of([]), random.Random(0))
    assert result.node_name is None
    assert result.status.code is Code.ERROR
    assert result.status.reasons == ("no nodes available to schedule pods",)


def test_a_pod_without_spec_is_an_error_naming_the_field():
    result = schedule_one(default_profile(), Pod(), Snapshot.of([make_node("a")]), random.Random(0))
    assert result.status.code is Code.ERROR
    assert result.status.reasons == ("Pod.spec: Required value",)


def test_a_node_without_a_name_is_rejected_naming_the_field():
    with pytest.raises(InvalidInput, match=r"Node.metadata.name: Required value"):
        Snapshot.of([Node()])


def test_two_nodes_with_one_name_are_rejected():
    with pytest.raises(InvalidInput, match="Duplicate value"):
        Snapshot.of([make_node("a"), make_node("a")])


def test_pods_on_unknown_nodes_are_ignored_by_the_snapshot():
    snapshot = Snapshot.of([make_node("a")], [make_pod(node_name="gone")])
    assert snapshot.get("a").pods == ()


def test_node_info_tracks_host_ports_and_images():
    node = make_node("a")
    node = Node(
        metadata=node.metadata,
        spec=node.spec,
        status=NodeStatus(
            allocatable=node.status.allocatable,
            images=(ContainerImage(names=("nginx:1", "nginx@sha"), size_bytes=500),),
        ),
    )
    pod = make_pod("p", ({},))
    container = pod.spec.containers[0]
    container = attrs.evolve(container, ports=(ContainerPort(container_port=80, host_port=8080),))
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, containers=(container,)))
    info = NodeInfo.of(node, [pod])
    assert info.used_ports == (("0.0.0.0", "TCP", 8080),)
    assert info.image_states == {"nginx:1": 500, "nginx@sha": 500}


def test_fit_error_message_sorts_the_reason_histogram():
    message = fit_error_message(4, {"a": ("b-reason",), "b": ("a-reason", "b-reason")})
    assert message == "0/4 nodes are available: 1 a-reason, 2 b-reason."


def test_every_default_plugin_is_registered():
    assert {name for name, _ in DEFAULT_PLUGINS} == set(REGISTRY.factories)


# -- resources -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "scalar"),
    [
        ("cpu", False),
        ("memory", False),
        ("example.com/gpu", True),
        ("nvidia.com/gpu", True),
        ("hugepages-2Mi", True),
        ("attachable-volumes-aws-ebs", True),
        ("kubernetes.io/something", True),
        ("requests.example.com/foo", False),
        ("storage", False),
    ],
)
def test_which_resources_are_scalar(name, scalar):
    assert is_scalar_resource_name(name) is scalar


def test_effective_requests_take_the_larger_of_app_containers_and_init_containers():
    pod = make_pod(
        "p",
        ({"cpu": "1", "memory": "1Gi"}, {"cpu": "500m"}),
        init_requests=({"cpu": "2"}, {"memory": "3Gi"}),
        overhead={"cpu": "100m"},
    )
    assert pod_requests(pod) == {"cpu": 2100, "memory": 3 * 1024**3}


def test_sidecars_add_to_the_app_containers_and_to_later_init_containers():
    pod = make_pod(
        "p",
        ({"cpu": "1"},),
        sidecar_requests=({"cpu": "500m"},),
        init_requests=({"cpu": "1800m"},),
    )
    # app + sidecar = 1500m; the init container runs beside the sidecar: 2300m
    assert pod_requests(pod) == {"cpu": 2300}


@settings(max_examples=25)
@given(cluster=strategies.clusters(), seed=st.integers(0, 5))
def test_the_same_seed_gives_the_same_placements(cluster, seed):
    nodes, pods = cluster

    def run():
        snapshot, rng, chosen = Snapshot.of(nodes), random.Random(seed), []
        for pod in pods:
            result = schedule_one(default_profile(), pod, snapshot, rng)
            chosen.append(result)
            if result.node_name:
                snapshot = snapshot.assume(pod, result.node_name)
        return chosen

    assert run() == run()


@attrs.frozen
class NominatesFirstNode:
    """A PostFilter plugin standing in for preemption: it nominates the first rejected node."""

    name: str = "NominatesFirstNode"

    def post_filter(self, state, pod, filtered):
        return sorted(filtered)[0], Status()


def test_a_post_filter_nomination_is_reported_when_no_node_fits():
    registry = REGISTRY.merge({"NominatesFirstNode": lambda args, handle: NominatesFirstNode()})
    profile = Profile.build(registry, [*DEFAULT_PLUGINS, ("NominatesFirstNode", 1)])
    nodes = [make_node("b", {"cpu": "1"}), make_node("a", {"cpu": "1"})]
    result = schedule_one(
        profile, make_pod("p", ({"cpu": "2"},)), Snapshot.of(nodes), random.Random(0)
    )
    assert (result.node_name, result.nominated_node_name) == (None, "a")
