"""NodeName: a pod naming its node fits that node only."""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.reference.scheduler import Code, Snapshot
from kubeprop.reference.scheduler.framework import filter_with
from kubeprop.reference.scheduler.plugins import node_name

PLUGIN = node_name.new(None, None)

CASES = {
    "a pod without spec.nodeName fits any node": (None, "foo", True),
    "a pod naming this node fits it": ("foo", "foo", True),
    "a pod naming another node does not fit": ("bar", "foo", False),
}


@pytest.mark.parametrize("name", list(CASES))
def test_filter(name):
    wanted, node, fits = CASES[name]
    status = filter_with(PLUGIN, make_pod(node_name=wanted), Snapshot.of([make_node(node)]))[node]
    if fits:
        assert status.is_success()
    else:
        assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == ("node(s) didn't match the requested node name",)
