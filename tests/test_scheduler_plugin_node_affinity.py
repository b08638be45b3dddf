"""NodeAffinity: nodeSelector and required terms filter; preferred terms score (upstream's cases)."""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.reference.scheduler import Code, InvalidInput, Snapshot
from kubeprop.reference.scheduler.framework import CycleState, filter_with, score_with
from kubeprop.reference.scheduler.plugins import node_affinity
from kubeprop.spec.api.core import NodeAffinity, PreferredSchedulingTerm
from kubeprop.spec.api.selectors import NodeSelector, NodeSelectorRequirement, NodeSelectorTerm

PLUGIN = node_affinity.new(None, None)


def req(key, operator, *values):
    return NodeSelectorRequirement(key=key, operator=operator, values=tuple(values))


def term(*requirements, fields=()):
    return NodeSelectorTerm(match_expressions=tuple(requirements), match_fields=tuple(fields))


def required(*terms):
    return NodeAffinity(required_during_scheduling_ignored_during_execution=NodeSelector(terms))


def preferred(*weighted):
    return NodeAffinity(
        preferred_during_scheduling_ignored_during_execution=tuple(
            PreferredSchedulingTerm(weight=w, preference=t) for w, t in weighted
        )
    )


FILTER_CASES = {
    "a pod without nodeSelector or affinity fits any node": ({}, None, {"foo": "bar"}, True),
    "a pod whose nodeSelector the node's labels match fits": (
        {"foo": "bar"},
        None,
        {"foo": "bar", "baz": "blah"},
        True,
    ),
    "a pod whose nodeSelector value differs does not fit": (
        {"foo": "bar"},
        None,
        {"foo": "x"},
        False,
    ),
    "a pod with a nodeSelector does not fit a node without labels": (
        {"foo": "bar"},
        None,
        {},
        False,
    ),
    "a required term with In matches a node carrying one of the values": (
        {},
        required(term(req("foo", "In", "value1", "value2"))),
        {"foo": "value2"},
        True,
    ),
    "a required term with Gt compares the label as an integer": (
        {},
        required(term(req("kernel", "Gt", "0204"))),
        {"kernel": "0205"},
        True,
    ),
    "a required term with NotIn rejects a node carrying the value": (
        {},
        required(term(req("foo", "NotIn", "value1"))),
        {"foo": "value1"},
        False,
    ),
    "a required term with DoesNotExist matches a node without the label": (
        {},
        required(term(req("foo", "DoesNotExist"))),
        {"bar": "x"},
        True,
    ),
    "required terms are ORed: one matching term is enough": (
        {},
        required(term(req("foo", "In", "a")), term(req("diffkey", "In", "w"))),
        {"diffkey": "w"},
        True,
    ),
    "the expressions of one term are ANDed": (
        {},
        required(term(req("foo", "Exists"), req("bar", "Exists"))),
        {"foo": "x"},
        False,
    ),
    "an empty required term matches no node": ({}, required(term()), {"foo": "bar"}, False),
    "a required affinity without terms matches no node": ({}, required(), {"foo": "bar"}, False),
    "nodeSelector and required affinity must both match": (
        {"foo": "bar"},
        required(term(req("zone", "In", "a"))),
        {"foo": "bar", "zone": "b"},
        False,
    ),
    "a matchFields term on metadata.name matches the named node only": (
        {},
        required(term(fields=(req("metadata.name", "In", "n"),))),
        {},
        True,
    ),
    "preferred terms alone never reject a node": (
        {},
        preferred((10, term(req("foo", "In", "x")))),
        {},
        True,
    ),
}


@pytest.mark.parametrize("name", list(FILTER_CASES))
def test_filter(name):
    selector, affinity, labels, fits = FILTER_CASES[name]
    pod = make_pod(node_selector=selector, affinity=affinity)
    status = filter_with(PLUGIN, pod, Snapshot.of([make_node("n", labels=labels)]))["n"]
    if fits:
        assert status.is_success()
    else:
        assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == ("node(s) didn't match Pod's node affinity/selector",)


LABEL1 = {"foo": "bar"}
LABEL2 = {"key": "value"}
LABEL3 = {"az": "az1"}
LABEL4 = {"abc": "az11", "def": "az22"}
LABEL5 = {"foo": "bar", "key": "value", "az": "az1"}
AFFINITY1 = preferred((2, term(req("foo", "In", "bar"))))
AFFINITY2 = preferred(
    (2, term(req("foo", "In", "bar"))),
    (4, term(req("key", "In", "value"))),
    (5, term(req("foo", "In", "bar"), req("key", "In", "value"), req("az", "In", "az1"))),
)

SCORE_CASES = {
    "all nodes score the same when the pod has no node affinity": (
        None,
        {"node1": LABEL1, "node2": LABEL2, "node3": LABEL3},
        {"node1": 0, "node2": 0, "node3": 0},
    ),
    "no node matches the preferred terms, so every node scores zero": (
        AFFINITY1,
        {"node1": LABEL4, "node2": LABEL2, "node3": LABEL3},
        {"node1": 0, "node2": 0, "node3": 0},
    ),
    "only node1 matches the preferred terms": (
        AFFINITY1,
        {"node1": LABEL1, "node2": LABEL2, "node3": LABEL3},
        {"node1": 100, "node2": 0, "node3": 0},
    ),
    "all nodes match preferred terms, with different weights normalised by truncation": (
        AFFINITY2,
        {"node1": LABEL1, "node5": LABEL5, "node2": LABEL2},
        {"node1": 18, "node5": 100, "node2": 36},
    ),
}


@pytest.mark.parametrize("name", list(SCORE_CASES))
def test_score(name):
    affinity, labels_by_node, expected = SCORE_CASES[name]
    nodes = [make_node(n, labels=labels) for n, labels in labels_by_node.items()]
    assert score_with(PLUGIN, make_pod(affinity=affinity), Snapshot.of(nodes)) == expected


# -- NodeAffinityArgs.addedAffinity (node_affinity_test.go) -------------------------------------

NAME_IS_NODE2 = {
    "requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node2"]}]}
        ]
    }
}
ZONE_IS_BAR = {
    "requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["bar"]}]}
        ]
    }
}
REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"

ADDED_FILTER_CASES = {
    "Matches added affinity and Pod's node affinity": (
        NAME_IS_NODE2,
        required(term(req("zone", "In", "foo"))),
        None,
    ),
    "Matches added affinity but not Pod's node affinity": (
        NAME_IS_NODE2,
        required(term(req("zone", "In", "bar"))),
        "node(s) didn't match Pod's node affinity/selector",
    ),
    "Doesn't match added affinity": (ZONE_IS_BAR, None, REASON_ENFORCED),
}


@pytest.mark.parametrize("name", list(ADDED_FILTER_CASES))
def test_added_affinity_filter(name):
    added, affinity, reason = ADDED_FILTER_CASES[name]
    plugin = node_affinity.new({"addedAffinity": added}, None)
    snapshot = Snapshot.of([make_node("node2", labels={"zone": "foo"})])
    status = filter_with(plugin, make_pod(affinity=affinity), snapshot)["node2"]
    if reason is None:
        assert status.is_success()
    else:
        assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == (reason,)


def test_added_required_affinity_keeps_pre_filter_from_skipping_a_pod_without_affinity():
    plugin = node_affinity.new({"addedAffinity": ZONE_IS_BAR}, None)
    snapshot = Snapshot.of([make_node("n", labels={"zone": "bar"})])
    assert plugin.pre_filter(CycleState(), make_pod(), snapshot.node_infos).is_success()
    assert PLUGIN.pre_filter(CycleState(), make_pod(), snapshot.node_infos).is_skip()


def prefer(*weighted):
    return {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": w,
                "preference": {"matchExpressions": [{"key": k, "operator": "In", "values": [v]}]},
            }
            for w, (k, v) in weighted
        ]
    }


ADDED_SCORE_CASES = {
    "added affinity": (
        prefer((2, ("foo", "bar"))),
        None,
        {"node1": LABEL1, "node2": LABEL2},
        {"node1": 100, "node2": 0},
    ),
    "added affinity and pod has default affinity": (
        prefer((3, ("key", "value"))),
        AFFINITY1,
        {"node1": LABEL1, "node2": LABEL2, "node3": LABEL5},
        {"node1": 40, "node2": 60, "node3": 100},
    ),
}


@pytest.mark.parametrize("name", list(ADDED_SCORE_CASES))
def test_added_affinity_score(name):
    added, affinity, labels_by_node, expected = ADDED_SCORE_CASES[name]
    plugin = node_affinity.new({"addedAffinity": added}, None)
    nodes = [make_node(n, labels=labels) for n, labels in labels_by_node.items()]
    assert score_with(plugin, make_pod(affinity=affinity), Snapshot.of(nodes)) == expected


def test_a_plugin_with_added_affinity_is_its_own_class_and_one_without_is_not():
    assert type(node_affinity.new({"addedAffinity": ZONE_IS_BAR}, None)) is (
        node_affinity.EnforcedNodeAffinity
    )
    assert type(node_affinity.new({"addedAffinity": {}}, None)) is node_affinity.NodeAffinity
    assert type(node_affinity.new({}, None)) is node_affinity.NodeAffinity


# -- ValidateNodeAffinityArgs (validation_pluginargs_test.go) -------------------------------------


def test_valid_added_affinity_is_accepted():
    args = {
        "addedAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "label-1", "operator": "In", "values": ["label-1-val"]}
                        ]
                    }
                ]
            },
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 1,
                    "preference": {
                        "matchFields": [
                            {"key": "metadata.name", "operator": "In", "values": ["node-1"]}
                        ]
                    },
                }
            ],
        }
    }
    assert node_affinity.new(args, None).added_required is not None


def test_invalid_added_affinity_reports_both_errors_with_upstream_paths():
    args = {
        "addedAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "invalid/label/key",
                                "operator": "In",
                                "values": ["label-1-val"],
                            }
                        ]
                    }
                ]
            },
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 1,
                    "preference": {
                        "matchFields": [
                            {
                                "key": "metadata.name",
                                "operator": "In",
                                "values": ["node-1", "node-2"],
                            }
                        ]
                    },
                }
            ],
        }
    }
    with pytest.raises(InvalidInput) as caught:
        node_affinity.new(args, None)
    fields = [e.field for e in caught.value.errors]
    assert fields == [
        "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
        ".matchExpressions[0].key",
        "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].matchFields[0].values",
    ]
    assert str(caught.value.errors[1]).endswith(
        'Invalid value: []string{"node-1", "node-2"}: must have one element'
    )


ADDED_AFFINITY_ERRORS = {
    "In without values": (
        {"key": "a", "operator": "In"},
        ".values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
    ),
    "Exists with values": (
        {"key": "a", "operator": "Exists", "values": ["x"]},
        '.values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
    ),
    "Gt with a non-integer value": (
        {"key": "a", "operator": "Gt", "values": ["x"]},
        ".values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
    ),
    "an unknown operator": (
        {"key": "a", "operator": "Near", "values": ["x"]},
        '.operator: Unsupported value: "Near": supported values: "In", "NotIn", "Exists", '
        '"DoesNotExist", "Gt", "Lt"',
    ),
}


@pytest.mark.parametrize("name", list(ADDED_AFFINITY_ERRORS))
def test_added_affinity_requirement_errors(name):
    expression, suffix = ADDED_AFFINITY_ERRORS[name]
    args = {
        "addedAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [expression]}]
            }
        }
    }
    with pytest.raises(InvalidInput) as caught:
        node_affinity.new(args, None)
    prefix = (
        "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
        ".matchExpressions[0]"
    )
    assert str(caught.value) == prefix + suffix


def test_unknown_and_mistyped_args_fields_are_rejected_with_their_paths():
    with pytest.raises(InvalidInput, match='unknown field "addedAffinities"'):
        node_affinity.new({"addedAffinities": {}}, None)
    with pytest.raises(InvalidInput, match="addedAffinity.requiredDuringSchedulingIgnored"):
        node_affinity.new(
            {"addedAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": 3}}, None
        )
