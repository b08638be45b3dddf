"""A component's connection to the API server, which a partition can cut.

Contract:
- ``request(...)`` is the API server's ``request`` while connected. While cut
  (a network partition between the component's host and the API server) every
  request answers 503 ServiceUnavailable with the message a Go client shows
  for an unreachable server, and changes nothing.
- A watch opened through the connection is ended by a cut: its next poll
  delivers nothing and it reports ``stopped``, so an informer watches again
  (from its last resourceVersion) once the connection heals. Events the server
  produced meanwhile are not lost: the new watch replays them.
- Components talk to the API server only through a connection, so the cluster
  can partition any one of them (a node's kubelet, or a control-plane component).
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.spec.contracts import Response

Manifest = dict[str, Any]


def unreachable(name: str) -> Response:
    """The answer of a request that never reached the API server."""
    message = f'Get "https://kube-apiserver:6443": dial tcp: connect: no route to host ({name})'
    return Response(
        503,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": "ServiceUnavailable",
            "code": 503,
        },
    )


@attrs.define(eq=False)
class PartitionableWatch:
    """A watch stream that ends when its connection is cut."""

    stream: Any
    connection: Connection

    @property
    def stopped(self) -> bool:
        return self.stream.stopped or not self.connection.connected

    def poll(self) -> list[Manifest]:
        if not self.connection.connected:
            self.stream.stop()
            return []
        return self.stream.poll()

    def stop(self) -> None:
        self.stream.stop()

    def on_ready(self, callback) -> None:
        """Wake ``callback`` when the stream has events, and when the connection is cut."""
        self.stream.on_ready(callback)
        if callback not in self.connection._wake:
            self.connection._wake.append(callback)


@attrs.define(eq=False)
class Connection:
    """One component's link to the API server (``server`` answers like ApiServer.request)."""

    server: Any
    name: str  # who calls, e.g. "kubelet/node-1" (shown in the unreachable message)
    connected: bool = True  # False while partitioned from the API server
    requests: int = attrs.field(init=False, default=0)  # requests sent, answered or not
    # Readers of the watches opened through this connection, woken when it is cut.
    _wake: list[Any] = attrs.field(init=False, factory=list)

    def cut(self) -> None:
        self.connected = False
        wake, self._wake = self._wake, []
        for callback in wake:
            callback()

    def heal(self) -> None:
        self.connected = True

    def request(
        self,
        verb: str,
        resource: str,
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Response:
        self.requests += 1
        if not self.connected:
            return unreachable(self.name)
        answer = self.server.request(
            verb,
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            body=body,
            params=params,
        )
        if answer.watch is not None:
            return attrs.evolve(answer, watch=PartitionableWatch(answer.watch, self))
        return answer
