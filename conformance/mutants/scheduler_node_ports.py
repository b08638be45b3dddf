"""Deliberately broken NodePorts plugins: each one realistic bug, which the NodePorts suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to a zero-argument factory of the
plugin (the ``plugin`` of the suite's ``NodePortsSUT``); ``BREAKS`` names the
invariant each one breaks. Each mutant is the reference NodePorts with one
method overridden, so the bug is the only difference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from kubeprop.reference.scheduler.framework import Status
from kubeprop.reference.scheduler.plugins.node_ports import NodePorts


@attrs.frozen
class WildcardIgnored(NodePorts):
    """Compares host IPs literally: 0.0.0.0 no longer clashes with a specific address."""

    def conflicts(self, wanted, used: Iterable) -> bool:
        return any(port == wanted for port in used)


@attrs.frozen
class SidecarPortsIgnored(NodePorts):
    """PreFilter reads the app containers only: a sidecar's host ports are never checked."""

    def pre_filter(self, state, pod, nodes) -> Status:
        app_only = attrs.evolve(pod, spec=attrs.evolve(pod.spec, init_containers=()))
        return super().pre_filter(state, app_only, nodes)


MUTANTS: dict[str, Callable[[], NodePorts]] = {
    "node-ports-ignores-wildcard-host-ip": WildcardIgnored,
    "node-ports-ignores-sidecar-ports": SidecarPortsIgnored,
}

BREAKS: dict[str, str] = {
    "node-ports-ignores-wildcard-host-ip": "SCHEDULER-HOST-PORTS-RESPECTED",
    "node-ports-ignores-sidecar-ports": "SCHEDULER-HOST-PORTS-RESPECTED",
}
