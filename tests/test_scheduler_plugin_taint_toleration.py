"""TaintToleration: upstream's filter and score cases, transcribed as facts."""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.reference.scheduler import Code, Snapshot
from kubeprop.reference.scheduler.framework import filter_with, score_with
from kubeprop.reference.scheduler.plugins import taint_toleration
from kubeprop.spec.api.core import Toleration

PLUGIN = taint_toleration.new(None, None)


def tol(key=None, value=None, effect=None, operator="Equal"):
    return Toleration(key=key, operator=operator, value=value, effect=effect)


FILTER_CASES = {
    "a pod having no tolerations can't be scheduled onto a node with nonempty taints": (
        (),
        ("dedicated=user1:NoSchedule",),
        "node(s) had untolerated taint {dedicated: user1}",
    ),
    "a pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule": (
        (tol("dedicated", "user1", "NoSchedule"),),
        ("dedicated=user1:NoSchedule",),
        None,
    ),
    "a pod which can't be scheduled on a dedicated node assigned to user2 with effect NoSchedule": (
        (tol("dedicated", "user2", "NoSchedule"),),
        ("dedicated=user1:NoSchedule",),
        "node(s) had untolerated taint {dedicated: user1}",
    ),
    "a pod can be scheduled onto the node with a toleration using operator Exists": (
        (tol("foo", effect="NoSchedule", operator="Exists"),),
        ("foo=bar:NoSchedule",),
        None,
    ),
    "a pod with multiple tolerations fits a node whose taints are all tolerated": (
        (
            tol("dedicated", "user2", "NoSchedule"),
            tol("foo", effect="NoSchedule", operator="Exists"),
        ),
        ("dedicated=user2:NoSchedule", "foo:NoSchedule"),
        None,
    ),
    "a toleration matching key and value but not the (non-empty) effect does not tolerate": (
        (tol("foo", "bar", "PreferNoSchedule"),),
        ("foo=bar:NoSchedule",),
        "node(s) had untolerated taint {foo: bar}",
    ),
    "a toleration with an empty effect tolerates the taint of any effect": (
        (tol("foo", "bar"),),
        ("foo=bar:NoSchedule",),
        None,
    ),
    "an untolerated PreferNoSchedule taint does not stop scheduling": (
        (tol("dedicated", "user2", "NoSchedule"),),
        ("dedicated=user1:PreferNoSchedule",),
        None,
    ),
    "a pod without tolerations fits a node whose only taint is PreferNoSchedule": (
        (),
        ("dedicated=user1:PreferNoSchedule",),
        None,
    ),
    "an untolerated NoExecute taint stops scheduling too": (
        (),
        ("maintenance:NoExecute",),
        "node(s) had untolerated taint {maintenance: }",
    ),
    "an empty key with operator Exists tolerates every taint": (
        (tol(operator="Exists"),),
        ("a=b:NoSchedule", "c:NoExecute"),
        None,
    ),
}


@pytest.mark.parametrize("name", list(FILTER_CASES))
def test_filter(name):
    tolerations, taints, reason = FILTER_CASES[name]
    snapshot = Snapshot.of([make_node("n", {"cpu": "1"}, taints=taints)])
    status = filter_with(PLUGIN, make_pod(tolerations=tolerations), snapshot)["n"]
    if reason is None:
        assert status.is_success()
    else:
        assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == (reason,)


SCORE_CASES = {
    "a node whose taints are tolerated scores higher than one with intolerable taints": (
        (tol("foo", "bar", "PreferNoSchedule"),),
        {"nodeA": ("foo=bar:PreferNoSchedule",), "nodeB": ("foo=blah:PreferNoSchedule",)},
        {"nodeA": 100, "nodeB": 0},
    ),
    "nodes whose taints are all tolerated score the same, however many taints they have": (
        (tol("cpu-type", "arm64", "PreferNoSchedule"), tol("disk-type", "ssd", "PreferNoSchedule")),
        {
            "nodeA": (),
            "nodeB": ("cpu-type=arm64:PreferNoSchedule",),
            "nodeC": ("cpu-type=arm64:PreferNoSchedule", "disk-type=ssd:PreferNoSchedule"),
        },
        {"nodeA": 100, "nodeB": 100, "nodeC": 100},
    ),
    "the more intolerable taints a node has, the lower its score": (
        (tol("foo", "bar", "PreferNoSchedule"),),
        {
            "nodeA": (),
            "nodeB": ("cpu-type=arm64:PreferNoSchedule",),
            "nodeC": ("cpu-type=arm64:PreferNoSchedule", "disk-type=ssd:PreferNoSchedule"),
        },
        {"nodeA": 100, "nodeB": 50, "nodeC": 0},
    ),
    "only taints and tolerations with effect PreferNoSchedule count for the score": (
        (tol("cpu-type", "arm64", "NoSchedule"), tol("disk-type", "ssd", "NoSchedule")),
        {
            "nodeA": (),
            "nodeB": ("cpu-type=arm64:NoSchedule",),
            "nodeC": ("cpu-type=arm64:PreferNoSchedule", "disk-type=ssd:PreferNoSchedule"),
        },
        {"nodeA": 100, "nodeB": 100, "nodeC": 0},
    ),
    "without taints or tolerations a node with a PreferNoSchedule taint scores 0": (
        (),
        {"nodeA": (), "nodeB": ("cpu-type=arm64:PreferNoSchedule",)},
        {"nodeA": 100, "nodeB": 0},
    ),
}


@pytest.mark.parametrize("name", list(SCORE_CASES))
def test_score(name):
    tolerations, taints_by_node, expected = SCORE_CASES[name]
    nodes = [make_node(n, {"cpu": "1"}, taints=t) for n, t in taints_by_node.items()]
    assert score_with(PLUGIN, make_pod(tolerations=tolerations), Snapshot.of(nodes)) == expected
