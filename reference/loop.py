"""The discrete-event loop every component of the simulated cluster runs on.

Contract:
- Work is a callback scheduled at a simulated instant (``call_at``) or after a
  delay (``call_later``); ``run_until(t)`` runs, in order of (instant, order of
  scheduling), every callback due at or before ``t``, moving the shared
  ``SimClock`` to each callback's instant before calling it, and leaves the
  clock at ``t``. Callbacks may schedule more work, also at the current instant.
- Nothing here reads the wall clock, sleeps or uses threads: the same schedule
  gives the same run, event for event.
- ``cancel(handle)`` drops a callback that has not run yet.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

import attrs

from kubeprop.reference.clock import SimClock


@attrs.frozen
class Handle:
    """A scheduled callback, to cancel it."""

    when: float
    order: int  # ties at one instant run in scheduling order


@attrs.define
class EventLoop:
    clock: SimClock = attrs.field(factory=SimClock)  # moved only by this loop
    # Pending callbacks as a heap of (when, order, callback); keeps run order total.
    _queue: list[tuple[float, int, Callable[[], object]]] = attrs.field(init=False, factory=list)
    _orders: itertools.count = attrs.field(init=False, factory=itertools.count)
    _cancelled: set[int] = attrs.field(init=False, factory=set)  # orders dropped before running
    ran: int = attrs.field(init=False, default=0)  # callbacks run so far (events processed)

    @property
    def now(self) -> float:
        return self.clock.now

    def call_at(self, when: float, callback: Callable[[], object]) -> Handle:
        """Run ``callback`` at ``when`` (at once, in order, if ``when`` is past)."""
        when = max(when, self.clock.now)
        order = next(self._orders)
        heapq.heappush(self._queue, (when, order, callback))
        return Handle(when, order)

    def call_later(self, delay: float, callback: Callable[[], object]) -> Handle:
        if delay < 0:
            raise ValueError(f"a delay cannot be negative ({delay} s)")
        return self.call_at(self.clock.now + delay, callback)

    def cancel(self, handle: Handle) -> None:
        self._cancelled.add(handle.order)

    def next_time(self) -> float | None:
        """The instant of the next pending callback, or None if there is none."""
        while self._queue and self._queue[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._queue)[1])
        return self._queue[0][0] if self._queue else None

    def run_until(self, until: float) -> int:
        """Run everything due up to ``until``; returns how many callbacks ran."""
        if until < self.clock.now:
            raise ValueError(f"cannot run back to {until} from {self.clock.now}")
        count = 0
        while (when := self.next_time()) is not None and when <= until:
            _, order, callback = heapq.heappop(self._queue)
            self.clock.now = when
            callback()
            count += 1
        self.clock.now = until
        self.ran += count
        return count

    def run_for(self, seconds: float) -> int:
        return self.run_until(self.clock.now + seconds)
