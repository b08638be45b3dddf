"""The simulated clock: seconds since a fixed epoch, moved only by ``advance``.

No component reads the wall clock; timestamps they write (creationTimestamp,
deletionTimestamp, lease renew times) come from here, so the same history gives
the same objects byte for byte.
"""

from __future__ import annotations

import datetime

import attrs

from kubeprop.spec.api import times
from kubeprop.spec.api.times import EPOCH  # the instant simulated time 0 stands for


@attrs.define
class SimClock:
    now: float = 0.0  # simulated seconds since EPOCH; never decreases

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"time cannot go back ({seconds} s)")
        self.now += seconds

    def timestamp(self, offset: float = 0.0) -> str:
        """RFC 3339 at second precision, as Kubernetes writes metav1.Time."""
        instant = EPOCH + datetime.timedelta(seconds=int(self.now + offset))
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ")

    def micro_timestamp(self, offset: float = 0.0) -> str:
        """RFC 3339 with microseconds, as Kubernetes writes metav1.MicroTime (lease renewTime)."""
        micros = round((self.now + offset) * 1_000_000)
        instant = EPOCH + datetime.timedelta(microseconds=micros)
        return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> float:
    """Simulated seconds of an RFC 3339 timestamp written by ``timestamp``/``micro_timestamp``."""
    return times.seconds(text) or 0.0
