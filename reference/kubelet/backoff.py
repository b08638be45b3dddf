"""The kubelet's per-key exponential back-off (client-go ``flowcontrol.Backoff``) and Go durations.

Contract (spec/kubelet.md, "Back-off"):
- ``next(key, event_time, now)`` records a failure: the first one of a key (or
  the first after ``2 * max`` seconds without one, measured from
  ``event_time``) sets the delay to ``initial``; each later one doubles it
  (through ``grow``), capped at ``max``. The update instant is ``now``.
- ``in_back_off_since(key, event_time, now)`` (crash loops: ``event_time`` is
  when the container finished) is true while ``now - event_time`` is below the
  current delay; ``in_back_off_since_update(key, now)`` (image pulls) while
  ``now`` is within the delay of the last update.
- The kubelet uses one Backoff of 10 s doubling to 300 s for container restarts
  and one for image pulls (``kubelet.go``: ``backOffPeriod``, ``MaxContainerBackOff``;
  ``MaxImageBackOff``). Jitter is 0, as upstream configures it.
- ``go_duration(seconds)`` prints a duration as Go's ``time.Duration.String``
  does (``10s``, ``1m20s``, ``5m0s``, ``1.7s``).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

INITIAL_BACK_OFF = 10.0  # kubelet.go backOffPeriod
MAX_CONTAINER_BACK_OFF = 300.0  # kubelet.go MaxContainerBackOff
MAX_IMAGE_BACK_OFF = 300.0  # kubelet.go MaxImageBackOff
# Simulated instants are floats: a back-off that ends within this much of now has ended.
TOLERANCE = 1e-9


def doubled(previous: float, maximum: float) -> float:
    return min(previous * 2, maximum)


@attrs.define(eq=False)
class Backoff:
    initial: float = INITIAL_BACK_OFF
    maximum: float = MAX_CONTAINER_BACK_OFF
    # The delay after a failure, given the previous delay (None: the first failure).
    grow: Callable[[float | None], float] | None = None
    # key -> (current delay, instant of the last update); expires after 2 * maximum.
    _entries: dict[str, tuple[float, float]] = attrs.field(init=False, factory=dict)

    def _delay_after(self, previous: float | None) -> float:
        if self.grow is not None:
            return self.grow(previous)
        return self.initial if previous is None else doubled(previous, self.maximum)

    def _expired(self, event_time: float, last_update: float) -> bool:
        return event_time - last_update > 2 * self.maximum

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return 0.0 if entry is None else entry[0]

    def next(self, key: str, event_time: float, now: float) -> float:
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry[1]):
            delay = self._delay_after(None)
        else:
            delay = self._delay_after(entry[0])
        self._entries[key] = (delay, now)
        return delay

    def in_back_off_since(self, key: str, event_time: float, now: float) -> bool:
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry[1]):
            return False
        return now - event_time < entry[0] - TOLERANCE

    def in_back_off_since_update(self, key: str, now: float) -> bool:
        entry = self._entries.get(key)
        if entry is None or self._expired(now, entry[1]):
            return False
        return now - entry[1] < entry[0] - TOLERANCE

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)


def go_duration(seconds: float) -> str:
    """``seconds`` as Go's time.Duration.String() prints it (truncated to milliseconds)."""
    millis = int(round(seconds * 1000))
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    text = f"{secs}s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text
