"""A client-go work queue on the simulated event loop, with client-go's rate limiters.

Contract (spec/client.md):
- ``add(key)``: a key waiting in the queue is not queued twice; a key being
  processed that is added again is marked dirty and queued again when
  ``done(key)`` is called, so no key is ever handed out twice at once
  (CLIENT-WORKQUEUE-DEDUP, CLIENT-WORKQUEUE-EXCLUSIVE).
- ``get()`` hands out the oldest waiting key (FIFO), or None when none waits.
- ``add_after(key, delay)`` adds the key once ``delay`` simulated seconds have
  passed; a key already waiting for a later instant is moved to the earlier one.
- ``add_rate_limited(key)`` is ``add_after(key, rate_limiter.when(key))``;
  the default limiter is client-go's DefaultControllerRateLimiter: the max of
  a per-item exponential limiter (5 ms * 2^failures, capped at 1000 s) and an
  overall token bucket (10 per second, burst 100) (CLIENT-WORKQUEUE-BACKOFF).
  ``forget(key)`` resets the key's failures; ``num_requeues(key)`` counts them.
- After ``shutdown()`` nothing is added any more; ``get()`` drains what waits.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Protocol

import attrs

from kubeprop.reference.loop import EventLoop, Handle

NANOSECOND = 1e-9
# client-go DefaultControllerRateLimiter (util/workqueue/default_rate_limiters.go).
DEFAULT_BASE_DELAY_NS = 5_000_000  # 5 ms
DEFAULT_MAX_DELAY_NS = 1_000_000_000_000  # 1000 s
DEFAULT_QPS = 10.0
DEFAULT_BURST = 100


class RateLimiter(Protocol):
    """client-go's workqueue.RateLimiter, with the current instant passed in."""

    def when(self, item: Hashable, now: float) -> float: ...

    def forget(self, item: Hashable) -> None: ...

    def num_requeues(self, item: Hashable) -> int: ...


def exponential_backoff(failures: int, base_ns: int, max_ns: int) -> float:
    """base * 2^failures, capped at max, in seconds (computed in integer nanoseconds)."""
    if failures < 0:
        raise ValueError(f"failures cannot be negative ({failures})")
    # Past 2^63 ns the Go computation overflows to the cap; so does a huge exponent here.
    if failures >= 64 or base_ns * 2**failures > max_ns:
        return max_ns * NANOSECOND
    return base_ns * 2**failures * NANOSECOND


@attrs.define
class ItemExponentialFailureRateLimiter:
    """Per item: wait base * 2^(failures so far), capped at max_delay."""

    base_delay_ns: int = DEFAULT_BASE_DELAY_NS
    max_delay_ns: int = DEFAULT_MAX_DELAY_NS
    # item -> failures since its last forget (CLIENT-WORKQUEUE-BACKOFF).
    failures: dict[Hashable, int] = attrs.field(init=False, factory=dict)

    def when(self, item: Hashable, now: float) -> float:
        exponent = self.failures.get(item, 0)
        self.failures[item] = exponent + 1
        return exponential_backoff(exponent, self.base_delay_ns, self.max_delay_ns)

    def forget(self, item: Hashable) -> None:
        self.failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self.failures.get(item, 0)


@attrs.define
class BucketRateLimiter:
    """Overall: a token bucket (golang.org/x/time/rate), full at the start."""

    qps: float = DEFAULT_QPS
    burst: int = DEFAULT_BURST
    tokens: float = attrs.field(init=False)  # tokens left; negative when reservations wait
    last: float | None = attrs.field(init=False, default=None)  # instant tokens were counted

    def __attrs_post_init__(self) -> None:
        self.tokens = float(self.burst)

    def when(self, item: Hashable, now: float) -> float:
        if self.last is not None and now > self.last:
            self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.qps)
        self.last = now if self.last is None else max(now, self.last)
        self.tokens -= 1
        return -self.tokens / self.qps if self.tokens < 0 else 0.0

    def forget(self, item: Hashable) -> None:
        """The bucket is not per item: nothing to forget."""

    def num_requeues(self, item: Hashable) -> int:
        return 0


@attrs.define
class MaxOfRateLimiter:
    """The longest wait of several limiters; failures are the most any of them counts."""

    limiters: tuple[RateLimiter, ...]

    def when(self, item: Hashable, now: float) -> float:
        return max((limiter.when(item, now) for limiter in self.limiters), default=0.0)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max((limiter.num_requeues(item) for limiter in self.limiters), default=0)


def default_controller_rate_limiter() -> MaxOfRateLimiter:
    """client-go's DefaultControllerRateLimiter: exponential per item, bucket overall."""
    return MaxOfRateLimiter((ItemExponentialFailureRateLimiter(), BucketRateLimiter()))


@attrs.define(eq=False)
class WorkQueue:
    """A rate-limiting work queue of keys (client-go's TypedRateLimitingInterface)."""

    loop: EventLoop
    rate_limiter: RateLimiter = attrs.field(factory=default_controller_rate_limiter)
    # Keys waiting to be handed out, oldest first; each at most once (CLIENT-WORKQUEUE-DEDUP).
    _queue: deque[Hashable] = attrs.field(init=False, factory=deque)
    # Keys that need processing: every waiting key, and processed keys added again.
    _dirty: set[Hashable] = attrs.field(init=False, factory=set)
    # Keys handed out by get() and not yet done (CLIENT-WORKQUEUE-EXCLUSIVE).
    _processing: set[Hashable] = attrs.field(init=False, factory=set)
    # key -> (instant it is due, its scheduled add) for add_after; the earliest wins.
    _waiting: dict[Hashable, tuple[float, Handle]] = attrs.field(init=False, factory=dict)
    shutting_down: bool = attrs.field(init=False, default=False)  # shutdown() was called
    # Called whenever a key becomes available to get() (a worker's wake-up).
    _listeners: list[Callable[[], object]] = attrs.field(init=False, factory=list)

    def add(self, key: Hashable) -> None:
        if self.shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # queued again by done()
        self._queue.append(key)
        self._notify()

    def get(self) -> Hashable | None:
        if not self._queue:
            return None
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: Hashable) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._notify()

    def add_after(self, key: Hashable, delay: float) -> None:
        if self.shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        due = self.loop.now + delay
        if key in self._waiting:
            if self._waiting[key][0] <= due:
                return
            self.loop.cancel(self._waiting[key][1])
        handle = self.loop.call_at(due, lambda: self._ready(key))
        self._waiting[key] = (due, handle)

    def _ready(self, key: Hashable) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: Hashable) -> float:
        """Add the key after the rate limiter's delay; returns that delay."""
        if self.shutting_down:
            return 0.0
        delay = self.rate_limiter.when(key, self.loop.now)
        self.add_after(key, delay)
        return delay

    def forget(self, key: Hashable) -> None:
        self.rate_limiter.forget(key)

    def num_requeues(self, key: Hashable) -> int:
        return self.rate_limiter.num_requeues(key)

    def __len__(self) -> int:
        return len(self._queue)

    def len(self) -> int:
        return len(self._queue)

    def shutdown(self) -> None:
        self.shutting_down = True
        for _, handle in self._waiting.values():
            self.loop.cancel(handle)
        self._waiting.clear()

    def on_ready(self, listener: Callable[[], object]) -> None:
        """Call ``listener`` whenever a key becomes available to get()."""
        self._listeners.append(listener)

    def snapshot(self) -> QueueState:
        return QueueState(
            queue=tuple(self._queue),
            dirty=frozenset(self._dirty),
            processing=frozenset(self._processing),
        )

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


@attrs.frozen
class QueueState:
    """What a work queue holds at one instant (for CLIENT-WORKQUEUE-DEDUP)."""

    queue: tuple[Hashable, ...]  # waiting keys, oldest first
    dirty: frozenset[Hashable]  # keys that need processing
    processing: frozenset[Hashable]  # keys handed out and not done
