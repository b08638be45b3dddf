"""The event recorder components use to report what they did (client-go's record.EventRecorder).

Contract (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/):
- ``event(obj, type, reason, message)`` writes a core/v1 Event in the object's
  namespace ("default" for a cluster-scoped object) named
  ``<object name>.<hex of the instant in nanoseconds>``, with involvedObject,
  source (component, host), firstTimestamp = lastTimestamp = now, count 1.
- The same event again (same object uid, type, reason, message and source)
  within 10 minutes of its first occurrence is aggregated as client-go's
  EventCorrelator does: the stored Event's count goes up by one and its
  lastTimestamp moves to now, instead of a new Event.
- Recording never raises and never blocks a component: an event the API server
  refuses (or that cannot reach it) is dropped, as client-go drops events when
  its broadcaster gives up.
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.reference.clock import SimClock, parse_timestamp

Manifest = dict[str, Any]

NORMAL = "Normal"
WARNING = "Warning"

# How long an event is aggregated into the first one of its kind (client-go: 10 minutes).
AGGREGATION_WINDOW = 600.0
# How many names an event tries when one is taken (events at the same instant).
NAME_ATTEMPTS = 4


def first_seen(event: Manifest) -> tuple[float, int]:
    """When an event was first recorded: (its firstTimestamp in simulated seconds, the
    nanoseconds its name carries). The second is exact; order events by this pair."""
    name = (event.get("metadata") or {}).get("name") or ""
    try:
        nanos = int(name.rsplit(".", 1)[1], 16)
    except (IndexError, ValueError):
        nanos = 0
    return parse_timestamp(event.get("firstTimestamp") or ""), nanos


def involved_object(obj: Manifest, field_path: str | None = None) -> Manifest:
    meta = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "apiVersion": obj.get("apiVersion"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    if field_path:
        ref["fieldPath"] = field_path
    return {key: value for key, value in ref.items() if value}


@attrs.define(eq=False)
class EventRecorder:
    """Writes Events through a connection, stamped by the simulated clock."""

    connection: Any  # answers request(...) like ApiServer (a client Connection)
    clock: SimClock
    component: str  # source.component, e.g. "kubelet", "default-scheduler"
    host: str | None = None  # source.host: the node a kubelet runs on
    # (uid, type, reason, message, field path) -> (event namespace, name, first seen, count).
    _seen: dict[tuple, tuple[str, str, float, int]] = attrs.field(init=False, factory=dict)
    recorded: int = attrs.field(init=False, default=0)  # events written or aggregated
    dropped: int = attrs.field(init=False, default=0)  # events the API server refused

    def event(
        self,
        obj: Manifest,
        type: str,
        reason: str,
        message: str,
        field_path: str | None = None,
    ) -> None:
        ref = involved_object(obj, field_path)
        namespace = ref.get("namespace") or "default"
        identity = (ref.get("uid") or ref.get("name"), type, reason, message, field_path)
        now = self.clock.now
        seen = self._seen.get(identity)
        fresh = seen is not None and now - seen[2] <= AGGREGATION_WINDOW
        if fresh and self._aggregate(seen[0], seen[1], seen[3] + 1):
            self._seen[identity] = (seen[0], seen[1], seen[2], seen[3] + 1)
            self.recorded += 1
            return
        name = self._create(namespace, ref, type, reason, message)
        if name is None:
            self.dropped += 1
            return
        self._seen[identity] = (namespace, name, now, 1)
        self.recorded += 1

    def _source(self) -> Manifest:
        source = {"component": self.component}
        if self.host:
            source["host"] = self.host
        return source

    def _create(
        self, namespace: str, ref: Manifest, type: str, reason: str, message: str
    ) -> str | None:
        nanos = round(self.clock.now * 1_000_000_000)
        for attempt in range(NAME_ATTEMPTS):
            name = f"{ref.get('name')}.{nanos + attempt:x}"
            body = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": ref,
                "reason": reason,
                "message": message,
                "source": self._source(),
                "firstTimestamp": self.clock.timestamp(),
                "lastTimestamp": self.clock.timestamp(),
                "count": 1,
                "type": type,
                "reportingComponent": self.component,
                "reportingInstance": self.host or "",
            }
            answer = self.connection.request("create", "events", namespace=namespace, body=body)
            if answer.ok:
                return name
            if answer.code != 409:
                return None
        return None

    def _aggregate(self, namespace: str, name: str, count: int) -> bool:
        patch = {"count": count, "lastTimestamp": self.clock.timestamp()}
        answer = self.connection.request(
            "patch",
            "events",
            namespace=namespace,
            name=name,
            body=patch,
            params={"contentType": "application/merge-patch+json"},
        )
        return answer.ok
