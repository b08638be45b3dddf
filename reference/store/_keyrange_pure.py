"""The key-range hot path of the store, in pure Python (twin of ``_keyrange.pyx``).

Contract (etcd's range semantics over a sorted list of distinct keys):
- ``range_end is None``: the single key ``key``;
- ``range_end == b"\\0"``: every key ``>= key``;
- otherwise the half-open interval ``[key, range_end)``; empty when
  ``range_end <= key``.
``keys_in_range`` returns the slice bounds ``(lo, hi)`` of the matching keys in
``sorted_keys``; ``in_range`` says whether one key matches. Both twins give the
same answer for every input (a Hypothesis property checks it).
"""

from __future__ import annotations

from bisect import bisect_left

ALL_KEYS_FROM = b"\0"  # the range_end that means "every key >= key"


def keys_in_range(sorted_keys: list[bytes], key: bytes, range_end: bytes | None) -> tuple[int, int]:
    """The bounds ``lo, hi`` such that ``sorted_keys[lo:hi]`` are the keys in range."""
    lo = bisect_left(sorted_keys, key)
    if range_end is None:
        if lo < len(sorted_keys) and sorted_keys[lo] == key:
            return lo, lo + 1
        return lo, lo
    if range_end == ALL_KEYS_FROM:
        return lo, len(sorted_keys)
    hi = bisect_left(sorted_keys, range_end, lo)
    return lo, max(lo, hi)


def in_range(candidate: bytes, key: bytes, range_end: bytes | None) -> bool:
    """Whether ``candidate`` lies in the range ``(key, range_end)``."""
    if range_end is None:
        return candidate == key
    if range_end == ALL_KEYS_FROM:
        return candidate >= key
    return key <= candidate < range_end
