"""PrioritySort: the QueueSort plugin ordering the active queue by priority, then by enqueue time.

Contract (https://github.com/kubernetes/kubernetes/blob/release-1.35/pkg/scheduler/framework/plugins/queuesort/priority_sort.go):
- ``less(a, b)`` on two queued pod infos (anything with ``pod`` and
  ``timestamp``) is true when ``a`` goes first: its pod's ``spec.priority`` (0
  when unset) is higher, or equal and ``a`` was added to the queue earlier.
- ``key(info)`` is a sort key agreeing with ``less``: ``key(a) < key(b)``
  exactly when ``less(a, b)``; the scheduling queue pops the pod with the
  smallest key. Two pods neither of which is less than the other are equal
  for the plugin; the queue breaks that tie by the pod's key "namespace/name".
- The plugin takes no arguments and implements no other extension point.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from kubeprop.spec.api.core import Pod

NAME = "PrioritySort"


class QueuedPod(Protocol):
    """What the plugin reads of a queued pod info."""

    pod: Pod
    timestamp: float


def pod_priority(pod: Pod) -> int:
    """spec.priority, 0 when unset (upstream's corev1helpers.PodPriority)."""
    return (pod.spec.priority if pod.spec else None) or 0


@attrs.frozen
class PrioritySort:
    name: str = NAME

    def less(self, a: QueuedPod, b: QueuedPod) -> bool:
        """Whether ``a`` is scheduled before ``b``."""
        p1, p2 = pod_priority(a.pod), pod_priority(b.pod)
        return p1 > p2 or (p1 == p2 and a.timestamp < b.timestamp)

    def key(self, info: QueuedPod) -> tuple[int, float]:
        return (-pod_priority(info.pod), info.timestamp)


def new(args: Any, handle: Any) -> PrioritySort:
    return PrioritySort()
