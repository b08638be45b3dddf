"""Timestamps of the object model: the instant simulated time 0 stands for, and reading
metav1.Time / metav1.MicroTime strings back as simulated seconds.

Contract: ``EPOCH`` is 2026-01-01T00:00:00Z, the instant the simulated clock's 0
stands for; ``seconds(text)`` is the simulated seconds of an RFC 3339 timestamp
(``...Z`` or with an offset, with or without fractions), None for an absent one.
"""

from __future__ import annotations

import datetime

EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def seconds(text: str | None) -> float | None:
    if not text:
        return None
    instant = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (instant - EPOCH).total_seconds()
