"""NodeUnschedulable: cordoned nodes take only pods tolerating the unschedulable taint."""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.reference.scheduler import Code, Snapshot
from kubeprop.reference.scheduler.framework import filter_with
from kubeprop.reference.scheduler.plugins import node_unschedulable
from kubeprop.spec.api.core import Toleration

PLUGIN = node_unschedulable.new(None, None)
KEY = "node.kubernetes.io/unschedulable"

CASES = {
    "a pod fits a schedulable node": (None, (), True),
    "a pod fits a node whose unschedulable is explicitly false": (False, (), True),
    "a pod without tolerations does not fit a cordoned node": (True, (), False),
    "a pod tolerating the unschedulable taint fits a cordoned node": (
        True,
        (Toleration(key=KEY, operator="Exists", effect="NoSchedule"),),
        True,
    ),
    "a toleration for another effect does not tolerate the cordon": (
        True,
        (Toleration(key=KEY, operator="Exists", effect="NoExecute"),),
        False,
    ),
    "a toleration of every taint tolerates the cordon": (
        True,
        (Toleration(operator="Exists"),),
        True,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_filter(name):
    unschedulable, tolerations, fits = CASES[name]
    snapshot = Snapshot.of([make_node("n", unschedulable=unschedulable)])
    status = filter_with(PLUGIN, make_pod(tolerations=tolerations), snapshot)["n"]
    if fits:
        assert status.is_success()
    else:
        assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == ("node(s) were unschedulable",)
