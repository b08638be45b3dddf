"""Table tests of the reference store against exact etcd v3.5 facts (messages, numbers, rules)."""

from __future__ import annotations

import pytest

from kubeprop.reference.store import MIN_LEASE_TTL, Store
from kubeprop.spec import etcd

Compare, T, R = etcd.Compare, etcd.CompareTarget, etcd.CompareResult


def test_a_fresh_store_is_at_revision_one():
    store = Store()
    assert (store.revision, store.compact_revision) == (1, 0)
    assert store.range(b"a", b"\0").header.revision == 1


def test_each_write_spends_one_revision_and_keeps_key_bookkeeping():
    store = Store()
    store.put(b"k", b"1")
    store.put(b"k", b"2")
    kv = store.range(b"k").kvs[0]
    assert (kv.create_revision, kv.mod_revision, kv.version) == (2, 3, 2)
    store.delete_range(b"k")
    store.put(b"k", b"3")
    kv = store.range(b"k").kvs[0]
    assert (kv.create_revision, kv.mod_revision, kv.version, store.revision) == (5, 5, 1, 5)


def test_a_delete_of_nothing_spends_no_revision():
    store = Store()
    response = store.delete_range(b"missing")
    assert (response.deleted, response.header.revision, store.revision) == (0, 1, 1)


def test_a_range_with_a_limit_counts_every_match():
    store = Store()
    for key in (b"a", b"b", b"c"):
        store.put(key, b"v")
    response = store.range(b"a", b"\0", limit=2)
    assert ([kv.key for kv in response.kvs], response.count, response.more) == (
        [b"a", b"b"],
        3,
        True,
    )
    assert store.range(b"a", b"\0", count_only=True).kvs == ()
    assert {kv.value for kv in store.range(b"a", b"\0", keys_only=True).kvs} == {b""}


def test_a_read_at_a_past_revision_sees_the_state_then_with_the_current_header():
    store = Store()
    store.put(b"k", b"old")
    store.put(b"k", b"new")
    response = store.range(b"k", revision=2)
    assert (response.kvs[0].value, response.header.revision) == (b"old", 3)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda s: s.range(b"k", revision=9),
            etcd.FutureRevisionError,
            "mvcc: required revision is a future revision",
        ),
        (
            lambda s: s.range(b"k", revision=2),
            etcd.CompactedError,
            "mvcc: required revision has been compacted",
        ),
        (lambda s: s.compact(3), etcd.CompactedError, "mvcc: required revision has been compacted"),
        (
            lambda s: s.compact(9),
            etcd.FutureRevisionError,
            "mvcc: required revision is a future revision",
        ),
        (lambda s: s.put(b"", b"v"), etcd.InvalidRequestError, "etcdserver: key is not provided"),
        (lambda s: s.range(b""), etcd.InvalidRequestError, "etcdserver: key is not provided"),
        (
            lambda s: s.put(b"k", b"v", lease=42),
            etcd.LeaseNotFoundError,
            "etcdserver: requested lease not found",
        ),
        (
            lambda s: s.lease_revoke(42),
            etcd.LeaseNotFoundError,
            "etcdserver: requested lease not found",
        ),
        (
            lambda s: s.txn([], [etcd.PutRequest(b"k", b"1"), etcd.PutRequest(b"k", b"2")]),
            etcd.InvalidRequestError,
            "etcdserver: duplicate key given in txn request",
        ),
        (
            lambda s: s.txn([], [etcd.DeleteRangeRequest(b"a", b"z"), etcd.PutRequest(b"k", b"2")]),
            etcd.InvalidRequestError,
            "etcdserver: duplicate key given in txn request",
        ),
        (
            lambda s: s.txn([], [etcd.PutRequest(b"x", b"1")] * 129),
            etcd.InvalidRequestError,
            "etcdserver: too many operations in txn request",
        ),
        (
            lambda s: s.put("k", b"v"),
            etcd.InvalidRequestError,
            "etcdserver: put.key: Invalid value: 'k': must be bytes",
        ),
    ],
    ids=[
        "future read",
        "compacted read",
        "compaction at the compacted revision",
        "compaction in the future",
        "put with an empty key",
        "range with an empty key",
        "put with an unknown lease",
        "revoke of an unknown lease",
        "one key put twice in a txn",
        "a put inside a deleted range in a txn",
        "more than 128 ops in a txn",
        "a key that is not bytes",
    ],
)
def test_a_bad_request_fails_with_etcds_message_and_changes_nothing(call, error, message):
    store = Store()
    store.put(b"k", b"1")
    store.put(b"k", b"2")
    store.put(b"k", b"3")
    store.compact(3)
    before = (store.revision, store.range(b"k").kvs)
    with pytest.raises(error) as raised:
        call(store)
    assert str(raised.value) == message
    assert (store.revision, store.range(b"k").kvs) == before


@pytest.mark.parametrize(
    "compare, succeeded",
    [
        (Compare(b"missing", T.CREATE, R.EQUAL, 0), True),
        (Compare(b"missing", T.VERSION, R.EQUAL, 0), True),
        (Compare(b"missing", T.VALUE, R.EQUAL, b""), False),
        (Compare(b"missing", T.VALUE, R.NOT_EQUAL, b"x"), False),
        (Compare(b"k", T.VALUE, R.EQUAL, b"v"), True),
        (Compare(b"k", T.VALUE, R.GREATER, b"u"), True),
        (Compare(b"k", T.MOD, R.LESS, 3), True),
        (Compare(b"k", T.LEASE, R.EQUAL, 0), True),
        (Compare(b"a", T.VERSION, R.EQUAL, 1, range_end=b"\0"), True),
        (Compare(b"a", T.VALUE, R.EQUAL, b"v", range_end=b"\0"), False),
    ],
    ids=[
        "an absent key has create revision 0",
        "an absent key has version 0",
        "a VALUE compare on an absent key fails even against empty",
        "a VALUE NOT_EQUAL on an absent key fails too",
        "value equal",
        "values compare as bytes",
        "mod revision less",
        "no lease is lease 0",
        "every key in the range must match",
        "one key in the range failing fails the compare",
    ],
)
def test_txn_compares_follow_etcd(compare, succeeded):
    store = Store()
    store.put(b"k", b"v")
    store.put(b"a", b"w")
    assert store.txn([compare], [], []).succeeded is succeeded


def test_the_writes_of_a_txn_share_one_revision_and_later_ops_see_earlier_ones():
    store = Store()
    response = store.txn(
        [],
        [etcd.PutRequest(b"a", b"1"), etcd.PutRequest(b"b", b"2"), etcd.RangeRequest(b"a", b"\0")],
    )
    assert response.header.revision == store.revision == 2
    assert [kv.mod_revision for kv in response.responses[2].kvs] == [2, 2]


def test_a_txn_that_only_reads_spends_no_revision():
    store = Store()
    assert store.txn([], [etcd.RangeRequest(b"a")]).header.revision == 1


def test_a_lease_ttl_is_raised_to_the_minimum_and_its_keys_vanish_at_expiry_in_one_revision():
    store = Store()
    grant = store.lease_grant(1)
    assert (grant.id, grant.ttl) == (1, MIN_LEASE_TTL)
    store.put(b"a", b"1", lease=grant.id)
    store.put(b"b", b"1", lease=grant.id)
    watcher = store.watch(b"a", b"\0")
    store.advance(1.5)
    assert store.lease_time_to_live(grant.id).ttl == 0
    store.advance(0.5)
    assert store.range(b"a", b"\0").count == 0
    assert store.revision == 4
    (response,) = watcher.poll()
    assert [e.type for e in response.events] == [etcd.EventType.DELETE] * 2
    assert store.lease_time_to_live(grant.id).ttl == -1


def test_keepalive_renews_a_lease_to_its_full_ttl():
    store = Store()
    lease = store.lease_grant(10).id
    store.advance(8)
    assert store.lease_keepalive(lease) == 10
    store.advance(8)
    assert store.lease_time_to_live(lease).ttl == 2


def test_a_watch_from_a_compacted_revision_is_canceled():
    store = Store()
    store.put(b"k", b"1")
    store.put(b"k", b"2")
    store.compact(3)
    (response,) = store.watch(b"k", start_revision=2).poll()
    assert (response.canceled, response.compact_revision, response.events) == (True, 3, ())


def test_a_watch_from_the_compacted_revision_replays_from_there():
    store = Store()
    store.put(b"k", b"1")
    store.put(b"k", b"2")
    store.compact(3)
    (response,) = store.watch(b"k", start_revision=3).poll()
    assert response.events[0].kv.value == b"2"


def test_a_watch_from_a_future_revision_waits_for_it():
    store = Store()
    watcher = store.watch(b"k", start_revision=3)
    store.put(b"k", b"1")
    assert watcher.poll() == []
    store.put(b"k", b"2")
    assert [r.header.revision for r in watcher.poll()] == [3]


def test_a_progress_notification_comes_after_the_queued_events():
    store = Store()
    watcher = store.watch(b"k")
    store.put(b"k", b"1")
    watcher.request_progress()
    events, progress = watcher.poll()
    assert (progress.progress, progress.header.revision) == (True, 2)


def test_a_canceled_watch_delivers_nothing():
    store = Store()
    watcher = store.watch(b"k")
    watcher.cancel()
    store.put(b"k", b"1")
    assert watcher.poll() == []


def test_time_cannot_go_back():
    with pytest.raises(etcd.InvalidRequestError, match="advance.seconds"):
        Store().advance(-1)
