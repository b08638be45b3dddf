"""The etcd adapter: how it encodes requests, maps etcd's answers and errors, and translates
revisions, alone and against a real etcd (those tests skip when etcd is not installed)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.adapters.etcd import (
    CAPABILITIES,
    EtcdAdapter,
    EtcdStore,
    EtcdUnavailableError,
    StoreFactory,
    Translation,
    b64,
    integer,
    store_error,
    unb64,
)
from kubeprop.conformance.adapters.reference import ReferenceAdapter
from kubeprop.conformance.etcd_server import etcd_fixture
from kubeprop.conformance.suites import test_store_contract as contract
from kubeprop.spec import etcd

etcd_server = etcd_fixture(scope="module")

CREATE, MOD, VERSION = etcd.CompareTarget.CREATE, etcd.CompareTarget.MOD, etcd.CompareTarget.VERSION
EQUAL = etcd.CompareResult.EQUAL


@pytest.fixture
def store(etcd_server):
    store = EtcdStore(etcd_server.url)
    yield store
    store.close()


# ---- encoding and mapping, without etcd ----------------------------------------------------


@pytest.mark.parametrize(
    ("message", "code", "kind"),
    [
        ("etcdserver: mvcc: required revision has been compacted", 11, etcd.CompactedError),
        ("etcdserver: mvcc: required revision is a future revision", 11, etcd.FutureRevisionError),
        ("etcdserver: requested lease not found", 5, etcd.LeaseNotFoundError),
        ("etcdserver: key is not provided", 3, etcd.InvalidRequestError),
        ("etcdserver: duplicate key given in txn request", 3, etcd.InvalidRequestError),
        ("etcdserver: too many operations in txn request", 3, etcd.InvalidRequestError),
        ("etcdserver: lease already exists", 9, etcd.InvalidRequestError),
        ("etcdserver: some new argument check", 3, etcd.InvalidRequestError),
        ("etcdserver: request timed out", 14, etcd.StoreError),
    ],
)
def test_each_etcd_error_message_maps_onto_its_store_error(message, code, kind):
    error = store_error({"error": message, "message": message, "code": code}, compact_revision=4)
    assert type(error) is kind
    assert str(error) == message
    if kind is etcd.CompactedError:
        assert error.compact_revision == 4


def test_keys_and_values_travel_as_base64_and_integers_as_strings():
    assert b64(b"\x00\xffa/1") == "AP9hLzE="
    assert unb64(b64(b"\x00\xffa/1")) == b"\x00\xffa/1"
    assert unb64(None) == unb64("") == b""
    assert (integer("9223372036854775807"), integer(7), integer(None), integer("")) == (
        2**63 - 1,
        7,
        0,
        0,
    )


def test_the_translation_puts_keys_under_the_prefix_and_shifts_revisions_by_the_base():
    t = Translation(prefix=b"p/", base=41)
    assert t.key(b"a") == b"p/a"
    assert t.key(b"") == b"", "an empty key stays empty, for etcd itself to reject"
    assert t.range_end(None) is None
    assert t.range_end(b"\0") == b"p0", "every key from: up to the end of the prefix"
    assert t.range_end(b"b") == b"p/b"
    assert t.unkey(b"p/a/1") == b"a/1"
    with pytest.raises(etcd.StoreError):
        t.unkey(b"q/a")
    assert [t.to_etcd(r) for r in (1, 2, 0, -1)] == [41, 42, 0, -1]
    assert [t.from_etcd(r) for r in (41, 42, 0)] == [1, 2, 0]


def test_an_etcd_url_names_an_adapter_without_advance_time():
    adapter = EtcdAdapter("etcd+http://127.0.0.1:2379/")
    assert adapter.url == "http://127.0.0.1:2379"
    assert adapter.name == "etcd+http://127.0.0.1:2379"
    assert adapter.capabilities == CAPABILITIES
    assert "advance-time" not in adapter.capabilities
    factory = adapter.store_factory()
    assert isinstance(factory, StoreFactory) and factory.capabilities == CAPABILITIES


def test_an_unreachable_etcd_is_reported_as_unavailable():
    with pytest.raises(EtcdUnavailableError, match="etcd unavailable"):
        EtcdStore("http://127.0.0.1:9", timeout=1.0)


def test_the_machine_never_advances_time_and_grants_long_leases_without_advance_time():
    from kubeprop.reference.store import Store

    assert contract.make_machine(StoreFactory("http://127.0.0.1:9")).capabilities == CAPABILITIES
    assert "advance-time" in contract.make_machine(Store).capabilities
    granted: list[int] = []

    class RealTimeStore(Store):
        def advance(self, seconds):
            raise AssertionError("the machine advanced time on a store without advance-time")

        def lease_grant(self, ttl, id=0):
            granted.append(ttl)
            return super().lease_grant(ttl, id)

    run_state_machine_as_test(
        contract.make_machine(RealTimeStore, CAPABILITIES),
        settings=settings(max_examples=30, stateful_step_count=20, database=None, deadline=None),
    )
    assert granted, "no lease was granted in 30 examples"
    assert min(granted) >= contract.REAL_TIME_TTL_SCALE


def test_lease_expiry_is_skipped_with_the_reason_for_a_sut_on_real_time():
    with pytest.raises(pytest.skip.Exception, match="lacks advance-time"):
        contract.test_leases_expire_when_time_advances(EtcdAdapter("http://127.0.0.1:9"), None)


def test_lease_expiry_runs_on_the_reference():
    from kubeprop.reference.store import Store

    contract.test_leases_expire_when_time_advances(ReferenceAdapter(), Store)


# ---- against a real etcd -------------------------------------------------------------------


def test_a_fresh_store_starts_at_revision_one_and_counts_its_own_writes(store):
    assert (store.revision, store.compact_revision) == (1, 0)
    put = store.put(b"a", b"x")
    assert put.header.revision == 2
    again = store.put(b"a", b"y", prev_kv=True)
    assert again.prev_kv == etcd.KeyValue(b"a", b"x", 2, 2, 1, 0)
    assert store.range(b"a").kvs == (etcd.KeyValue(b"a", b"y", 2, 3, 2, 0),)
    assert store.range(b"a", revision=2).kvs == (etcd.KeyValue(b"a", b"x", 2, 2, 1, 0),)


def test_compare_operands_on_create_and_mod_revisions_are_translated_version_is_not(store):
    store.put(b"a", b"x")  # revision 2
    store.put(b"a", b"y")  # revision 3
    holds = [
        etcd.Compare(b"a", CREATE, EQUAL, 2),
        etcd.Compare(b"a", MOD, EQUAL, 3),
        etcd.Compare(b"a", VERSION, EQUAL, 2),
        etcd.Compare(b"b", CREATE, EQUAL, 0),  # absent
    ]
    assert store.txn(holds, [etcd.PutRequest(b"b", b"z")]).succeeded
    fails = [etcd.Compare(b"a", MOD, EQUAL, 2)]
    answer = store.txn(fails, [], [etcd.RangeRequest(b"b")])
    assert not answer.succeeded
    assert answer.responses[0].kvs == (etcd.KeyValue(b"b", b"z", 4, 4, 1, 0),)


def test_etcd_errors_come_back_as_store_errors(store):
    store.put(b"a", b"x")
    store.put(b"a", b"y")
    with pytest.raises(etcd.FutureRevisionError):
        store.range(b"a", revision=9)
    store.compact(3)
    assert store.compact_revision == 3
    with pytest.raises(etcd.CompactedError) as compacted:
        store.range(b"a", revision=2)
    assert compacted.value.compact_revision == 3
    with pytest.raises(etcd.CompactedError):
        store.compact(3)
    with pytest.raises(etcd.InvalidRequestError, match="key is not provided"):
        store.put(b"", b"x")
    with pytest.raises(etcd.InvalidRequestError, match="duplicate key"):
        store.txn([], [etcd.PutRequest(b"b", b"1"), etcd.PutRequest(b"b", b"2")])
    with pytest.raises(etcd.InvalidRequestError, match="too many operations"):
        store.txn([], [etcd.RangeRequest(b"k%d" % i) for i in range(129)])
    with pytest.raises(etcd.LeaseNotFoundError):
        store.put(b"b", b"x", lease=999)
    assert store.revision == 3, "no rejected request wrote"


def test_leases_are_etcds_own_and_unknown_ones_are_not_found(store):
    granted = store.lease_grant(600)
    assert granted.id != 0 and granted.ttl == 600
    store.put(b"b", b"x", lease=granted.id)
    store.put(b"a", b"x", lease=granted.id)
    ttl = store.lease_time_to_live(granted.id, keys=True)
    assert ttl.granted_ttl == 600 and 598 <= ttl.ttl <= 600
    assert ttl.keys == (b"a", b"b"), "etcd's keys are unordered: the adapter sorts them"
    assert store.lease_keepalive(granted.id) == 600
    with pytest.raises(etcd.LeaseNotFoundError):
        store.lease_keepalive(424242)  # etcd answers TTL 0
    with pytest.raises(etcd.InvalidRequestError, match="lease already exists"):
        store.lease_grant(600, granted.id)
    store.lease_revoke(granted.id)
    assert store.range(b"\0", b"\0").kvs == ()
    assert store.lease_time_to_live(granted.id).ttl == -1


def test_close_revokes_the_stores_leases(etcd_server):
    store = EtcdStore(etcd_server.url)
    lease = store.lease_grant(600, 31337).id
    store.close()
    other = EtcdStore(etcd_server.url)
    try:
        assert other.lease_grant(600, 31337).id == lease, "the id is free again"
    finally:
        other.close()


def test_a_watch_delivers_every_acknowledged_write_at_the_next_poll(store):
    store.put(b"a", b"x")
    watcher = store.watch(b"\0", b"\0", start_revision=1, prev_kv=True)
    store.put(b"a", b"y")
    store.delete_range(b"a")
    events = [event for response in watcher.poll() for event in response.events]
    assert [(e.type, e.kv.key, e.kv.mod_revision) for e in events] == [
        (etcd.EventType.PUT, b"a", 2),
        (etcd.EventType.PUT, b"a", 3),
        (etcd.EventType.DELETE, b"a", 4),
    ]
    assert events[2].prev_kv == etcd.KeyValue(b"a", b"y", 2, 3, 2, 0)
    assert watcher.poll() == [], "etcd's own progress notifications were not asked for"
    watcher.cancel()
    assert watcher.poll() == []


def test_request_progress_delivers_one_notification_at_the_current_revision(store):
    watcher = store.watch(b"a")
    store.put(b"b", b"x")  # outside the watch, but it moves the revision
    watcher.request_progress()
    (progress,) = watcher.poll()
    assert progress.progress and not progress.events
    assert progress.header.revision == 2
    watcher.cancel()


def test_a_watch_below_the_compaction_is_canceled_with_the_compact_revision(store):
    store.put(b"a", b"x")
    store.put(b"a", b"y")
    store.compact(3)
    (canceled,) = store.watch(b"a", start_revision=2).poll()
    assert canceled.canceled and canceled.compact_revision == 3 and not canceled.events


def test_several_threads_may_share_one_store(store):
    def writer(name: bytes):
        for i in range(10):
            store.put(name, b"%d" % i)

    threads = [threading.Thread(target=writer, args=(b"t%d" % n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    kvs = store.range(b"\0", b"\0").kvs
    assert [(kv.key, kv.version) for kv in kvs] == [(b"t%d" % n, 10) for n in range(4)]
    assert store.revision == 41


def test_without_catch_up_a_reader_is_woken_by_notify_and_polls_without_waiting(etcd_server):
    store = EtcdStore(etcd_server.url, catch_up=False)
    try:
        watcher = store.watch(b"a")
        woken = threading.Event()
        watcher.notify = woken.set
        store.put(b"a", b"x")
        assert woken.wait(timeout=5), "notify was not called for an event"
        events = [event for response in watcher.poll() for event in response.events]
        assert [(e.kv.key, e.kv.value, e.kv.mod_revision) for e in events] == [(b"a", b"x", 2)]
        assert watcher.poll() == []
    finally:
        store.close()


def test_etcd_raises_a_short_ttl_to_its_minimum_and_refuses_a_huge_one_as_the_reference(store):
    from kubeprop.reference.store import MAX_LEASE_TTL, Store

    reference = Store()
    assert store.lease_grant(1).ttl == reference.lease_grant(1).ttl == 2
    for sut in (store, reference):
        with pytest.raises(etcd.InvalidRequestError, match="too large lease TTL"):
            sut.lease_grant(MAX_LEASE_TTL + 1)
