"""Deliberately broken client machinery: each one a realistic bug the suite must catch.

Every mutant is a reference component with one behaviour changed. ``MUTANTS``
maps a name to (the keyword arguments of ``make_machine`` that plug it in, the
invariant ids expected to catch it); the mutant test runs the client machine
with each and asserts it fails with one of those ids.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import attrs

from kubeprop.reference.client import (
    BucketRateLimiter,
    Controller,
    Informer,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    WorkQueue,
)
from kubeprop.reference.loop import EventLoop


@attrs.define(eq=False)
class StaleAfterExpiry(Informer):
    """410 Expired is ignored: the informer watches again from now and keeps its stale cache."""

    def _expired(self, status: Any) -> None:
        self.last_error = status
        if self._stream is not None:
            self._stream.stop()
        answer = self.server.request(
            "watch",
            self.resource,
            namespace=self.namespace,
            params={**self._params(), "allowWatchBookmarks": "true"},
        )
        self._stream = answer.watch if answer.ok else None


@attrs.define(eq=False)
class OutOfOrderEvents(Informer):
    """Each batch of watch events is applied last first."""

    def _apply(self, events: list) -> None:
        super()._apply(list(reversed(events)))


@attrs.define(eq=False)
class DropsDeletes(Informer):
    """DELETED events are lost: deleted objects stay in the cache."""

    def _apply(self, events: list) -> None:
        super()._apply([event for event in events if event.get("type") != "DELETED"])


@attrs.define(eq=False)
class UpdateWithNewAsOld(Informer):
    """on_update is called with the new object as the old one."""

    def _store(self, key: str, new: dict) -> None:
        if key in self._cache:
            self._cache[key] = new
        super()._store(key, new)


@attrs.define(eq=False)
class HandsOutKeyInProcess(WorkQueue):
    """A key added while it is processed is queued at once, so get() can hand it out again."""

    def add(self, key: Hashable) -> None:
        if self.shutting_down or (key in self._dirty and key not in self._processing):
            return
        self._dirty.add(key)
        self._queue.append(key)
        self._notify()


@attrs.define(eq=False)
class ForgetsWhatIsProcessed(WorkQueue):
    """get() does not remember the key it hands out, so a new add queues it at once."""

    def get(self) -> Hashable | None:
        key = super().get()
        self._processing.discard(key)
        return key


@attrs.define(eq=False)
class QueuesDuplicates(WorkQueue):
    """add() does not look at what waits: a key can wait twice."""

    def add(self, key: Hashable) -> None:
        if self.shutting_down:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._notify()


@attrs.define
class NoBackoff(ItemExponentialFailureRateLimiter):
    """Failures are counted but the delay never grows past the base delay."""

    def when(self, item: Hashable, now: float) -> float:
        super().when(item, now)
        return self.base_delay_ns * 1e-9


def no_backoff_queue(loop: EventLoop) -> WorkQueue:
    return WorkQueue(loop, rate_limiter=MaxOfRateLimiter((NoBackoff(), BucketRateLimiter())))


@attrs.define
class ForgetsOnFailure(ItemExponentialFailureRateLimiter):
    """forget() keeps the failures: a key that succeeded still backs off."""

    def forget(self, item: Hashable) -> None:
        pass


def never_forgets_queue(loop: EventLoop) -> WorkQueue:
    return WorkQueue(loop, rate_limiter=MaxOfRateLimiter((ForgetsOnFailure(), BucketRateLimiter())))


@attrs.define(eq=False)
class ForgetsOnError(Controller):
    """An error resets the key's backoff and requeues it at once (a hot loop)."""

    def _error(self, key: Hashable, message: str) -> None:
        super()._error(key, message)
        self.queue.forget(key)


@attrs.define(eq=False)
class IgnoresRequeueAfter(Controller):
    """requeue_after is treated as success: the key is forgotten and never comes back."""

    def process(self, key: Hashable) -> str:
        reconcile = self.reconcile

        def without_requeue_after(key: Hashable) -> Any:
            result = reconcile(key)
            if result is not None and getattr(result, "requeue_after", None):
                return attrs.evolve(result, requeue_after=None)
            return result

        self.reconcile = without_requeue_after
        try:
            return super().process(key)
        finally:
            self.reconcile = reconcile


MUTANTS: dict[str, tuple[dict[str, Any], frozenset[str]]] = {
    "stale-after-expiry": (
        {"informer_factory": StaleAfterExpiry},
        frozenset({"CLIENT-INFORMER-RELIST", "CLIENT-INFORMER-CONVERGES"}),
    ),
    "out-of-order-events": (
        {"informer_factory": OutOfOrderEvents},
        frozenset(
            {"CLIENT-INFORMER-SUBSEQUENCE", "CLIENT-HANDLERS-ORDERED", "CLIENT-INFORMER-CONVERGES"}
        ),
    ),
    "drops-deletes": (
        {"informer_factory": DropsDeletes},
        frozenset({"CLIENT-INFORMER-CONVERGES", "CLIENT-INFORMER-SUBSEQUENCE"}),
    ),
    "update-with-new-as-old": (
        {"informer_factory": UpdateWithNewAsOld},
        frozenset({"CLIENT-HANDLERS-ORDERED"}),
    ),
    "hands-out-key-in-process": (
        {"queue_factory": HandsOutKeyInProcess},
        frozenset({"CLIENT-WORKQUEUE-EXCLUSIVE", "CLIENT-WORKQUEUE-DEDUP"}),
    ),
    "forgets-what-is-processed": (
        {"queue_factory": ForgetsWhatIsProcessed},
        frozenset({"CLIENT-WORKQUEUE-EXCLUSIVE", "CLIENT-WORKQUEUE-DEDUP"}),
    ),
    "queues-duplicates": (
        {"queue_factory": QueuesDuplicates},
        frozenset({"CLIENT-WORKQUEUE-DEDUP"}),
    ),
    "no-backoff": (
        {"queue_factory": no_backoff_queue},
        frozenset({"CLIENT-WORKQUEUE-BACKOFF"}),
    ),
    "never-forgets": (
        {"queue_factory": never_forgets_queue},
        frozenset({"CLIENT-WORKQUEUE-BACKOFF"}),
    ),
    "forgets-on-error": (
        {"controller_factory": ForgetsOnError},
        frozenset({"CLIENT-RECONCILE-OUTCOMES"}),
    ),
    "ignores-requeue-after": (
        {"controller_factory": IgnoresRequeueAfter},
        frozenset({"CLIENT-RECONCILE-OUTCOMES"}),
    ),
}
