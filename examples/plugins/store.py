"""An in-memory MVCC key-value store in the manner of etcd v3 (protocol ``Store``).

Run it:  kubeprop conform --sut python:examples.plugins.store:MemoryStore

Written from the contract (spec/store.md and etcd's docs:
https://etcd.io/docs/v3.5/learning/api/ and .../api_guarantees/), not from the
reference store. The design, as etcd's own, in three parts:

- a key index: for each key, its versions (oldest first), each a KeyValue or a
  tombstone (None) at the revision it was deleted, so a read at any revision
  finds the last version at or below it;
- a change log: per revision, the events of that write, which a watch replays
  from its start revision and then follows;
- leases: TTLs counted on a clock that only ``advance`` moves.

Every write request (put, delete that deletes something, txn that writes) gets
the next revision; compaction forgets versions and log entries a read above the
compacted revision can no longer need. Errors are the ``kubeprop.spec.etcd``
exceptions with etcd's messages. Watches deliver synchronously: a commit queues
one response per matching watch, and ``poll`` hands over what is queued.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kubeprop.spec import etcd
from kubeprop.spec.etcd import (
    Compare,
    DeleteRangeRequest,
    Event,
    EventType,
    KeyValue,
    PutRequest,
    RangeRequest,
    ResponseHeader,
    compare_holds,
    in_range,
)

MAX_TXN_OPS = 128  # etcd's --max-txn-ops default
MIN_LEASE_TTL = 2  # etcd's minimum TTL with default election timing
PROGRESS_INTERVAL = 600.0  # a progress_notify watch hears from the store every 10 minutes


class MemoryWatcher:
    """One watch stream: responses queued by the store, handed over by ``poll``."""

    def __init__(self, store, key, range_end, start_revision, prev_kv, progress_notify, number):
        self.store = store
        self.key, self.range_end = key, range_end
        self.prev_kv, self.progress_notify = prev_kv, progress_notify
        self.watch_id = number
        self.next_revision = start_revision  # the first revision not delivered yet
        self.queued: list[etcd.WatchResponse] = []
        self.canceled = False
        self.last_progress = store.clock  # when a progress_notify watch was last told
        self.notify = None  # set by a reader: called whenever a response is queued

    def poll(self) -> list[etcd.WatchResponse]:
        handed, self.queued = self.queued, []
        return handed

    def request_progress(self) -> None:
        if not self.canceled:
            self._progress()

    def cancel(self) -> None:
        self.canceled = True
        self.queued = []
        self.store.watchers = [w for w in self.store.watchers if w is not self]

    # -- called by the store ------------------------------------------------------------------

    def _queue(self, response: etcd.WatchResponse) -> None:
        self.queued.append(response)
        if self.notify is not None:
            self.notify()

    def _progress(self) -> None:
        header = ResponseHeader(self.store.revision)
        self._queue(etcd.WatchResponse(header, progress=True, watch_id=self.watch_id))

    def deliver(self, revision: int, events: Sequence[Event]) -> None:
        """The events of one committed revision: those in range, in one response."""
        if self.canceled or revision < self.next_revision:
            return
        mine = tuple(
            event if self.prev_kv else Event(event.type, event.kv, None)
            for event in events
            if in_range(event.kv.key, self.key, self.range_end)
        )
        self.next_revision = revision + 1
        if mine:
            header = ResponseHeader(revision)
            self._queue(etcd.WatchResponse(header, mine, watch_id=self.watch_id))


class MemoryStore:
    """kubeprop.spec.contracts.Store: an etcd-like MVCC store held in memory."""

    kind = "store"  # optional: says which protocol this is

    def __init__(self) -> None:
        self.revision = 1  # etcd starts at revision 1
        self.compact_revision = 0
        self.clock = 0.0  # simulated seconds, moved by advance()
        self.index: dict[bytes, list[tuple[int, KeyValue | None]]] = {}  # key -> versions
        self.log: list[tuple[int, tuple[Event, ...]]] = []  # (revision, events), ascending
        self.leases: dict[int, list] = {}  # id -> [granted ttl, expiry instant]
        self.next_lease_id = 1
        self.watchers: list[MemoryWatcher] = []
        self.watches_opened = 0

    # -- reading ------------------------------------------------------------------------------

    def _live(self, key: bytes, revision: int = 0) -> KeyValue | None:
        """The key's value at ``revision`` (0: now), None if absent then."""
        found = None
        for at, kv in self.index.get(key, ()):
            if revision and at > revision:
                break
            found = kv
        return found

    def _kvs(self, key: bytes, range_end: bytes | None, revision: int = 0) -> list[KeyValue]:
        keys = [key] if range_end is None else sorted(self.index)
        return [
            kv
            for k in keys
            if in_range(k, key, range_end) and (kv := self._live(k, revision)) is not None
        ]

    def _check_key(self, key: object, field: str = "key") -> None:
        if not isinstance(key, bytes):
            raise etcd.InvalidRequestError(
                f"etcdserver: {field}: Invalid value: {key!r}: must be bytes"
            )
        if not key:
            raise etcd.InvalidRequestError("etcdserver: key is not provided")

    def _check_read_revision(self, revision: int) -> None:
        if revision > self.revision:
            raise etcd.FutureRevisionError()
        if 0 < revision < self.compact_revision:
            raise etcd.CompactedError(self.compact_revision)

    def range(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
        keys_only: bool = False,
    ) -> etcd.RangeResponse:
        self._check_key(key)
        self._check_read_revision(revision)
        return self._range_response(
            RangeRequest(key, range_end, revision, limit, count_only, keys_only),
            self._kvs(key, range_end, revision),
            self.revision,
        )

    @staticmethod
    def _range_response(op: RangeRequest, kvs: list[KeyValue], revision: int):
        count = len(kvs)
        if op.count_only:
            return etcd.RangeResponse(ResponseHeader(revision), (), False, count)
        shown = kvs[: op.limit] if op.limit > 0 else kvs
        if op.keys_only:
            shown = [KeyValue(kv.key, b"", *_meta(kv)) for kv in shown]
        return etcd.RangeResponse(ResponseHeader(revision), tuple(shown), len(shown) < count, count)

    # -- writing: every write goes through a Batch, committed at one revision ------------------

    def put(
        self, key: bytes, value: bytes, *, lease: int = 0, prev_kv: bool = False
    ) -> etcd.PutResponse:
        self._check_key(key)
        self._check_lease(lease)
        batch = Batch(self)
        response = batch.put(PutRequest(key, value, lease, prev_kv))
        batch.commit()
        return response

    def delete_range(
        self, key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False
    ) -> etcd.DeleteRangeResponse:
        self._check_key(key)
        batch = Batch(self)
        response = batch.delete(DeleteRangeRequest(key, range_end, prev_kv))
        batch.commit()
        return response

    def txn(
        self,
        compare: Sequence[Compare],
        success: Sequence[etcd.RequestOp],
        failure: Sequence[etcd.RequestOp] = (),
    ) -> etcd.TxnResponse:
        for name, ops in (("success", success), ("failure", failure)):
            for i, op in enumerate(ops):
                if not isinstance(op, PutRequest | DeleteRangeRequest | RangeRequest):
                    raise etcd.InvalidRequestError(
                        f"etcdserver: txn.{name}[{i}]: Invalid value: {type(op).__name__}: "
                        f"want a RangeRequest, PutRequest or DeleteRangeRequest"
                    )
                self._check_key(op.key, f"txn.{name}[{i}].key")
        for i, c in enumerate(compare):
            self._check_key(c.key, f"txn.compare[{i}].key")
        if max(len(compare), len(success), len(failure)) > MAX_TXN_OPS:
            raise etcd.InvalidRequestError("etcdserver: too many operations in txn request")
        if _duplicates(success) or _duplicates(failure):
            raise etcd.InvalidRequestError("etcdserver: duplicate key given in txn request")
        succeeded = all(compare_holds(c, self._kvs(c.key, c.range_end)) for c in compare)
        ops = success if succeeded else failure
        for op in ops:  # refuse before writing anything: a txn is all or nothing
            if isinstance(op, PutRequest):
                self._check_lease(op.lease)
            elif isinstance(op, RangeRequest):
                self._check_read_revision(op.revision)
        batch = Batch(self)
        responses = []
        for op in ops:
            if isinstance(op, PutRequest):
                responses.append(batch.put(op))
            elif isinstance(op, DeleteRangeRequest):
                responses.append(batch.delete(op))
            else:
                responses.append(batch.range(op))
        batch.commit()
        return etcd.TxnResponse(ResponseHeader(self.revision), succeeded, tuple(responses))

    # -- compaction ---------------------------------------------------------------------------

    def compact(self, revision: int) -> None:
        if revision <= self.compact_revision:
            raise etcd.CompactedError(self.compact_revision)
        if revision > self.revision:
            raise etcd.FutureRevisionError()
        self.compact_revision = revision
        for key in list(self.index):
            versions = self.index[key]
            # keep the last version at or below the compacted revision (a read there needs it)
            keep = max((i for i, (at, _) in enumerate(versions) if at <= revision), default=0)
            versions = versions[keep:]
            if versions and versions[0][1] is None and versions[0][0] <= revision:
                versions = versions[1:]  # a tombstone nothing can read behind any more
            if versions:
                self.index[key] = versions
            else:
                del self.index[key]
        self.log = [(at, events) for at, events in self.log if at >= revision]

    # -- watches ------------------------------------------------------------------------------

    def watch(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        start_revision: int = 0,
        prev_kv: bool = False,
        progress_notify: bool = False,
    ) -> MemoryWatcher:
        self._check_key(key)
        self.watches_opened += 1
        start = start_revision or self.revision + 1
        watcher = MemoryWatcher(
            self, key, range_end, start, prev_kv, progress_notify, self.watches_opened
        )
        if 0 < start_revision < self.compact_revision:
            header = ResponseHeader(self.revision)
            watcher.queued.append(
                etcd.WatchResponse(
                    header,
                    canceled=True,
                    compact_revision=self.compact_revision,
                    watch_id=watcher.watch_id,
                )
            )
            watcher.canceled = True
            return watcher
        for revision, events in self.log:  # replay what the watch starts behind
            watcher.deliver(revision, events)
        self.watchers.append(watcher)
        return watcher

    # -- leases -------------------------------------------------------------------------------

    def _check_lease(self, lease: int) -> None:
        if lease and lease not in self.leases:
            raise etcd.LeaseNotFoundError()

    def lease_grant(self, ttl: int, id: int = 0) -> etcd.LeaseGrantResponse:
        if id in self.leases:
            raise etcd.InvalidRequestError("etcdserver: lease already exists")
        if id == 0:
            while self.next_lease_id in self.leases:
                self.next_lease_id += 1
            id, self.next_lease_id = self.next_lease_id, self.next_lease_id + 1
        ttl = max(int(ttl), MIN_LEASE_TTL)
        self.leases[id] = [ttl, self.clock + ttl]
        return etcd.LeaseGrantResponse(ResponseHeader(self.revision), id, ttl)

    def lease_revoke(self, id: int) -> None:
        self._check_lease(id)
        if not id:
            raise etcd.LeaseNotFoundError()
        del self.leases[id]
        batch = Batch(self)
        for key in sorted(self.index):
            kv = self._live(key)
            if kv is not None and kv.lease == id:
                batch.delete(DeleteRangeRequest(key))
        batch.commit()

    def lease_keepalive(self, id: int) -> int:
        if id not in self.leases:
            raise etcd.LeaseNotFoundError()
        ttl = self.leases[id][0]
        self.leases[id][1] = self.clock + ttl
        return ttl

    def lease_time_to_live(self, id: int, *, keys: bool = False) -> etcd.LeaseTimeToLiveResponse:
        header = ResponseHeader(self.revision)
        if id not in self.leases:
            return etcd.LeaseTimeToLiveResponse(header, id, -1, 0)
        ttl, expiry = self.leases[id]
        attached = tuple(kv.key for kv in self._kvs(b"\0", b"\0") if kv.lease == id)
        return etcd.LeaseTimeToLiveResponse(
            header, id, int(expiry - self.clock), ttl, attached if keys else ()
        )

    def advance(self, seconds: float) -> None:
        if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
            raise etcd.InvalidRequestError(
                f"etcdserver: seconds: Invalid value: {seconds!r}: must be a finite number >= 0"
            )
        until = self.clock + seconds
        due = sorted((expiry, id) for id, (_, expiry) in self.leases.items() if expiry <= until)
        for expiry, id in due:  # in order of expiry, then id
            self.clock = max(self.clock, expiry)
            self.lease_revoke(id)
        self.clock = until
        for watcher in self.watchers:
            if watcher.progress_notify and until - watcher.last_progress >= PROGRESS_INTERVAL:
                watcher.last_progress = until
                watcher._progress()


class Batch:
    """The writes of one request: applied to the store as they come (later ops see earlier
    ones), all at revision ``store.revision + 1``, which ``commit`` makes current if any
    write happened."""

    def __init__(self, store: MemoryStore):
        self.store = store
        self.revision = store.revision + 1
        self.events: list[Event] = []

    def _seen(self) -> int:
        return self.revision if self.events else self.store.revision

    def put(self, op: PutRequest) -> etcd.PutResponse:
        prev = self.store._live(op.key)
        kv = KeyValue(
            op.key,
            op.value,
            prev.create_revision if prev else self.revision,
            self.revision,
            prev.version + 1 if prev else 1,
            op.lease,
        )
        self._record(op.key, kv)
        self.events.append(Event(EventType.PUT, kv, prev))
        return etcd.PutResponse(ResponseHeader(self.revision), prev if op.prev_kv else None)

    def delete(self, op: DeleteRangeRequest) -> etcd.DeleteRangeResponse:
        doomed = self.store._kvs(op.key, op.range_end)
        for prev in doomed:
            self._record(prev.key, None)
            tombstone = KeyValue(prev.key, b"", 0, self.revision, 0, 0)
            self.events.append(Event(EventType.DELETE, tombstone, prev))
        return etcd.DeleteRangeResponse(
            ResponseHeader(self._seen()), len(doomed), tuple(doomed) if op.prev_kv else ()
        )

    def range(self, op: RangeRequest) -> etcd.RangeResponse:
        kvs = self.store._kvs(op.key, op.range_end, op.revision)
        return self.store._range_response(op, kvs, self._seen())

    def _record(self, key: bytes, kv: KeyValue | None) -> None:
        versions = self.store.index.setdefault(key, [])
        if versions and versions[-1][0] == self.revision:
            versions[-1] = (self.revision, kv)  # a txn writing a key twice keeps the last
        else:
            versions.append((self.revision, kv))

    def commit(self) -> None:
        if not self.events:
            return
        store = self.store
        store.revision = self.revision
        events = tuple(self.events)
        store.log.append((self.revision, events))
        for watcher in list(store.watchers):
            watcher.deliver(self.revision, events)


def _meta(kv: KeyValue) -> tuple[int, int, int, int]:
    return kv.create_revision, kv.mod_revision, kv.version, kv.lease


def _duplicates(ops: Sequence[etcd.RequestOp]) -> bool:
    """A branch putting one key twice, or putting a key one of its deletes covers."""
    puts = [op.key for op in ops if isinstance(op, PutRequest)]
    deletes = [op for op in ops if isinstance(op, DeleteRangeRequest)]
    if len(puts) != len(set(puts)):
        return True
    return any(in_range(key, d.key, d.range_end) for key in puts for d in deletes)
