"""The reference etcd v3 store: an MVCC key space with txns, watches, compaction and leases.

Contract: ``kubeprop.spec.contracts.Store`` as stated in spec/store.md, with the
types of ``kubeprop.spec.etcd``, behaving as etcd 3.5 does:

- The global revision starts at 1 and grows by exactly one per write request
  that changes something (a put; a delete_range that deletes a key; a txn whose
  executed ops change something, all of them at ONE revision; a lease revoke or
  expiry that deletes keys). Reads never move it.
- Each key keeps its history: a sorted list of ``(revision, KeyValue | None)``
  (None is a tombstone). A read at revision ``r`` sees, per key, the last entry
  at or below ``r``. Compaction at ``r`` drops every entry superseded at or
  below ``r`` and the change log below ``r``.
- Watches are delivered synchronously: at commit, every open watcher whose range
  a change touches queues one ``WatchResponse`` holding all the events of that
  revision; ``poll`` hands over what is queued.
- Time is a simulated clock moved only by ``advance``; a lease expires when its
  TTL has elapsed since it was granted or last kept alive.
Bad requests raise ``kubeprop.spec.etcd.StoreError`` subclasses with etcd's
message and never change stored data.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections.abc import Callable, Sequence
from typing import ClassVar

import attrs

from kubeprop.reference.store import keyrange
from kubeprop.spec import etcd

MIN_LEASE_TTL = 2  # etcd's minimum with default timing: ceil(1.5 * election timeout 1 s)
MAX_LEASE_TTL = 9_000_000_000  # etcd's MaxLeaseTTL, seconds
MAX_TXN_OPS = 128  # etcd's default --max-txn-ops
PROGRESS_NOTIFY_INTERVAL = 600.0  # etcd's default watch progress notify interval, seconds

EMPTY_KEY = "etcdserver: key is not provided"
DUPLICATE_KEY = "etcdserver: duplicate key given in txn request"
TOO_MANY_OPS = "etcdserver: too many operations in txn request"
LEASE_EXISTS = "etcdserver: lease already exists"
LEASE_TTL_TOO_LARGE = "etcdserver: too large lease TTL"


def _invalid(field: str, value: object, expected: str) -> etcd.InvalidRequestError:
    return etcd.InvalidRequestError(f"etcdserver: {field}: Invalid value: {value!r}: {expected}")


def check_key(field: str, key: object) -> bytes:
    """The key, or an InvalidRequestError naming ``field``."""
    if not isinstance(key, bytes):
        raise _invalid(field, key, "must be bytes")
    if not key:
        raise etcd.InvalidRequestError(EMPTY_KEY)
    return key


def check_range_end(field: str, range_end: object) -> bytes | None:
    if range_end is not None and not isinstance(range_end, bytes):
        raise _invalid(field, range_end, "must be bytes or None")
    return range_end


def check_int(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, value, "must be an integer")
    return value


def check_op(field: str, op: object) -> etcd.RequestOp:
    """Validate one txn op (type, key, range_end, value, lease) without running it."""
    if isinstance(op, etcd.RangeRequest):
        check_key(f"{field}.key", op.key)
        check_range_end(f"{field}.range_end", op.range_end)
        check_int(f"{field}.revision", op.revision)
        check_int(f"{field}.limit", op.limit)
    elif isinstance(op, etcd.PutRequest):
        check_key(f"{field}.key", op.key)
        if not isinstance(op.value, bytes):
            raise _invalid(f"{field}.value", op.value, "must be bytes")
        check_int(f"{field}.lease", op.lease)
    elif isinstance(op, etcd.DeleteRangeRequest):
        check_key(f"{field}.key", op.key)
        check_range_end(f"{field}.range_end", op.range_end)
    else:
        raise _invalid(field, op, "must be a RangeRequest, PutRequest or DeleteRangeRequest")
    return op


def check_compare(field: str, compare: object) -> etcd.Compare:
    if not isinstance(compare, etcd.Compare):
        raise _invalid(field, compare, "must be a Compare")
    check_key(f"{field}.key", compare.key)
    check_range_end(f"{field}.range_end", compare.range_end)
    if not isinstance(compare.target, etcd.CompareTarget):
        raise _invalid(f"{field}.target", compare.target, "must be a CompareTarget")
    if not isinstance(compare.result, etcd.CompareResult):
        raise _invalid(f"{field}.result", compare.result, "must be a CompareResult")
    if compare.target is etcd.CompareTarget.VALUE:
        if not isinstance(compare.operand, bytes):
            raise _invalid(f"{field}.operand", compare.operand, "must be bytes for VALUE")
    else:
        check_int(f"{field}.operand", compare.operand)
    return compare


def check_no_duplicate_keys(ops: Sequence[etcd.RequestOp]) -> None:
    """etcd's rule: within one branch no key is put twice, and no put lies in a deleted range."""
    deletes = [op for op in ops if isinstance(op, etcd.DeleteRangeRequest)]
    puts: set[bytes] = set()
    for op in ops:
        if not isinstance(op, etcd.PutRequest):
            continue
        if op.key in puts or any(keyrange.in_range(op.key, d.key, d.range_end) for d in deletes):
            raise etcd.InvalidRequestError(DUPLICATE_KEY)
        puts.add(op.key)


def compare_holds(compare: etcd.Compare, kvs: Sequence[etcd.KeyValue]) -> bool:
    """etcd's applyCompare: every key in range satisfies it; an empty range compares
    as a zero KeyValue, except VALUE, which is then false."""
    if not kvs:
        if compare.target is etcd.CompareTarget.VALUE:
            return False
        kvs = [
            etcd.KeyValue(key=compare.key, value=b"", create_revision=0, mod_revision=0, version=0)
        ]
    return all(_compare_one(compare, kv) for kv in kvs)


def _compare_one(compare: etcd.Compare, kv: etcd.KeyValue) -> bool:
    actual = {
        etcd.CompareTarget.VALUE: kv.value,
        etcd.CompareTarget.VERSION: kv.version,
        etcd.CompareTarget.CREATE: kv.create_revision,
        etcd.CompareTarget.MOD: kv.mod_revision,
        etcd.CompareTarget.LEASE: kv.lease,
    }[compare.target]
    operand = compare.operand
    if compare.result is etcd.CompareResult.EQUAL:
        return actual == operand
    if compare.result is etcd.CompareResult.NOT_EQUAL:
        return actual != operand
    if compare.result is etcd.CompareResult.GREATER:
        return actual > operand
    return actual < operand


@attrs.define(eq=False)
class Lease:
    """A granted lease. Mutable: keepalive moves ``expiry``, puts move ``keys``."""

    id: int
    ttl: int  # granted TTL, seconds (at least MIN_LEASE_TTL)
    expiry: float  # clock time at which it expires; clock + ttl at grant and keepalive
    keys: set[bytes] = attrs.Factory(set)  # keys whose current kv.lease == id (STORE-LEASE-REVOKE)


@attrs.define(eq=False)
class Watcher:
    """A watch stream (contract: kubeprop.spec.contracts.Watcher)."""

    store: Store = attrs.field(repr=False)
    watch_id: int
    key: bytes
    range_end: bytes | None
    prev_kv: bool
    progress_notify: bool
    start_revision: int  # no event below it is delivered (STORE-WATCH-RELIABLE)
    # Responses queued and not yet polled, in delivery order (STORE-WATCH-ORDERED).
    pending: list[etcd.WatchResponse] = attrs.Factory(list)
    # True once canceled by the client or by compaction; nothing is queued after.
    canceled: bool = False
    # Clock time of the next periodic progress notification (progress_notify only).
    next_progress_at: float = 0.0
    # Called (no arguments) whenever a response is queued: lets an event-driven reader
    # poll only when there is something to read. Not part of the etcd contract.
    notify: Callable[[], object] | None = None

    def poll(self) -> list[etcd.WatchResponse]:
        delivered, self.pending = self.pending, []
        return delivered

    def request_progress(self) -> None:
        if not self.canceled:
            self.pending.append(self.store._progress_response(self))

    def cancel(self) -> None:
        self.canceled = True
        self.pending = []
        if self in self.store._watchers:
            self.store._watchers.remove(self)

    def _deliver(self, revision: int, events: Sequence[etcd.Event]) -> None:
        """Queue the events of one revision that fall in range, as one response."""
        if revision < self.start_revision:
            return
        matching = tuple(
            event if self.prev_kv else attrs.evolve(event, prev_kv=None)
            for event in events
            if keyrange.in_range(event.kv.key, self.key, self.range_end)
        )
        if matching:
            self.pending.append(
                etcd.WatchResponse(
                    header=etcd.ResponseHeader(revision=revision),
                    events=matching,
                    watch_id=self.watch_id,
                )
            )
            if self.notify is not None:
                self.notify()


@attrs.define(eq=False)
class _Write:
    """The writes of one request in progress: an overlay on the latest state."""

    revision: int  # the revision the writes will be committed at
    overlay: dict[bytes, etcd.KeyValue | None] = attrs.Factory(dict)  # key -> new state
    events: list[etcd.Event] = attrs.Factory(list)  # in the order the ops made them


@attrs.define(eq=False)
class Store:
    """The reference etcd v3 store on a simulated clock."""

    watcher_class: ClassVar[type[Watcher]] = Watcher  # what watch() returns

    clock: float = 0.0  # simulated seconds; moved only by advance()
    # The current revision: 1 for a fresh store, +1 per committed write (STORE-REVISION-*).
    _revision: int = attrs.field(default=1, init=False)
    # The highest compacted revision; reads below it fail (STORE-COMPACTED-READ).
    _compact_revision: int = attrs.field(default=0, init=False)
    # key -> [(revision, kv or None for a tombstone)], ascending; never empty (STORE-RANGE-AT-REVISION).
    _history: dict[bytes, list[tuple[int, etcd.KeyValue | None]]] = attrs.field(
        factory=dict, init=False
    )
    # Every key of _history, sorted, for bisecting ranges.
    _keys: list[bytes] = attrs.field(factory=list, init=False)
    # Revisions of the change log, ascending, all >= compact revision (STORE-WATCH-RELIABLE).
    _log_revisions: list[int] = attrs.field(factory=list, init=False)
    # The events of each logged revision, parallel to _log_revisions (STORE-WATCH-ATOMIC).
    _log_events: list[tuple[etcd.Event, ...]] = attrs.field(factory=list, init=False)
    # Live leases by id (STORE-LEASE-EXPIRY).
    _leases: dict[int, Lease] = attrs.field(factory=dict, init=False)
    # Open watchers, in creation order.
    _watchers: list[Watcher] = attrs.field(factory=list, init=False)
    _next_lease_id: int = attrs.field(default=1, init=False)  # next id tried for id=0 grants
    _next_watch_id: int = attrs.field(default=0, init=False)  # id of the next watch

    # ---- revisions -------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def compact_revision(self) -> int:
        return self._compact_revision

    def _header(self, revision: int | None = None) -> etcd.ResponseHeader:
        return etcd.ResponseHeader(revision=self._revision if revision is None else revision)

    def _check_read_revision(self, revision: int) -> int:
        if revision > self._revision:
            raise etcd.FutureRevisionError()
        if 0 < revision < self._compact_revision:
            raise etcd.CompactedError(self._compact_revision)
        return revision if revision > 0 else self._revision

    # ---- reads -----------------------------------------------------------------------------

    def _kv_at(self, key: bytes, revision: int) -> etcd.KeyValue | None:
        history = self._history.get(key)
        if not history:
            return None
        index = bisect_right(history, revision, key=lambda entry: entry[0])
        return history[index - 1][1] if index else None

    def _kvs_at(
        self, key: bytes, range_end: bytes | None, revision: int, write: _Write | None = None
    ) -> list[etcd.KeyValue]:
        """The live kvs in range at ``revision``, sorted by key, seen through ``write``."""
        lo, hi = keyrange.keys_in_range(self._keys, key, range_end)
        if write is None or not write.overlay:
            found = (self._kv_at(k, revision) for k in self._keys[lo:hi])
            return [kv for kv in found if kv is not None]
        states = {k: self._kv_at(k, revision) for k in self._keys[lo:hi]}
        for k, kv in write.overlay.items():
            if keyrange.in_range(k, key, range_end):
                states[k] = kv
        return [states[k] for k in sorted(states) if states[k] is not None]

    def _range(self, request: etcd.RangeRequest, write: _Write | None = None) -> etcd.RangeResponse:
        revision = self._check_read_revision(request.revision)
        if write is not None and request.revision <= 0:
            kvs = self._kvs_at(request.key, request.range_end, revision, write)
        else:
            kvs = self._kvs_at(request.key, request.range_end, revision)
        header = self._header(write.revision if write is not None and write.events else None)
        count = len(kvs)
        if request.count_only:
            return etcd.RangeResponse(header=header, kvs=(), more=False, count=count)
        limited = kvs[: request.limit] if request.limit > 0 else kvs
        if request.keys_only:
            limited = [attrs.evolve(kv, value=b"") for kv in limited]
        return etcd.RangeResponse(
            header=header, kvs=tuple(limited), more=len(limited) < count, count=count
        )

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
        request = etcd.RangeRequest(
            key=key,
            range_end=range_end,
            revision=revision,
            limit=limit,
            count_only=count_only,
            keys_only=keys_only,
        )
        return self._range(check_op("range", request))

    # ---- writes ----------------------------------------------------------------------------

    def _latest(self, key: bytes, write: _Write) -> etcd.KeyValue | None:
        if key in write.overlay:
            return write.overlay[key]
        return self._kv_at(key, self._revision)

    def _check_branch(self, ops: Sequence[etcd.RequestOp]) -> None:
        check_no_duplicate_keys(ops)

    def _check_lease(self, lease: int) -> None:
        if lease != 0 and lease not in self._leases:
            raise etcd.LeaseNotFoundError()

    def _put(self, request: etcd.PutRequest, write: _Write) -> etcd.PutResponse:
        prev = self._latest(request.key, write)
        kv = etcd.KeyValue(
            key=request.key,
            value=request.value,
            create_revision=prev.create_revision if prev else write.revision,
            mod_revision=write.revision,
            version=prev.version + 1 if prev else 1,
            lease=request.lease,
        )
        write.overlay[request.key] = kv
        write.events.append(etcd.Event(type=etcd.EventType.PUT, kv=kv, prev_kv=prev))
        return etcd.PutResponse(
            header=self._header(write.revision), prev_kv=prev if request.prev_kv else None
        )

    def _delete(self, request: etcd.DeleteRangeRequest, write: _Write) -> etcd.DeleteRangeResponse:
        doomed = self._kvs_at(request.key, request.range_end, self._revision, write)
        for prev in doomed:
            write.overlay[prev.key] = None
            tombstone = etcd.KeyValue(
                key=prev.key, value=b"", create_revision=0, mod_revision=write.revision, version=0
            )
            write.events.append(etcd.Event(type=etcd.EventType.DELETE, kv=tombstone, prev_kv=prev))
        revision = write.revision if write.events else self._revision
        return etcd.DeleteRangeResponse(
            header=self._header(revision),
            deleted=len(doomed),
            prev_kvs=tuple(doomed) if request.prev_kv else (),
        )

    def _new_write(self) -> _Write:
        return _Write(revision=self._revision + 1)

    def _commit(self, write: _Write) -> int:
        """Make the writes durable at one revision, log them, tell the watchers."""
        if not write.events:
            return self._revision
        revision = self._revision = write.revision
        for event in write.events:
            key = event.kv.key
            new = event.kv if event.type is etcd.EventType.PUT else None
            if key not in self._history:
                self._history[key] = []
                insort(self._keys, key)
            self._history[key].append((revision, new))
            old_lease = event.prev_kv.lease if event.prev_kv else 0
            if old_lease in self._leases:
                self._leases[old_lease].keys.discard(key)
            if new is not None and new.lease in self._leases:
                self._leases[new.lease].keys.add(key)
        events = tuple(write.events)
        self._log_revisions.append(revision)
        self._log_events.append(events)
        for watcher in list(self._watchers):
            watcher._deliver(revision, events)
        return revision

    def put(
        self, key: bytes, value: bytes, *, lease: int = 0, prev_kv: bool = False
    ) -> etcd.PutResponse:
        request = check_op(
            "put", etcd.PutRequest(key=key, value=value, lease=lease, prev_kv=prev_kv)
        )
        self._check_lease(request.lease)
        write = self._new_write()
        response = self._put(request, write)
        self._commit(write)
        return response

    def delete_range(
        self, key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False
    ) -> etcd.DeleteRangeResponse:
        request = etcd.DeleteRangeRequest(key=key, range_end=range_end, prev_kv=prev_kv)
        check_op("delete_range", request)
        write = self._new_write()
        response = self._delete(request, write)
        self._commit(write)
        return response

    def txn(
        self,
        compare: Sequence[etcd.Compare],
        success: Sequence[etcd.RequestOp],
        failure: Sequence[etcd.RequestOp] = (),
    ) -> etcd.TxnResponse:
        compare, success, failure = tuple(compare), tuple(success), tuple(failure)
        if max(len(compare), len(success), len(failure)) > MAX_TXN_OPS:
            raise etcd.InvalidRequestError(TOO_MANY_OPS)
        for i, c in enumerate(compare):
            check_compare(f"txn.compare[{i}]", c)
        for name, ops in (("success", success), ("failure", failure)):
            for i, op in enumerate(ops):
                check_op(f"txn.{name}[{i}]", op)
            self._check_branch(ops)
        succeeded = all(
            compare_holds(c, self._kvs_at(c.key, c.range_end, self._revision)) for c in compare
        )
        ops = success if succeeded else failure
        for op in ops:  # every check before any op runs: a txn is all or nothing
            if isinstance(op, etcd.PutRequest):
                self._check_lease(op.lease)
            elif isinstance(op, etcd.RangeRequest):
                self._check_read_revision(op.revision)
        write = self._new_write()
        responses: list[etcd.ResponseOp] = []
        for op in ops:
            if isinstance(op, etcd.PutRequest):
                responses.append(self._put(op, write))
            elif isinstance(op, etcd.DeleteRangeRequest):
                responses.append(self._delete(op, write))
            else:
                responses.append(self._range(op, write))
        revision = self._commit(write)
        return etcd.TxnResponse(
            header=self._header(revision), succeeded=succeeded, responses=tuple(responses)
        )

    # ---- compaction ------------------------------------------------------------------------

    def compact(self, revision: int) -> None:
        check_int("compact.revision", revision)
        if revision <= self._compact_revision:
            raise etcd.CompactedError(self._compact_revision)
        if revision > self._revision:
            raise etcd.FutureRevisionError()
        for key in self._keys:
            history = self._history[key]
            keep_from = bisect_right(history, revision, key=lambda entry: entry[0]) - 1
            if keep_from >= 0 and history[keep_from][1] is None:
                keep_from += 1  # a tombstone at or below the compaction point is forgotten
            if keep_from > 0:
                del history[:keep_from]
            if not history:
                del self._history[key]
        self._keys = [key for key in self._keys if key in self._history]
        cut = bisect_right(self._log_revisions, revision - 1)
        del self._log_revisions[:cut]
        del self._log_events[:cut]
        self._compact_revision = revision

    # ---- watches ---------------------------------------------------------------------------

    def watch(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        start_revision: int = 0,
        prev_kv: bool = False,
        progress_notify: bool = False,
    ) -> Watcher:
        check_key("watch.key", key)
        check_range_end("watch.range_end", range_end)
        check_int("watch.start_revision", start_revision)
        watcher = self.watcher_class(
            store=self,
            watch_id=self._next_watch_id,
            key=key,
            range_end=range_end,
            prev_kv=bool(prev_kv),
            progress_notify=bool(progress_notify),
            start_revision=start_revision if start_revision > 0 else self._revision + 1,
            next_progress_at=self.clock + PROGRESS_NOTIFY_INTERVAL,
        )
        self._next_watch_id += 1
        if range_end not in (None, b"\0") and range_end <= key:
            # etcd creates a watch over an empty range canceled, with no compact revision
            # ("mvcc: watcher range is empty", server/mvcc/watcher.go).
            watcher.canceled = True
            watcher.pending.append(
                etcd.WatchResponse(header=self._header(), canceled=True, watch_id=watcher.watch_id)
            )
            return watcher
        if 0 < start_revision < self._compact_revision:
            watcher.canceled = True
            watcher.pending.append(
                etcd.WatchResponse(
                    header=self._header(),
                    canceled=True,
                    compact_revision=self._compact_revision,
                    watch_id=watcher.watch_id,
                )
            )
            return watcher
        if 0 < start_revision <= self._revision:
            first = bisect_right(self._log_revisions, start_revision - 1)
            for revision, events in zip(self._log_revisions[first:], self._log_events[first:]):
                watcher._deliver(revision, events)
        self._watchers.append(watcher)
        return watcher

    def _progress_response(self, watcher: Watcher) -> etcd.WatchResponse:
        return etcd.WatchResponse(header=self._header(), progress=True, watch_id=watcher.watch_id)

    # ---- leases ----------------------------------------------------------------------------

    def lease_grant(self, ttl: int, id: int = 0) -> etcd.LeaseGrantResponse:
        check_int("lease_grant.ttl", ttl)
        check_int("lease_grant.id", id)
        if ttl > MAX_LEASE_TTL:
            raise etcd.InvalidRequestError(LEASE_TTL_TOO_LARGE)
        if id in self._leases:
            raise etcd.InvalidRequestError(LEASE_EXISTS)
        if id == 0:
            while self._next_lease_id in self._leases:
                self._next_lease_id += 1
            id = self._next_lease_id
            self._next_lease_id += 1
        ttl = max(ttl, MIN_LEASE_TTL)
        self._leases[id] = Lease(id=id, ttl=ttl, expiry=self.clock + ttl)
        return etcd.LeaseGrantResponse(header=self._header(), id=id, ttl=ttl)

    def _lease(self, id: int) -> Lease:
        check_int("lease.id", id)
        try:
            return self._leases[id]
        except KeyError:
            raise etcd.LeaseNotFoundError() from None

    def _revoke(self, lease: Lease) -> None:
        """Delete the lease and its keys, all at one revision."""
        del self._leases[lease.id]
        write = self._new_write()
        for key in sorted(lease.keys):
            self._delete(etcd.DeleteRangeRequest(key=key), write)
        self._commit(write)

    def lease_revoke(self, id: int) -> None:
        self._revoke(self._lease(id))

    def lease_keepalive(self, id: int) -> int:
        lease = self._lease(id)
        lease.expiry = self.clock + lease.ttl
        return lease.ttl

    def lease_time_to_live(self, id: int, *, keys: bool = False) -> etcd.LeaseTimeToLiveResponse:
        check_int("lease_time_to_live.id", id)
        lease = self._leases.get(id)
        if lease is None:
            return etcd.LeaseTimeToLiveResponse(header=self._header(), id=id, ttl=-1, granted_ttl=0)
        return etcd.LeaseTimeToLiveResponse(
            header=self._header(),
            id=id,
            ttl=int(lease.expiry - self.clock),
            granted_ttl=lease.ttl,
            keys=tuple(sorted(lease.keys)) if keys else (),
        )

    def advance(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise _invalid("advance.seconds", seconds, "must be a number")
        if not math.isfinite(seconds) or seconds < 0:
            raise _invalid("advance.seconds", seconds, "must be a finite number >= 0")
        until = self.clock + seconds
        while True:
            due = [lease for lease in self._leases.values() if lease.expiry <= until]
            if not due:
                break
            lease = min(due, key=lambda lease: (lease.expiry, lease.id))
            self.clock = max(self.clock, lease.expiry)
            self._revoke(lease)
        self.clock = until
        for watcher in self._watchers:
            if watcher.progress_notify and watcher.next_progress_at <= self.clock:
                watcher.request_progress()
                watcher.next_progress_at = self.clock + PROGRESS_NOTIFY_INTERVAL
