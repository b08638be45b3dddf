"""What ``kubeprop simulate`` prints: the views a user reads with kubectl.

Contract: pure functions of manifests and the simulated time.
- ``events_table`` is ``kubectl get events`` in the order things happened:
  TIME (simulated seconds since the cluster started, when the event was first
  seen), TYPE, REASON, OBJECT (kind/name, lower case), MESSAGE (with
  ``(x N over ...)`` for an aggregated event, as kubectl shows the count).
- ``pods_table`` is ``kubectl get pods -o wide``: NAME, READY (ready/total
  containers), STATUS (as kubectl computes it: Terminating, a container's
  waiting or terminated reason, Init:N/M, else the phase), RESTARTS, AGE, IP,
  NODE, NOMINATED NODE, READINESS GATES.
- ``deployments_table`` is ``kubectl get deployments``: NAME, READY,
  UP-TO-DATE, AVAILABLE, AGE.
- Ages are kubectl's human durations (``45s``, ``2m30s``, ``12m``, ``3h``).
- The cells are computed as the served API's Tables compute them
  (``kubeprop.reference.apiserver.table``: ``pod_status`` lives there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubeprop.reference.apiserver.table import human_duration, pod_status  # one place each
from kubeprop.reference.client.events import first_seen
from kubeprop.reference.clock import parse_timestamp

Manifest = dict[str, Any]


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = []
    for row in [header, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines)


def events_table(events: Sequence[Manifest]) -> str:
    rows = []
    for event in sorted(events, key=first_seen):
        involved = event.get("involvedObject") or {}
        message = str(event.get("message") or "")
        count = int(event.get("count") or 1)
        if count > 1:
            first = parse_timestamp(event.get("firstTimestamp"))
            last = parse_timestamp(event.get("lastTimestamp") or event.get("firstTimestamp"))
            message += f" (x{count} over {human_duration(last - first)})"
        rows.append(
            (
                f"{first_seen(event)[1] / 1e9:.1f}s",
                event.get("type", ""),
                event.get("reason", ""),
                f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
                message,
            )
        )
    return _table(("TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"), rows)


def pods_table(pods: Sequence[Manifest], now: float) -> str:
    rows = []
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        status = pod.get("status") or {}
        containers = (pod.get("spec") or {}).get("containers") or []
        statuses = status.get("containerStatuses") or []
        ready = sum(1 for s in statuses if s.get("ready"))
        restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
        created = parse_timestamp(pod["metadata"].get("creationTimestamp"))
        rows.append(
            (
                pod["metadata"]["name"],
                f"{ready}/{len(containers)}",
                pod_status(pod),
                str(restarts),
                human_duration(now - created),
                status.get("podIP") or "<none>",
                (pod.get("spec") or {}).get("nodeName") or "<none>",
                status.get("nominatedNodeName") or "<none>",
                "<none>",
            )
        )
    header = ("NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE")
    return _table((*header, "NOMINATED NODE", "READINESS GATES"), rows)


def deployments_table(deployments: Sequence[Manifest], now: float) -> str:
    rows = []
    for deployment in sorted(deployments, key=lambda d: d["metadata"]["name"]):
        status = deployment.get("status") or {}
        replicas = (deployment.get("spec") or {}).get("replicas", 1)
        created = parse_timestamp(deployment["metadata"].get("creationTimestamp"))
        rows.append(
            (
                deployment["metadata"]["name"],
                f"{status.get('readyReplicas', 0)}/{replicas}",
                str(status.get("updatedReplicas", 0)),
                str(status.get("availableReplicas", 0)),
                human_duration(now - created),
            )
        )
    return _table(("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"), rows)
