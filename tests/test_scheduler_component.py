"""kube-scheduler as a component (spec/scheduler.md, section 5): what it writes, when, and why.

Each test runs a reference ApiServer, the event loop and a Scheduler, makes a
cluster change and reads back what the scheduler wrote: bindings, events, the
PodScheduled condition. Messages are upstream's, character for character.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder, unreachable
from kubeprop.reference.loop import EventLoop
from kubeprop.reference.scheduler import Scheduler, Snapshot, default_profile
from kubeprop.reference.scheduler.component import (
    MESSAGE_LIMIT,
    node_statuses,
    preemption_message,
    truncate,
)
from kubeprop.spec.api import dump, load

UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}
MERGE = {"contentType": "application/merge-patch+json"}


@attrs.define(eq=False)
class RefusesBindings(Connection):
    """A connection whose first ``refusals`` bindings never reach the API server."""

    refusals: int = 1

    def request(self, verb, resource, **kwargs):
        if kwargs.get("subresource") == "binding" and self.refusals > 0:
            self.refusals -= 1
            return unreachable(self.name)
        return super().request(verb, resource, **kwargs)


@attrs.define(eq=False)
class Cluster:
    """An API server with a running scheduler, and helpers to change and read it."""

    loop: EventLoop = attrs.Factory(EventLoop)
    server: ApiServer = attrs.field(init=False)
    scheduler: Scheduler = attrs.field(init=False)
    connection: Connection = attrs.field(init=False)
    refusals: int = 0

    def __attrs_post_init__(self):
        self.server = ApiServer(clock=self.loop.clock)
        self.connection = RefusesBindings(self.server, "default-scheduler", refusals=self.refusals)
        recorder = EventRecorder(self.connection, self.loop.clock, "default-scheduler")
        self.scheduler = Scheduler(
            connection=self.connection, loop=self.loop, recorder=recorder, seed=0
        )
        self.scheduler.start()

    def node(self, name, cpu="1", taints=(), unschedulable=None, pods="10"):
        manifest = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name},
            "spec": {"taints": list(taints), "unschedulable": unschedulable},
            "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": pods}},
        }
        assert self.server.request("create", "nodes", body=manifest).ok

    def pod(self, name, cpu="600m", **spec):
        manifest = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "containers": [
                    {"name": "app", "image": "nginx:1.23", "resources": {"requests": {"cpu": cpu}}}
                ],
                **spec,
            },
        }
        assert self.server.request("create", "pods", namespace="default", body=manifest).ok

    def get(self, name):
        return self.server.request("get", "pods", namespace="default", name=name).body

    def node_name(self, name):
        return self.get(name)["spec"].get("nodeName")

    def condition(self, name):
        for condition in self.get(name).get("status", {}).get("conditions", []):
            if condition["type"] == "PodScheduled":
                return condition
        return None

    def events(self, reason=None):
        items = self.server.request("list", "events", namespace="default").body["items"]
        return [e for e in items if reason in (None, e["reason"])]

    def run(self, seconds=1.0):
        self.loop.run_for(seconds)


THE_FIT_ERROR = (
    "0/3 nodes are available: 1 node(s) had untolerated taint "
    "{node.kubernetes.io/unreachable: }, 2 Insufficient cpu. preemption: 0/3 nodes are "
    "available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for "
    "incoming pod."
)


def crowded_cluster() -> Cluster:
    """Three nodes: one tainted unreachable, two whose cpu is taken by one pod each."""
    cluster = Cluster()
    cluster.node("node-1")
    cluster.node("node-2")
    cluster.node("node-3", cpu="4", taints=[UNREACHABLE])
    cluster.pod("a")
    cluster.pod("b")
    cluster.run()
    assert {cluster.node_name("a"), cluster.node_name("b")} == {"node-1", "node-2"}
    return cluster


def test_a_pod_that_fits_is_bound_and_a_scheduled_event_says_where():
    cluster = Cluster()
    cluster.node("node-1")
    cluster.pod("nginx")
    cluster.run()
    assert cluster.node_name("nginx") == "node-1"
    assert cluster.condition("nginx")["status"] == "True"
    [event] = cluster.events("Scheduled")
    assert event["type"] == "Normal"
    assert event["message"] == "Successfully assigned default/nginx to node-1"
    assert event["source"] == {"component": "default-scheduler"}
    assert event["involvedObject"]["uid"] == cluster.get("nginx")["metadata"]["uid"]


def test_a_pod_that_fits_nowhere_gets_upstreams_message_in_an_event_and_its_condition():
    cluster = crowded_cluster()
    cluster.pod("nginx")
    cluster.run()
    assert cluster.node_name("nginx") is None
    condition = cluster.condition("nginx")
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    assert condition["message"] == THE_FIT_ERROR
    assert condition["observedGeneration"] == cluster.get("nginx")["metadata"]["generation"]
    [event] = cluster.events("FailedScheduling")
    assert (event["type"], event["message"]) == ("Warning", THE_FIT_ERROR)


def test_a_parked_pod_is_not_retried_for_its_own_status_update():
    cluster = crowded_cluster()
    cluster.pod("nginx")
    cluster.run(20.0)
    [event] = cluster.events("FailedScheduling")
    assert event["count"] == 1
    assert "default/nginx" in cluster.scheduler.queue.unschedulable


def test_deleting_an_assigned_pod_retries_the_parked_pod_which_takes_its_place():
    cluster = crowded_cluster()
    cluster.pod("nginx")
    cluster.run()
    freed = cluster.node_name("a")
    cluster.server.request(
        "delete", "pods", namespace="default", name="a", body={"gracePeriodSeconds": 0}
    )
    cluster.run()
    assert cluster.node_name("nginx") == freed


@pytest.mark.parametrize(
    ("node", "change"),
    [
        pytest.param(dict(unschedulable=True), {"unschedulable": None}, id="uncordoned"),
        pytest.param(dict(taints=[UNREACHABLE]), {"taints": None}, id="untainted"),
    ],
)
def test_a_node_update_that_lets_the_pod_in_retries_it_at_once(node, change):
    cluster = Cluster()
    cluster.node("node-1", **node)
    cluster.pod("nginx")
    cluster.run(20.0)
    assert cluster.node_name("nginx") is None
    cluster.server.request("patch", "nodes", name="node-1", body={"spec": change}, params=MERGE)
    cluster.run(0.5)
    assert cluster.node_name("nginx") == "node-1"


def test_more_capacity_on_a_node_retries_the_parked_pod():
    cluster = Cluster()
    cluster.node("node-1", cpu="500m")
    cluster.pod("nginx")
    cluster.run()
    assert cluster.node_name("nginx") is None
    body = {"status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "10"}}}
    cluster.server.request(
        "patch", "nodes", name="node-1", subresource="status", body=body, params=MERGE
    )
    cluster.run(0.5)
    assert cluster.node_name("nginx") == "node-1"


def test_two_pods_created_together_are_never_both_placed_where_one_fits():
    cluster = Cluster()
    cluster.node("node-1")
    cluster.pod("p")
    cluster.pod("q")
    cluster.run(0.1)  # both pods arrive in one watch poll and are scheduled at that instant
    placed = [name for name in ("p", "q") if cluster.node_name(name)]
    assert placed == ["p"]
    assert cluster.condition("q")["message"].startswith("0/1 nodes are available: 1 Insufficient")


def test_a_refused_binding_is_forgotten_and_retried_after_backoff():
    cluster = Cluster(refusals=1)
    cluster.node("node-1")
    cluster.pod("nginx")
    cluster.run(0.1)
    assert cluster.node_name("nginx") is None
    assert cluster.scheduler.assumed == {}
    [event] = cluster.events("FailedScheduling")
    assert event["message"].startswith('running Bind plugin "DefaultBinder": Get "https://')
    assert cluster.condition("nginx")["reason"] == "SchedulerError"
    assert "default/nginx" in cluster.scheduler.queue.backoff
    cluster.run(0.5)
    assert cluster.node_name("nginx") is None  # still backing off (1 s)
    cluster.run(2.0)
    assert cluster.node_name("nginx") == "node-1"


def test_without_nodes_the_failure_is_a_scheduler_error():
    cluster = Cluster()
    cluster.pod("nginx")
    cluster.run()
    condition = cluster.condition("nginx")
    assert (condition["reason"], condition["message"]) == (
        "SchedulerError",
        "no nodes available to schedule pods",
    )


def test_a_pod_for_another_scheduler_is_left_alone():
    cluster = Cluster()
    cluster.node("node-1")
    cluster.pod("nginx", schedulerName="my-scheduler")
    cluster.run(20.0)
    assert cluster.node_name("nginx") is None
    assert cluster.condition("nginx") is None
    assert cluster.events() == []


def test_a_pod_deleted_while_queued_leaves_the_queue():
    cluster = crowded_cluster()
    cluster.pod("nginx")
    cluster.run()
    assert "default/nginx" in cluster.scheduler.queue
    cluster.server.request("delete", "pods", namespace="default", name="nginx")
    cluster.run()
    assert "default/nginx" not in cluster.scheduler.queue


def test_a_parked_pod_is_flushed_back_after_five_minutes_without_events():
    cluster = crowded_cluster()
    cluster.pod("nginx")
    cluster.run()
    cluster.run(290.0)
    assert "default/nginx" in cluster.scheduler.queue.unschedulable
    cluster.run(40.0)  # the 30 s flush after 300 s parked retries it, and it fails again
    [event] = cluster.events("FailedScheduling")
    assert event["count"] == 2


def test_after_stop_nothing_of_the_scheduler_runs_or_writes():
    cluster = crowded_cluster()
    cluster.pod("nginx")
    cluster.run()
    cluster.scheduler.stop()
    assert cluster.loop.next_time() is None
    sent = cluster.connection.requests
    cluster.pod("late")
    cluster.run(400.0)
    assert cluster.connection.requests == sent
    assert cluster.node_name("late") is None


def test_a_partitioned_scheduler_keeps_trying_and_binds_once_healed():
    cluster = Cluster()
    cluster.node("node-1")
    cluster.run()
    cluster.connection.cut()
    cluster.pod("nginx")
    cluster.run(30.0)
    cluster.connection.heal()
    cluster.run(2.0)
    assert cluster.node_name("nginx") == "node-1"


# -- the preemption part of the message ---------------------------------------------------------


def typed_node(name, cpu="1", taints=()):
    return load(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name},
            "spec": {"taints": list(taints)},
            "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "10"}},
        }
    )


def typed_pod(name, cpu="600m", priority=0, node=None, policy=None):
    spec = {
        "containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu}}}],
        "priority": priority,
    }
    if node:
        spec["nodeName"] = node
    if policy:
        spec["preemptionPolicy"] = policy
    return load(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }
    )


def preemption(pod, nodes, placed):
    profile = default_profile()
    snapshot = Snapshot.of(nodes, placed)
    return preemption_message(profile, pod, snapshot, node_statuses(profile, pod, snapshot))


@pytest.mark.parametrize(
    ("pod", "placed", "message"),
    [
        pytest.param(
            typed_pod("p"),
            [typed_pod("x", node="plain")],
            "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming "
            "pod, 1 Preemption is not helpful for scheduling.",
            id="a full node holding no pod of lower priority has no victims; a tainted node "
            "is one preemption cannot help",
        ),
        pytest.param(
            typed_pod("p", cpu="2"),
            [],
            "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
            id="a request above a node's whole allocatable is not helped by preemption",
        ),
        pytest.param(
            typed_pod("p", priority=5),
            [typed_pod("x", node="plain"), typed_pod("y", priority=10, node="plain")],
            "preemption: 0/2 nodes are available: 1 Insufficient cpu, 1 Preemption is not "
            "helpful for scheduling.",
            id="a node still too full without its lower-priority pods keeps its reason",
        ),
        pytest.param(
            typed_pod("p", policy="Never"),
            [typed_pod("x", node="plain")],
            "preemption: not eligible due to preemptionPolicy=Never.",
            id="a pod that may not preempt says so",
        ),
        pytest.param(
            typed_pod("p", priority=10),
            [typed_pod("x", node="plain")],
            "",
            id="where evicting lower-priority pods makes room nothing follows the fit error",
        ),
    ],
)
def test_the_preemption_message(pod, placed, message):
    nodes = [typed_node("plain"), typed_node("tainted", cpu="4", taints=[UNREACHABLE])]
    assert preemption(pod, nodes, placed) == message


def test_long_messages_are_truncated_like_upstream():
    assert truncate("x" * 2000) == "x" * (MESSAGE_LIMIT - 3) + "..."
    assert truncate("short") == "short"


def test_a_restarted_scheduler_schedules_what_the_old_one_left_pending():
    cluster = Cluster()
    cluster.node("node-1", unschedulable=True)
    cluster.pod("nginx")
    cluster.run()
    cluster.scheduler.stop()
    cluster.server.request(
        "patch", "nodes", name="node-1", body={"spec": {"unschedulable": None}}, params=MERGE
    )
    recorder = EventRecorder(cluster.connection, cluster.loop.clock, "default-scheduler")
    fresh = Scheduler(connection=cluster.connection, loop=cluster.loop, recorder=recorder)
    fresh.start()
    cluster.run()
    assert cluster.node_name("nginx") == "node-1"
    assert len(cluster.events("Scheduled")) == 1


# -- preemption (spec/scheduler.md, section 6.4) -------------------------------------------------


def preempting_cluster() -> Cluster:
    """One node of 1 cpu holding a low-priority pod of 600m, and a high-priority pod arriving."""
    cluster = Cluster()
    cluster.node("node-1")
    cluster.pod("low", priority=0)
    cluster.run()
    assert cluster.node_name("low") == "node-1"
    cluster.pod("high", priority=1000)
    cluster.run()
    return cluster


def test_a_higher_priority_pod_preempts_and_is_nominated():
    cluster = preempting_cluster()
    low, high = cluster.get("low"), cluster.get("high")
    assert low["metadata"].get("deletionTimestamp")  # deleted with its grace period
    [target] = [c for c in low["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert (target["status"], target["reason"], target["message"]) == (
        "True",
        "PreemptionByScheduler",
        "default-scheduler: preempting to accommodate a higher priority pod",
    )
    [event] = cluster.events("Preempted")
    assert event["type"] == "Normal"
    assert event["involvedObject"]["name"] == "low"
    assert event["message"] == f"Preempted by pod {high['metadata']['uid']} on node node-1"
    assert high["status"]["nominatedNodeName"] == "node-1"
    assert cluster.node_name("high") is None
    [failed] = cluster.events("FailedScheduling")
    assert failed["message"] == "0/1 nodes are available: 1 Insufficient cpu."


def test_the_preemptor_waits_for_its_victim_then_takes_the_nominated_node():
    cluster = preempting_cluster()
    cluster.run(20.0)
    assert cluster.node_name("high") is None
    assert len(cluster.events("Preempted")) == 1  # the terminating victim is not preempted again
    cluster.server.request(
        "delete", "pods", namespace="default", name="low", body={"gracePeriodSeconds": 0}
    )
    cluster.run()
    assert cluster.node_name("high") == "node-1"
    assert "default/high" not in cluster.scheduler.nominated


def test_while_its_victims_terminate_the_preemptor_is_not_eligible_to_preempt_again():
    cluster = preempting_cluster()
    cluster.run(340.0)  # the 5-minute flush retries it
    assert cluster.condition("high")["message"] == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a "
        "terminating pod on the nominated node."
    )
    assert cluster.get("high")["status"]["nominatedNodeName"] == "node-1"


def test_a_lower_priority_pod_does_not_take_the_room_freed_for_a_nominated_pod():
    cluster = preempting_cluster()
    cluster.server.request(
        "delete", "pods", namespace="default", name="low", body={"gracePeriodSeconds": 0}
    )
    cluster.pod("late", cpu="600m", priority=10)
    cluster.scheduler.queue.delete(cluster.scheduler.queue.unschedulable["default/high"].pod)
    cluster.run()
    assert cluster.node_name("late") is None
    assert cluster.condition("late")["message"].startswith(
        "0/1 nodes are available: 1 Insufficient"
    )


def test_a_pod_that_may_not_preempt_evicts_nobody():
    cluster = Cluster()
    cluster.node("node-1")
    cluster.pod("low", priority=0)
    cluster.run()
    cluster.pod("high", priority=1000, preemptionPolicy="Never")
    cluster.run()
    assert not cluster.get("low")["metadata"].get("deletionTimestamp")
    assert cluster.events("Preempted") == []
    assert cluster.condition("high")["message"] == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
        "preemptionPolicy=Never."
    )


def test_the_scheduler_binds_through_the_default_binder_given_its_connection():
    cluster = Cluster()
    [binder] = cluster.scheduler.profile.at("bind")
    assert binder.name == "DefaultBinder"
    assert binder.connection is cluster.connection
    assert [p.name for p in cluster.scheduler.profile.at("post_filter")] == ["DefaultPreemption"]


@attrs.define(eq=False)
class RefusesDeletes(Connection):
    """A connection whose first ``refusals`` deletes never reach the API server."""

    refusals: int = 1

    def request(self, verb, resource, **kwargs):
        if verb == "delete" and self.refusals > 0:
            self.refusals -= 1
            return unreachable(self.name)
        return super().request(verb, resource, **kwargs)


def test_a_refused_eviction_is_a_scheduler_error_retried_after_backoff():
    cluster = Cluster()
    cluster.connection = RefusesDeletes(cluster.server, "default-scheduler")
    cluster.scheduler.stop()
    recorder = EventRecorder(cluster.connection, cluster.loop.clock, "default-scheduler")
    cluster.scheduler = Scheduler(
        connection=cluster.connection, loop=cluster.loop, recorder=recorder
    )
    cluster.scheduler.start()
    cluster.node("node-1")
    cluster.pod("low", priority=0)
    cluster.run()
    cluster.pod("high", priority=1000)
    cluster.run(0.5)
    assert cluster.condition("high")["reason"] == "SchedulerError"
    assert not cluster.get("low")["metadata"].get("deletionTimestamp")
    assert "nominatedNodeName" not in cluster.get("high").get("status", {})
    cluster.run(2.0)  # after the 1 s backoff it preempts again, and the delete goes through
    assert cluster.get("low")["metadata"].get("deletionTimestamp")
    assert cluster.get("high")["status"]["nominatedNodeName"] == "node-1"
    assert len(cluster.events("Preempted")) == 1


# -- the incremental view ---------------------------------------------------------------------


@st.composite
def view_changes(draw):
    """Steps on the scheduler's state: nodes added, replaced and removed; pods assigned,
    assumed, confirmed, moved and removed (keys and node names from small sets)."""
    nodes = st.sampled_from(("a", "b", "c"))
    keys = st.sampled_from(("default/p1", "default/p2", "default/p3", "default/p4"))
    step = st.one_of(
        st.tuples(st.just("node"), nodes, st.sampled_from(("1", "2"))),
        st.tuples(st.just("drop-node"), nodes, st.none()),
        st.tuples(st.sampled_from(("assign", "assume", "assign-anti")), keys, nodes),
        st.tuples(st.sampled_from(("unassign", "forget")), keys, st.none()),
    )
    return draw(st.lists(st.tuples(step, st.booleans()), max_size=25))


@given(changes=view_changes())
@example(
    changes=[
        (("node", "a", "1"), False),
        (("node", "b", "1"), False),
        (("assign-anti", "default/p1", "a"), True),
        (("assign-anti", "default/p2", "b"), True),
    ]
)
def test_the_incremental_view_equals_a_snapshot_built_from_scratch(changes):
    scheduler = Cluster().scheduler
    for (what, name, value), look in changes:
        if what == "node":
            scheduler.nodes[name] = typed_node(name, cpu=value)
        elif what == "drop-node":
            scheduler.nodes.pop(name, None)
        elif what in ("assign", "assume", "assign-anti"):
            pod = typed_pod(name.split("/")[1], node=value)
            if what == "assign-anti":
                pod = with_anti_affinity(pod)
            (scheduler.assumed if what == "assume" else scheduler.assigned)[name] = pod
        else:
            (scheduler.assigned if what == "unassign" else scheduler.assumed).pop(name, None)
        if look:
            check_view(scheduler)
    check_view(scheduler)


def check_view(scheduler) -> None:
    pods = dict(scheduler.assigned)
    for key, pod in scheduler.assumed.items():
        pods.setdefault(key, pod)
    expected = Snapshot.of(
        [scheduler.nodes[name] for name in sorted(scheduler.nodes)],
        [pods[key] for key in sorted(pods)],
    )
    view = scheduler.snapshot()
    assert view == expected
    for derived in ("having_pods_with_affinity", "having_pods_with_required_anti_affinity"):
        assert getattr(view, derived)() == getattr(expected, derived)()


def with_anti_affinity(pod):
    term = {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "zone"}
    manifest = dump(pod)
    manifest["spec"]["affinity"] = {
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
    }
    return load(manifest)
