"""The controller-runtime worker loop: keys from a work queue, one reconcile at a time.

Contract (spec/client.md):
- Level-triggered: a request is only a key ("namespace/name" or "name"); the
  reconciler reads the current state (through a lister) and never sees the event.
- Four outcomes, exactly as controller-runtime's reconcileHandler
  (CLIENT-RECONCILE-OUTCOMES): the reconciler raised -> ``add_rate_limited``;
  ``requeue_after > 0`` -> ``forget`` then ``add_after``; ``requeue`` ->
  ``add_rate_limited``; otherwise success -> ``forget``. ``done`` follows each.
- The worker runs when scheduled on the loop: a key becoming available (or
  ``kick()``) schedules a drain at the current instant, which reconciles every
  waiting key in queue order. The queue never hands out a key being processed,
  so one key is never reconciled twice at once (CLIENT-WORKQUEUE-EXCLUSIVE).
- An exception of the reconciler never leaves the loop: it is the error outcome,
  kept in ``errors`` with the key.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import attrs

from kubeprop.reference.client.workqueue import WorkQueue
from kubeprop.reference.loop import EventLoop, Handle

# How many errors a controller keeps for inspection (the oldest are dropped).
KEPT_ERRORS = 100


@attrs.frozen
class Result:
    """What a reconcile asks for next (controller-runtime's reconcile.Result)."""

    requeue: bool = False
    requeue_after: float | None = None  # seconds; only a positive value counts


@attrs.define(eq=False)
class Controller:
    """One controller: a queue, a reconcile function and a single worker."""

    name: str
    queue: WorkQueue
    reconcile: Callable[[Hashable], Result | None]
    loop: EventLoop
    _drain: Handle | None = attrs.field(init=False, default=None)  # the scheduled drain, if any
    reconciles: int = attrs.field(init=False, default=0)  # reconcile calls so far
    # (key, message) of the latest reconcile errors, oldest first, at most KEPT_ERRORS.
    errors: list[tuple[Hashable, str]] = attrs.field(init=False, factory=list)
    _active: Hashable | None = attrs.field(init=False, default=None)  # key being reconciled

    def __attrs_post_init__(self) -> None:
        self.queue.on_ready(self.kick)

    def stop(self) -> None:
        """Shut the queue down and drop a scheduled drain: nothing of this controller runs."""
        self.queue.shutdown()
        if self._drain is not None:
            self.loop.cancel(self._drain)
            self._drain = None

    def kick(self) -> None:
        """Schedule the worker at the current instant (once, however often kicked)."""
        if self._drain is None:
            self._drain = self.loop.call_later(0, self._work)

    def _work(self) -> None:
        self._drain = None
        while (key := self.queue.get()) is not None:
            self.process(key)

    def process(self, key: Hashable) -> str:
        """Reconcile one key handed out by the queue; returns the outcome's name."""
        if self._active is not None:
            raise RuntimeError(f"{self.name}: reconcile of {key!r} while {self._active!r} runs")
        self._active = key
        self.reconciles += 1
        try:
            try:
                result = self.reconcile(key)
            except Exception as error:  # the reconciler's bug or a failed request
                self._error(key, f"{type(error).__name__}: {error}")
                self.queue.add_rate_limited(key)
                return "error"
            if result is None:
                result = Result()
            if not isinstance(result, Result):
                self._error(key, f"reconcile returned {type(result).__name__}, not a Result")
                self.queue.add_rate_limited(key)
                return "error"
            if result.requeue_after is not None and result.requeue_after > 0:
                self.queue.forget(key)
                self.queue.add_after(key, result.requeue_after)
                return "requeue_after"
            if result.requeue:
                self.queue.add_rate_limited(key)
                return "requeue"
            self.queue.forget(key)
            return "success"
        finally:
            self._active = None
            self.queue.done(key)

    def _error(self, key: Hashable, message: str) -> None:
        self.errors.append((key, message))
        del self.errors[:-KEPT_ERRORS]
