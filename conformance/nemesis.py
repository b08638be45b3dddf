"""Faults: registered actions that break things, and the rules that inject them in histories.

Contract (spec/cluster.md section 2): each fault is an action of
``conformance.history`` (data, replayable) registered with ``fault=True``;
``Nemesis`` is the mixin of fault rules for the cluster state machine. A
fault rule picks its target among what exists now (by index, so a shrunk
history stays meaningful) and records the step with the target's name.
Faults suspend CLUSTER-ROLLOUT-MIN-AVAILABLE until the Deployments are fully
available again.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import rule

from kubeprop.conformance.history import Step, action
from kubeprop.reference.cluster import CONTROL_PLANE
from kubeprop.spec.invariants import cluster as rules

# At least this many machines stay up: a cluster with none up has nothing to say.
MIN_NODES_UP = 1


@action("crash_node", fault=True)
def crash_node(run, node: str) -> None:
    run.cluster.crash_node(node)


@action("restart_node", fault=True)
def restart_node(run, node: str) -> None:
    run.cluster.restart_node(node)


@action("kill_container", fault=True)
def kill_container(run, pod: str, container: str, namespace: str = "default") -> None:
    found = run.cluster.get("pods", pod, namespace)
    if found is None:
        return
    statuses = (found.get("status") or {}).get("containerStatuses") or []
    before = next((s for s in statuses if s.get("name") == container), {})
    if run.cluster.kill_container(namespace, pod, container):
        run.kills.append(
            rules.Kill(found["metadata"]["uid"], container, int(before.get("restartCount") or 0))
        )


@action("partition", fault=True)
def partition(run, node: str) -> None:
    run.cluster.partition(node)


@action("heal", fault=True)
def heal(run, node: str) -> None:
    run.cluster.heal(node)


@action("restart_component", fault=True)
def restart_component(run, role: str) -> None:
    run.cluster.restart_component(role)


@action("compact", fault=True)
def compact(run) -> None:
    run.cluster.compact()


def _pick(names: list[str], index: int) -> str | None:
    return names[index % len(names)] if names else None


class Nemesis:
    """Fault rules for a state machine that has ``self.run`` (a history Run) and ``do(step)``."""

    @rule(i=st.integers(0, 7))
    def crash_node(self, i):
        up = self.run.node_names(up=True)
        if len(up) > MIN_NODES_UP:
            self.do(Step("crash_node", {"node": _pick(up, i)}))

    @rule(i=st.integers(0, 7))
    def restart_node(self, i):
        down = self.run.node_names(up=False)
        if down:
            self.do(Step("restart_node", {"node": _pick(down, i)}))

    @rule(i=st.integers(0, 31))
    def kill_container(self, i):
        running = [
            pod
            for pod in self.run.cluster.list("pods", "default")
            if (pod.get("status") or {}).get("phase") == "Running"
            and not pod["metadata"].get("deletionTimestamp")
        ]
        if running:
            pod = running[i % len(running)]
            container = pod["spec"]["containers"][0]["name"]
            self.do(
                Step("kill_container", {"pod": pod["metadata"]["name"], "container": container})
            )

    @rule(i=st.integers(0, 7))
    def partition(self, i):
        connected = [
            name for name, host in self.run.cluster.hosts.items() if host.connection.connected
        ]
        if len(connected) > MIN_NODES_UP:
            self.do(Step("partition", {"node": _pick(connected, i)}))

    @rule(i=st.integers(0, 7))
    def heal(self, i):
        cut = [
            name for name, host in self.run.cluster.hosts.items() if not host.connection.connected
        ]
        if cut:
            self.do(Step("heal", {"node": _pick(cut, i)}))

    @rule(role=st.sampled_from(sorted(CONTROL_PLANE)))
    def restart_component(self, role):
        self.do(Step("restart_component", {"role": role}))

    @rule()
    def compact(self):
        self.do(Step("compact"))
