"""PodTopologySpread: filter outcomes, domain counts and normalised scores (upstream's cases), args.

Cases transcribed from kubernetes/kubernetes release-1.35
pkg/scheduler/framework/plugins/podtopologyspread/{filtering,scoring}_test.go and
pkg/scheduler/apis/config/validation/validation_pluginargs_test.go. Upstream's
test pods live in the namespace ""; here they live in "default". The cases that
turn the NodeInclusionPolicy or MatchLabelKeys feature gates off are left out:
both are on in v1.35.
"""

from __future__ import annotations

import math

import pytest

from kubeprop.reference.scheduler import Code, CycleState, InvalidInput, Snapshot
from kubeprop.reference.scheduler.framework import filter_with
from kubeprop.reference.scheduler.plugins import pod_topology_spread
from kubeprop.reference.scheduler.plugins.pod_topology_spread.filtering import (
    PRE_FILTER_STATE_KEY,
)
from kubeprop.reference.scheduler.plugins.pod_topology_spread.scoring import (
    PRE_SCORE_STATE_KEY,
    go_round,
)
from kubeprop.spec.api.core import (
    Affinity,
    Node,
    NodeAffinity,
    NodeSpec,
    Pod,
    PodSpec,
    Taint,
    Toleration,
    TopologySpreadConstraint,
)
from kubeprop.spec.api.meta import ObjectMeta, OwnerReference
from kubeprop.spec.api.selectors import (
    LabelSelector,
    LabelSelectorRequirement,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
)

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
DNS, SA = "DoNotSchedule", "ScheduleAnyway"
FOO = LabelSelector(match_expressions=(LabelSelectorRequirement(key="foo", operator="Exists"),))
BAR = LabelSelector(match_expressions=(LabelSelectorRequirement(key="bar", operator="Exists"),))
UNSCHEDULABLE_TAINT = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")

SYSTEM = pod_topology_spread.new(None, None)
LIST = pod_topology_spread.new({"defaultingType": "List"}, None)

S = Code.SUCCESS
U = Code.UNSCHEDULABLE
UU = Code.UNSCHEDULABLE_AND_UNRESOLVABLE


# -- builders (upstream's st.MakeNode / st.MakePod) -------------------------------------------


def node(name: str, labels: dict[str, str], tainted: bool = False) -> Node:
    return Node(
        metadata=ObjectMeta(name=name, labels=labels),
        spec=NodeSpec(taints=(UNSCHEDULABLE_TAINT,) if tainted else ()),
    )


def placed(
    name: str, on: str, labels: dict[str, str], namespace="default", terminating=False
) -> Pod:
    meta = ObjectMeta(
        name=name,
        namespace=namespace,
        labels=labels,
        deletion_timestamp="2026-01-01T00:00:00Z" if terminating else None,
    )
    return Pod(metadata=meta, spec=PodSpec(node_name=on))


def spread(
    max_skew, key, action, selector, min_domains=None, affinity=None, taints=None, keys=()
) -> TopologySpreadConstraint:
    return TopologySpreadConstraint(
        max_skew=max_skew,
        topology_key=key,
        when_unsatisfiable=action,
        label_selector=selector,
        min_domains=min_domains,
        node_affinity_policy=affinity,
        node_taints_policy=taints,
        match_label_keys=tuple(keys),
    )


def required(key: str, operator: str, *values: str) -> Affinity:
    term = NodeSelectorTerm(
        match_expressions=(NodeSelectorRequirement(key=key, operator=operator, values=values),)
    )
    node_affinity = NodeAffinity(
        required_during_scheduling_ignored_during_execution=NodeSelector((term,))
    )
    return Affinity(node_affinity=node_affinity)


def incoming(
    labels: dict[str, str],
    *constraints: TopologySpreadConstraint,
    node_selector=None,
    affinity=None,
    tolerations=(),
    owner: tuple[str, str, str] | None = None,
) -> Pod:
    refs = ()
    if owner is not None:
        api_version, kind, name = owner
        refs = (OwnerReference(api_version=api_version, kind=kind, name=name, controller=True),)
    meta = ObjectMeta(name="p", namespace="default", labels=labels, owner_references=refs)
    spec = PodSpec(
        topology_spread_constraints=constraints,
        node_selector=node_selector or {},
        affinity=affinity,
        tolerations=tuple(tolerations),
    )
    return Pod(metadata=meta, spec=spec)


def zones4(**extra_labels: dict[str, str]) -> list[Node]:
    """node-a and node-b in zone1, node-x and node-y in zone2, each with its "node" label."""
    out = []
    for name, zone in (
        ("node-a", "zone1"),
        ("node-b", "zone1"),
        ("node-x", "zone2"),
        ("node-y", "zone2"),
    ):
        out.append(node(name, {"zone": zone, "node": name, **extra_labels.get(name, {})}))
    return out


def by_node(**pods_per_node: int) -> list[Pod]:
    """``node_a=2`` gives pods p-a1, p-a2 on node-a, labelled foo=""."""
    out = []
    for key, count in pods_per_node.items():
        name = key.replace("_", "-")
        out += [placed(f"p-{name[-1]}{i}", name, {"foo": ""}) for i in range(1, count + 1)]
    return out


SPREAD_2103 = by_node(node_a=2, node_b=1, node_y=3)  # pods spread as 2/1/0/3

# -- Filter (TestSingleConstraint, TestMultipleConstraints) ------------------------------------

ZONE_FOO = spread(1, "zone", DNS, FOO)
NODE_FOO = spread(1, "node", DNS, FOO)
NODE_BAR = spread(1, "node", DNS, BAR)
POLICY_NODES = [
    node("node-a", {"node": "node-a", "foo": ""}),
    node("node-b", {"node": "node-b", "foo": ""}),
    node("node-x", {"node": "node-x", "foo": ""}),
]
POLICY_PODS = [
    placed("p-b1", "node-a", {"foo": ""}),
    placed("p-b2", "node-b", {"foo": ""}),
    placed("p-y1", "node-y", {"foo": ""}),
]
THREE_NODES = [node(n, {"node": n}) for n in ("node-a", "node-b", "node-c")]
SPREAD_221 = by_node(node_a=2, node_b=2, node_c=1)
ZONE_SPREAD_21 = [
    placed("p-b1", "node-a", {"foo": ""}),
    placed("p-b2", "node-b", {"foo": ""}),
    placed("p-y1", "node-y", {"foo": ""}),
]

FILTER_CASES = {
    "no existing pods: every node fits": (
        incoming({"foo": ""}, ZONE_FOO),
        zones4(),
        [],
        dict(a=S, b=S, x=S, y=S),
    ),
    "no existing pods, and the incoming pod does not match itself: every node fits": (
        incoming({"foo": ""}, spread(1, "zone", DNS, BAR)),
        zones4(),
        [],
        dict(a=S, b=S, x=S, y=S),
    ),
    "existing pods in a different namespace do not count": (
        incoming({"foo": ""}, ZONE_FOO),
        zones4(),
        [
            placed("p-a1", "node-a", {"foo": ""}, namespace="ns1"),
            placed("p-b1", "node-a", {"foo": ""}, namespace="ns2"),
            placed("p-x1", "node-x", {"foo": ""}),
            placed("p-y1", "node-y", {"foo": ""}),
        ],
        dict(a=S, b=S, x=U, y=U),
    ),
    "existing pods do not match a null selector": (
        incoming({"foo": ""}, spread(1, "zone", DNS, None)),
        zones4(),
        by_node(node_x=1, node_y=1),
        dict(a=S, b=S, x=S, y=S),
    ),
    "pods spread across zones as 3/3: every node fits": (
        incoming({"foo": ""}, ZONE_FOO),
        zones4(),
        SPREAD_2103,
        dict(a=S, b=S, x=S, y=S),
    ),
    "pods spread across zones as 1/2 because node-b lacks the zone label": (
        incoming({"foo": ""}, ZONE_FOO),
        [
            node("node-a", {"zone": "zone1", "node": "node-a"}),
            node("node-b", {"zon": "zone1", "node": "node-b"}),
            node("node-x", {"zone": "zone2", "node": "node-x"}),
            node("node-y", {"zone": "zone2", "node": "node-y"}),
        ],
        by_node(node_a=1, node_b=1, node_x=1, node_y=1),
        dict(a=S, b=UU, x=U, y=U),
    ),
    "no node has the label rack: the pod fits nowhere": (
        incoming({"foo": ""}, spread(1, "rack", DNS, FOO)),
        [
            node("node-a", {"zone": "zone1", "node": "node-a"}),
            node("node-x", {"zone": "zone2", "node": "node-x"}),
        ],
        [],
        dict(a=UU, x=UU),
    ),
    "pods spread across nodes as 2/1/0/3: only node-x fits": (
        incoming({"foo": ""}, NODE_FOO),
        zones4(),
        SPREAD_2103,
        dict(a=U, b=U, x=S, y=U),
    ),
    "pods spread across nodes as 2/1/0/3 with maxSkew 2: node-b and node-x fit": (
        incoming({"foo": ""}, spread(2, "node", DNS, FOO)),
        zones4(),
        SPREAD_2103,
        dict(a=U, b=S, x=S, y=U),
    ),
    "pods spread across nodes as 2/1/0/3 and the pod does not match itself": (
        incoming({"bar": ""}, NODE_FOO),
        zones4(),
        SPREAD_2103,
        dict(a=U, b=S, x=S, y=U),
    ),
    "with node affinity only node-a and node-y count, spread as 2/3: node-a fits": (
        incoming({"foo": ""}, NODE_FOO, affinity=required("node", "In", "node-a", "node-y")),
        zones4(),
        SPREAD_2103,
        dict(a=S, b=S, x=S, y=U),
    ),
    "terminating pods are not counted": (
        incoming({"foo": ""}, NODE_FOO),
        [node("node-a", {"node": "node-a"}), node("node-b", {"node": "node-b"})],
        [
            placed("p-a", "node-a", {"foo": ""}, terminating=True),
            placed("p-b", "node-b", {"foo": ""}),
        ],
        dict(a=S, b=U),
    ),
    "with node affinity excluding node-b, zones spread as 0/1: zone1 fits": (
        incoming({"foo": ""}, ZONE_FOO, affinity=required("node", "NotIn", "node-b")),
        zones4(),
        by_node(node_b=2, node_y=1),
        dict(a=S, b=S, x=U, y=U),
    ),
    "2/2/1 with maxSkew 2 and fewer domains than minDomains: the global minimum is 0": (
        incoming({"foo": ""}, spread(2, "node", DNS, FOO, min_domains=4)),
        THREE_NODES,
        SPREAD_221,
        dict(a=U, b=U, c=S),
    ),
    "2/2/1 with maxSkew 2 and more domains than minDomains: every node fits": (
        incoming({"foo": ""}, spread(2, "node", DNS, FOO, min_domains=2)),
        THREE_NODES,
        SPREAD_221,
        dict(a=S, b=S, c=S),
    ),
    "zones 2/1 with maxSkew 2 and fewer domains than minDomains: only zone2 fits": (
        incoming({"foo": ""}, spread(2, "zone", DNS, FOO, min_domains=3)),
        zones4(),
        ZONE_SPREAD_21,
        dict(a=U, b=U, x=S, y=S),
    ),
    "zones 2/1 with maxSkew 2 and more domains than minDomains: every node fits": (
        incoming({"foo": ""}, spread(2, "zone", DNS, FOO, min_domains=1)),
        zones4(),
        ZONE_SPREAD_21,
        dict(a=S, b=S, x=S, y=S),
    ),
    "nodeAffinityPolicy Honor leaves out nodes the nodeSelector rejects": (
        incoming({"foo": ""}, NODE_FOO, node_selector={"foo": ""}),
        [*POLICY_NODES, node("node-y", {"node": "node-y"})],
        POLICY_PODS,
        dict(a=U, b=U, x=S, y=S),
    ),
    "nodeAffinityPolicy Ignore counts nodes the nodeSelector rejects": (
        incoming(
            {"foo": ""}, spread(1, "node", DNS, FOO, affinity="Ignore"), node_selector={"foo": ""}
        ),
        [*POLICY_NODES, node("node-y", {"node": "node-y"})],
        POLICY_PODS,
        dict(a=U, b=U, x=S, y=U),
    ),
    "nodeAffinityPolicy Honor leaves out nodes the required node affinity rejects": (
        incoming({"foo": ""}, NODE_FOO, affinity=required("foo", "In", "")),
        [*POLICY_NODES, node("node-y", {"node": "node-y"})],
        POLICY_PODS,
        dict(a=U, b=U, x=S, y=S),
    ),
    "nodeAffinityPolicy Ignore counts nodes the required node affinity rejects": (
        incoming(
            {"foo": ""},
            spread(1, "node", DNS, FOO, affinity="Ignore"),
            affinity=required("foo", "In", ""),
        ),
        [*POLICY_NODES, node("node-y", {"node": "node-y"})],
        POLICY_PODS,
        dict(a=U, b=U, x=S, y=U),
    ),
    "nodeTaintsPolicy Honor leaves out nodes with untolerated taints": (
        incoming({"foo": ""}, spread(1, "node", DNS, FOO, taints="Honor")),
        [*POLICY_NODES, node("node-y", {"node": "node-y"}, tainted=True)],
        POLICY_PODS,
        dict(a=U, b=U, x=S, y=S),
    ),
    "nodeTaintsPolicy Ignore (the default) counts tainted nodes": (
        incoming({"foo": ""}, NODE_FOO),
        [*POLICY_NODES, node("node-y", {"node": "node-y"}, tainted=True)],
        POLICY_PODS,
        dict(a=U, b=U, x=S, y=U),
    ),
    # TestMultipleConstraints
    "two constraints on zone and node, spreads 3/3 and 2/1/0/3: only node-x fits": (
        incoming({"foo": ""}, ZONE_FOO, NODE_FOO),
        zones4(),
        SPREAD_2103,
        dict(a=U, b=U, x=S, y=U),
    ),
    "two constraints on zone and node, spreads 3/4 and 2/1/0/4: no node fits": (
        incoming({"foo": ""}, ZONE_FOO, NODE_FOO),
        zones4(),
        by_node(node_a=2, node_b=1, node_y=4),
        dict(a=U, b=U, x=U, y=U),
    ),
    "constraints with different selectors, spreads 1/0 and 1/0/0/1: only node-x fits": (
        incoming({"foo": "", "bar": ""}, ZONE_FOO, NODE_BAR),
        zones4(),
        [placed("p-a1", "node-a", {"foo": ""}), placed("p-y1", "node-y", {"bar": ""})],
        dict(a=U, b=U, x=S, y=U),
    ),
    "constraints with different selectors, spreads 1/0 and 0/0/1/1: no node fits": (
        incoming({"foo": "", "bar": ""}, ZONE_FOO, NODE_BAR),
        zones4(),
        [
            placed("p-a1", "node-a", {"foo": ""}),
            placed("p-x1", "node-x", {"bar": ""}),
            placed("p-y1", "node-y", {"bar": ""}),
        ],
        dict(a=U, b=U, x=U, y=U),
    ),
    "constraints with different selectors, spreads 2/3 and 1/0/0/1: only node-b fits": (
        incoming({"foo": "", "bar": ""}, ZONE_FOO, NODE_BAR),
        zones4(),
        [
            placed("p-a1", "node-a", {"foo": ""}),
            placed("p-a2", "node-a", {"foo": "", "bar": ""}),
            placed("p-y1", "node-y", {"foo": ""}),
            placed("p-y2", "node-y", {"foo": "", "bar": ""}),
            placed("p-y3", "node-y", {"foo": ""}),
        ],
        dict(a=U, b=S, x=U, y=U),
    ),
    "constraints with different selectors, the pod not matching its zone selector": (
        incoming({"bar": ""}, ZONE_FOO, NODE_BAR),
        zones4(),
        [
            placed("p-a1", "node-a", {"foo": ""}),
            placed("p-x1", "node-x", {"bar": ""}),
            placed("p-y1", "node-y", {"bar": ""}),
        ],
        dict(a=S, b=S, x=U, y=U),
    ),
    "two constraints, node-x lacking the node label, spreads 1/1 and 1/0/-/1": (
        incoming({"foo": ""}, ZONE_FOO, NODE_FOO),
        [
            node("node-a", {"zone": "zone1", "node": "node-a"}),
            node("node-b", {"zone": "zone1", "node": "node-b"}),
            node("node-x", {"zone": "zone2"}),
            node("node-y", {"zone": "zone2", "node": "node-y"}),
        ],
        [placed("p-a1", "node-a", {"foo": ""}), placed("p-y3", "node-y", {"foo": ""})],
        dict(a=U, b=S, x=UU, y=U),
    ),
    "inclusion policies zone Honor/Ignore and node Ignore/Ignore": (
        incoming(
            {"foo": ""},
            ZONE_FOO,
            spread(1, "node", DNS, FOO, affinity="Ignore"),
            node_selector={"foo": ""},
        ),
        zones4(node_a={"foo": ""}, node_b={"foo": ""}, node_x={"foo": ""}),
        by_node(node_a=1, node_b=1, node_y=1),
        dict(a=U, b=U, x=S, y=U),
    ),
    "inclusion policies zone Honor/Honor and node Honor/Ignore": (
        incoming({"foo": ""}, spread(1, "zone", DNS, FOO, taints="Honor"), NODE_FOO),
        [
            *zones4(node_a={"foo": ""}, node_b={"foo": ""}, node_x={"foo": ""})[:3],
            node("node-y", {"zone": "zone2", "node": "node-y"}, tainted=True),
        ],
        by_node(node_a=1, node_b=1, node_y=1),
        dict(a=U, b=U, x=S, y=U),
    ),
    "inclusion policies zone Honor/Ignore and node Honor/Ignore": (
        incoming({"foo": ""}, ZONE_FOO, NODE_FOO, node_selector={"foo": ""}),
        [
            node("node-a", {"zone": "zone1", "node": "node-a", "foo": ""}),
            node("node-b", {"zone": "zone1", "node": "node-b"}),
            node("node-x", {"zone": "zone2", "node": "node-x", "foo": ""}),
            node("node-y", {"zone": "zone2", "node": "node-y", "foo": ""}, tainted=True),
        ],
        by_node(node_a=1, node_b=1, node_y=1),
        dict(a=U, b=S, x=S, y=U),
    ),
    "inclusion policies zone Honor/Honor and node Ignore/Ignore": (
        incoming(
            {"foo": ""},
            spread(1, "zone", DNS, FOO, taints="Honor"),
            spread(1, "node", DNS, FOO, affinity="Ignore"),
            node_selector={"foo": ""},
        ),
        [
            node("node-a", {"zone": "zone1", "node": "node-a", "foo": ""}),
            node("node-b", {"zone": "zone1", "node": "node-b"}),
            node("node-x", {"zone": "zone2", "node": "node-x", "foo": ""}),
            node("node-y", {"zone": "zone2", "node": "node-y", "foo": ""}, tainted=True),
        ],
        by_node(node_a=1, node_b=1, node_y=1),
        dict(a=U, b=U, x=S, y=U),
    ),
}


@pytest.mark.parametrize("name", list(FILTER_CASES))
def test_filter(name):
    pod, nodes, existing, expected = FILTER_CASES[name]
    statuses = filter_with(LIST, pod, Snapshot.of(nodes, existing))
    got = {node_name.removeprefix("node-"): status.code for node_name, status in statuses.items()}
    assert got == expected


def test_filter_reasons_are_upstreams():
    pod = incoming({"foo": ""}, ZONE_FOO)
    nodes = [
        node("node-a", {"zone": "zone1"}),
        node("node-b", {"zone": "zone2"}),
        node("node-c", {}),
    ]
    statuses = filter_with(LIST, pod, Snapshot.of(nodes, by_node(node_a=1)))
    assert statuses["node-a"].reasons == ("node(s) didn't match pod topology spread constraints",)
    assert statuses["node-b"].is_success()
    assert statuses["node-c"].reasons == (
        "node(s) didn't match pod topology spread constraints (missing required label)",
    )


# -- PreFilter's domain counts (TestPreFilterState) ---------------------------------------------

PRE_FILTER_CASES = {
    "normal case with one constraint": (
        LIST,
        incoming({"foo": ""}, ZONE_FOO),
        zones4(),
        by_node(node_a=2, node_b=1, node_y=2),
        (),
        [{"zone1": 3, "zone2": 2}],
    ),
    "a null label selector counts no pod": (
        LIST,
        incoming({"foo": ""}, spread(1, "zone", DNS, None)),
        zones4(),
        by_node(node_a=2, node_b=1, node_y=2),
        (),
        [{"zone1": 0, "zone2": 0}],
    ),
    "pods of other namespaces do not count": (
        LIST,
        incoming({"foo": ""}, ZONE_FOO),
        zones4(),
        [
            placed("p-a1", "node-a", {"foo": ""}),
            placed("p-a2", "node-a", {"foo": ""}, namespace="ns1"),
            placed("p-b1", "node-b", {"foo": ""}),
            placed("p-y1", "node-y", {"foo": ""}, namespace="ns2"),
            placed("p-y2", "node-y", {"foo": ""}),
        ],
        (),
        [{"zone1": 2, "zone2": 1}],
    ),
    "two constraints: a domain of every node, even with no pod": (
        LIST,
        incoming({"foo": ""}, ZONE_FOO, NODE_FOO),
        zones4(),
        by_node(node_a=2, node_b=1, node_y=4),
        (),
        [{"zone1": 3, "zone2": 4}, {"node-a": 2, "node-b": 1, "node-x": 0, "node-y": 4}],
    ),
    "soft constraints are left to scoring": (
        LIST,
        incoming(
            {"foo": ""},
            spread(1, "zone", SA, FOO),
            ZONE_FOO,
            spread(1, "node", SA, FOO),
            NODE_FOO,
        ),
        [n for n in zones4() if n.metadata.name != "node-x"],
        by_node(node_a=2, node_b=1, node_y=4),
        (),
        [{"zone1": 3, "zone2": 4}, {"node-a": 2, "node-b": 1, "node-y": 4}],
    ),
    "nodeTaintsPolicy Honor counts a tainted node whose taint the pod tolerates": (
        LIST,
        incoming(
            {"foo": ""},
            spread(1, "node", DNS, BAR, taints="Honor"),
            tolerations=[Toleration(key="node.kubernetes.io/unschedulable", operator="Exists")],
        ),
        [
            node("node-a", {"node": "node-a"}),
            node("node-b", {"node": "node-b"}),
            node("node-c", {"node": "node-c", "bar": ""}, tainted=True),
        ],
        [
            placed("p-a", "node-a", {"bar": ""}),
            placed("p-b", "node-b", {"bar": ""}),
            placed("p-c", "node-b", {"bar": ""}),
            placed("p-d", "node-c", {}),
        ],
        (),
        [{"node-a": 1, "node-b": 2, "node-c": 0}],
    ),
    "inclusion policies zone Ignore/Ignore and node Honor/Honor": (
        LIST,
        incoming(
            {"foo": ""},
            spread(1, "zone", DNS, FOO, affinity="Ignore"),
            spread(1, "node", DNS, FOO, taints="Honor"),
            node_selector={"foo": ""},
        ),
        [
            node("node-a", {"zone": "zone1", "node": "node-a"}),
            node("node-b", {"zone": "zone1", "node": "node-b", "foo": ""}, tainted=True),
            node("node-x", {"zone": "zone2", "node": "node-x", "foo": ""}),
            node("node-y", {"zone": "zone2", "node": "node-y", "foo": ""}),
        ],
        by_node(node_a=2, node_x=2, node_y=1),
        (),
        [{"zone1": 2, "zone2": 3}, {"node-x": 2, "node-y": 1}],
    ),
    "matchLabelKeys are ANDed with a non-empty selector": (
        LIST,
        incoming({"foo": "", "bar": "a"}, spread(1, "zone", DNS, FOO, keys=["bar"])),
        zones4(),
        [
            placed("p-a1", "node-a", {"foo": ""}),
            placed("p-a2", "node-a", {"foo": "", "bar": "a"}),
            placed("p-b1", "node-b", {"foo": ""}),
            placed("p-y1", "node-y", {"foo": "", "bar": "a"}),
            placed("p-y2", "node-y", {"bar": ""}),
        ],
        (),
        [{"zone1": 1, "zone2": 1}],
    ),
    "matchLabelKeys are ANDed with an empty selector": (
        LIST,
        incoming({"foo": "a"}, spread(1, "zone", DNS, LabelSelector(), keys=["foo"])),
        zones4(),
        [placed(f"p-{n}", f"node-{n[0]}", {"foo": "a"}) for n in ("a1", "a2", "b1", "y1", "y2")],
        (),
        [{"zone1": 3, "zone2": 2}],
    ),
    "a matchLabelKeys key is ignored when the label selector is null": (
        LIST,
        incoming({"foo": ""}, spread(1, "zone", DNS, None, keys=["foo"])),
        zones4(),
        by_node(node_a=2, node_y=1),
        (),
        [{"zone1": 0, "zone2": 0}],
    ),
    "default constraints and a service: the hard ones, selecting the service's labels": (
        pod_topology_spread.new(
            {
                "defaultingType": "List",
                "defaultConstraints": [
                    {"maxSkew": 3, "topologyKey": "node", "whenUnsatisfiable": DNS},
                    {"maxSkew": 2, "topologyKey": "node", "whenUnsatisfiable": SA},
                    {"maxSkew": 5, "topologyKey": "rack", "whenUnsatisfiable": DNS},
                ],
            },
            None,
        ),
        incoming({"foo": "bar", "baz": "kar"}),
        [node("node-a", {"node": "node-a", "rack": "r1"})],
        [placed("p-a1", "node-a", {"foo": "bar"}), placed("p-a2", "node-a", {"baz": "kar"})],
        (
            {
                "kind": "Service",
                "metadata": {"namespace": "default"},
                "spec": {"selector": {"foo": "bar"}},
            },
        ),
        [{"node-a": 1}, {"r1": 1}],
    ),
}


@pytest.mark.parametrize("name", list(PRE_FILTER_CASES))
def test_pre_filter_counts_matching_pods_per_domain(name):
    plugin, pod, nodes, existing, workloads, expected = PRE_FILTER_CASES[name]
    snapshot = Snapshot.of(nodes, existing, workloads=workloads)
    state = CycleState(snapshot=snapshot)
    assert plugin.pre_filter(state, pod, snapshot.node_infos).is_success()
    got = state.read(PRE_FILTER_STATE_KEY)
    assert [dict(counts) for counts in got.match_num] == expected


SKIP_CASES = {
    "default constraints and a service that does not select the pod": (
        [{"maxSkew": 3, "topologyKey": "node", "whenUnsatisfiable": DNS}],
        {"baz": "kep"},
    ),
    "default soft constraints and a service: nothing for PreFilter": (
        [{"maxSkew": 2, "topologyKey": "node", "whenUnsatisfiable": SA}],
        {"foo": "bar"},
    ),
}


@pytest.mark.parametrize("name", list(SKIP_CASES))
def test_pre_filter_skips(name):
    defaults, service_selector = SKIP_CASES[name]
    plugin = pod_topology_spread.new(
        {"defaultingType": "List", "defaultConstraints": defaults}, None
    )
    service = {
        "kind": "Service",
        "metadata": {"namespace": "default"},
        "spec": {"selector": service_selector},
    }
    snapshot = Snapshot.of([node("node-a", {"node": "node-a"})], workloads=[service])
    state = CycleState(snapshot=snapshot)
    assert plugin.pre_filter(state, incoming({"foo": "bar"}), snapshot.node_infos).is_skip()


def test_pre_filter_skips_a_pod_without_hard_constraints_and_filter_then_admits_all():
    pod = incoming({"foo": ""}, spread(1, "zone", SA, FOO))
    statuses = filter_with(SYSTEM, pod, Snapshot.of(zones4(), SPREAD_2103))
    assert all(status.is_success() for status in statuses.values())


def test_a_malformed_selector_is_an_error_naming_the_field():
    bad = LabelSelector(match_expressions=(LabelSelectorRequirement(key="foo", operator="In"),))
    pod = incoming({"foo": ""}, spread(1, "zone", DNS, bad))
    snapshot = Snapshot.of(zones4())
    status = LIST.pre_filter(CycleState(snapshot=snapshot), pod, snapshot.node_infos)
    assert status.code is Code.ERROR
    assert "spec.topologySpreadConstraints[0].labelSelector.matchExpressions[0].values" in (
        status.message()
    )


# -- Score (TestPodTopologySpreadScore) ---------------------------------------------------------


def hosts(*names: str, extra: dict[str, dict[str, str]] | None = None) -> list[Node]:
    return [node(n, {HOST: n, **(extra or {}).get(n, {})}) for n in names]


def normalized(plugin, pod, nodes, failed=(), existing=(), workloads=()) -> dict[str, int]:
    """PreScore over ``nodes`` (the feasible ones), Score each, NormalizeScore, with
    ``failed`` in the snapshot only (upstream's failedNodes)."""
    snapshot = Snapshot.of([*nodes, *failed], existing, workloads=workloads)
    state = CycleState(snapshot=snapshot)
    feasible = [snapshot.get(n.metadata.name) for n in nodes]
    assert plugin.pre_score(state, pod, feasible).is_success()
    raw = {}
    for info in feasible:
        score, status = plugin.score(state, pod, info)
        assert status.is_success()
        raw[info.name] = score
    final, status = plugin.normalize_score(state, pod, raw)
    assert status.is_success()
    return final


HOST_FOO = spread(1, HOST, SA, FOO)
ZONE_SOFT = spread(1, "zone", SA, FOO)
HOST_SOFT_BAR = spread(1, HOST, SA, BAR)
COUNTS_4321 = by_node(node_a=4, node_b=3, node_c=2, node_d=1)
COUNTS_421_3 = by_node(node_a=4, node_b=2, node_x=1, node_y=3)
MIXED_ZONES = [
    node(n, {"zone": z, HOST: n})
    for n, z in (("node-a", "zone1"), ("node-b", "zone1"), ("node-x", "zone2"), ("node-y", "zone2"))
]
MIXED_PODS = [
    placed("p-a1", "node-a", {"foo": ""}),
    placed("p-b1", "node-b", {"foo": "", "bar": ""}),
    placed("p-y1", "node-y", {"foo": ""}),
    placed("p-y2", "node-y", {"bar": ""}),
]
KEYED = [node(n, {"node": n}) for n in ("node-a", "node-b", "node-c")]
POLICY_SCORE_PODS = by_node(node_a=2, node_b=1, node_c=1)
FOUR_BY_ZONE = [
    node(n, {"zone": z, HOST: n})
    for n, z in (("node-a", "zone1"), ("node-b", "zone1"), ("node-c", "zone2"), ("node-d", "zone2"))
]
ZONE_CD_PODS = [
    placed("p-a1", "node-a", {"foo": ""}),
    placed("p-b1", "node-b", {"foo": "", "bar": ""}),
    placed("p-y1", "node-c", {"foo": ""}),
    placed("p-y2", "node-c", {"bar": ""}),
]

SCORE_CASES = {
    "one constraint on node, no existing pods: every node scores 100": (
        incoming({"foo": ""}, HOST_FOO),
        hosts("node-a", "node-b"),
        [],
        [],
        (),
        {"node-a": 100, "node-b": 100},
    ),
    "one constraint on node, a single candidate scores 100": (
        incoming({"foo": ""}, HOST_FOO),
        hosts("node-a"),
        hosts("node-b"),
        by_node(node_a=2, node_b=1),
        (),
        {"node-a": 100},
    ),
    "one constraint on node, every node with as many matching pods scores 100": (
        incoming({"foo": ""}, HOST_FOO),
        hosts("node-a", "node-b"),
        [],
        by_node(node_a=1, node_b=1),
        (),
        {"node-a": 100, "node-b": 100},
    ),
    "one constraint on node, pods spread as 2/1/0/3 over 4 candidates": (
        incoming({"foo": ""}, HOST_FOO),
        hosts("node-a", "node-b", "node-c", "node-d"),
        [],
        by_node(node_a=2, node_b=1, node_d=3),
        (),
        {"node-a": 20, "node-b": 60, "node-c": 100, "node-d": 0},
    ),
    "one constraint on node with a null selector: every node scores 100": (
        incoming({"foo": ""}, spread(1, HOST, SA, None)),
        hosts("node-a", "node-b", "node-c", "node-d"),
        [],
        by_node(node_a=2, node_b=1, node_d=3),
        (),
        {"node-a": 100, "node-b": 100, "node-c": 100, "node-d": 100},
    ),
    "one constraint on node, 2/1/0/3 with maxSkew 2 waters the differences down": (
        incoming({"foo": ""}, spread(2, HOST, SA, FOO)),
        hosts("node-a", "node-b", "node-c", "node-d"),
        [],
        by_node(node_a=2, node_b=1, node_d=3),
        (),
        {"node-a": 33, "node-b": 66, "node-c": 100, "node-d": 16},
    ),
    "one constraint on node, 4/3/2/1 with maxSkew 3": (
        incoming({"foo": ""}, spread(3, HOST, SA, FOO)),
        hosts("node-a", "node-b", "node-c", "node-d"),
        [],
        COUNTS_4321,
        (),
        {"node-a": 44, "node-b": 66, "node-c": 77, "node-d": 100},
    ),
    "system defaulting, nodes without zone, pods selected by a service": (
        incoming({"foo": ""}),
        hosts("node-a", "node-b", "node-c", "node-d"),
        [],
        COUNTS_4321,
        (
            {
                "kind": "Service",
                "metadata": {"namespace": "default"},
                "spec": {"selector": {"foo": ""}},
            },
        ),
        {"node-a": 44, "node-b": 66, "node-c": 77, "node-d": 100},
    ),
    "one constraint on node, 3 of 4 nodes are candidates": (
        incoming({"foo": ""}, HOST_FOO),
        hosts("node-a", "node-b", "node-x"),
        hosts("node-y"),
        COUNTS_421_3,
        (),
        {"node-a": 33, "node-b": 83, "node-x": 100},
    ),
    "one constraint on node, 3 of 4 candidates, one lacking the topology key scores 0": (
        incoming({"foo": ""}, HOST_FOO),
        [
            node("node-a", {HOST: "node-a"}),
            node("node-b", {"n": "node-b"}),
            node("node-x", {HOST: "node-x"}),
        ],
        hosts("node-y"),
        COUNTS_421_3,
        (),
        {"node-a": 16, "node-b": 0, "node-x": 100},
    ),
    "one constraint on zone, 3 of 4 nodes are candidates": (
        incoming({"foo": ""}, ZONE_SOFT),
        MIXED_ZONES[:3],
        MIXED_ZONES[3:],
        COUNTS_421_3,
        (),
        {"node-a": 75, "node-b": 75, "node-x": 100},
    ),
    "two constraints on zone and node, 2 of 4 nodes are candidates": (
        incoming({"foo": ""}, ZONE_SOFT, HOST_FOO),
        [MIXED_ZONES[0], MIXED_ZONES[2]],
        [MIXED_ZONES[1], MIXED_ZONES[3]],
        by_node(node_a=2, node_b=1, node_x=2, node_y=4),
        (),
        {"node-a": 100, "node-x": 63},
    ),
    "two constraints on zone and node with different selectors": (
        incoming({"foo": "", "bar": ""}, ZONE_SOFT, HOST_SOFT_BAR),
        MIXED_ZONES,
        [],
        MIXED_PODS,
        (),
        {"node-a": 60, "node-b": 20, "node-x": 100, "node-y": 60},
    ),
    "two constraints on zone and node with different selectors, some nodes without pods": (
        incoming({"foo": "", "bar": ""}, ZONE_SOFT, HOST_SOFT_BAR),
        MIXED_ZONES,
        [],
        [
            placed("p-b1", "node-b", {"bar": ""}),
            placed("p-x1", "node-x", {"foo": ""}),
            placed("p-y1", "node-y", {"foo": "", "bar": ""}),
        ],
        (),
        {"node-a": 100, "node-b": 60, "node-x": 40, "node-y": 0},
    ),
    "two constraints on zone and node with different selectors, 3 of 4 candidates": (
        incoming({"foo": "", "bar": ""}, ZONE_SOFT, HOST_SOFT_BAR),
        MIXED_ZONES[:3],
        MIXED_ZONES[3:],
        MIXED_PODS,
        (),
        {"node-a": 50, "node-b": 25, "node-x": 100},
    ),
    "existing pods in a different namespace do not count": (
        incoming({"foo": ""}, HOST_FOO),
        hosts("node-a", "node-b"),
        [],
        [
            placed("p-a1", "node-a", {"foo": ""}, namespace="ns1"),
            placed("p-a2", "node-a", {"foo": ""}),
            placed("p-b1", "node-b", {"foo": ""}),
            placed("p-b2", "node-b", {"foo": ""}),
        ],
        (),
        {"node-a": 100, "node-b": 33},
    ),
    "terminating pods are not counted": (
        incoming({"foo": ""}, HOST_FOO),
        hosts("node-a", "node-b"),
        [],
        [
            placed("p-a", "node-a", {"foo": ""}, terminating=True),
            placed("p-b", "node-b", {"foo": ""}),
        ],
        (),
        {"node-a": 100, "node-b": 0},
    ),
    "minDomains has no effect on ScheduleAnyway": (
        incoming({"foo": ""}, spread(2, "node", SA, FOO, min_domains=10)),
        KEYED,
        [],
        by_node(node_a=2, node_b=2, node_c=1),
        (),
        {"node-a": 75, "node-b": 75, "node-c": 100},
    ),
    "nodeAffinityPolicy Honor: pods on nodes the nodeSelector rejects do not count": (
        incoming({"foo": ""}, spread(1, "node", SA, FOO), node_selector={"foo": ""}),
        [
            node("node-a", {"node": "node-a", "foo": ""}),
            node("node-b", {"node": "node-b", "foo": ""}),
            KEYED[2],
        ],
        [],
        POLICY_SCORE_PODS,
        (),
        {"node-a": 0, "node-b": 33, "node-c": 100},
    ),
    "nodeAffinityPolicy Ignore: pods on nodes the nodeSelector rejects count": (
        incoming(
            {"foo": ""}, spread(1, "node", SA, FOO, affinity="Ignore"), node_selector={"foo": ""}
        ),
        [
            node("node-a", {"node": "node-a", "foo": ""}),
            node("node-b", {"node": "node-b", "foo": ""}),
            KEYED[2],
        ],
        [],
        POLICY_SCORE_PODS,
        (),
        {"node-a": 66, "node-b": 100, "node-c": 100},
    ),
    "nodeAffinityPolicy Honor: pods on nodes the node affinity rejects do not count": (
        incoming({"foo": ""}, spread(1, "node", SA, FOO), affinity=required("foo", "In", "")),
        [
            node("node-a", {"node": "node-a", "foo": ""}),
            node("node-b", {"node": "node-b", "foo": ""}),
            KEYED[2],
        ],
        [],
        POLICY_SCORE_PODS,
        (),
        {"node-a": 0, "node-b": 33, "node-c": 100},
    ),
    "nodeAffinityPolicy Ignore: pods on nodes the node affinity rejects count": (
        incoming(
            {"foo": ""},
            spread(1, "node", SA, FOO, affinity="Ignore"),
            affinity=required("foo", "In", ""),
        ),
        [
            node("node-a", {"node": "node-a", "foo": ""}),
            node("node-b", {"node": "node-b", "foo": ""}),
            KEYED[2],
        ],
        [],
        POLICY_SCORE_PODS,
        (),
        {"node-a": 66, "node-b": 100, "node-c": 100},
    ),
    "nodeTaintsPolicy Honor: pods on tainted nodes do not count": (
        incoming({"foo": ""}, spread(1, "node", SA, FOO, taints="Honor")),
        [*KEYED[:2], node("node-c", {"node": "node-c"}, tainted=True)],
        [],
        POLICY_SCORE_PODS,
        (),
        {"node-a": 0, "node-b": 33, "node-c": 100},
    ),
    "nodeTaintsPolicy Ignore: pods on tainted nodes count": (
        incoming({"foo": ""}, spread(1, "node", SA, FOO)),
        [*KEYED[:2], node("node-c", {"node": "node-c"}, tainted=True)],
        [],
        POLICY_SCORE_PODS,
        (),
        {"node-a": 66, "node-b": 100, "node-c": 100},
    ),
    "matchLabelKeys are ANDed with an empty label selector": (
        incoming(
            {"foo": "", "bar": ""},
            spread(1, "zone", SA, LabelSelector(), keys=["foo"]),
            spread(1, HOST, SA, LabelSelector(), keys=["bar"]),
        ),
        FOUR_BY_ZONE,
        [],
        ZONE_CD_PODS,
        (),
        {"node-a": 60, "node-b": 20, "node-c": 60, "node-d": 100},
    ),
    "matchLabelKeys are ANDed with a non-empty label selector": (
        incoming(
            {"foo": "", "bar": "", "baz": ""},
            ZONE_SOFT,
            spread(1, HOST, SA, BAR, keys=["baz"]),
        ),
        FOUR_BY_ZONE,
        [],
        [
            placed("p-a1", "node-a", {"foo": ""}),
            placed("p-b1", "node-b", {"foo": "", "bar": "", "baz": ""}),
            placed("p-c1", "node-c", {"foo": ""}),
            placed("p-c2", "node-c", {"bar": ""}),
            placed("p-d3", "node-c", {"bar": "", "baz": ""}),
        ],
        (),
        {"node-a": 60, "node-b": 20, "node-c": 60, "node-d": 100},
    ),
}


@pytest.mark.parametrize("name", list(SCORE_CASES))
def test_score(name):
    pod, nodes, failed, existing, workloads, expected = SCORE_CASES[name]
    assert normalized(SYSTEM, pod, nodes, failed, existing, workloads) == expected


# -- PreScore (TestPreScoreSkip, TestPreScoreStateEmptyNodes) -----------------------------------

RS1_FOO = {
    "kind": "ReplicaSet",
    "metadata": {"namespace": "default", "name": "rs1"},
    "spec": {"selector": {"matchExpressions": [{"key": "foo", "operator": "Exists"}]}},
}
RS_OWNER = ("apps/v1", "ReplicaSet", "rs1")


def test_pre_score_skips_a_pod_without_soft_constraints():
    snapshot = Snapshot.of(hosts("node-a", "node-b"))
    state = CycleState(snapshot=snapshot)
    assert LIST.pre_score(state, incoming({}), snapshot.node_infos).is_skip()


def test_pre_score_skips_default_constraints_when_no_replicaset_selects_the_pod():
    plugin = pod_topology_spread.new(
        {
            "defaultingType": "List",
            "defaultConstraints": [
                {"maxSkew": 2, "topologyKey": "planet", "whenUnsatisfiable": SA}
            ],
        },
        None,
    )
    rs1 = {
        **RS1_FOO,
        "spec": {"selector": {"matchExpressions": [{"key": "tar", "operator": "Exists"}]}},
    }
    snapshot = Snapshot.of([node("node-a", {"planet": "mars"})], workloads=[rs1])
    pod = incoming({"foo": "bar", "baz": "sup"}, owner=("apps/v1", "ReplicaSet", "rs2"))
    assert plugin.pre_score(CycleState(snapshot=snapshot), pod, snapshot.node_infos).is_skip()


LIST_DEFAULTS = pod_topology_spread.new(
    {
        "defaultingType": "List",
        "defaultConstraints": [
            {"maxSkew": 1, "topologyKey": HOST, "whenUnsatisfiable": SA},
            {"maxSkew": 2, "topologyKey": "rack", "whenUnsatisfiable": DNS},
            {"maxSkew": 2, "topologyKey": "planet", "whenUnsatisfiable": SA},
        ],
    },
    None,
)

PRE_SCORE_CASES = {
    "two soft constraints: zone domains and one weight per constraint": (
        LIST,
        incoming({"foo": ""}, ZONE_SOFT, HOST_FOO),
        [
            node(n, {"zone": z, HOST: n})
            for n, z in (("node-a", "zone1"), ("node-b", "zone1"), ("node-x", "zone2"))
        ],
        (),
        [(1, "zone"), (1, HOST)],
        set(),
        [{"zone1": 0, "zone2": 0}, {}],
        [math.log(2 + 2), math.log(3 + 2)],
    ),
    "a node lacking the zone label is ignored": (
        LIST,
        incoming({"foo": ""}, ZONE_SOFT, HOST_SOFT_BAR),
        [
            node("node-a", {"zone": "zone1", HOST: "node-a"}),
            node("node-b", {"zone": "zone1", HOST: "node-b"}),
            node("node-x", {HOST: "node-x"}),
        ],
        (),
        [(1, "zone"), (1, HOST)],
        {"node-x"},
        [{"zone1": 0}, {}],
        [math.log(1 + 2), math.log(2 + 2)],
    ),
    'system default constraints and a replicaset: nodes without zone form the zone ""': (
        SYSTEM,
        incoming({"foo": "tar", "baz": "sup"}, owner=RS_OWNER),
        [
            node("node-a", {HOST: "node-a", ZONE: "mars"}),
            node("node-b", {HOST: "node-b", ZONE: "mars"}),
            node("node-c", {HOST: "node-c"}),
            node("node-d", {HOST: "node-d"}),
        ],
        (RS1_FOO,),
        [(3, HOST), (5, ZONE)],
        set(),
        [{}, {"mars": 0, "": 0}],
        [math.log(4 + 2), math.log(2 + 2)],
    ),
    "listed default constraints and a replicaset: only the soft ones": (
        LIST_DEFAULTS,
        incoming({"foo": "tar", "baz": "sup"}, owner=RS_OWNER),
        [node("node-a", {"rack": "rack1", HOST: "node-a", "planet": "mars"})],
        (RS1_FOO,),
        [(1, HOST), (2, "planet")],
        set(),
        [{}, {"mars": 0}],
        [math.log(1 + 2), math.log(1 + 2)],
    ),
    "a pod with constraints of its own ignores the default ones": (
        LIST_DEFAULTS,
        incoming(
            {"foo": "bar", "baz": "sup"},
            spread(1, "zone", DNS, BAR),
            spread(2, "planet", SA, LabelSelector(match_labels={"baz": "sup"})),
            owner=RS_OWNER,
        ),
        [node("node-a", {"planet": "mars", "galaxy": "andromeda"})],
        (RS1_FOO,),
        [(2, "planet")],
        set(),
        [{"mars": 0}],
        [math.log(1 + 2)],
    ),
}


@pytest.mark.parametrize("name", list(PRE_SCORE_CASES))
def test_pre_score_state(name):
    plugin, pod, nodes, workloads, constraints, ignored, counts, weights = PRE_SCORE_CASES[name]
    snapshot = Snapshot.of(nodes, workloads=workloads)
    state = CycleState(snapshot=snapshot)
    assert plugin.pre_score(state, pod, snapshot.node_infos).is_success()
    got = state.read(PRE_SCORE_STATE_KEY)
    assert [(c.max_skew, c.topology_key) for c in got.constraints] == constraints
    assert set(got.ignored_nodes) == ignored
    assert [dict(c) for c in got.pod_counts] == counts
    assert list(got.weights) == weights


def test_default_constraints_take_the_replicaset_selector():
    snapshot = Snapshot.of([], workloads=[RS1_FOO])
    pod = incoming({"foo": "tar"}, owner=RS_OWNER)
    constraints = SYSTEM.constraints_for(CycleState(snapshot=snapshot), pod, SA)
    assert [c.selector for c in constraints] == [FOO, FOO]


def test_default_selector_merges_services_and_the_replication_controller():
    workloads = [
        {
            "kind": "Service",
            "metadata": {"namespace": "default"},
            "spec": {"selector": {"app": "web"}},
        },
        {"kind": "Service", "metadata": {"namespace": "other"}, "spec": {"selector": {"x": "y"}}},
        {"kind": "Service", "metadata": {"namespace": "default"}, "spec": {}},
        {
            "kind": "ReplicationController",
            "metadata": {"namespace": "default", "name": "rc"},
            "spec": {"selector": {"tier": "front"}},
        },
    ]
    pod = incoming(
        {"app": "web", "tier": "front", "x": "y"}, owner=("v1", "ReplicationController", "rc")
    )
    constraints = SYSTEM.constraints_for(
        CycleState(snapshot=Snapshot.of([], workloads=workloads)), pod, SA
    )
    assert constraints[0].selector == LabelSelector(match_labels={"app": "web", "tier": "front"})


def test_math_round_rounds_halves_away_from_zero():
    assert [go_round(v) for v in (0.5, 1.5, 2.5, 2.4999, -0.5, -1.5)] == [1, 2, 3, 2, -1, -2]


# -- args (TestValidatePodTopologySpreadArgs) -----------------------------------------------------

ARGS_CASES = {
    "a valid list of default constraints": (
        {
            "defaultingType": "List",
            "defaultConstraints": [
                {"maxSkew": 1, "topologyKey": "node", "whenUnsatisfiable": DNS},
                {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": SA},
            ],
        },
        None,
    ),
    "maxSkew less than zero": (
        {
            "defaultingType": "List",
            "defaultConstraints": [
                {"maxSkew": -1, "topologyKey": "node", "whenUnsatisfiable": DNS}
            ],
        },
        "defaultConstraints[0].maxSkew: Invalid value: -1: not in valid range (0, inf)",
    ),
    "an empty topology key": (
        {
            "defaultingType": "List",
            "defaultConstraints": [{"maxSkew": 1, "topologyKey": "", "whenUnsatisfiable": DNS}],
        },
        "defaultConstraints[0].topologyKey: Required value: can not be empty",
    ),
    "an empty whenUnsatisfiable": (
        {
            "defaultingType": "List",
            "defaultConstraints": [{"maxSkew": 1, "topologyKey": "node", "whenUnsatisfiable": ""}],
        },
        "defaultConstraints[0].whenUnsatisfiable: Required value: can not be empty",
    ),
    "an unsupported whenUnsatisfiable action": (
        {
            "defaultingType": "List",
            "defaultConstraints": [
                {"maxSkew": 1, "topologyKey": "node", "whenUnsatisfiable": "unknown action"}
            ],
        },
        'defaultConstraints[0].whenUnsatisfiable: Unsupported value: "unknown action": '
        'supported values: "DoNotSchedule", "ScheduleAnyway"',
    ),
    "duplicated constraints": (
        {
            "defaultingType": "List",
            "defaultConstraints": [
                {"maxSkew": 1, "topologyKey": "node", "whenUnsatisfiable": DNS},
                {"maxSkew": 2, "topologyKey": "node", "whenUnsatisfiable": DNS},
            ],
        },
        'defaultConstraints[1]: Duplicate value: "{node, DoNotSchedule}"',
    ),
    "a label selector in a default constraint": (
        {
            "defaultingType": "List",
            "defaultConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "key",
                    "whenUnsatisfiable": DNS,
                    "labelSelector": {"matchLabels": {"a": "b"}},
                }
            ],
        },
        "defaultConstraints[0].labelSelector: Forbidden: constraint must not define a selector, "
        "as they deduced for each pod",
    ),
    "List defaulting without constraints": ({"defaultingType": "List"}, None),
    "System defaulting": ({"defaultingType": "System"}, None),
    "an unknown defaulting type": (
        {"defaultingType": "unknown"},
        'defaultingType: Unsupported value: "unknown": supported values: "System", "List"',
    ),
    "System defaulting with constraints": (
        {
            "defaultingType": "System",
            "defaultConstraints": [{"maxSkew": 1, "topologyKey": "key", "whenUnsatisfiable": DNS}],
        },
        'defaultingType: Invalid value: "System": when .defaultConstraints are not empty',
    ),
    "constraints without a defaulting type default to System, which rejects them": (
        {"defaultConstraints": [{"maxSkew": 1, "topologyKey": "key", "whenUnsatisfiable": SA}]},
        'defaultingType: Invalid value: "System": when .defaultConstraints are not empty',
    ),
    "several problems are reported together": (
        {
            "defaultingType": "List",
            "defaultConstraints": [{"maxSkew": 0, "topologyKey": "a/b/c", "whenUnsatisfiable": SA}],
        },
        "[defaultConstraints[0].maxSkew: Invalid value: 0: not in valid range (0, inf), "
        'defaultConstraints[0].topologyKey: Invalid value: "a/b/c": ',
    ),
    "an unknown field": ({"defaultingTyp": "List"}, 'unknown field "defaultingTyp"'),
    "a maxSkew of the wrong type": (
        {"defaultingType": "List", "defaultConstraints": [{"maxSkew": "one"}]},
        'defaultConstraints[0].maxSkew: Invalid value: "one"',
    ),
}


@pytest.mark.parametrize("name", list(ARGS_CASES))
def test_args_are_validated_as_upstream_does(name):
    args, message = ARGS_CASES[name]
    if message is None:
        assert pod_topology_spread.new(args, None).name == "PodTopologySpread"
    else:
        with pytest.raises(InvalidInput) as caught:
            pod_topology_spread.new(args, None)
        assert str(caught.value).startswith(message)


def test_system_defaulting_gives_upstreams_system_constraints():
    got = [(c.topology_key, c.max_skew, c.when_unsatisfiable) for c in SYSTEM.default_constraints]
    assert got == [(HOST, 3, SA), (ZONE, 5, SA)]
    assert SYSTEM.system_defaulted and not LIST.system_defaulted
    assert LIST.default_constraints == ()
