"""The scheduling queue: activeQ, backoffQ and the unschedulable pods, as pure state moved by explicit time.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/,
https://kubernetes.io/docs/reference/config-api/kube-scheduler-config.v1/):
- ``pop(now)`` first moves every pod whose backoff has expired from backoffQ to
  activeQ, then returns the activeQ pod that goes first by the queue's QueueSort
  plugin (``queue_sort``, PrioritySort by default: the highest priority, the
  earliest enqueue time among equals), then by its key, for determinism; or None. Popping
  counts an attempt and starts a scheduling cycle. When activeQ is empty, the
  backoffQ pod that was rejected by plugins (not one that failed with an error)
  and whose backoff ends first is popped at once (SchedulerPopFromBackoffQ, beta
  and on by default since v1.33).
- ``add_unschedulable(info, now)`` takes back a pod whose cycle failed. If a
  cluster event moved pods while it was being scheduled, or it failed with an
  error (no plugin rejected it), it goes to backoffQ; otherwise it is parked
  among the unschedulable pods.
- The backoff of a pod that has been tried ``attempts`` times is
  ``pod_initial_backoff_seconds * 2 ** (attempts - 1)`` capped at
  ``pod_max_backoff_seconds`` (1 s and 10 s by default), counted from its last
  failure. Its end is truncated to the 1 s ordering window, and a pod counts as
  backing off while that window has not yet passed (so it completes at the
  start of the next window); it is never moved to activeQ by ``flush`` before.
- ``move_all_to_active_or_backoff(event, now)`` (a node added or updated, a pod
  deleted, ...) moves every unschedulable pod to backoffQ if it is still
  backing off, to activeQ otherwise. ``flush(now)`` does the same for pods
  parked longer than ``pod_max_in_unschedulable_pods_duration`` (300 s).
- A pod is in at most one of activeQ, backoffQ, the unschedulable pods and the
  in-flight set, under its key "namespace/name".
"""

from __future__ import annotations

import heapq
import math
from typing import Any, Protocol

import attrs

from kubeprop.reference.scheduler.plugins.priority_sort import PrioritySort
from kubeprop.spec.api.core import Pod

POD_INITIAL_BACKOFF_SECONDS = 1.0
POD_MAX_BACKOFF_SECONDS = 10.0
POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION = 300.0

# Cluster events that may make an unschedulable pod schedulable (a subset of upstream's).
NODE_ADD = "NodeAdd"
NODE_UPDATE = "NodeUpdate"
POD_DELETE = "AssignedPodDelete"
UNSCHEDULABLE_TIMEOUT = "UnschedulableTimeout"
EVENTS = (NODE_ADD, NODE_UPDATE, POD_DELETE)

# backoffQOrderingWindowDuration: backoff ends are truncated to windows of this length.
BACKOFF_ORDERING_WINDOW = 1.0


def align_to_window(t: float, window: float = BACKOFF_ORDERING_WINDOW) -> float:
    return math.floor(t / window) * window


def pod_key(pod: Pod) -> str:
    meta = pod.metadata
    return f"{(meta.namespace if meta else None) or 'default'}/{(meta.name if meta else '') or ''}"


def pod_priority(pod: Pod) -> int:
    return (pod.spec.priority if pod.spec else None) or 0


class QueueSortPlugin(Protocol):
    """A QueueSort plugin: ``less(a, b)`` when ``a`` goes first, and a sort key agreeing
    with it (``key(a) < key(b)`` exactly when ``less(a, b)``)."""

    name: str

    def less(self, a: Any, b: Any) -> bool: ...

    def key(self, info: Any) -> Any: ...


def backoff_duration(
    attempts: int,
    initial: float = POD_INITIAL_BACKOFF_SECONDS,
    maximum: float = POD_MAX_BACKOFF_SECONDS,
) -> float:
    """initial * 2^(attempts-1), capped at maximum (0 before the first attempt)."""
    if attempts <= 0:
        return 0.0
    duration = initial
    for _ in range(1, attempts):
        if duration > maximum - duration:
            return maximum
        duration += duration
    return min(duration, maximum)


@attrs.frozen
class QueuedPodInfo:
    """A pending pod with its queueing bookkeeping."""

    pod: Pod
    timestamp: float  # when it was last added to a queue (orders activeQ)
    initial_attempt_timestamp: float | None = None  # when it was first popped
    attempts: int = 0  # scheduling attempts so far
    last_failure: float | None = None  # when its last attempt failed
    unschedulable_plugins: frozenset[str] = frozenset()  # plugins that rejected it last

    @property
    def key(self) -> str:
        return pod_key(self.pod)

    @property
    def priority(self) -> int:
        return pod_priority(self.pod)


class ActiveQueue(dict):
    """activeQ: key -> QueuedPodInfo, with a heap of (sort key, key) beside it so that the
    first pod is found in O(log n) (upstream's activeQ is a heap too); entries of pods
    removed or replaced since are skipped when met."""

    def __init__(self, order=None) -> None:
        super().__init__()
        self.order = order
        self._heap: list[tuple[Any, int, str, QueuedPodInfo]] = []
        self._pushed = 0

    def __setitem__(self, key: str, info: QueuedPodInfo) -> None:
        super().__setitem__(key, info)
        if self.order is not None:
            heapq.heappush(self._heap, (self.order(info), self._pushed, key, info))
            self._pushed += 1

    def first(self) -> str:
        """The key of the pod that sorts first (the queue must not be empty)."""
        heap = self._heap
        while heap:
            _, _, key, info = heap[0]
            if self.get(key) is info:
                return key
            heapq.heappop(heap)
        return min(self.values(), key=self.order).key  # entries set before order was given


@attrs.define
class SchedulingQueue:
    """kube-scheduler's PriorityQueue, with time passed in by the caller."""

    # configuration (KubeSchedulerConfiguration), fixed for the queue's life
    pod_initial_backoff_seconds: float = POD_INITIAL_BACKOFF_SECONDS
    pod_max_backoff_seconds: float = POD_MAX_BACKOFF_SECONDS
    pod_max_in_unschedulable_pods_duration: float = POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION
    # the profile's QueueSort plugin, fixed for the queue's life: it orders activeQ.
    queue_sort: QueueSortPlugin = attrs.field(factory=PrioritySort, kw_only=True)
    # key -> pod ready to be scheduled; pop takes the first by queue_sort, then by key.
    active: ActiveQueue = attrs.Factory(ActiveQueue)
    # key -> pod waiting for its backoff to expire (SCHEDULER-BACKOFF).
    backoff: dict[str, QueuedPodInfo] = attrs.Factory(dict)
    # key -> pod parked until a cluster event or the unschedulable timeout.
    unschedulable: dict[str, QueuedPodInfo] = attrs.Factory(dict)
    # key -> pod popped and not yet given back (add_unschedulable) or done.
    in_flight: dict[str, QueuedPodInfo] = attrs.Factory(dict)
    # the cycle a pop starts; increases by one per pop.
    scheduling_cycle: int = 0
    # the cycle during which the last cluster event moved pods; a pod whose cycle
    # started before it goes to backoffQ instead of being parked.
    move_request_cycle: int = -1
    # key -> the cycle in which the in-flight pod was popped.
    _popped_in: dict[str, int] = attrs.Factory(dict)

    def __attrs_post_init__(self) -> None:
        entries = dict(self.active)
        self.active = ActiveQueue(self.order)
        for key, info in entries.items():
            self.active[key] = info

    # -- reading ----------------------------------------------------------------

    def __contains__(self, key: str) -> bool:
        return any(
            key in q for q in (self.active, self.backoff, self.unschedulable, self.in_flight)
        )

    def pending(self) -> dict[str, list[str]]:
        return {
            "activeQ": sorted(self.active),
            "backoffQ": sorted(self.backoff),
            "unschedulablePods": sorted(self.unschedulable),
        }

    def backoff_expiry(self, info: QueuedPodInfo) -> float:
        """The end of the pod's backoff, truncated to its ordering window."""
        since = info.last_failure if info.last_failure is not None else info.timestamp
        duration = backoff_duration(
            info.attempts, self.pod_initial_backoff_seconds, self.pod_max_backoff_seconds
        )
        return align_to_window(since + duration)

    def is_backing_off(self, info: QueuedPodInfo, now: float) -> bool:
        """Upstream's isPodBackingoff: the backoff's window has not passed yet."""
        if info.attempts == 0:
            return False
        return self.backoff_expiry(info) >= align_to_window(now)

    def order(self, info: QueuedPodInfo) -> tuple[Any, str]:
        """activeQ's sort key: the QueueSort plugin's key (PrioritySort: higher priority,
        then earlier timestamp), then the pod's key."""
        return (self.queue_sort.key(info), info.key)

    # -- changing ---------------------------------------------------------------

    def add(self, pod: Pod, now: float) -> QueuedPodInfo:
        """A new pending pod (or an update of one): activeQ, or where it already waits."""
        key = pod_key(pod)
        for queue in (self.active, self.backoff, self.unschedulable, self.in_flight):
            if key in queue:
                queue[key] = attrs.evolve(queue[key], pod=pod)
                if queue is self.unschedulable:
                    # An update of the pod itself may make it schedulable.
                    self._requeue(queue.pop(key), now)
                return self._find(key)
        info = QueuedPodInfo(pod=pod, timestamp=now)
        self.active[key] = info
        return info

    def delete(self, pod: Pod) -> None:
        key = pod_key(pod)
        for queue in (self.active, self.backoff, self.unschedulable, self.in_flight):
            queue.pop(key, None)
        self._popped_in.pop(key, None)

    def pop(self, now: float) -> QueuedPodInfo | None:
        self.flush_backoff_completed(now)
        if not self.active:
            rejected = [info for info in self.backoff.values() if info.unschedulable_plugins]
            if not rejected:
                return None
            first = min(rejected, key=lambda info: (self.backoff_expiry(info), self.order(info)))
            self.active[first.key] = self.backoff.pop(first.key)
        key = self.active.first()
        info = self.active.pop(key)
        info = attrs.evolve(
            info,
            attempts=info.attempts + 1,
            initial_attempt_timestamp=(
                now if info.initial_attempt_timestamp is None else info.initial_attempt_timestamp
            ),
        )
        self.scheduling_cycle += 1
        self.in_flight[key] = info
        self._popped_in[key] = self.scheduling_cycle
        return info

    def done(self, key: str) -> None:
        """The in-flight pod was bound (or given up on)."""
        self.in_flight.pop(key, None)
        self._popped_in.pop(key, None)

    def add_unschedulable(
        self, info: QueuedPodInfo, now: float, unschedulable_plugins: frozenset[str] = frozenset()
    ) -> None:
        """Give back a pod whose cycle failed; ``unschedulable_plugins`` empty means an error."""
        key = info.key
        current = self.in_flight.pop(key, info)
        cycle = self._popped_in.pop(key, self.scheduling_cycle)
        current = attrs.evolve(
            current,
            timestamp=now,
            last_failure=now,
            unschedulable_plugins=frozenset(unschedulable_plugins),
        )
        if not unschedulable_plugins or self.move_request_cycle >= cycle:
            self.backoff[key] = current
        else:
            self.unschedulable[key] = current

    def move_all_to_active_or_backoff(self, event: str, now: float) -> int:
        """A cluster event: every unschedulable pod is retried (after its backoff)."""
        moved = 0
        for key in sorted(self.unschedulable):
            self._requeue(self.unschedulable.pop(key), now)
            moved += 1
        self.move_request_cycle = self.scheduling_cycle
        return moved

    def flush_backoff_completed(self, now: float) -> None:
        for key in sorted(self.backoff):
            if not self.is_backing_off(self.backoff[key], now):
                info = self.backoff.pop(key)
                self.active[key] = info

    def flush(self, now: float) -> None:
        """The periodic flushes: expired backoffs, and pods parked longer than the timeout."""
        self.flush_backoff_completed(now)
        for key in sorted(self.unschedulable):
            info = self.unschedulable[key]
            if now - info.timestamp > self.pod_max_in_unschedulable_pods_duration:
                self._requeue(self.unschedulable.pop(key), now)

    def _requeue(self, info: QueuedPodInfo, now: float) -> None:
        if self.is_backing_off(info, now):
            self.backoff[info.key] = info
        else:
            self.active[info.key] = info

    def _find(self, key: str) -> QueuedPodInfo:
        for queue in (self.active, self.backoff, self.unschedulable, self.in_flight):
            if key in queue:
                return queue[key]
        raise KeyError(key)
