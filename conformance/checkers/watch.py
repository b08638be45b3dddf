"""The watch recorder: one watch stream as a client saw it, for the STORE-WATCH-* checks.

Contract: a ``WatchLog`` holds what the client asked for (key, range_end,
start revision, prev_kv), the compact revision when it was opened and every
response polled so far, in order. A resumed watch keeps the stream it resumed
(``resumed_from``) so that STORE-WATCH-RESUMABLE is checked across both. The
suite (conformance/suites/test_store_contract.py) checks a log against the
sequential model's change log.
"""

from __future__ import annotations

import attrs

from kubeprop.spec import etcd
from kubeprop.spec.invariants.store import highest_seen


@attrs.define(eq=False)
class WatchLog:
    watcher: object = attrs.field(repr=False)  # the SUT's Watcher
    key: bytes
    range_end: bytes | None
    requested_start: int  # start_revision as asked (0: from the next revision)
    start: int  # the first revision the watch must deliver
    prev_kv: bool
    compact_at_open: int  # the store's compact revision when the watch was opened
    # Every response polled so far, in delivery order.
    stream: list[etcd.WatchResponse] = attrs.Factory(list)
    # (stream, start) of the watch this one resumed, if any.
    resumed_from: tuple[list[etcd.WatchResponse], int] | None = None
    open: bool = True  # False once canceled by the client

    def poll(self) -> list[etcd.WatchResponse]:
        fresh = self.watcher.poll() if self.open else []
        self.stream.extend(fresh)
        return fresh

    def resume_revision(self) -> int:
        """Where a client resumes: one past the highest revision vouched for."""
        seen = highest_seen(self.stream)
        return seen + 1 if seen else self.start
