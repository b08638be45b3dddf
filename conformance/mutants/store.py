"""Deliberately broken stores: each one realistic bug, which the store suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to a zero-argument factory returning a
store that satisfies ``kubeprop.spec.contracts.Store`` in shape but breaks one
rule of spec/store.md; ``BREAKS`` names the invariant each one breaks. Every
mutant is a small subclass of the reference store (or its watcher) overriding
one method, so the bug is the only difference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from kubeprop.reference.store import Store, Watcher, compare_holds, keyrange
from kubeprop.spec import etcd

# ---- revisions ---------------------------------------------------------------------------


class RevisionRewindsOnCompact(Store):
    """Compaction resets the revision counter to the compacted revision."""

    def compact(self, revision: int) -> None:
        super().compact(revision)
        self._revision = revision


class EmptyDeleteSpendsARevision(Store):
    """A delete_range that deletes nothing still increments the revision."""

    def delete_range(self, key, range_end=None, *, prev_kv=False):
        response = super().delete_range(key, range_end, prev_kv=prev_kv)
        if response.deleted == 0:
            self._revision += 1
            response = attrs.evolve(response, header=etcd.ResponseHeader(self._revision))
        return response


class PastReadHeaderAtRequestedRevision(Store):
    """A read at a past revision reports that revision in its header, not the store's."""

    def range(self, key, range_end=None, *, revision=0, **options):
        response = super().range(key, range_end, revision=revision, **options)
        if revision > 0:
            response = attrs.evolve(response, header=etcd.ResponseHeader(revision))
        return response


class RangeSpendsARevision(Store):
    """Every read is counted as a write (the raft index mistaken for the revision)."""

    def range(self, key, range_end=None, **options):
        response = super().range(key, range_end, **options)
        self._revision += 1
        return response


class VersionNotResetOnDelete(Store):
    """A key put again after a delete continues its old version count."""

    def _put(self, request, write):
        response = super()._put(request, write)
        kv = write.overlay[request.key]
        if kv.version == 1:
            dead = [entry for _, entry in self._history.get(request.key, []) if entry is not None]
            if dead:
                kv = attrs.evolve(kv, version=dead[-1].version + 1)
                write.overlay[request.key] = kv
                write.events[-1] = attrs.evolve(write.events[-1], kv=kv)
        return response


# ---- reads -------------------------------------------------------------------------------


class RangeDropsTheLease(Store):
    """Range responses lose the kv's lease (a serialisation bug)."""

    def range(self, key, range_end=None, **options):
        response = super().range(key, range_end, **options)
        return attrs.evolve(response, kvs=tuple(attrs.evolve(kv, lease=0) for kv in response.kvs))


class PastReadReturnsCurrentValue(Store):
    """A read at a past revision serves the current state."""

    def _kv_at(self, key, revision):
        return super()._kv_at(key, self._revision)


class CountAfterLimit(Store):
    """count is the number of kvs returned, not the number in range."""

    def _range(self, request, write=None):
        response = super()._range(request, write)
        if request.count_only:
            return response
        return attrs.evolve(response, count=len(response.kvs))


class CompactionKeepsOldReads(Store):
    """Reads below the compacted revision are served instead of rejected."""

    def _check_read_revision(self, revision):
        if revision > self._revision:
            raise etcd.FutureRevisionError()
        return revision if revision > 0 else self._revision


class FutureReadServesCurrent(Store):
    """A read above the current revision serves the current state."""

    def _check_read_revision(self, revision):
        return super()._check_read_revision(min(revision, self._revision))


class EmptyKeyAccepted(Store):
    """A put with an empty key is stored."""

    def put(self, key, value, *, lease=0, prev_kv=False):
        if key != b"":
            return super().put(key, value, lease=lease, prev_kv=prev_kv)
        write = self._new_write()
        response = self._put(etcd.PutRequest(key, value, lease, prev_kv), write)
        self._commit(write)
        return response


# ---- writes ------------------------------------------------------------------------------


class PutPrevKvIsTheNewKv(Store):
    """A put's prev_kv returns the key-value just written."""

    def put(self, key, value, *, lease=0, prev_kv=False):
        response = super().put(key, value, lease=lease, prev_kv=prev_kv)
        if prev_kv:
            response = attrs.evolve(response, prev_kv=self._kv_at(key, self._revision))
        return response


class DeleteCountsTombstones(Store):
    """delete_range counts every key ever written in range, deleted ones included."""

    def delete_range(self, key, range_end=None, *, prev_kv=False):
        lo, hi = keyrange.keys_in_range(self._keys, key, range_end)
        response = super().delete_range(key, range_end, prev_kv=prev_kv)
        return attrs.evolve(response, deleted=hi - lo)


class CompareGreaterLessSwapped(Store):
    """GREATER and LESS compares are evaluated the wrong way round."""

    def txn(self, compare, success, failure=()):
        swap = {
            etcd.CompareResult.GREATER: etcd.CompareResult.LESS,
            etcd.CompareResult.LESS: etcd.CompareResult.GREATER,
        }
        compare = [
            attrs.evolve(c, result=swap.get(c.result, c.result))
            if isinstance(c, etcd.Compare)
            else c
            for c in compare
        ]
        return super().txn(compare, success, failure)


def _branch(store: Store, compare: Sequence[etcd.Compare], success, failure):
    holds = all(
        isinstance(c, etcd.Compare)
        and c.key
        and compare_holds(c, store._kvs_at(c.key, c.range_end, store._revision))
        for c in compare
    )
    return holds, tuple(success if holds else failure)


class TxnNotAtomic(Store):
    """A txn applies its first op, then fails on a later put's unknown lease."""

    def txn(self, compare, success, failure=()):
        try:
            _, ops = _branch(self, compare, success, failure)
        except Exception:
            return super().txn(compare, success, failure)
        unknown = [
            op
            for op in ops[1:]
            if isinstance(op, etcd.PutRequest) and op.lease and op.lease not in self._leases
        ]
        first = ops[0] if ops else None
        if unknown and isinstance(first, etcd.PutRequest) and first.lease in (0, *self._leases):
            self.put(first.key, first.value, lease=first.lease)
            raise etcd.LeaseNotFoundError()
        return super().txn(compare, success, failure)


class TxnOneRevisionPerOp(Store):
    """A txn runs each write op as its own request, one revision each."""

    def txn(self, compare, success, failure=()):
        try:
            succeeded, ops = _branch(self, compare, success, failure)
            self._check_branch(ops)
        except Exception:
            return super().txn(compare, success, failure)
        writes = [op for op in ops if not isinstance(op, etcd.RangeRequest)]
        if len(writes) < 2 or any(isinstance(op, etcd.PutRequest) and op.lease for op in ops):
            return super().txn(compare, success, failure)
        responses = []
        for op in ops:
            if isinstance(op, etcd.PutRequest):
                responses.append(self.put(op.key, op.value, prev_kv=op.prev_kv))
            elif isinstance(op, etcd.DeleteRangeRequest):
                responses.append(self.delete_range(op.key, op.range_end, prev_kv=op.prev_kv))
            else:
                responses.append(self._range(op))
        return etcd.TxnResponse(self._header(), succeeded, tuple(responses))


class DuplicateKeysAllowed(Store):
    """A txn may put the same key twice (the last put wins)."""

    def _check_branch(self, ops):
        pass


# ---- leases ------------------------------------------------------------------------------


class LeasesNeverExpire(Store):
    """Time passes but no lease ever expires."""

    def advance(self, seconds):
        self.clock += seconds


class RevokeKeepsKeys(Store):
    """Revoking a lease forgets the lease but leaves its keys in place."""

    def lease_revoke(self, id):
        self._lease(id)
        del self._leases[id]


class TimeToLiveReportsGrantedTtl(Store):
    """time-to-live reports the granted TTL instead of the time remaining."""

    def lease_time_to_live(self, id, *, keys=False):
        response = super().lease_time_to_live(id, keys=keys)
        if response.ttl >= 0:
            response = attrs.evolve(response, ttl=response.granted_ttl)
        return response


# ---- watches -----------------------------------------------------------------------------


class _ReplayHook(Store):
    """Replays a watch from ``replay_from(start)`` instead of ``start``."""

    def replay_from(self, start: int) -> int:
        return start

    def watch(self, key, range_end=None, *, start_revision=0, **options):
        if self._compact_revision <= start_revision <= self._revision + 1 and start_revision > 0:
            start_revision = max(1, self.replay_from(start_revision))
        return super().watch(key, range_end, start_revision=start_revision, **options)


class WatchSkipsFirstReplayedEvent(_ReplayHook):
    """A watch from revision r replays from r + 1: the first change is lost."""

    def replay_from(self, start):
        return start + 1 if start <= self._revision else start


class WatchRepeatsTheLastSeenRevision(_ReplayHook):
    """A watch from revision r replays from r - 1: a resumed watch repeats an event."""

    def replay_from(self, start):
        return max(self._compact_revision, start - 1)


class WatchReplaysNewestFirst(Store):
    """A watch replays the history in reverse order."""

    def watch(self, key, range_end=None, **options):
        watcher = super().watch(key, range_end, **options)
        watcher.pending.reverse()
        return watcher


class SplitWatcher(Watcher):
    def _deliver(self, revision, events):
        for event in events:
            super()._deliver(revision, [event])


class WatchSplitsRevisions(Store):
    """A watch sends each event of a multi-key revision in its own response."""

    watcher_class = SplitWatcher


class RepeatingWatcher(Watcher):
    def request_progress(self):
        last = self.pending[-1] if self.pending else None
        super().request_progress()
        if last is not None and last.events:
            self.pending.append(last)


class DuplicateEventsAfterProgress(Store):
    """A progress request re-sends the last queued response after the notification."""

    watcher_class = RepeatingWatcher


class QueueJumpingWatcher(Watcher):
    def request_progress(self):
        super().request_progress()
        if self.pending:  # a canceled watch queues no notification
            self.pending.insert(0, self.pending.pop())


class ProgressJumpsTheQueue(Store):
    """A progress notification is sent ahead of events still queued."""

    watcher_class = QueueJumpingWatcher


class CompactedWatchStartsAtCompaction(Store):
    """A watch from a compacted revision silently starts at the compacted revision."""

    def watch(self, key, range_end=None, *, start_revision=0, **options):
        if 0 < start_revision < self._compact_revision:
            start_revision = self._compact_revision
        return super().watch(key, range_end, start_revision=start_revision, **options)


MUTANTS: dict[str, Callable[[], Store]] = {
    "revision-rewinds-on-compact": RevisionRewindsOnCompact,
    "empty-delete-spends-a-revision": EmptyDeleteSpendsARevision,
    "past-read-header-at-requested-revision": PastReadHeaderAtRequestedRevision,
    "range-spends-a-revision": RangeSpendsARevision,
    "version-not-reset-on-delete": VersionNotResetOnDelete,
    "range-drops-the-lease": RangeDropsTheLease,
    "past-read-returns-current-value": PastReadReturnsCurrentValue,
    "count-after-limit": CountAfterLimit,
    "compaction-keeps-old-reads": CompactionKeepsOldReads,
    "future-read-serves-current": FutureReadServesCurrent,
    "empty-key-accepted": EmptyKeyAccepted,
    "put-prev-kv-is-the-new-kv": PutPrevKvIsTheNewKv,
    "delete-counts-tombstones": DeleteCountsTombstones,
    "compare-greater-less-swapped": CompareGreaterLessSwapped,
    "txn-not-atomic": TxnNotAtomic,
    "txn-one-revision-per-op": TxnOneRevisionPerOp,
    "duplicate-keys-allowed": DuplicateKeysAllowed,
    "leases-never-expire": LeasesNeverExpire,
    "revoke-keeps-keys": RevokeKeepsKeys,
    "time-to-live-reports-granted-ttl": TimeToLiveReportsGrantedTtl,
    "watch-skips-first-replayed-event": WatchSkipsFirstReplayedEvent,
    "watch-repeats-the-last-seen-revision": WatchRepeatsTheLastSeenRevision,
    "watch-replays-newest-first": WatchReplaysNewestFirst,
    "watch-splits-revisions": WatchSplitsRevisions,
    "duplicate-events-after-progress": DuplicateEventsAfterProgress,
    "progress-jumps-the-queue": ProgressJumpsTheQueue,
    "compacted-watch-starts-at-compaction": CompactedWatchStartsAtCompaction,
}

# The invariant each mutant breaks (the one a targeted history trips first).
BREAKS: dict[str, str] = {
    "revision-rewinds-on-compact": "STORE-REVISION-MONOTONIC",
    "empty-delete-spends-a-revision": "STORE-REVISION-ONE-PER-WRITE",
    "past-read-header-at-requested-revision": "STORE-REVISION-MONOTONIC",
    "range-spends-a-revision": "STORE-READ-NO-REVISION",
    "version-not-reset-on-delete": "STORE-KEY-VERSIONS",
    "range-drops-the-lease": "STORE-RANGE-MATCHES-MODEL",
    "past-read-returns-current-value": "STORE-RANGE-AT-REVISION",
    "count-after-limit": "STORE-RANGE-LIMIT-COUNT",
    "compaction-keeps-old-reads": "STORE-COMPACTED-READ",
    "future-read-serves-current": "STORE-FUTURE-REVISION",
    "empty-key-accepted": "STORE-EMPTY-KEY",
    "put-prev-kv-is-the-new-kv": "STORE-PUT-PREV-KV",
    "delete-counts-tombstones": "STORE-DELETE-PREV-KV",
    "compare-greater-less-swapped": "STORE-TXN-COMPARE",
    "txn-not-atomic": "STORE-TXN-ATOMIC",
    "txn-one-revision-per-op": "STORE-TXN-ONE-REVISION",
    "duplicate-keys-allowed": "STORE-TXN-DUPLICATE-KEY",
    "leases-never-expire": "STORE-LEASE-EXPIRY",
    "revoke-keeps-keys": "STORE-LEASE-REVOKE",
    "time-to-live-reports-granted-ttl": "STORE-LEASE-TTL",
    "watch-skips-first-replayed-event": "STORE-WATCH-RELIABLE",
    "watch-repeats-the-last-seen-revision": "STORE-WATCH-RESUMABLE",
    "watch-replays-newest-first": "STORE-WATCH-ORDERED",
    "watch-splits-revisions": "STORE-WATCH-ATOMIC",
    "duplicate-events-after-progress": "STORE-WATCH-UNIQUE",
    "progress-jumps-the-queue": "STORE-WATCH-BOOKMARKABLE",
    "compacted-watch-starts-at-compaction": "STORE-WATCH-COMPACTED",
}
