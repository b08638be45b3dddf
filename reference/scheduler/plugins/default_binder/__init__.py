"""DefaultBinder: the Bind plugin that binds a pod by creating its pods/binding subresource.

Contract (upstream pkg/scheduler/framework/plugins/defaultbinder/default_binder.go,
release-1.35; https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/#bind):
- ``bind(state, pod, node_name)`` sends one ``create`` of ``pods/binding`` for the pod: a v1
  Binding whose metadata names the pod (namespace, name, uid) and whose target is the Node
  ``node_name``. Accepted: Success. Refused or unreachable: an Error whose reason is the API
  server's message (the framework reports it as ``running Bind plugin "DefaultBinder": ...``).
- It reaches the API server through ``connection`` (anything with
  ``request(verb, resource, *, namespace, name, subresource, body)`` answering a Response,
  as kubeprop.reference.client.Connection does). The framework's Handle carries no client
  yet, so the scheduler component sets ``connection`` on the plugin of its profile
  (``with_connection``); ``new`` takes it from ``handle.connection`` when a Handle offers one.
  Without a connection, bind answers an Error and sends nothing.
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import SUCCESS, CycleState, Handle, Status, error
from kubeprop.spec.api.core import Pod
from kubeprop.spec.api.meta import ObjectMeta

NAME = "DefaultBinder"


def binding(pod: Pod, node_name: str) -> dict[str, Any]:
    """The v1 Binding that binds ``pod`` to ``node_name``."""
    meta = pod.metadata or ObjectMeta()
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": meta.name, "namespace": meta.namespace, "uid": meta.uid},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
    }


@attrs.frozen
class DefaultBinder:
    name: str = NAME
    # The client of the API server; a connection is not part of the plugin's value.
    connection: Any = attrs.field(default=None, eq=False, repr=False)

    def with_connection(self, connection: Any) -> DefaultBinder:
        return attrs.evolve(self, connection=connection)

    def bind(self, state: CycleState, pod: Pod, node_name: str) -> Status:
        if self.connection is None:
            return error("DefaultBinder has no connection to the API server")
        meta = pod.metadata or ObjectMeta()
        answer = self.connection.request(
            "create",
            "pods",
            namespace=meta.namespace,
            name=meta.name,
            subresource="binding",
            body=binding(pod, node_name),
        )
        if answer.ok:
            return SUCCESS
        body = answer.body if isinstance(answer.body, dict) else {}
        return error(body.get("message") or answer.reason or f"binding failed ({answer.code})")


def new(args: Any, handle: Handle) -> DefaultBinder:
    return DefaultBinder(connection=getattr(handle, "connection", None))
