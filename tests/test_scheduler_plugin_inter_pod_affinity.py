"""InterPodAffinity: required terms filter, preferred and existing pods' terms score (upstream's cases).

Cases transcribed from kubernetes/kubernetes release-1.35
pkg/scheduler/framework/plugins/interpodaffinity/filtering_test.go
(TestRequiredAffinitySingleNode, TestRequiredAffinityMultipleNodes, TestPreFilterDisabled),
scoring_test.go (TestPreferredAffinity, TestPreferredAffinityWithHardPodAffinitySymmetricWeight)
and pkg/scheduler/apis/config/validation/validation_pluginargs_test.go. Upstream's test
pods live in the namespace ""; here they live in "default", the same for every pod.
"""

from __future__ import annotations

import random

import pytest

from kubeprop.reference.scheduler import Code, Snapshot
from kubeprop.reference.scheduler.framework import (
    CycleState,
    InvalidInput,
    Profile,
    schedule_one,
)
from kubeprop.reference.scheduler.plugins import REGISTRY
from kubeprop.reference.scheduler.plugins import inter_pod_affinity as ipa
from kubeprop.reference.scheduler.plugins.inter_pod_affinity.scoring import min_max_normalize
from kubeprop.spec.api.core import (
    Affinity,
    Container,
    Node,
    NodeSpec,
    NodeStatus,
    Pod,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    PodSpec,
    WeightedPodAffinityTerm,
)
from kubeprop.spec.api.meta import ObjectMeta
from kubeprop.spec.api.selectors import LabelSelector, LabelSelectorRequirement

NAMESPACES = {
    "subteam1.team1": {"team": "team1"},
    "subteam2.team1": {"team": "team1"},
    "subteam1.team2": {"team": "team2"},
    "subteam2.team2": {"team": "team2"},
}


# -- builders (upstream's st.MakePod().PodAffinityIn(...) and friends) ------------------------


def selector(*requirements: tuple[str, str, tuple[str, ...]]) -> LabelSelector:
    return LabelSelector(
        match_expressions=tuple(
            LabelSelectorRequirement(key=k, operator=op, values=tuple(v))
            for k, op, v in requirements
        )
    )


def term(*requirements, topology="", namespaces=(), namespace_selector=None) -> PodAffinityTerm:
    return PodAffinityTerm(
        label_selector=selector(*requirements),
        topology_key=topology,
        namespaces=tuple(namespaces),
        namespace_selector=namespace_selector,
    )


def In(key, topology, *values, **kwargs):  # noqa: N802 - upstream's helper names
    return term((key, "In", values), topology=topology, **kwargs)


def NotIn(key, topology, *values, **kwargs):  # noqa: N802
    return term((key, "NotIn", values), topology=topology, **kwargs)


def Exists(key, topology, **kwargs):  # noqa: N802
    return term((key, "Exists", ()), topology=topology, **kwargs)


def weighted(weight, pod_term):
    return WeightedPodAffinityTerm(weight=weight, pod_affinity_term=pod_term)


def affinity(required=(), anti=(), preferred=(), preferred_anti=()) -> Affinity:
    return Affinity(
        pod_affinity=PodAffinity(
            required_during_scheduling_ignored_during_execution=tuple(required),
            preferred_during_scheduling_ignored_during_execution=tuple(preferred),
        )
        if required or preferred
        else None,
        pod_anti_affinity=PodAntiAffinity(
            required_during_scheduling_ignored_during_execution=tuple(anti),
            preferred_during_scheduling_ignored_during_execution=tuple(preferred_anti),
        )
        if anti or preferred_anti
        else None,
    )


def pod(
    labels=None,
    node=None,
    namespace="default",
    name="pod",
    required=(),
    anti=(),
    aff: Affinity | None = None,
) -> Pod:
    if aff is None and (required or anti):
        aff = affinity(required, anti)
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=labels or {}),
        spec=PodSpec(
            containers=(Container(name="c", image="registry.k8s.io/pause:3.10"),),
            node_name=node,
            affinity=aff,
        ),
    )


def node(name, labels) -> Node:
    return Node(
        metadata=ObjectMeta(name=name, labels=labels),
        spec=NodeSpec(),
        status=NodeStatus(allocatable={"pods": "110"}, capacity={"pods": "110"}),
    )


def snapshot(nodes: dict[str, dict[str, str]], pods) -> Snapshot:
    return Snapshot.of([node(n, labels) for n, labels in nodes.items()], pods, NAMESPACES)


PLUGIN = ipa.new(None, None)
AFFINITY = (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) didn't match pod affinity rules")
ANTI = (Code.UNSCHEDULABLE, "node(s) didn't match pod anti-affinity rules")
EXISTING = (Code.UNSCHEDULABLE, "node(s) didn't satisfy existing pods anti-affinity rules")
SKIP = "Skip"
OK = None


def run_filter(incoming, pods, nodes, plugin=PLUGIN):
    """PreFilter once, then Filter on each node; 'Skip' if PreFilter skips, else node -> outcome."""
    snap = snapshot(nodes, pods)
    state = CycleState(snapshot=snap)
    status = plugin.pre_filter(state, incoming, snap.node_infos)
    if status.is_skip():
        return SKIP
    if not status.is_success():
        return (status.code, status.message())
    outcomes = {}
    for info in snap.node_infos:
        result = plugin.filter(state, incoming, info)
        outcomes[info.name] = None if result.is_success() else (result.code, result.message())
    return outcomes


# -- TestRequiredAffinitySingleNode ---------------------------------------------------------------

POD_LABEL = {"service": "securityscan"}
POD_LABEL2 = {"security": "S1"}
NODE1 = {"node1": {"region": "r1", "zone": "z11"}}
EXISTING_POD = pod(POD_LABEL, node="node1", name="existing")
TEAM1 = selector(("team", "In", ("team1",)))
BAD_VALUE = (
    Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
    'parsing pod: requiredAffinityTerms: values[0][service]: Invalid value: "{{.bad-value.}}": '
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
)

SINGLE_NODE = {
    "A pod that has no required pod affinity scheduling rules can schedule onto a node with no "
    "existing pods": (pod(), [], SKIP),
    "satisfies with requiredDuringSchedulingIgnoredDuringExecution in PodAffinity using In "
    "operator that matches the existing pod": (
        pod(POD_LABEL2, required=[In("service", "region", "securityscan", "value2")]),
        [EXISTING_POD],
        OK,
    ),
    "satisfies the pod with requiredDuringSchedulingIgnoredDuringExecution in PodAffinity using "
    "not in operator in labelSelector that matches the existing pod": (
        pod(POD_LABEL2, required=[NotIn("service", "region", "securityscan3", "value3")]),
        [EXISTING_POD],
        OK,
    ),
    "Does not satisfy the PodAffinity with labelSelector because of diff Namespace": (
        pod(
            POD_LABEL2,
            required=[In("service", "", "securityscan", "value2", namespaces=["DiffNameSpace"])],
        ),
        [pod(POD_LABEL, node="node1", namespace="ns")],
        AFFINITY,
    ),
    "Doesn't satisfy the PodAffinity because of unmatching labelSelector with the existing pod": (
        pod(POD_LABEL, required=[In("service", "", "antivirusscan", "value2")]),
        [EXISTING_POD],
        AFFINITY,
    ),
    "satisfies the PodAffinity with different label Operators in multiple "
    "RequiredDuringSchedulingIgnoredDuringExecution": (
        pod(
            POD_LABEL2,
            required=[
                term(
                    ("service", "Exists", ()), ("wrongkey", "DoesNotExist", ()), topology="region"
                ),
                term(
                    ("service", "In", ("securityscan",)),
                    ("service", "NotIn", ("WrongValue",)),
                    topology="region",
                ),
            ],
        ),
        [EXISTING_POD],
        OK,
    ),
    "The labelSelector requirements(items of matchExpressions) are ANDed, the pod cannot schedule "
    "onto the node because one of the matchExpression item don't match.": (
        pod(
            POD_LABEL2,
            required=[
                term(
                    ("service", "Exists", ()), ("wrongkey", "DoesNotExist", ()), topology="region"
                ),
                term(
                    ("service", "In", ("securityscan2",)),
                    ("service", "NotIn", ("WrongValue",)),
                    topology="region",
                ),
            ],
        ),
        [EXISTING_POD],
        AFFINITY,
    ),
    "satisfies the PodAffinity and PodAntiAffinity with the existing pod": (
        pod(
            POD_LABEL2,
            required=[In("service", "region", "securityscan", "value2")],
            anti=[In("service", "node", "antivirusscan", "value2")],
        ),
        [EXISTING_POD],
        OK,
    ),
    "satisfies the PodAffinity and PodAntiAffinity and PodAntiAffinity symmetry with the "
    "existing pod": (
        pod(
            POD_LABEL2,
            required=[In("service", "region", "securityscan", "value2")],
            anti=[In("service", "node", "antivirusscan", "value2")],
        ),
        [pod(POD_LABEL, node="node1", anti=[In("service", "node", "antivirusscan", "value2")])],
        OK,
    ),
    "satisfies the PodAffinity but doesn't satisfy the PodAntiAffinity with the existing pod": (
        pod(
            POD_LABEL2,
            required=[In("service", "region", "securityscan", "value2")],
            anti=[In("service", "zone", "securityscan", "value2")],
        ),
        [EXISTING_POD],
        ANTI,
    ),
    "satisfies the PodAffinity and PodAntiAffinity but doesn't satisfy PodAntiAffinity symmetry "
    "with the existing pod": (
        pod(
            POD_LABEL,
            required=[In("service", "region", "securityscan", "value2")],
            anti=[In("service", "node", "antivirusscan", "value2")],
        ),
        [pod(POD_LABEL, node="node1", anti=[In("service", "zone", "securityscan", "value2")])],
        EXISTING,
    ),
    "pod matches its own Label in PodAffinity and that matches the existing pod Labels": (
        pod(POD_LABEL, required=[NotIn("service", "region", "securityscan", "value2")]),
        [pod(POD_LABEL, node="node2")],
        AFFINITY,
    ),
    "verify that PodAntiAffinity from existing pod is respected when pod has no AntiAffinity "
    "constraints. doesn't satisfy PodAntiAffinity symmetry with the existing pod": (
        pod(POD_LABEL),
        [pod(POD_LABEL, node="node1", anti=[In("service", "zone", "securityscan", "value2")])],
        EXISTING,
    ),
    "verify that PodAntiAffinity from existing pod is respected when pod has no AntiAffinity "
    "constraints. satisfy PodAntiAffinity symmetry with the existing pod": (
        pod(POD_LABEL),
        [pod(POD_LABEL, node="node1", anti=[NotIn("service", "zone", "securityscan", "value2")])],
        SKIP,
    ),
    "satisfies the PodAntiAffinity with existing pod but doesn't satisfy PodAntiAffinity "
    "symmetry with incoming pod": (
        pod(POD_LABEL, anti=[Exists("service", "region"), Exists("security", "region")]),
        [pod(POD_LABEL2, node="node1", anti=[Exists("security", "zone")])],
        ANTI,
    ),
    "PodAntiAffinity symmetry check a1: incoming pod and existing pod partially match each other "
    "on AffinityTerms": (
        pod(POD_LABEL, anti=[Exists("service", "zone"), Exists("security", "zone")]),
        [pod(POD_LABEL2, node="node1", anti=[Exists("security", "zone")])],
        ANTI,
    ),
    "PodAntiAffinity symmetry check a2: incoming pod and existing pod partially match each other "
    "on AffinityTerms": (
        pod(POD_LABEL2, anti=[Exists("security", "zone")]),
        [
            pod(
                POD_LABEL,
                node="node1",
                anti=[Exists("service", "zone"), Exists("security", "zone")],
            )
        ],
        EXISTING,
    ),
    "PodAntiAffinity symmetry check b1: incoming pod and existing pod partially match each other "
    "on AffinityTerms": (
        pod({"abc": "", "xyz": ""}, anti=[Exists("abc", "zone"), Exists("def", "zone")]),
        [
            pod(
                {"def": "", "xyz": ""},
                node="node1",
                anti=[Exists("abc", "zone"), Exists("def", "zone")],
            )
        ],
        ANTI,
    ),
    "PodAntiAffinity symmetry check b2: incoming pod and existing pod partially match each other "
    "on AffinityTerms": (
        pod({"def": "", "xyz": ""}, anti=[Exists("abc", "zone"), Exists("def", "zone")]),
        [
            pod(
                {"abc": "", "xyz": ""},
                node="node1",
                anti=[Exists("abc", "zone"), Exists("def", "zone")],
            )
        ],
        ANTI,
    ),
    "PodAffinity fails PreFilter with an invalid affinity label syntax": (
        pod(
            POD_LABEL,
            required=[
                In("service", "region", "{{.bad-value.}}"),
                In("service", "node", "antivirusscan", "value2"),
            ],
        ),
        [],
        BAD_VALUE,
    ),
    "PodAntiAffinity fails PreFilter with an invalid antiaffinity label syntax": (
        pod(
            POD_LABEL,
            required=[
                In("service", "region", "foo"),
                In("service", "node", "{{.bad-value.}}"),
            ],
        ),
        [],
        BAD_VALUE,
    ),
    "affinity with NamespaceSelector": (
        pod(
            POD_LABEL2,
            required=[In("service", "region", "securityscan", "value2", namespace_selector=TEAM1)],
        ),
        [pod(POD_LABEL, node="node1", namespace="subteam1.team1")],
        OK,
    ),
    "affinity with non-matching NamespaceSelector": (
        pod(
            POD_LABEL2,
            required=[In("service", "region", "securityscan", "value2", namespace_selector=TEAM1)],
        ),
        [pod(POD_LABEL, node="node1", namespace="subteam1.team2")],
        AFFINITY,
    ),
    "anti-affinity with matching NamespaceSelector": (
        pod(
            POD_LABEL2,
            namespace="subteam1.team1",
            anti=[In("service", "zone", "securityscan", "value2", namespace_selector=TEAM1)],
        ),
        [pod(POD_LABEL, node="node1", namespace="subteam2.team1")],
        ANTI,
    ),
    "anti-affinity with matching all NamespaceSelector": (
        pod(
            POD_LABEL2,
            namespace="subteam1.team1",
            anti=[
                In("service", "zone", "securityscan", "value2", namespace_selector=LabelSelector())
            ],
        ),
        [pod(POD_LABEL, node="node1", namespace="subteam2.team1")],
        ANTI,
    ),
    "anti-affinity with non-matching NamespaceSelector": (
        pod(
            POD_LABEL2,
            namespace="subteam1.team1",
            anti=[In("service", "zone", "securityscan", "value2", namespace_selector=TEAM1)],
        ),
        [pod(POD_LABEL, node="node1", namespace="subteam1.team2")],
        OK,
    ),
}


@pytest.mark.parametrize("name", list(SINGLE_NODE))
def test_required_affinity_single_node(name):
    incoming, pods, expected = SINGLE_NODE[name]
    got = run_filter(incoming, pods, NODE1)
    if expected is SKIP or (isinstance(expected, tuple) and "parsing pod" in expected[1]):
        assert got == expected
    else:
        assert got == {"node1": expected}


# -- TestRequiredAffinityMultipleNodes --------------------------------------------------------------

CHINA = {"region": "China"}
CHINA_AZ1 = {"region": "China", "az": "az1"}
INDIA = {"region": "India"}
R1Z1 = {"region": "r1", "zone": "z1"}
R1Z2 = {"region": "r1", "zone": "z2"}


def ab(a=R1Z1, b=R1Z2):
    return {"nodeA": {**a, "hostname": "nodeA"}, "nodeB": {**b, "hostname": "nodeB"}}


MULTIPLE_NODES = {
    "A pod can be scheduled onto all the nodes that have the same topology key & label value "
    "with one of them has an existing pod that matches the affinity rules": (
        pod(required=[In("foo", "region", "bar")]),
        [pod({"foo": "bar"}, node="node1", name="p1")],
        {"node1": CHINA, "node2": CHINA_AZ1, "node3": INDIA},
        {"node1": OK, "node2": OK, "node3": AFFINITY},
    ),
    "The affinity rule is to schedule all of the pods of this collection to the same zone. The "
    "first pod of the collection should not be blocked from being scheduled onto any node, even "
    "there's no existing pod that matches the rule anywhere.": (
        pod(
            {"foo": "bar", "service": "securityscan"},
            required=[In("foo", "zone", "bar"), In("service", "zone", "securityscan")],
        ),
        [pod({"foo": "bar"}, node="nodeA", name="p1")],
        {"nodeA": {"zone": "az1", "hostname": "h1"}, "nodeB": {"zone": "az2", "hostname": "h2"}},
        {"nodeA": OK, "nodeB": OK},
    ),
    "The first pod of the collection can only be scheduled on nodes labelled with the requested "
    "topology keys": (
        pod(
            {"foo": "bar", "service": "securityscan"},
            required=[In("foo", "zone", "bar"), In("service", "zone", "securityscan")],
        ),
        [pod({"foo": "bar"}, node="nodeA", name="p1")],
        {
            "nodeA": {"zoneLabel": "az1", "hostname": "h1"},
            "nodeB": {"zoneLabel": "az2", "hostname": "h2"},
        },
        {"nodeA": AFFINITY, "nodeB": AFFINITY},
    ),
    "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that "
    "matches the inter pod affinity rule. The pod can not be scheduled onto nodeA and nodeB.": (
        pod(anti=[In("foo", "region", "abc")]),
        [pod({"foo": "abc"}, node="nodeA")],
        ab(R1Z1, R1Z1),
        {"nodeA": ANTI, "nodeB": ANTI},
    ),
    "This test ensures that anti-affinity matches a pod when any term of the anti-affinity rule "
    "matches a pod.": (
        pod(anti=[In("foo", "region", "abc"), In("service", "zone", "securityscan")]),
        [pod({"foo": "abc", "service": "securityscan"}, node="nodeA")],
        ab(),
        {"nodeA": ANTI, "nodeB": ANTI},
    ),
    "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that "
    "matches the inter pod affinity rule. The pod can not be scheduled onto nodeA and nodeB but "
    "can be scheduled onto nodeC": (
        pod(anti=[In("foo", "region", "abc")]),
        [pod({"foo": "abc"}, node="nodeA")],
        {"nodeA": CHINA, "nodeB": CHINA_AZ1, "nodeC": INDIA},
        {"nodeA": ANTI, "nodeB": ANTI, "nodeC": OK},
    ),
    "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that "
    "matches the inter pod affinity rule. The pod can not be scheduled onto nodeA, nodeB, but "
    "can be scheduled onto nodeC (NodeC has an existing pod that match the inter pod affinity "
    "rule but in different namespace)": (
        pod({"foo": "123"}, namespace="NS1", anti=[In("foo", "region", "bar")]),
        [
            pod({"foo": "bar"}, node="nodeA", namespace="NS1"),
            pod(node="nodeC", namespace="NS2", anti=[In("foo", "region", "123")]),
        ],
        {"nodeA": CHINA, "nodeB": CHINA_AZ1, "nodeC": INDIA},
        {"nodeA": ANTI, "nodeB": ANTI, "nodeC": OK},
    ),
    "Test existing pod's anti-affinity: if an existing pod has a term with invalid topologyKey, "
    "labelSelector of the term is firstly checked, and then topologyKey of the term is also "
    "checked": (
        pod({"foo": ""}),
        [pod(node="nodeA", anti=[Exists("foo", "invalid-node-label")])],
        ab(R1Z1, R1Z1),
        SKIP,
    ),
    "Test incoming pod's anti-affinity: even if labelSelector matches, we still check if "
    "topologyKey matches": (
        pod(node="nodeA", anti=[Exists("foo", "invalid-node-label")]),
        [pod({"foo": ""}, node="nodeA")],
        ab(R1Z1, R1Z1),
        {"nodeA": OK, "nodeB": OK},
    ),
    "Test existing pod's anti-affinity: incoming pod wouldn't considered as a fit as it violates "
    "each existingPod's terms on all nodes": (
        pod({"foo": "", "bar": ""}),
        [
            pod(node="nodeA", anti=[Exists("foo", "zone")]),
            pod(node="nodeA", anti=[Exists("bar", "region")]),
        ],
        ab(),
        {"nodeA": EXISTING, "nodeB": EXISTING},
    ),
    "Test incoming pod's anti-affinity: incoming pod wouldn't considered as a fit as it at least "
    "violates one anti-affinity rule of existingPod": (
        pod(anti=[Exists("foo", "zone"), Exists("bar", "region")]),
        [pod({"foo": ""}, node="nodeA"), pod({"bar": ""}, node="nodeB")],
        ab(),
        {"nodeA": ANTI, "nodeB": ANTI},
    ),
    "Test existing pod's anti-affinity: only when labelSelector and topologyKey both match, it's "
    "counted as a single term match - case when one term has invalid topologyKey": (
        pod({"foo": "", "bar": ""}),
        [pod(node="nodeA", anti=[Exists("foo", "invalid-node-label"), Exists("bar", "zone")])],
        ab(),
        {"nodeA": EXISTING, "nodeB": OK},
    ),
    "Test incoming pod's anti-affinity: only when labelSelector and topologyKey both match, it's "
    "counted as a single term match - case when one term has invalid topologyKey": (
        pod(anti=[Exists("foo", "invalid-node-label"), Exists("bar", "zone")]),
        [pod({"foo": "", "bar": ""}, node="nodeA", name="podA")],
        ab(),
        {"nodeA": ANTI, "nodeB": OK},
    ),
    "Test existing pod's anti-affinity: only when labelSelector and topologyKey both match, it's "
    "counted as a single term match - case when all terms have valid topologyKey": (
        pod({"foo": "", "bar": ""}),
        [pod(node="nodeA", anti=[Exists("foo", "region"), Exists("bar", "zone")])],
        ab(),
        {"nodeA": EXISTING, "nodeB": EXISTING},
    ),
    "Test incoming pod's anti-affinity: only when labelSelector and topologyKey both match, it's "
    "counted as a single term match - case when all terms have valid topologyKey": (
        pod(anti=[Exists("foo", "region"), Exists("bar", "zone")]),
        [pod({"foo": "", "bar": ""}, node="nodeA")],
        ab(),
        {"nodeA": ANTI, "nodeB": ANTI},
    ),
    "Test existing pod's anti-affinity: existingPod on nodeA and nodeB has at least one "
    "anti-affinity term matches incoming pod, so incoming pod can only be scheduled to nodeC": (
        pod({"foo": "", "bar": ""}),
        [
            pod(node="nodeA", anti=[Exists("foo", "zone"), Exists("labelA", "zone")]),
            pod(node="nodeB", anti=[Exists("bar", "zone"), Exists("labelB", "zone")]),
        ],
        {**ab(), "nodeC": {"region": "r1", "zone": "z3", "hostname": "nodeC"}},
        {"nodeA": EXISTING, "nodeB": EXISTING, "nodeC": OK},
    ),
    "Test incoming pod's affinity: firstly check if all affinityTerms match, and then check if "
    "all topologyKeys match": (
        pod(required=[Exists("foo", "region"), Exists("bar", "zone")]),
        [pod({"foo": "", "bar": ""}, node="nodeA", name="pod1")],
        ab(R1Z1, R1Z1),
        {"nodeA": OK, "nodeB": OK},
    ),
    "Test incoming pod's affinity: firstly check if all affinityTerms match, and then check if "
    "all topologyKeys match, and the match logic should be satisfied on the same pod": (
        pod(required=[Exists("foo", "region"), Exists("bar", "zone")]),
        [
            pod({"foo": ""}, node="nodeA", name="pod1"),
            pod({"bar": ""}, node="nodeB", name="pod2"),
        ],
        ab(),
        {"nodeA": AFFINITY, "nodeB": AFFINITY},
    ),
}


@pytest.mark.parametrize("name", list(MULTIPLE_NODES))
def test_required_affinity_multiple_nodes(name):
    incoming, pods, nodes, expected = MULTIPLE_NODES[name]
    assert run_filter(incoming, pods, nodes) == expected


def test_filter_without_pre_filter_is_an_error():
    status = PLUGIN.filter(CycleState(), pod(), snapshot(NODE1, []).node_infos[0])
    assert status.code is Code.ERROR
    assert (
        status.message() == 'error reading "PreFilterInterPodAffinity" from cycleState: not found'
    )


# -- TestPreferredAffinity -------------------------------------------------------------------------

S1 = {"security": "S1"}
S2 = {"security": "S2"}
AZ1 = {"az": "az1"}
AZ2 = {"az": "az2"}


def prefer(weight, pod_term):
    return affinity(preferred=[weighted(weight, pod_term)])


def avoid(weight, pod_term):
    return affinity(preferred_anti=[weighted(weight, pod_term)])


STAY_WITH_S1_IN_REGION = prefer(5, In("security", "region", "S1"))
STAY_WITH_S2_IN_REGION = prefer(6, In("security", "region", "S2"))
AFFINITY3 = affinity(
    preferred=[
        weighted(
            8,
            term(("security", "NotIn", ("S1",)), ("security", "In", ("S2",)), topology="region"),
        ),
        weighted(
            2,
            term(("security", "Exists", ()), ("wrongkey", "DoesNotExist", ()), topology="region"),
        ),
    ]
)
HARD_AFFINITY = affinity(
    required=[
        In("security", "region", "S1", "value2"),
        term(("security", "Exists", ()), ("wrongkey", "DoesNotExist", ()), topology="region"),
    ]
)
AWAY_FROM_S1_IN_AZ = avoid(5, In("security", "az", "S1"))
AWAY_FROM_S2_IN_AZ = avoid(5, In("security", "az", "S2"))
STAY_WITH_S1_IN_REGION_AWAY_FROM_S2_IN_AZ = affinity(
    preferred=[weighted(8, In("security", "region", "S1"))],
    preferred_anti=[weighted(5, In("security", "az", "S2"))],
)
NS_TERM = In("security", "region", "S1", namespaces=["subteam2.team2"], namespace_selector=TEAM1)
AFFINITY_NAMESPACE_SELECTOR = prefer(5, NS_TERM)
ANTI_AFFINITY_NAMESPACE_SELECTOR = avoid(5, NS_TERM)
INVALID_AFFINITY_LABELS = prefer(8, In("security", "region", "{{.bad-value.}}"))
INVALID_ANTI_AFFINITY_LABELS = avoid(5, In("security", "az", "{{.bad-value.}}"))


def on(node_name, labels=None, aff=None, namespace="default"):
    return pod(labels, node=node_name, aff=aff, namespace=namespace)


PREFERRED = {
    "all nodes are same priority as Affinity is nil": (
        pod(S1),
        [],
        {"node1": CHINA, "node2": INDIA, "node3": AZ1},
        (Code.SKIP, ""),
    ),
    "Affinity: pod that matches topology key & pods in nodes will get high score comparing to "
    "otherswhich doesn't match either pods in nodes or in topology key": (
        pod(S1, aff=STAY_WITH_S1_IN_REGION),
        [on("node1", S1), on("node2", S2), on("node3", S1)],
        {"node1": CHINA, "node2": INDIA, "node3": AZ1},
        {"node1": 100, "node2": 0, "node3": 0},
    ),
    "All the nodes that have the same topology key & label value with one of them has an "
    "existing pod that match the affinity rules, have the same score": (
        pod(aff=STAY_WITH_S1_IN_REGION),
        [on("node1", S1)],
        {"node1": CHINA, "node2": CHINA_AZ1, "node3": INDIA},
        {"node1": 100, "node2": 100, "node3": 0},
    ),
    "Affinity: nodes in one region has more matching pods comparing to other region, so the "
    "region which has more matches will get high score": (
        pod(S1, aff=STAY_WITH_S2_IN_REGION),
        [
            on("node1", S2),
            on("node1", S2),
            on("node2", S2),
            on("node3", S2),
            on("node4", S2),
            on("node5", S2),
        ],
        {"node1": CHINA, "node2": INDIA, "node3": CHINA, "node4": CHINA, "node5": INDIA},
        {"node1": 100, "node2": 0, "node3": 100, "node4": 100, "node5": 0},
    ),
    "Affinity: different Label operators and values for pod affinity scheduling preference, "
    "including some match failures": (
        pod(S1, aff=AFFINITY3),
        [on("node1", S1), on("node2", S2), on("node3", S1)],
        {"node1": CHINA, "node2": INDIA, "node3": AZ1},
        {"node1": 20, "node2": 100, "node3": 0},
    ),
    "Affinity symmetry: considered only the preferredDuringSchedulingIgnoredDuringExecution in "
    "pod affinity symmetry": (
        pod(S2),
        [on("node1", S1, STAY_WITH_S1_IN_REGION), on("node2", S2, STAY_WITH_S2_IN_REGION)],
        {"node1": CHINA, "node2": INDIA, "node3": AZ1},
        {"node1": 0, "node2": 100, "node3": 0},
    ),
    "Affinity symmetry with namespace selector": (
        pod(S1, namespace="subteam1.team1"),
        [on("node1", S1, AFFINITY_NAMESPACE_SELECTOR), on("node2", S2, STAY_WITH_S2_IN_REGION)],
        {"node1": CHINA, "node2": INDIA, "node3": AZ1},
        {"node1": 100, "node2": 0, "node3": 0},
    ),
    "AntiAffinity symmetry with namespace selector": (
        pod(S1, namespace="subteam1.team1"),
        [
            on("node1", S1, ANTI_AFFINITY_NAMESPACE_SELECTOR),
            on("node2", S2, STAY_WITH_S2_IN_REGION),
        ],
        {"node1": CHINA, "node2": INDIA, "node3": AZ1},
        {"node1": 0, "node2": 100, "node3": 100},
    ),
    "Affinity symmetry: considered RequiredDuringSchedulingIgnoredDuringExecution in pod "
    "affinity symmetry": (
        pod(S1),
        [on("node1", S1, HARD_AFFINITY), on("node2", S2, HARD_AFFINITY)],
        {"node1": CHINA, "node2": INDIA, "node3": AZ1},
        {"node1": 100, "node2": 100, "node3": 0},
    ),
    "Anti Affinity: pod that does not match existing pods in node will get high score": (
        pod(S1, aff=AWAY_FROM_S1_IN_AZ),
        [on("node1", S1), on("node2", S2)],
        {"node1": AZ1, "node2": CHINA},
        {"node1": 0, "node2": 100},
    ),
    "Anti Affinity: pod that does not match topology key & match the pods in nodes will get "
    "higher score comparing to others": (
        pod(S1, aff=AWAY_FROM_S1_IN_AZ),
        [on("node1", S1), on("node2", S1)],
        {"node1": AZ1, "node2": CHINA},
        {"node1": 0, "node2": 100},
    ),
    "Anti Affinity: one node has more matching pods comparing to other node, so the node which "
    "has more unmatches will get high score": (
        pod(S1, aff=AWAY_FROM_S1_IN_AZ),
        [on("node1", S1), on("node1", S1), on("node2", S2)],
        {"node1": AZ1, "node2": INDIA},
        {"node1": 0, "node2": 100},
    ),
    "Anti Affinity symmetry: the existing pods in node which has anti affinity match will get "
    "high score": (
        pod(S2),
        [on("node1", S1, AWAY_FROM_S2_IN_AZ), on("node2", S2, AWAY_FROM_S1_IN_AZ)],
        {"node1": AZ1, "node2": AZ2},
        {"node1": 0, "node2": 100},
    ),
    "Affinity and Anti Affinity: considered only preferredDuringSchedulingIgnoredDuringExecution "
    "in both pod affinity & anti affinity": (
        pod(S1, aff=STAY_WITH_S1_IN_REGION_AWAY_FROM_S2_IN_AZ),
        [on("node1", S1), on("node2", S1)],
        {"node1": CHINA, "node2": AZ1},
        {"node1": 100, "node2": 0},
    ),
    "Affinity and Anti Affinity: considering both affinity and anti-affinity, the pod to "
    "schedule and existing pods have the same labels": (
        pod(S1, aff=STAY_WITH_S1_IN_REGION_AWAY_FROM_S2_IN_AZ),
        [
            on("node1", S1),
            on("node1", S1),
            on("node2", S1),
            on("node3", S1),
            on("node3", S1),
            on("node4", S1),
            on("node5", S1),
        ],
        {"node1": CHINA_AZ1, "node2": INDIA, "node3": CHINA, "node4": CHINA, "node5": INDIA},
        {"node1": 100, "node2": 0, "node3": 100, "node4": 100, "node5": 0},
    ),
    "Affinity and Anti Affinity and symmetry: considered only "
    "preferredDuringSchedulingIgnoredDuringExecution in both pod affinity & anti affinity & "
    "symmetry": (
        pod(S1, aff=STAY_WITH_S1_IN_REGION_AWAY_FROM_S2_IN_AZ),
        [
            on("node1", S1),
            on("node2", S2),
            on("node3", None, STAY_WITH_S1_IN_REGION_AWAY_FROM_S2_IN_AZ),
            on("node4", None, AWAY_FROM_S1_IN_AZ),
        ],
        {"node1": CHINA, "node2": AZ1, "node3": INDIA, "node4": AZ2},
        {"node1": 100, "node2": 0, "node3": 100, "node4": 0},
    ),
    "Avoid panic when partial nodes in a topology don't have pods with affinity": (
        pod(S1),
        [on("node1", S1), on("node2", None, STAY_WITH_S1_IN_REGION_AWAY_FROM_S2_IN_AZ)],
        {"node1": CHINA, "node2": CHINA},
        {"node1": 0, "node2": 0},
    ),
    "invalid Affinity fails PreScore": (
        pod(aff=INVALID_AFFINITY_LABELS),
        [],
        {"node1": CHINA, "node2": CHINA},
        (Code.ERROR, 'Invalid value: "{{.bad-value.}}"'),
    ),
    "invalid AntiAffinity fails PreScore": (
        pod(aff=INVALID_ANTI_AFFINITY_LABELS),
        [],
        {"node1": CHINA, "node2": CHINA},
        (Code.ERROR, 'Invalid value: "{{.bad-value.}}"'),
    ),
    "Affinity with pods matching NamespaceSelector": (
        pod(S1, namespace="subteam1.team1", aff=AFFINITY_NAMESPACE_SELECTOR),
        [
            on("node1", S1, namespace="subteam1.team1"),
            on("node1", S1, namespace="subteam1.team1"),
            on("node1", S1, namespace="subteam1.team2"),
            on("node2", S1, namespace="subteam2.team1"),
        ],
        {"node1": CHINA, "node2": INDIA},
        {"node1": 100, "node2": 0},
    ),
    "Affinity with pods matching both NamespaceSelector and Namespaces fields": (
        pod(S1, namespace="subteam1.team1", aff=AFFINITY_NAMESPACE_SELECTOR),
        [
            on("node1", S1, namespace="subteam1.team1"),
            on("node1", S1, namespace="subteam1.team1"),
            on("node1", S1, namespace="subteam2.team2"),
            on("node2", S1, namespace="subteam2.team1"),
        ],
        {"node1": CHINA, "node2": INDIA},
        {"node1": 100, "node2": 0},
    ),
    "Anti-affinity with pods matching NamespaceSelector": (
        pod(S1, namespace="subteam1.team1", aff=ANTI_AFFINITY_NAMESPACE_SELECTOR),
        [
            on("node1", S1, namespace="subteam1.team1"),
            on("node1", S1, namespace="subteam1.team1"),
            on("node1", S1, namespace="subteam1.team2"),
            on("node2", S1, namespace="subteam2.team1"),
        ],
        {"node1": CHINA, "node2": INDIA},
        {"node1": 0, "node2": 100},
    ),
    "Anti-affinity with pods matching both NamespaceSelector and Namespaces fields": (
        pod(S1, namespace="subteam1.team1", aff=ANTI_AFFINITY_NAMESPACE_SELECTOR),
        [
            on("node1", S1, namespace="subteam1.team1"),
            on("node1", S1, namespace="subteam1.team1"),
            on("node1", S1, namespace="subteam2.team2"),
            on("node2", S1, namespace="subteam2.team1"),
        ],
        {"node1": CHINA, "node2": INDIA},
        {"node1": 0, "node2": 100},
    ),
    "Do not ignore preferred terms of existing pods": (
        pod(S2),
        [
            on("node1", S1, STAY_WITH_S1_IN_REGION_AWAY_FROM_S2_IN_AZ),
            on("node2", S2, STAY_WITH_S2_IN_REGION),
        ],
        {"node1": CHINA, "node2": INDIA},
        {"node1": 0, "node2": 100},
    ),
    "No nodes to score": (pod(S2), [], {}, (Code.SKIP, "")),
}


def run_score(incoming, pods, nodes, plugin=PLUGIN):
    """PreScore, Score and NormalizeScore as upstream's test runs them; (code, message) if
    PreScore does not succeed, else node -> normalised score."""
    snap = snapshot(nodes, pods)
    state = CycleState(snapshot=snap)
    status = plugin.pre_score(state, incoming, snap.node_infos)
    if not status.is_success():
        return status.code, status.message()
    raw = {}
    for info in snap.node_infos:
        score, status = plugin.score(state, incoming, info)
        assert status.is_success()
        raw[info.name] = score
    normalized, status = plugin.normalize_score(state, incoming, raw)
    assert status.is_success()
    return normalized


@pytest.mark.parametrize("name", list(PREFERRED))
def test_preferred_affinity(name):
    incoming, pods, nodes, expected = PREFERRED[name]
    got = run_score(incoming, pods, nodes)
    if isinstance(expected, tuple):
        code, fragment = expected
        assert got[0] is code and fragment in got[1]
    else:
        assert got == expected


def test_ignore_preferred_terms_of_existing_pods_skips_a_pod_without_preferences():
    plugin = ipa.new({"ignorePreferredTermsOfExistingPods": True}, None)
    pods = [
        on("node1", S1, STAY_WITH_S1_IN_REGION_AWAY_FROM_S2_IN_AZ),
        on("node2", S2, STAY_WITH_S2_IN_REGION),
    ]
    got = run_score(pod(S2), pods, {"node1": CHINA, "node2": INDIA}, plugin)
    assert got == (Code.SKIP, "")


def test_ignore_preferred_terms_still_counts_existing_pods_when_the_pod_has_preferences():
    """Upstream skips only pods without preferred terms of their own; otherwise the
    existing pods' terms still count."""
    plugin = ipa.new({"ignorePreferredTermsOfExistingPods": True}, None)
    pods = [on("node1", S1), on("node2", S1, prefer(50, In("security", "region", "S2")))]
    incoming = pod(S2, aff=prefer(5, In("security", "region", "S1")))
    got = run_score(incoming, pods, {"node1": CHINA, "node2": INDIA}, plugin)
    assert got == {"node1": 0, "node2": 100}


# -- TestPreferredAffinityWithHardPodAffinitySymmetricWeight ---------------------------------------

HARD_POD_AFFINITY = affinity(
    required=[
        In(
            "service",
            "region",
            "S1",
            namespaces=["default", "subteam2.team2"],
            namespace_selector=TEAM1,
        )
    ]
)
SERVICE_S1 = {"service": "S1"}
THREE_NODES = {"node1": CHINA, "node2": INDIA, "node3": AZ1}

HARD_WEIGHT = {
    "with default weight": ("default", 1, {"node1": 100, "node2": 100, "node3": 0}),
    "with zero weight": ("default", 0, (Code.SKIP, "")),
    "with no matching namespace": ("subteam1.team2", 1, (Code.SKIP, "")),
    "with matching NamespaceSelector": (
        "subteam1.team1",
        1,
        {"node1": 100, "node2": 100, "node3": 0},
    ),
    "with matching Namespaces": ("subteam2.team2", 1, {"node1": 100, "node2": 100, "node3": 0}),
}


@pytest.mark.parametrize("name", list(HARD_WEIGHT))
def test_preferred_affinity_with_hard_pod_affinity_symmetric_weight(name):
    namespace, weight, expected = HARD_WEIGHT[name]
    plugin = ipa.new({"hardPodAffinityWeight": weight}, None)
    pods = [on("node1", aff=HARD_POD_AFFINITY), on("node2", aff=HARD_POD_AFFINITY)]
    got = run_score(pod(SERVICE_S1, namespace=namespace), pods, THREE_NODES, plugin)
    assert got == expected


# -- normalisation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"a": 2, "b": 10, "c": 0}, {"a": 20, "b": 100, "c": 0}),
        ({"a": -5, "b": 0, "c": 0}, {"a": 0, "b": 100, "c": 100}),
        ({"a": 1, "b": 2, "c": 0}, {"a": 50, "b": 100, "c": 0}),
        ({"a": 1, "b": 3, "c": 0}, {"a": 33, "b": 100, "c": 0}),
        ({"a": 7, "b": 7}, {"a": 0, "b": 0}),
    ],
)
def test_normalisation_is_min_max_with_go_float_truncation(raw, expected):
    assert min_max_normalize(raw) == expected


# -- args -------------------------------------------------------------------------------------------


def test_args_default_to_upstream_values():
    plugin = ipa.new(None, None)
    assert plugin.name == "InterPodAffinity" == ipa.NAME
    assert plugin.args.hard_pod_affinity_weight == 1
    assert plugin.args.ignore_preferred_terms_of_existing_pods is False
    assert ipa.new({"hardPodAffinityWeight": 10}, None).args.hard_pod_affinity_weight == 10


@pytest.mark.parametrize(
    "args, message",
    [
        (
            {"hardPodAffinityWeight": -1},
            "hardPodAffinityWeight: Invalid value: -1: not in valid range [0, 100]",
        ),
        (
            {"hardPodAffinityWeight": 101},
            "hardPodAffinityWeight: Invalid value: 101: not in valid range [0, 100]",
        ),
        (
            {"hardPodAffinityWeight": "1"},
            'hardPodAffinityWeight: Invalid value: "1": must be an integer',
        ),
        ({"hardPodAffinityWieght": 1}, 'unknown field "hardPodAffinityWieght"'),
    ],
)
def test_bad_args_are_rejected_naming_the_field(args, message):
    with pytest.raises(InvalidInput) as caught:
        ipa.new(args, None)
    assert str(caught.value) == message


# -- in a profile ------------------------------------------------------------------------------------


def test_replicas_with_required_anti_affinity_spread_over_hostnames_and_the_last_one_waits():
    """The docs' example: anti-affinity on kubernetes.io/hostname puts one replica per node."""
    registry = REGISTRY if ipa.NAME in REGISTRY.factories else REGISTRY.merge({ipa.NAME: ipa.new})
    profile = Profile.build(registry, [(ipa.NAME, 2)])
    nodes = {f"n{i}": {"kubernetes.io/hostname": f"n{i}"} for i in range(3)}
    snap = snapshot(nodes, [])
    rng = random.Random(0)
    web = In("app", "kubernetes.io/hostname", "web")
    placed = []
    for i in range(4):
        replica = pod({"app": "web"}, name=f"web-{i}", anti=[web])
        result = schedule_one(profile, replica, snap, rng)
        if result.node_name is None:
            assert i == 3
            assert result.status.reasons == (
                "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.",
            )
            break
        placed.append(result.node_name)
        snap = snap.assume(replica, result.node_name)
    assert sorted(placed) == ["n0", "n1", "n2"]
