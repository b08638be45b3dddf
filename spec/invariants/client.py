"""The client machinery's invariants (spec/client.md): informers, work queues, reconcile loops.

Contract: every predicate is pure over recorded values, observed from outside
the component: the states an object went through in the store and in an
informer's cache (as ``resourceVersion`` strings, ``""`` for absent), the
handler notifications, an informer's exchanges with the API server, a work
queue's state and the calls made on it. None of them reads a component.

Shapes:
- ``Notification``: ``("add", key, "", new_rv)``, ``("update", key, old_rv,
  new_rv)`` or ``("delete", key, last_rv, "")``.
- ``Exchange`` of an informer: ``("list", code)``, ``("watch", code)`` or
  ``("event", type, code)`` (code 0 for an event that is not an ERROR).
- work queue calls: ``("get", key)``, ``("done", key)``,
  ``("rate_limited", key, instant, delay)``, ``("forget", key)``.
- ``ReconcileStep``: the outcome the reconciler chose and the queue calls the
  controller made for it, in order.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import attrs

from kubeprop.spec.invariants import HOLDS, VACUOUS, Outcome, holds_if, invariant

API_CONCEPTS = (
    "https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes"
)
CACHE = "https://pkg.go.dev/k8s.io/client-go/tools/cache"
WORKQUEUE = "https://pkg.go.dev/k8s.io/client-go/util/workqueue"
RECONCILE = "https://pkg.go.dev/sigs.k8s.io/controller-runtime/pkg/reconcile"

# client-go DefaultControllerRateLimiter.
BASE_DELAY = 0.005
MAX_DELAY = 1000.0
QPS = 10.0
BURST = 100
TOLERANCE = 1e-9

Notification = tuple[str, str, str, str]
Exchange = tuple[Any, ...]


@attrs.frozen
class ReconcileStep:
    """One reconcile: what it returned and the queue calls that followed, in order."""

    key: Hashable
    outcome: str  # "error", "requeue_after", "requeue" or "success"
    requeue_after: float | None = None
    calls: tuple[tuple[Any, ...], ...] = ()  # ("add_rate_limited",), ("add_after", d), ...


def _collapsed(states: Sequence[str]) -> list[str]:
    """The states with repeats in a row merged, starting from absent."""
    result = [""]
    for state in states:
        if state != result[-1]:
            result.append(state)
    return result


def _is_subsequence(small: Sequence[str], large: Sequence[str]) -> bool:
    remaining = iter(large)
    return all(any(state == other for other in remaining) for state in small)


@invariant(
    "CLIENT-INFORMER-SUBSEQUENCE",
    component="client",
    kind="safety",
    statement=(
        "The states an informer's cache holds for an object are a subsequence, in order, "
        "of the states the object had in the store."
    ),
    source=API_CONCEPTS,
)
def informer_subsequence(
    stored: Mapping[str, Sequence[str]], observed: Mapping[str, Sequence[str]]
) -> Outcome:
    violations = []
    for key, states in observed.items():
        seen, had = _collapsed(states), _collapsed(stored.get(key, ()))
        if not _is_subsequence(seen, had):
            violations.append(f"{key}: the cache held {seen[1:]}, the store had {had[1:]}")
    return holds_if(violations, checked=sum(len(states) for states in observed.values()))


def _comparable(manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k not in ("kind", "apiVersion")}


@invariant(
    "CLIENT-INFORMER-CONVERGES",
    component="client",
    kind="liveness",
    statement=(
        "Once an informer has drained its watch and nothing more is written, its cache "
        "equals a fresh list of the same resource, namespace and selectors."
    ),
    source=f"{CACHE}#SharedInformer",
)
def informer_converges(cache: Mapping[str, Mapping], fresh: Mapping[str, Mapping]) -> Outcome:
    violations = []
    for key in sorted(set(cache) | set(fresh)):
        if key not in fresh:
            violations.append(f"{key} is cached but no longer exists")
        elif key not in cache:
            violations.append(f"{key} exists but is not cached")
        elif _comparable(cache[key]) != _comparable(fresh[key]):
            cached_rv = cache[key].get("metadata", {}).get("resourceVersion")
            fresh_rv = fresh[key].get("metadata", {}).get("resourceVersion")
            violations.append(f"{key} is cached at {cached_rv}, stored at {fresh_rv}")
    return holds_if(violations, checked=len(set(cache) | set(fresh)) or 1)


def _expired(exchange: Exchange) -> bool:
    return (exchange[0] == "watch" and exchange[1] == 410) or (
        exchange[0] == "event" and exchange[1] == "ERROR" and exchange[2] == 410
    )


@invariant(
    "CLIENT-INFORMER-RELIST",
    component="client",
    kind="safety",
    statement=(
        "After a watch is answered with 410 Expired, the informer's next request to the API "
        "server is a list, never a watch that would skip the lost history."
    ),
    source=f"{CACHE}#Reflector",
)
def informer_relist(exchanges: Sequence[Exchange]) -> Outcome:
    violations, expired, checked = [], False, 0
    for index, exchange in enumerate(exchanges):
        if exchange[0] in ("list", "watch") and expired:
            checked += 1
            if exchange[0] != "list":
                violations.append(f"request {index} is a watch after 410 Expired, not a list")
            expired = False
        if _expired(exchange):
            expired = True
    return holds_if(violations, checked=checked)


@invariant(
    "CLIENT-HANDLERS-ORDERED",
    component="client",
    kind="safety",
    statement=(
        "An informer's handlers see each object's changes in order: an add when it was "
        "absent, an update whose old object is the last one seen and whose new one is newer, "
        "a delete only of an object present."
    ),
    source=f"{CACHE}#ResourceEventHandler",
)
def handlers_ordered(notifications: Sequence[Notification]) -> Outcome:
    violations = []
    current: dict[str, str] = {}  # key -> resourceVersion last seen ("" when absent)
    newest: dict[str, int] = {}  # key -> highest resourceVersion seen
    for index, (kind, key, old, new) in enumerate(notifications):
        last = current.get(key, "")
        if kind == "add":
            if last:
                violations.append(f"#{index} add of {key} at {new} while cached at {last}")
        elif kind == "update":
            if old != last:
                violations.append(f"#{index} update of {key} from {old}, but {last!r} was seen")
        elif kind == "delete":
            if not last:
                violations.append(f"#{index} delete of {key}, which was not cached")
            current[key] = ""
            continue
        else:
            violations.append(f"#{index} unknown notification {kind!r}")
            continue
        if new.isdigit() and key in newest and int(new) <= newest[key]:
            violations.append(f"#{index} {kind} of {key} at {new}, after {newest[key]}")
        if new.isdigit():
            newest[key] = max(newest.get(key, 0), int(new))
        current[key] = new
    return holds_if(violations, checked=len(notifications))


@invariant(
    "CLIENT-WORKQUEUE-DEDUP",
    component="client",
    kind="safety",
    statement=(
        "A work queue holds each key at most once, every waiting key is marked dirty, and no "
        "key waits while it is being processed."
    ),
    source=f"{WORKQUEUE}#Interface",
)
def workqueue_dedup(queue: Sequence[Hashable], dirty: set, processing: set) -> Outcome:
    violations = []
    seen: set = set()
    for key in queue:
        if key in seen:
            violations.append(f"{key!r} waits twice")
        seen.add(key)
        if key not in dirty:
            violations.append(f"{key!r} waits but is not dirty")
        if key in processing:
            violations.append(f"{key!r} waits while it is being processed")
    return holds_if(violations, checked=len(queue))


@invariant(
    "CLIENT-WORKQUEUE-EXCLUSIVE",
    component="client",
    kind="safety",
    statement="A work queue never hands out a key again before done() is called for it.",
    source=f"{WORKQUEUE}#Interface",
)
def workqueue_exclusive(calls: Sequence[tuple[Any, ...]]) -> Outcome:
    violations, processing, checked = [], set(), 0
    for index, call in enumerate(calls):
        if call[0] == "get":
            checked += 1
            if call[1] in processing:
                violations.append(f"call {index}: {call[1]!r} handed out while being processed")
            processing.add(call[1])
        elif call[0] == "done":
            processing.discard(call[1])
    return holds_if(violations, checked=checked)


def expected_backoff(failures: int) -> float:
    """client-go's per-item exponential delay: 5 ms * 2^failures, capped at 1000 s."""
    if failures >= 64 or BASE_DELAY * 2**failures > MAX_DELAY:
        return MAX_DELAY
    return BASE_DELAY * 2**failures


@invariant(
    "CLIENT-WORKQUEUE-BACKOFF",
    component="client",
    kind="contract",
    statement=(
        "A rate-limited add waits the longer of 5 ms * 2^(the key's failures since its last "
        "forget), capped at 1000 s, and the wait of a 10 qps token bucket of burst 100."
    ),
    source=f"{WORKQUEUE}#DefaultControllerRateLimiter",
)
def workqueue_backoff(calls: Sequence[tuple[Any, ...]]) -> Outcome:
    violations, failures, checked = [], {}, 0
    tokens, last = float(BURST), None
    for index, call in enumerate(calls):
        if call[0] == "forget":
            failures.pop(call[1], None)
        elif call[0] == "rate_limited":
            _, key, instant, delay = call
            if last is not None and instant > last:
                tokens = min(float(BURST), tokens + (instant - last) * QPS)
            last = instant if last is None else max(instant, last)
            tokens -= 1
            bucket = -tokens / QPS if tokens < 0 else 0.0
            n = failures.get(key, 0)
            expected = max(expected_backoff(n), bucket)
            failures[key] = n + 1
            checked += 1
            if abs(delay - expected) > TOLERANCE:
                violations.append(
                    f"call {index}: {key!r} after {n} failures waited {delay} s, not {expected} s"
                )
    return holds_if(violations, checked=checked)


def _expected_calls(step: ReconcileStep) -> list[tuple[Any, ...]]:
    if step.outcome in ("error", "requeue"):
        return [("add_rate_limited",), ("done",)]
    if step.outcome == "requeue_after":
        return [("forget",), ("add_after", step.requeue_after), ("done",)]
    return [("forget",), ("done",)]


@invariant(
    "CLIENT-RECONCILE-OUTCOMES",
    component="client",
    kind="contract",
    statement=(
        "After a reconcile, the controller makes exactly the queue calls of its outcome: an "
        "error or requeue -> rate-limited add; requeue after d -> forget and add after d; "
        "success -> forget; then done."
    ),
    source=f"{RECONCILE}#Result",
)
def reconcile_outcomes(steps: Sequence[ReconcileStep]) -> Outcome:
    if not steps:
        return VACUOUS
    violations = []
    for index, step in enumerate(steps):
        expected = _expected_calls(step)
        if list(step.calls) != expected:
            violations.append(
                f"reconcile {index} of {step.key!r} ({step.outcome}) made {list(step.calls)}, "
                f"not {expected}"
            )
    return holds_if(violations, checked=len(steps)) if violations else HOLDS
