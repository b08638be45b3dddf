"""NodeAffinity: nodeSelector and required terms filter; preferred terms score (upstream's cases)."""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.reference.scheduler import Code, Snapshot
from kubeprop.reference.scheduler.framework import filter_with, score_with
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
