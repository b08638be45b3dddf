"""A real etcd against the reference store: the same requests, the same answers; and durability.

Contract: these tests start their own etcd (``kubeprop.conformance.etcd_server``;
skipped, with the install command, when etcd is absent) and check two things
(against any SUT but the reference, only the differential one runs, on the SUT's
own store: the others check kubeprop's model against etcd):

- Differential: Hypothesis draws sequences of requests (puts, deletes, ranges at
  past, current, compacted and future revisions, txns, compactions, watches from
  past revisions) and runs each on a fresh reference ``Store`` and on a fresh
  ``EtcdStore`` over the real etcd. Every answer must be the same after
  normalisation (an error is compared by its kind, not by its message; a watch by
  the events it delivered and how it ended, not by how etcd batched them into
  responses; an event's prev_kv only where its previous revision is not
  compacted, as etcd's API reference promises no more): values, revisions, versions, txn outcomes, watch events and
  compaction errors. Leases are left out: their ids are etcd's own choice, and
  the contract machine (test_store_contract.py) checks them against the model.
- Crash: a writer thread puts keys while etcd is killed with SIGKILL; after a
  restart on the same data directory, every put etcd acknowledged is there with
  its value and its mod revision (etcd acknowledges a write only once it is in
  its fsynced write-ahead log: https://etcd.io/docs/v3.4/learning/api_guarantees/,
  "Durability").
"""

from __future__ import annotations

import threading
import time

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeprop.conformance import profiles
from kubeprop.conformance.adapters.etcd import EtcdStore, StoreFactory
from kubeprop.conformance.etcd_server import EtcdProcess, etcd_fixture
from kubeprop.conformance.plugin import require
from kubeprop.conformance.strategies import store as strategies
from kubeprop.reference.store import Store
from kubeprop.spec import etcd

etcd_server = etcd_fixture(scope="module")

# (examples, longest sequence) of the differential check per profile.
DIFFERENTIAL = {"ci": (40, 12), "thorough": (200, 25)}
WRITES_BEFORE_KILL = 30  # acknowledged puts at least, before the kill -9


# ---- the requests of a sequence ------------------------------------------------------------


backs = st.none() | st.integers(-1, 6) | st.just(99)  # None: current; 99: from revision 1
store_requests = st.one_of(
    st.tuples(st.just("put"), strategies.keys, strategies.values, st.booleans()),
    st.tuples(st.just("delete_range"), strategies.ranges(), st.booleans()),
    st.tuples(
        st.just("range"),
        strategies.ranges(),
        backs,
        st.sampled_from([0, 0, 1, 2]),
        st.booleans(),
        st.booleans(),
    ),
    st.tuples(
        st.just("txn"),
        st.lists(strategies.compares(), max_size=2).map(tuple),
        strategies.txn_branches(),
        strategies.txn_branches(),
    ),
    st.tuples(st.just("compact"), st.integers(-1, 6)),
    st.tuples(st.just("watch"), strategies.ranges(), backs, st.booleans()),
)


def _revision(store, back: int | None) -> int:
    return 0 if back is None else max(1, store.revision + 1 - back)


def run(store, sequence) -> tuple[list, list]:
    """Send ``sequence`` to ``store``: (normalised answers, normalised watch streams)."""
    answers, watches = [], []
    for request in sequence:
        kind, *arguments = request
        if kind == "put":
            key, value, prev_kv = arguments
            answers.append(_outcome(store.put, key, value, prev_kv=prev_kv))
        elif kind == "delete_range":
            (key, range_end), prev_kv = arguments
            answers.append(_outcome(store.delete_range, key, range_end, prev_kv=prev_kv))
        elif kind == "range":
            (key, range_end), back, limit, count_only, keys_only = arguments
            answers.append(
                _outcome(
                    store.range,
                    key,
                    range_end,
                    revision=_revision(store, back),
                    limit=limit,
                    count_only=count_only,
                    keys_only=keys_only,
                )
            )
        elif kind == "txn":
            answers.append(_outcome(store.txn, *arguments))
        elif kind == "compact":
            answers.append(_outcome(store.compact, _revision(store, arguments[0])))
        else:
            (key, range_end), back, prev_kv = arguments
            start = _revision(store, back)
            watches.append(store.watch(key, range_end, start_revision=start, prev_kv=prev_kv))
        answers.append(("revision", store.revision, store.compact_revision))
    streams = [_stream(watcher.poll(), store.compact_revision) for watcher in watches]
    for watcher in watches:
        watcher.cancel()
    return answers, streams


def _outcome(function, *args, **kwargs) -> object:
    """A response, or the kind of StoreError raised (etcd's messages carry a prefix)."""
    try:
        return function(*args, **kwargs)
    except etcd.StoreError as error:
        return ("error", type(error).__name__)


def _stream(responses: list[etcd.WatchResponse], compact_revision: int) -> tuple:
    """What a watch delivered: its events in order, and whether (and why) it was canceled.
    Header revisions of watch responses are left out: etcd's say when it sent a batch. The
    prev_kv of an event whose previous revision is compacted is left out too: etcd sends
    none (difference 2 of spec/store.md §9), the reference sends it."""
    events = tuple(
        attrs.evolve(event, prev_kv=None) if event.kv.mod_revision - 1 < compact_revision else event
        for response in responses
        for event in response.events
    )
    ended = tuple((r.canceled, r.compact_revision) for r in responses if r.canceled)
    return events, ended


def _differences(got: list, want: list) -> str:
    for index, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return f"answer #{index}: the store {a!r}\n             the reference {b!r}"
    return f"{len(got)} answers from the store, {len(want)} from the reference"


# ---- the tests -------------------------------------------------------------------------------


@pytest.fixture
def compared(sut, request):
    """The factory of the stores compared with the reference: the SUT's, when the SUT gives a
    store of its own; a real etcd this module starts, when the SUT is the reference."""
    if not sut.is_reference:
        require(sut, "store")
        yield sut.store_factory()
        return
    factory = StoreFactory(request.getfixturevalue("etcd_server").url)
    try:
        yield factory
    finally:
        factory.close()


def test_the_store_answers_every_request_as_the_reference_store_does(compared):
    """A real etcd (or the SUT's store) and the reference store: the same answers."""
    examples, longest = DIFFERENTIAL[profiles.CURRENT[0]]
    factory = compared

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(sequence=st.lists(store_requests, min_size=1, max_size=longest))
    def same_answers(sequence):
        got, got_streams = run(factory(), sequence)
        want, want_streams = run(Store(), sequence)
        assert got == want, _differences(got, want)
        for index, (a, b) in enumerate(zip(got_streams, want_streams)):
            assert a == b, f"watch #{index}: the store delivered {a!r}\n    the reference {b!r}"

    same_answers()


@pytest.mark.parametrize(
    ("mutant", "sequence"),
    [
        (
            "past-read-returns-current-value",
            [
                ("put", b"a", b"x", False),
                ("put", b"a", b"y", False),
                ("range", (b"a", None), 2, 0, False, False),
            ],
        ),
        (
            "watch-replays-newest-first",
            [
                ("put", b"a", b"x", False),
                ("put", b"b", b"y", False),
                ("watch", (b"a", b"\0"), 99, False),
            ],
        ),
    ],
)
def test_the_comparison_tells_a_store_that_answers_differently(mutant, sequence):
    """The normalisation keeps what matters: a broken store's answers differ (no etcd needed)."""
    from kubeprop.conformance.mutants.store import MUTANTS

    assert run(MUTANTS[mutant](), sequence) != run(Store(), sequence)


def test_etcd_leaves_out_prev_kv_when_the_previous_revision_is_compacted(etcd_server):
    """Difference 2 of spec/store.md §9, pinned: the reference sends it, etcd does not."""
    factory = StoreFactory(etcd_server.url)
    try:
        delivered = {}
        for store in (factory(), Store()):
            store.put(b"a", b"x")
            store.put(b"a", b"y")
            store.compact(3)
            watcher = store.watch(b"a", start_revision=3, prev_kv=True)
            (event,) = [e for response in watcher.poll() for e in response.events]
            delivered[type(store).__name__] = event.prev_kv
            watcher.cancel()
        assert delivered == {"EtcdStore": None, "Store": etcd.KeyValue(b"a", b"x", 2, 2, 1, 0)}
    finally:
        factory.close()


def test_etcd_cancels_a_watch_on_an_empty_range_at_once(etcd_server):
    """Difference 1 of spec/store.md §9, settled: etcd and the reference refuse it alike."""
    factory = StoreFactory(etcd_server.url)
    try:
        (canceled,) = factory().watch(b"b", b"a").poll()
        assert canceled.canceled and canceled.compact_revision == 0
        (refused,) = Store().watch(b"b", b"a").poll()
        assert refused.canceled and refused.compact_revision == 0
    finally:
        factory.close()


def test_a_fresh_etcd_store_looks_empty_at_revision_one_after_another_wrote(etcd_server):
    factory = StoreFactory(etcd_server.url)
    try:
        first = factory()
        first.put(b"a", b"x")
        first.compact(first.revision)
        second = factory()
        assert (second.revision, second.compact_revision) == (1, 0)
        assert second.range(b"\0", b"\0").kvs == ()
        assert second.put(b"a", b"y").header.revision == 2
        assert second.range(b"a", revision=1).kvs == ()  # revision 1 is readable, not compacted
    finally:
        factory.close()


@attrs.frozen
class Acknowledged:
    key: bytes
    value: bytes
    etcd_revision: int  # the put's mod revision, in etcd's own numbering


def _write_until_failure(store: EtcdStore, done: list[Acknowledged], stop: threading.Event):
    """Put k0, k1, ... until a put fails (etcd killed) or ``stop`` is set; record the acks."""
    index = 0
    while not stop.is_set():
        key, value = b"k%d" % index, b"v%d" % index
        try:
            response = store.put(key, value)
        except etcd.StoreError:
            return  # etcd is gone: this put's outcome is unknown
        done.append(Acknowledged(key, value, store.translation.to_etcd(response.header.revision)))
        index += 1


def test_every_acknowledged_write_survives_a_kill_9_of_etcd(tmp_path):
    from kubeprop.conformance.etcd_server import ETCD_INSTALL_HINT, etcd_binary

    if etcd_binary() is None:
        pytest.skip(f"etcd is not installed: {ETCD_INSTALL_HINT}")
    with EtcdProcess.start(tmp_path / "data") as server:
        store = EtcdStore(server.url, timeout=2.0)
        done: list[Acknowledged] = []
        stop = threading.Event()
        writer = threading.Thread(target=_write_until_failure, args=(store, done, stop))
        writer.start()
        deadline = time.monotonic() + 20
        while len(done) < WRITES_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()  # in the middle of the writer's stream of puts
        stop.set()
        writer.join(timeout=10)
        assert not writer.is_alive()
        assert len(done) >= WRITES_BEFORE_KILL, f"only {len(done)} puts before the kill"
        server.restart()
        after = EtcdStore(server.url, prefix=store.translation.prefix)
        stored = {kv.key: kv for kv in after.range(b"\0", b"\0").kvs}
        for ack in done:
            kv = stored.get(ack.key)
            assert kv is not None, f"acknowledged put {ack} lost after kill -9"
            assert kv.value == ack.value, f"{ack.key!r} holds {kv.value!r} after kill -9"
            # The reopened store counts from its own base: older revisions come out <= 0.
            etcd_revision = kv.mod_revision + after.translation.base - 1
            assert etcd_revision == ack.etcd_revision, (
                f"{ack.key!r} has mod revision {etcd_revision}, acknowledged at {ack.etcd_revision}"
            )
        attempted = {b"k%d" % i for i in range(len(done) + 1)}  # the acks and the one in flight
        assert set(stored) <= attempted, sorted(set(stored) - attempted)
