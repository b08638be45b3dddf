"""The garbage collector: cascading, orphan and foreground deletion, one case each."""

from __future__ import annotations

from kubeprop.conformance.suites.test_garbagecollector import make_machine, manifest
from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder
from kubeprop.reference.controllers.garbagecollector import GarbageCollector
from kubeprop.reference.loop import EventLoop


def machine():
    m = make_machine(GarbageCollector)()
    m.start()
    return m


def stored(m, resource, name):
    answer = m.server.get(resource, name, "default")
    return answer.body if answer.ok else None


def names(m):
    return sorted(obj["metadata"]["name"] for obj in m.tap.stored())


def test_deleting_an_owner_deletes_its_dependents_and_theirs():
    m = machine()
    m.create("deployments", [], False)  # deployment-1
    m.create("replicasets", [0], False)  # replicaset-2 owned by deployment-1
    m.create("pods", [1], False)  # pod-3 owned by replicaset-2
    m.advance(1.0)
    m.delete(0, "Background")
    m.advance(3.0)
    assert names(m) == []
    gc_deletes = [d.dependent["metadata"]["name"] for d in m.tap.deletes]
    assert gc_deletes == ["replicaset-2", "pod-3"]


def test_a_dependent_with_a_live_owner_stays_and_loses_the_dead_reference():
    m = machine()
    m.create("deployments", [], False)  # deployment-1
    m.create("replicasets", [], False)  # replicaset-2
    m.create("pods", [0, 1], False)  # pod-3 owned by both
    m.advance(1.0)
    m.delete(0, "Background")
    m.advance(3.0)
    pod = stored(m, "pods", "pod-3")
    assert pod is not None
    assert [r["name"] for r in pod["metadata"]["ownerReferences"]] == ["replicaset-2"]


def test_an_owner_that_never_existed_leaves_its_dependent_collectible():
    m = machine()
    m.create("pods", [], False, bogus=True)
    m.advance(2.0)
    assert names(m) == []


def test_an_owner_recreated_under_the_same_name_is_not_the_owner():
    m = machine()
    m.create("replicasets", [], False)  # replicaset-1
    m.create("pods", [0], False)  # pod-2
    m.advance(1.0)
    gc = m.gc
    gc.stop()  # delete and recreate the owner while no collector runs
    m.delete(0, "Background")
    m.recreate(0)
    loop, server = m.loop, m.server
    connection = Connection(server, "garbage-collector")
    collector = GarbageCollector(
        connection=connection, loop=loop, recorder=EventRecorder(connection, loop.clock, "gc")
    )
    collector.start()
    loop.run_for(2.0)
    assert stored(m, "replicasets", "replicaset-1") is not None
    assert stored(m, "pods", "pod-2") is None


def test_orphan_deletion_keeps_the_dependents_without_the_reference():
    m = machine()
    m.create("replicasets", [], False)
    m.create("pods", [0], False)
    m.advance(1.0)
    m.delete(0, "Orphan")
    m.advance(3.0)
    assert stored(m, "replicasets", "replicaset-1") is None
    pod = stored(m, "pods", "pod-2")
    assert pod is not None and not pod["metadata"].get("ownerReferences")


def test_foreground_deletion_removes_blocking_dependents_first():
    m = machine()
    m.create("deployments", [], False)
    m.create("replicasets", [0], True)
    m.advance(1.0)
    m.delete(0, "Foreground")
    m.advance(3.0)
    assert names(m) == []
    (removal_rs,) = [r for r in m.tap.removals if r.obj["metadata"]["name"] == "replicaset-2"]
    (removal_d,) = [r for r in m.tap.removals if r.obj["metadata"]["name"] == "deployment-1"]
    assert removal_rs.at <= removal_d.at


def test_owner_references_to_unserved_kinds_are_never_collected():
    loop = EventLoop()
    server = ApiServer(clock=loop.clock)
    connection = Connection(server, "garbage-collector")
    collector = GarbageCollector(
        connection=connection, loop=loop, recorder=EventRecorder(connection, loop.clock, "gc")
    )
    collector.start()
    body = manifest(
        "pods",
        "p",
        [{"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "u-1"}],
    )
    assert server.create("pods", body, namespace="default").ok
    loop.run_for(5.0)
    assert server.get("pods", "p", "default").ok


def test_a_stopped_collector_does_nothing_more():
    m = machine()
    m.create("replicasets", [], False)
    m.create("pods", [0], False)
    m.advance(1.0)
    m.gc.stop()
    m.delete(0, "Background")
    m.advance(5.0)
    assert stored(m, "pods", "pod-2") is not None
    assert m.loop.next_time() is None
