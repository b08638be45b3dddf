"""DefaultBinder: Bind creates the pods/binding subresource (upstream default_binder_test.go's cases).

Upstream's TestDefaultBinder: a pod bound to "foohost.kubernetes.mydomain.com" sends one
Binding naming the pod (namespace, name, uid) with target Node of that name; an API error
comes back as an Error status carrying the error.
"""

from __future__ import annotations

import attrs

from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection
from kubeprop.reference.loop import EventLoop
from kubeprop.reference.scheduler.framework import Code, CycleState, Handle
from kubeprop.reference.scheduler.plugins import default_binder
from kubeprop.spec.api.core import Container, Pod, PodSpec
from kubeprop.spec.api.meta import ObjectMeta
from kubeprop.spec.contracts import Response

NODE = "foohost.kubernetes.mydomain.com"


@attrs.define(eq=False)
class Recording:
    """A connection that records every request and answers ``code``."""

    code: int = 201
    requests: list = attrs.Factory(list)

    def request(self, verb, resource, **kwargs):
        self.requests.append((verb, resource, kwargs))
        if self.code >= 400:
            body = {
                "kind": "Status",
                "reason": "Conflict",
                "message": "pod foo is already assigned",
            }
            return Response(self.code, body)
        return Response(self.code, {"kind": "Status", "status": "Success"})


def a_pod() -> Pod:
    return Pod(
        metadata=ObjectMeta(name="foo", namespace="ns", uid="foo-uid"),
        spec=PodSpec(containers=(Container(name="c", image="nginx"),)),
    )


def test_the_plugin_is_named_default_binder():
    assert default_binder.NAME == "DefaultBinder"
    assert default_binder.new(None, Handle()).name == "DefaultBinder"


def test_a_successful_binding_sends_one_binding_naming_the_pod_and_the_node():
    connection = Recording()
    plugin = default_binder.DefaultBinder().with_connection(connection)
    status = plugin.bind(CycleState(), a_pod(), NODE)
    assert status.is_success()
    [(verb, resource, kwargs)] = connection.requests
    assert (verb, resource, kwargs["subresource"]) == ("create", "pods", "binding")
    assert (kwargs["namespace"], kwargs["name"]) == ("ns", "foo")
    assert kwargs["body"] == {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "foo", "namespace": "ns", "uid": "foo-uid"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": NODE},
    }


def test_an_api_error_is_an_error_status_carrying_the_message():
    plugin = default_binder.DefaultBinder(connection=Recording(code=409))
    status = plugin.bind(CycleState(), a_pod(), NODE)
    assert status.code is Code.ERROR
    assert status.message() == "pod foo is already assigned"


def test_without_a_connection_nothing_is_sent_and_the_bind_fails():
    status = default_binder.DefaultBinder().bind(CycleState(), a_pod(), NODE)
    assert status.code is Code.ERROR


def test_a_handle_offering_a_connection_gives_it_to_the_plugin():
    connection = Recording()

    class WithClient(Handle):
        pass

    handle = WithClient()
    handle.connection = connection
    assert default_binder.new(None, handle).connection is connection


def test_the_connection_is_not_part_of_the_plugins_value():
    assert default_binder.DefaultBinder(connection=Recording()) == default_binder.DefaultBinder()


def test_binding_through_the_api_server_sets_the_node_name():
    loop = EventLoop()
    server = ApiServer(clock=loop.clock)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "foo"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    created = server.request("create", "pods", namespace="default", body=pod).body
    typed = Pod(
        metadata=ObjectMeta(name="foo", namespace="default", uid=created["metadata"]["uid"]),
        spec=PodSpec(containers=(Container(name="c", image="nginx"),)),
    )
    plugin = default_binder.DefaultBinder(connection=Connection(server, "default-scheduler"))
    assert plugin.bind(CycleState(), typed, "node-1").is_success()
    stored = server.request("get", "pods", namespace="default", name="foo").body
    assert stored["spec"]["nodeName"] == "node-1"
    again = plugin.bind(CycleState(), typed, "node-2")
    assert again.code is Code.ERROR and "already" in again.message()
