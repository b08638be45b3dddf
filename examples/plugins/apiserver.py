"""An API server plug-in: an auditing front end over kubeprop's API server.

Try it::

    kubeprop conform --sut python:examples.plugins.apiserver:AuditedApiServer

A whole API server of your own (Go, Rust, a Python web app) is best checked
over HTTP: serve it and run ``kubeprop conform --sut kube+http://HOST:PORT``.
In-process Python layers of an API server -- an admission chain, an audit
backend, a cache in front of the store -- plug in here. This one is an audit
backend: it passes every request to the API server behind it and keeps an
audit event for each, the way kube-apiserver's audit log does at the
``Metadata`` level (https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/):

- one event per request, at stage ``ResponseComplete`` (a watch is logged when
  it is opened, since here it has no end of its own);
- ``verb`` is the Kubernetes verb, as the protocol's requests already name it:
  ``create``, ``update``, ``patch``, ``delete``, ``deletecollection``,
  ``get``, ``list``, ``watch``;
- ``objectRef`` names the resource, namespace, name and subresource (and the
  name of the object created, taken from the answer when the request named
  none, as with ``generateName``), ``responseStatus.code`` the HTTP status;
- ``auditID`` is unique per request and ``stageTimestamp`` is the server's
  clock, not the wall clock;
- at ``Metadata`` level no request or response body is kept, so no secret
  data reaches the log.

The suite checks that putting the front end in changes nothing a client sees
(the API-server and client contracts run through it); tests of the example
check the log. The API server behind it is kubeprop's: the one place an
example imports the reference model, since a front end needs something to
stand in front of.

Protocol (kubeprop.spec.contracts.ApiServer): ``request(verb, resource, *,
namespace, name, subresource, body, params) -> Response``, never raising.
The suite also reads ``store`` (to compact it and to read revisions): a front
end shows the store of the server behind it.
"""

from __future__ import annotations

import itertools
from typing import Any

from kubeprop.reference.apiserver import ApiServer
from kubeprop.spec.contracts import Response

AUDIT_API_VERSION = "audit.k8s.io/v1"


class AuditedApiServer:
    """An ApiServer that logs an audit event for every request it passes on."""

    kind = "apiserver"

    def __init__(self, backend: Any = None) -> None:
        self.backend = backend if backend is not None else ApiServer()
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    @property
    def store(self) -> Any:
        return self.backend.store

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
        answer = self.backend.request(
            verb,
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            body=body,
            params=params,
        )
        self.events.append(self._event(verb, resource, namespace, name, subresource, answer))
        return answer

    def _event(
        self,
        verb: str,
        resource: str,
        namespace: str | None,
        name: str | None,
        subresource: str | None,
        answer: Response,
    ) -> dict[str, Any]:
        if name is None and verb == "create" and answer.ok and isinstance(answer.body, dict):
            name = (answer.body.get("metadata") or {}).get("name")
        ref = {"resource": resource, "namespace": namespace, "name": name}
        ref["subresource"] = subresource
        return {
            "apiVersion": AUDIT_API_VERSION,
            "kind": "Event",
            "level": "Metadata",
            "auditID": f"{next(self._ids):08d}",
            "stage": "ResponseComplete",
            "verb": verb,
            "objectRef": {k: v for k, v in ref.items() if v is not None},
            "responseStatus": {"code": answer.code},
            "stageTimestamp": self._now(),
        }

    def _now(self) -> str:
        """The server's clock as RFC 3339 with microseconds (audit's MicroTime)."""
        return self.backend.clock.micro_timestamp()
