"""DefaultPreemption: who is eligible, which victims, which node, which message (upstream's cases).

Cases are transcribed as facts from upstream's default_preemption_test.go (release-1.35):
TestPostFilter (messages), TestDryRunPreemption (victims per node), TestSelectBestCandidate
(node choice) and TestPodEligibleToPreemptOthers, with upstream's resources: small 100m/100,
medium 200m/200, large 300m/300, very large 500m/500 (cpu/memory bytes), nodes of very large
capacity and 32 pods unless said otherwise, priorities neg -100, low 0, mid 100, high 1000,
very high 10000. Start times 1..6 are seconds (upstream uses nanoseconds; only the order
matters). The filters re-run are NodeResourcesFit's, as upstream registers them, and
InterPodAffinity's or PodTopologySpread's in the cases upstream registers those.
"""

from __future__ import annotations

import attrs
import pytest

from kubeprop.conformance.strategies.scheduler import make_node
from kubeprop.reference.scheduler import Code, Profile, Snapshot
from kubeprop.reference.scheduler.component import filter_nodes
from kubeprop.reference.scheduler.framework import (
    VICTIMS_KEY,
    CycleState,
    InvalidInput,
    schedule_one,
    unresolvable,
    unschedulable,
)
from kubeprop.reference.scheduler.plugins import REGISTRY
from kubeprop.reference.scheduler.plugins import default_preemption as dp
from kubeprop.spec.api.core import (
    Affinity,
    Container,
    Pod,
    PodAffinityTerm,
    PodAntiAffinity,
    PodSpec,
    PodStatus,
    ResourceRequirements,
    TopologySpreadConstraint,
)
from kubeprop.spec.api.meta import Condition, ObjectMeta
from kubeprop.spec.api.selectors import LabelSelector, LabelSelectorRequirement

NEG, LOW, MID, HIGH, VERY_HIGH = -100, 0, 100, 1000, 10000
SMALL = {"cpu": "100m", "memory": "100"}
MEDIUM = {"cpu": "200m", "memory": "200"}
LARGE = {"cpu": "300m", "memory": "300"}
VERY_LARGE = {"cpu": "500m", "memory": "500"}
ONE_POD = {"pods": "1"}
NODE_RES = {"cpu": "200m", "memory": "400"}


def at(second: int) -> str:
    return f"2026-01-01T00:00:0{second}Z"


def pod(name, node=None, priority=LOW, req=None, start=None, nominated=None, policy=None):
    container = Container(
        name="c",
        image="registry.k8s.io/pause:3.10",
        resources=ResourceRequirements(requests=req) if req else None,
    )
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default", uid=name),
        spec=PodSpec(
            containers=(container,),
            node_name=node,
            priority=priority,
            preemption_policy=policy,
        ),
        status=PodStatus(
            start_time=at(start) if start is not None else None, nominated_node_name=nominated
        ),
    )


def node(name, capacity=None):
    return make_node(name, {"pods": "32", **(capacity or VERY_LARGE)})


def profile(plugin=None) -> Profile:
    built = Profile.build(REGISTRY, ["NodeResourcesFit"])
    return Profile(plugins=(*built.plugins, plugin or dp.DefaultPreemption()))


def post_filter(preemptor, nodes, pods, statuses=None, plugin=None):
    """PostFilter as a failed cycle runs it: PreFilter state, and the filters' statuses
    unless ``statuses`` gives them (upstream's filteredNodesStatuses)."""
    prof = profile(plugin)
    snapshot = Snapshot.of(nodes, pods)
    state, found = filter_nodes(prof, preemptor, snapshot)
    plugin = prof.at("post_filter")[0]
    node_name, status = plugin.post_filter(
        state, preemptor, found if statuses is None else statuses
    )
    return node_name, status, state.data.get(VICTIMS_KEY, ())


# -- TestPostFilter: the nomination and the message ------------------------------------------

POST_FILTER = {
    "a pod with higher priority can be made schedulable": (
        pod("p", priority=HIGH),
        [node("node1", ONE_POD)],
        [pod("p1", "node1")],
        {"node1": unschedulable("Too many pods")},
        ("node1", Code.SUCCESS, ""),
    ),
    "a pod of tied priority is still unschedulable": (
        pod("p"),
        [node("node1", ONE_POD)],
        [pod("p1", "node1")],
        {"node1": unschedulable("Too many pods")},
        (
            "",
            Code.UNSCHEDULABLE,
            "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        ),
    ),
    "preemption respects a node rejected as UnschedulableAndUnresolvable": (
        pod("p", priority=HIGH),
        [node("node1", ONE_POD)],
        [pod("p1", "node1")],
        {"node1": unresolvable("Too many pods")},
        (
            "",
            Code.UNSCHEDULABLE,
            "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        ),
    ),
    "a node absent from the statuses counts as UnschedulableAndUnresolvable": (
        pod("p", priority=HIGH),
        [node("node1", ONE_POD)],
        [pod("p1", "node1")],
        {},
        (
            "",
            Code.UNSCHEDULABLE,
            "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        ),
    ),
    "a pod can be made schedulable on the one node holding a lower-priority pod": (
        pod("p", priority=MID),
        [node("node1", ONE_POD), node("node2", ONE_POD)],
        [pod("p1", "node1", priority=HIGH), pod("p2", "node2", priority=LOW)],
        {"node1": unschedulable("Too many pods"), "node2": unschedulable("Too many pods")},
        ("node2", Code.SUCCESS, ""),
    ),
    "no candidate when the pod still does not fit without the lower-priority pods": (
        pod("p", priority=HIGH, req=LARGE),
        [node("node1", NODE_RES), node("node2", NODE_RES)],
        [pod("p1", "node1"), pod("p2", "node2")],
        {"node1": unschedulable("x"), "node2": unschedulable("x")},
        ("", Code.UNSCHEDULABLE, "preemption: 0/2 nodes are available: 2 Insufficient cpu."),
    ),
    "mixed reasons: no lower-priority pod on two nodes, not enough cpu on the third": (
        pod("p", priority=HIGH, req=LARGE),
        [node("node1", ONE_POD), node("node2", NODE_RES), node("node3", ONE_POD)],
        [pod("p1", "node1", priority=HIGH), pod("p2", "node2"), pod("p3", "node3", priority=HIGH)],
        {name: unschedulable("x") for name in ("node1", "node2", "node3")},
        (
            "",
            Code.UNSCHEDULABLE,
            "preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 No preemption victims "
            "found for incoming pod.",
        ),
    ),
    "mixed reasons: two nodes preemption cannot help, two without enough cpu": (
        pod("p", priority=HIGH, req=LARGE),
        [node(f"node{i}", NODE_RES) for i in (1, 2, 3, 4)],
        [pod("p1", "node1"), pod("p2", "node2")],
        {
            "node1": unschedulable("x"),
            "node2": unschedulable("x"),
            "node4": unresolvable("x"),
        },
        (
            "",
            Code.UNSCHEDULABLE,
            "preemption: 0/4 nodes are available: 2 Insufficient cpu, 2 Preemption is not "
            "helpful for scheduling.",
        ),
    ),
    "a pod with preemptionPolicy Never is not eligible and leaves its nomination alone": (
        pod("p", priority=HIGH, policy="Never"),
        [node("node1", ONE_POD)],
        [pod("p1", "node1")],
        {"node1": unschedulable("Too many pods")},
        (None, Code.UNSCHEDULABLE, "preemption: not eligible due to preemptionPolicy=Never."),
    ),
}


@pytest.mark.parametrize("name", list(POST_FILTER))
def test_post_filter(name):
    preemptor, nodes, pods, statuses, (want_node, want_code, want_message) = POST_FILTER[name]
    got_node, status, _ = post_filter(preemptor, nodes, pods, statuses)
    assert (got_node, status.code, status.message()) == (want_node, want_code, want_message)


# -- TestDryRunPreemption: the victims on every candidate -------------------------------------


def candidates(preemptor, pods, node_names=("node1", "node2"), plugin=None):
    prof = profile(plugin)
    snapshot = Snapshot.of([node(n) for n in node_names], pods)
    state, statuses = filter_nodes(prof, preemptor, snapshot)
    plugin = prof.at("post_filter")[0]
    found, _, _ = plugin.find_candidates(state, preemptor, snapshot.node_infos, statuses)
    return {c.node_name: sorted(p.metadata.name for p in c.victims) for c in found}


DRY_RUN = {
    "a pod that fits on both nodes when lower priority pods are preempted": (
        pod("p", priority=HIGH, req=LARGE),
        [pod("p1", "node1", MID, LARGE), pod("p2", "node2", MID, LARGE)],
        {"node1": ["p1"], "node2": ["p2"]},
    ),
    "a pod that would fit but other pods running are of higher priority: no preemption": (
        pod("p", priority=LOW, req=LARGE),
        [pod("p1", "node1", MID, LARGE), pod("p2", "node2", MID, LARGE)],
        {},
    ),
    "the medium priority pod is preempted, but the lower priority one stays as it is small": (
        pod("p", priority=HIGH, req=LARGE),
        [
            pod("p1.1", "node1", LOW, SMALL),
            pod("p1.2", "node1", MID, LARGE),
            pod("p2", "node2", MID, LARGE),
        ],
        {"node1": ["p1.2"], "node2": ["p2"]},
    ),
    "mixed priority pods are preempted, the minimal set": (
        pod("p", priority=HIGH, req=LARGE),
        [
            pod("p1.1", "node1", MID, SMALL),
            pod("p1.2", "node1", LOW, SMALL),
            pod("p1.3", "node1", MID, MEDIUM),
            pod("p1.4", "node1", HIGH, SMALL),
            pod("p2", "node2", HIGH, LARGE),
        ],
        {"node1": ["p1.2", "p1.3"]},
    ),
    "mixed priority pods are preempted, the later start time one when priorities are equal": (
        pod("p", priority=HIGH, req=LARGE),
        [
            pod("p1.1", "node1", LOW, SMALL, start=5),
            pod("p1.2", "node1", LOW, SMALL, start=4),
            pod("p1.3", "node1", MID, MEDIUM, start=3),
            pod("p1.4", "node1", HIGH, SMALL, start=2),
            pod("p2", "node2", HIGH, LARGE, start=1),
        ],
        {"node1": ["p1.1", "p1.3"]},
    ),
}


@pytest.mark.parametrize("name", list(DRY_RUN))
def test_dry_run_victims(name):
    preemptor, pods, want = DRY_RUN[name]
    assert candidates(preemptor, pods) == want


def test_the_dry_run_stops_at_min_candidate_nodes_percentage_of_the_candidates():
    """Upstream: 5 candidates, minCandidateNodesPercentage 40, minCandidateNodesAbsolute 1
    -> 2 candidates (upstream starts at a random offset; the model at the first node)."""
    plugin = dp.new({"minCandidateNodesPercentage": 40, "minCandidateNodesAbsolute": 1}, None)
    names = tuple(f"node{i}" for i in range(1, 6))
    pods = [pod(f"p{i}", f"node{i}", MID, LARGE) for i in range(1, 6)]
    found = candidates(pod("p", priority=HIGH, req=LARGE), pods, names, plugin)
    assert found == {"node1": ["p1"], "node2": ["p2"]}


@pytest.mark.parametrize(
    ("nodes", "percentage", "absolute", "want"),
    [(1000, 10, 100, 100), (5000, 10, 100, 500), (50, 10, 100, 50), (5, 40, 1, 2), (5, 0, 1, 1)],
)
def test_the_number_of_candidates_wanted(nodes, percentage, absolute, want):
    plugin = dp.DefaultPreemption(
        min_candidate_nodes_percentage=percentage, min_candidate_nodes_absolute=absolute
    )
    assert plugin.candidates_wanted(nodes) == want


# -- TestSelectBestCandidate: the node chosen -------------------------------------------------

SELECT = {
    "the node with the lowest highest-priority victim is picked": (
        pod("p", priority=HIGH, req=VERY_LARGE),
        [
            pod("p1.1", "node1", MID, MEDIUM, 0),
            pod("p1.2", "node1", MID, LARGE, 0),
            pod("p2.1", "node2", MID, MEDIUM, 0),
            pod("p2.2", "node2", LOW, MEDIUM, 0),
            pod("p3.1", "node3", LOW, MEDIUM, 0),
            pod("p3.2", "node3", LOW, MEDIUM, 0),
        ],
        3,
        "node3",
    ),
    "when the highest priorities are the same, the lowest sum of priorities is picked": (
        pod("p", priority=HIGH, req=VERY_LARGE),
        [
            pod("p1.1", "node1", MID, MEDIUM, 0),
            pod("p1.2", "node1", MID, LARGE, 0),
            pod("p2.1", "node2", MID, LARGE, 0),
            pod("p2.2", "node2", LOW, MEDIUM, 0),
            pod("p3.1", "node3", MID, MEDIUM, 0),
            pod("p3.2", "node3", MID, MEDIUM, 0),
        ],
        3,
        "node2",
    ),
    "when highest priority and sum are the same, the fewest victims are picked": (
        pod("p", priority=HIGH, req=VERY_LARGE),
        [
            pod("p1.1", "node1", MID, SMALL, 0),
            pod("p1.2", "node1", NEG, SMALL, 0),
            pod("p1.3", "node1", MID, SMALL, 0),
            pod("p1.4", "node1", NEG, SMALL, 0),
            pod("p2.1", "node2", MID, LARGE, 0),
            pod("p2.2", "node2", NEG, MEDIUM, 0),
            pod("p3.1", "node3", MID, MEDIUM, 0),
            pod("p3.2", "node3", NEG, SMALL, 0),
            pod("p3.3", "node3", LOW, SMALL, 0),
        ],
        3,
        "node2",
    ),
    "the sum of priorities shifted by 2^31 is considered": (
        pod("p", priority=HIGH, req=VERY_LARGE),
        [
            pod("p1.1", "node1", MID, SMALL, 0),
            pod("p1.2", "node1", NEG, SMALL, 0),
            pod("p1.3", "node1", NEG, SMALL, 0),
            pod("p2.1", "node2", MID, LARGE, 0),
            pod("p2.2", "node2", NEG, MEDIUM, 0),
            pod("p3.1", "node3", MID, MEDIUM, 0),
            pod("p3.2", "node3", NEG, SMALL, 0),
            pod("p3.3", "node3", LOW, SMALL, 0),
        ],
        3,
        "node2",
    ),
    "non-overlapping lowest high priority, sum of priorities and number of pods": (
        pod("p", priority=VERY_HIGH, req=VERY_LARGE),
        [
            pod("p1.1", "node1", MID, SMALL, 0),
            pod("p1.2", "node1", LOW, SMALL, 0),
            pod("p1.3", "node1", LOW, SMALL, 0),
            pod("p2.1", "node2", HIGH, LARGE, 0),
            pod("p3.1", "node3", MID, MEDIUM, 0),
            pod("p3.2", "node3", LOW, SMALL, 0),
            pod("p3.3", "node3", LOW, SMALL, 0),
            pod("p3.4", "node3", LOW, MEDIUM, 0),
            pod("p4.1", "node4", MID, MEDIUM, 0),
            pod("p4.2", "node4", MID, SMALL, 0),
            pod("p4.3", "node4", MID, SMALL, 0),
            pod("p4.4", "node4", NEG, SMALL, 0),
        ],
        4,
        "node1",
    ),
    "same priority, same number of victims: the latest start time of each node's pods wins": (
        pod("p", priority=HIGH, req=VERY_LARGE),
        [
            pod("p1.1", "node1", MID, MEDIUM, 2),
            pod("p1.2", "node1", MID, MEDIUM, 2),
            pod("p2.1", "node2", MID, MEDIUM, 3),
            pod("p2.2", "node2", MID, MEDIUM, 3),
            pod("p3.1", "node3", MID, MEDIUM, 1),
            pod("p3.2", "node3", MID, MEDIUM, 1),
        ],
        3,
        "node2",
    ),
    "same priority, same number of victims: the latest earliest start time wins": (
        pod("p", priority=HIGH, req=VERY_LARGE),
        [
            pod("p1.1", "node1", MID, MEDIUM, 4),
            pod("p1.2", "node1", MID, MEDIUM, 2),
            pod("p2.1", "node2", MID, MEDIUM, 5),
            pod("p2.2", "node2", MID, MEDIUM, 1),
            pod("p3.1", "node3", MID, MEDIUM, 3),
            pod("p3.2", "node3", MID, MEDIUM, 6),
        ],
        3,
        "node3",
    ),
    "different priorities: the start time of the highest-priority victims decides": (
        pod("p", priority=HIGH, req=VERY_LARGE),
        [
            pod("p1.1", "node1", LOW, MEDIUM, 4),
            pod("p1.2", "node1", MID, MEDIUM, 2),
            pod("p2.1", "node2", MID, MEDIUM, 6),
            pod("p2.2", "node2", LOW, MEDIUM, 1),
            pod("p3.1", "node3", LOW, MEDIUM, 3),
            pod("p3.2", "node3", MID, MEDIUM, 5),
        ],
        3,
        "node2",
    ),
}


@pytest.mark.parametrize("name", list(SELECT))
def test_select_best_candidate(name):
    preemptor, pods, count, want = SELECT[name]
    names = tuple(f"node{i}" for i in range(1, count + 1))
    got, status, victims = post_filter(preemptor, [node(n) for n in names], pods)
    assert status.is_success()
    assert got == want
    assert victims and all(v.split("/")[1].startswith(f"p{want[-1]}.") for v in victims)


def test_equal_candidates_pick_the_first_node():
    preemptor = pod("p", priority=HIGH, req=LARGE)
    pods = [pod("p1", "node1", MID, LARGE, 0), pod("p2", "node2", MID, LARGE, 0)]
    got, _, victims = post_filter(preemptor, [node("node1"), node("node2")], pods)
    assert (got, victims) == ("node1", ("default/p1",))


# -- PodEligibleToPreemptOthers --------------------------------------------------------------


def terminating(name, node_name, priority, by_preemption=True):
    victim = pod(name, node_name, priority)
    conditions = (
        (Condition(type="DisruptionTarget", status="True", reason="PreemptionByScheduler"),)
        if by_preemption
        else ()
    )
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default", uid=name, deletion_timestamp=at(1)),
        spec=victim.spec,
        status=PodStatus(conditions=conditions),
    )


ELIGIBLE = {
    "a pod with preemptionPolicy Never is not eligible": (
        pod("p", priority=HIGH, policy="Never"),
        [],
        unschedulable("x"),
        (False, "not eligible due to preemptionPolicy=Never."),
    ),
    "a pod without a nominated node is eligible": (
        pod("p", priority=HIGH),
        [terminating("v", "node1", LOW)],
        unschedulable("x"),
        (True, ""),
    ),
    "a lower-priority pod terminating by preemption on the nominated node makes it wait": (
        pod("p", priority=HIGH, nominated="node1"),
        [terminating("v", "node1", LOW)],
        unschedulable("x"),
        (False, "not eligible due to a terminating pod on the nominated node."),
    ),
    "a terminating pod not preempted by the scheduler does not count": (
        pod("p", priority=HIGH, nominated="node1"),
        [terminating("v", "node1", LOW, by_preemption=False)],
        unschedulable("x"),
        (True, ""),
    ),
    "a terminating pod of equal priority does not count": (
        pod("p", priority=HIGH, nominated="node1"),
        [terminating("v", "node1", HIGH)],
        unschedulable("x"),
        (True, ""),
    ),
    "a terminating pod on another node does not count": (
        pod("p", priority=HIGH, nominated="node1"),
        [terminating("v", "node2", LOW)],
        unschedulable("x"),
        (True, ""),
    ),
    "a nominated node now UnschedulableAndUnresolvable lets it preempt again": (
        pod("p", priority=HIGH, nominated="node1"),
        [terminating("v", "node1", LOW)],
        unresolvable("x"),
        (True, ""),
    ),
}


@pytest.mark.parametrize("name", list(ELIGIBLE))
def test_pod_eligible_to_preempt_others(name):
    preemptor, pods, nominated_status, want = ELIGIBLE[name]
    state = CycleState(snapshot=Snapshot.of([node("node1"), node("node2")], pods))
    assert dp.DefaultPreemption().eligible(state, preemptor, nominated_status) == want


def test_a_waiting_preemptor_reports_why_and_keeps_its_nomination():
    preemptor = pod("p", priority=HIGH, req=LARGE, nominated="node1")
    pods = [terminating("v", "node1", LOW), pod("w", "node1", MID, LARGE)]
    statuses = {"node1": unschedulable("Insufficient cpu")}
    got, status, _ = post_filter(preemptor, [node("node1", NODE_RES)], pods, statuses)
    assert got is None
    assert status.message() == (
        "preemption: not eligible due to a terminating pod on the nominated node."
    )


# -- the whole cycle ---------------------------------------------------------------------------


def test_a_failed_cycle_nominates_the_node_and_names_the_victims():
    import random

    prof = profile()
    snapshot = Snapshot.of(
        [node("node1"), node("node2")],
        [pod("a", "node1", LOW, VERY_LARGE), pod("b", "node2", MID, VERY_LARGE)],
    )
    result = schedule_one(prof, pod("p", priority=HIGH, req=LARGE), snapshot, random.Random(0))
    assert result.node_name is None
    assert (result.nominated_node_name, result.victims) == ("node1", ("default/a",))


# -- DefaultPreemptionArgs -------------------------------------------------------------------


def test_defaults_are_ten_percent_and_one_hundred_nodes():
    plugin = dp.new(None, None)
    assert (plugin.min_candidate_nodes_percentage, plugin.min_candidate_nodes_absolute) == (10, 100)
    assert dp.new({}, None) == plugin
    assert plugin.name == "DefaultPreemption"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"minCandidateNodesPercentage": -1},
            "minCandidateNodesPercentage: Invalid value: -1: not in valid range [0, 100]",
        ),
        (
            {"minCandidateNodesPercentage": 900},
            "minCandidateNodesPercentage: Invalid value: 900: not in valid range [0, 100]",
        ),
        (
            {"minCandidateNodesAbsolute": -1},
            "minCandidateNodesAbsolute: Invalid value: -1: not in valid range [0, inf)",
        ),
        (
            {"minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": 0},
            "[minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as "
            "minCandidateNodesAbsolute, minCandidateNodesAbsolute: Invalid value: 0: cannot be "
            "zero at the same time as minCandidateNodesPercentage]",
        ),
        (
            {"minCandidateNodesAbsolute": "ten"},
            'minCandidateNodesAbsolute: Invalid value: "ten": must be an integer',
        ),
    ],
    ids=[
        "a negative percentage is rejected",
        "a percentage above 100 is rejected",
        "a negative absolute number is rejected",
        "both zero is rejected on both fields",
        "a number that is not an integer is rejected",
    ],
)
def test_invalid_args_name_the_field(args, message):
    with pytest.raises(InvalidInput) as raised:
        dp.new(args, None)
    assert str(raised.value) == message


def test_only_percentage_zero_is_valid_with_an_absolute_number():
    plugin = dp.new({"minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": 1}, None)
    assert plugin.candidates_wanted(1000) == 1


# -- filters whose PreFilter counts the cluster's pods -------------------------------------------


def labelled(p, **labels):
    return attrs.evolve(p, metadata=attrs.evolve(p.metadata, labels=labels))


def exists(key):
    return LabelSelector(match_expressions=(LabelSelectorRequirement(key=key, operator="Exists"),))


def dry_run(preemptor, nodes, pods, filters):
    """Upstream's DryRunPreemption over every node (all Unschedulable): node -> victims."""
    built = Profile.build(REGISTRY, list(filters))
    prof = Profile(plugins=(*built.plugins, dp.DefaultPreemption()))
    snapshot = Snapshot.of(nodes, pods)
    state = filter_nodes(prof, preemptor, snapshot)[0]
    statuses = {info.name: unschedulable("x") for info in snapshot.node_infos}
    plugin = prof.at("post_filter")[0]
    found, _, _ = plugin.find_candidates(state, preemptor, snapshot.node_infos, statuses)
    return {c.node_name: sorted(p.metadata.name for p in c.victims) for c in found}


def test_a_pod_with_required_anti_affinity_against_the_preemptor_is_preempted():
    anti = Affinity(
        pod_anti_affinity=PodAntiAffinity(
            required_during_scheduling_ignored_during_execution=(
                PodAffinityTerm(label_selector=exists("foo"), topology_key="hostname"),
            )
        )
    )
    blocker = labelled(pod("p1.1", "node1", LOW, SMALL), foo="")
    blocker = attrs.evolve(blocker, spec=attrs.evolve(blocker.spec, affinity=anti))
    pods = [
        blocker,
        pod("p1.2", "node1", MID, SMALL),
        pod("p1.3", "node1", HIGH, SMALL),
        pod("p2", "node2", HIGH, SMALL),
    ]
    nodes = [
        make_node(n, {"pods": "32", **VERY_LARGE}, labels={"hostname": n})
        for n in ("node1", "node2")
    ]
    preemptor = labelled(pod("p", priority=HIGH, req=SMALL), foo="")
    filters = ("NodeResourcesFit", "InterPodAffinity")
    assert dry_run(preemptor, nodes, pods, filters) == {"node1": ["p1.1"]}


def test_preemption_resolves_a_pod_topology_spread_failure():
    def spread(key):
        return TopologySpreadConstraint(
            max_skew=1,
            topology_key=key,
            when_unsatisfiable="DoNotSchedule",
            label_selector=exists("foo"),
        )

    nodes = [
        make_node(n, {"pods": "32", **VERY_LARGE}, labels={"hostname": n, "zone": z})
        for n, z in (("node-a", "zone1"), ("node-b", "zone1"), ("node-x", "zone2"))
    ]
    pods = [
        labelled(pod("pod-a1", "node-a", MID), foo=""),
        labelled(pod("pod-a2", "node-a", LOW), foo=""),
        labelled(pod("pod-b1", "node-b", LOW), foo=""),
        labelled(pod("pod-x1", "node-x", HIGH), foo=""),
        labelled(pod("pod-x2", "node-x", HIGH), foo=""),
    ]
    preemptor = labelled(pod("p", priority=HIGH), foo="")
    preemptor = attrs.evolve(
        preemptor,
        spec=attrs.evolve(
            preemptor.spec, topology_spread_constraints=(spread("zone"), spread("hostname"))
        ),
    )
    found = dry_run(preemptor, nodes, pods, ("PodTopologySpread",))
    assert found == {"node-a": ["pod-a2"], "node-b": ["pod-b1"]}
