"""Informers, listers and the shared informer factory over the reference API server."""

from __future__ import annotations

import pytest

from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Informer, Informers
from kubeprop.reference.loop import EventLoop


def _lease(name: str, app: str = "web", namespace: str = "default") -> dict:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "spec": {"holderIdentity": "one"},
    }


def _setup(**options) -> tuple[EventLoop, ApiServer, Informer, list]:
    loop = EventLoop()
    server = ApiServer(clock=loop.clock)
    informer = Informer(server, "leases", loop, **options)
    seen: list = []
    informer.add_handler(
        lambda new: seen.append(("add", new["metadata"]["name"])),
        lambda old, new: seen.append(
            ("update", old["metadata"]["resourceVersion"], new["metadata"]["resourceVersion"])
        ),
        lambda last: seen.append(("delete", last["metadata"]["name"])),
    )
    return loop, server, informer, seen


def test_start_lists_then_follows_the_watch_in_order() -> None:
    loop, server, informer, seen = _setup()
    server.create("leases", _lease("a"), namespace="default")
    assert not informer.has_synced
    informer.start()
    assert informer.has_synced
    assert seen == [("add", "a")]
    current = server.get("leases", "a", "default").body
    current["spec"]["holderIdentity"] = "two"
    updated = server.update("leases", current, namespace="default").body
    server.delete("leases", "a", "default")
    loop.run_for(0.1)
    old_rv = current["metadata"]["resourceVersion"]
    new_rv = updated["metadata"]["resourceVersion"]
    assert seen == [("add", "a"), ("update", old_rv, new_rv), ("delete", "a")]
    assert informer.keys() == []
    assert int(informer.last_resource_version) >= int(new_rv)


def test_nothing_is_applied_between_polls() -> None:
    loop, server, informer, seen = _setup(poll_interval=1.0)
    informer.start()
    server.create("leases", _lease("a"), namespace="default")
    loop.run_for(0.5)
    assert seen == []
    loop.run_for(0.5)
    assert seen == [("add", "a")]


def test_a_closed_watch_is_resumed_from_the_last_resource_version_without_a_list() -> None:
    loop, server, informer, seen = _setup()
    informer.start()
    informer._stream.stop()  # the server ends the watch
    server.create("leases", _lease("a"), namespace="default")
    loop.run_for(0.1)
    assert seen == [("add", "a")]
    assert informer.relists == 1


def test_after_410_expired_the_informer_relists_and_reports_the_differences() -> None:
    loop, server, informer, seen = _setup()
    server.create("leases", _lease("a"), namespace="default")
    server.create("leases", _lease("b"), namespace="default")
    informer.start()
    informer._stream.stop()
    server.delete("leases", "a", "default")
    current = server.get("leases", "b", "default").body
    current["spec"]["holderIdentity"] = "two"
    server.update("leases", current, namespace="default")
    server.create("leases", _lease("c"), namespace="default")
    server.store.compact(server.store.revision)
    loop.run_for(0.3)
    assert informer.relists == 2
    assert informer.last_error["code"] == 410
    assert seen[2:] == [
        ("delete", "a"),
        ("update", current["metadata"]["resourceVersion"], seen[3][2]),
        ("add", "c"),
    ]
    assert informer.keys() == ["default/b", "default/c"]


def test_a_label_selected_informer_sees_an_object_leave_as_a_delete() -> None:
    loop, server, informer, seen = _setup(label_selector="app=web")
    informer.start()
    created = server.create("leases", _lease("a"), namespace="default").body
    loop.run_for(0.1)
    created["metadata"]["labels"] = {"app": "db"}
    server.update("leases", created, namespace="default")
    loop.run_for(0.1)
    assert seen == [("add", "a"), ("delete", "a")]


def test_the_lister_returns_copies_that_cannot_change_the_cache() -> None:
    loop, server, informer, _ = _setup()
    server.create("leases", _lease("a", "web"), namespace="default")
    server.create("leases", _lease("b", "db"), namespace="default")
    server.create(
        "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
    )
    server.create("leases", _lease("c", "web", namespace="x"), namespace="x")
    informer.start()
    lister = informer.lister()
    found = lister.get("default", "a")
    found["spec"]["holderIdentity"] = "mallory"
    assert lister.get("default", "a")["spec"]["holderIdentity"] == "one"
    assert lister.get("default", "missing") is None
    assert [i["metadata"]["name"] for i in lister.list()] == ["a", "b", "c"]
    assert [i["metadata"]["name"] for i in lister.list(namespace="default")] == ["a", "b"]
    assert [i["metadata"]["name"] for i in lister.list(selector="app=web")] == ["a", "c"]
    assert lister.list()[0]["kind"] == "Lease"


def test_a_malformed_lister_selector_is_a_clear_error() -> None:
    _, _, informer, _ = _setup()
    informer.start()
    with pytest.raises(ValueError, match="unable to parse requirement"):
        informer.lister().list(selector="app in (")


def test_a_failed_list_is_retried_and_never_raises() -> None:
    loop, server, informer, _ = _setup(label_selector="app in (")
    informer.start()
    loop.run_for(0.5)
    assert not informer.has_synced
    assert informer.last_error["code"] == 400


def test_a_stopped_informer_applies_nothing_more() -> None:
    loop, server, informer, seen = _setup()
    informer.start()
    informer.stop()
    server.create("leases", _lease("a"), namespace="default")
    loop.run_for(1.0)
    assert seen == []


def test_a_handler_added_late_first_sees_every_cached_object() -> None:
    loop, server, informer, _ = _setup()
    server.create("leases", _lease("a"), namespace="default")
    informer.start()
    late: list = []
    informer.add_handler(on_add=lambda new: late.append(new["metadata"]["name"]))
    assert late == ["a"]


def test_the_factory_hands_out_one_informer_per_resource_namespace_and_selectors() -> None:
    loop = EventLoop()
    factory = Informers(ApiServer(), loop)
    first = factory.informer("leases", "default")
    assert factory.informer("leases", "default") is first
    assert factory.informer("leases", "default", label_selector="app=web") is not first
    assert not factory.has_synced()
    factory.start()
    assert factory.has_synced()
    factory.stop()
    assert first.stopped


@pytest.mark.parametrize("interval", [0, -1.0, "fast"])
def test_a_poll_interval_that_is_not_positive_is_rejected_with_its_field(interval) -> None:
    with pytest.raises(ValueError, match="poll_interval: Invalid value"):
        Informer(ApiServer(), "leases", EventLoop(), poll_interval=interval)


def test_an_informer_of_an_unknown_resource_never_syncs_and_never_raises() -> None:
    loop = EventLoop()
    informer = Informer(ApiServer(), "widgets", loop)
    informer.start()
    loop.run_for(1.0)
    assert not informer.has_synced
    assert informer.last_error["code"] == 404
