"""The store is linearizable: concurrent clients' histories pass the key-register checker.

Contract: each test records a history with
``kubeprop.conformance.checkers.linearizability.record`` (several client
threads, seeded requests: gets, puts, deletes and compare-and-swap txns on a
few keys) and judges it with ``check_store_history``: every key's history must
be linearizable against the sequential key model, and the revisions must follow
real time across keys (spec/store.md, "Linearizability"). An "unknown" verdict
(the search budget ran out) fails the test too: an undecided history proves
nothing.

- ``test_the_sut_store_is_linearizable_under_concurrent_clients`` runs on the
  store of whatever ``--sut`` names. A store that lives in this process (the
  reference ``Store`` and its subclasses, such as the store mutants, and a
  ``python:`` plug-in) is a plain object: the ``Store`` protocol does not ask for
  thread safety (the simulated cluster is single-threaded), and concurrent calls
  could interleave inside one request and corrupt it. Such a store is driven
  through ``SerializedStore``, which runs one request at a time under a lock, as
  one etcd member applies requests one at a time in its apply loop; the test
  then checks that its answers, in whatever order the threads reach the lock,
  form a linearizable history. A store that says it is thread-safe (a true
  ``thread_safe`` attribute) and a store behind a server (``etcd+http://``: the
  etcd adapter's ``EtcdStore``) are called concurrently as they are. Clients
  pause briefly after each request so that they take turns (``THINK``).
- ``test_a_real_etcd_is_linearizable_under_concurrent_clients`` starts etcd
  itself (``etcd_fixture``; skipped with the install command when etcd is
  absent) whatever ``--sut`` is; ``test_a_real_etcd_killed_mid_run_stays_linearizable``
  kills -9 its own etcd during a run and restarts it, so that the history holds
  unknown outcomes and refused requests.
- The suite proves it can fail. ``BROKEN_STORES`` are realistic broken stores,
  each a complete ``contracts.Store`` built on the reference: ``StaleReadStore``
  (current reads served from a snapshot that lags by two revisions) and
  ``LostUpdateStore`` (a thread-safe store whose txn checks and writes under two
  separate holds of its lock, so a concurrent write in between is lost: correct
  for one client, caught only under concurrency). The checker must flag both.
"""

from __future__ import annotations

import threading
import time

import attrs
import pytest

from kubeprop.conformance import report
from kubeprop.conformance.checkers.linearizability import (
    Cas,
    Get,
    Result,
    Workload,
    check_store_history,
    record,
)
from kubeprop.conformance.etcd_server import (
    ETCD_INSTALL_HINT,
    EtcdProcess,
    etcd_binary,
    etcd_fixture,
)
from kubeprop.conformance.report import InvariantViolation, check
from kubeprop.reference.store import Store
from kubeprop.spec import contracts
from kubeprop.spec import etcd as etcd_types

SEEDS = (0, 1, 2)
# A short think time after each request makes the clients take turns: without it, an
# in-process store answers so fast that each thread runs all its requests in one slice of
# the interpreter's lock, and the history is four sequential blocks.
THINK = 0.0005
WORKLOAD = Workload(clients=4, operations=50, pause=THINK)
# Compare-and-swap heavy, on one key: where a lost update shows.
SWAPS = Workload(clients=4, operations=40, keys=(b"lin/hot",), weights=(1, 1, 0, 6), pause=THINK)


def unknown_outcomes() -> tuple[type[BaseException], ...]:
    """The errors that leave an outcome unknown: transport errors, and the etcd adapter's
    "unavailable" error (a StoreError subclass) when that adapter is installed."""
    try:
        from kubeprop.conformance.adapters.etcd import EtcdUnavailableError
    except ImportError:
        return (OSError,)
    return (OSError, EtcdUnavailableError)


def judge(result: Result) -> None:
    """Fail, naming the invariant, unless the history is linearizable and the revisions
    follow real time."""
    check("STORE-REVISION-REAL-TIME", result)
    check("STORE-LINEARIZABLE", result)


def assert_interleaved(history) -> None:
    """The clients took turns (in call order, the client changes often): else the run
    tested nothing concurrent."""
    switches = sum(1 for a, b in zip(history, history[1:]) if a.client != b.client)
    assert switches >= len(history) // 4, f"the clients took turns only {switches} times"


def assert_mostly_answered(history, at_least: float = 0.9) -> None:
    """A history of errors and timeouts is trivially linearizable: demand real answers."""
    answered = sum(1 for op in history if not op.unknown and not op.failed)
    assert answered >= at_least * len(history), (
        f"only {answered} of {len(history)} requests were answered: "
        f"{[str(op) for op in history if op.unknown or op.failed][:5]}"
    )


class SerializedStore:
    """A store called by one thread at a time: every method runs under one lock (see the
    module's contract for why the reference needs it). Properties are read under it too."""

    def __init__(self, store: object) -> None:
        self._store = store
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        with self._lock:
            attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        def serialized(*args, **kwargs):
            with self._lock:
                return attribute(*args, **kwargs)

        return serialized


IN_PROCESS = ("reference", "python:")  # SUT names whose stores are plain Python objects


def concurrent(store: object, sut: object = None) -> object:
    """``store`` made safe for the recorder's threads if it lives in this process (the
    reference, a plug-in, a subclass of the reference) and does not say it is thread-safe:
    see the module's contract."""
    if getattr(store, "thread_safe", False):
        return store
    in_process = str(getattr(sut, "name", "")).startswith(IN_PROCESS)
    return SerializedStore(store) if in_process or isinstance(store, Store) else store


# ---- broken stores: the checker must flag them -------------------------------------------------


class StaleReadStore(Store):
    """A reference store whose current reads are served from a snapshot ``lag`` revisions old
    (as a cache that lags its source serves a "current" read: kubernetes/kubernetes#59848,
    https://github.com/kubernetes/kubernetes/issues/59848). Reads at an explicit revision,
    and the reads inside a txn, are right. Single-threaded, as the reference."""

    lag = 2  # revisions the snapshot trails the store by

    def range(self, key, range_end=None, *, revision=0, **options):
        if revision == 0:
            revision = max(1, self.compact_revision, self.revision - self.lag)
        return super().range(key, range_end, revision=revision, **options)


class ThreadSafeStore(Store):
    """The reference store with every request under one lock, so several threads may call
    it at once (``thread_safe``: the suite calls it concurrently as it is)."""

    thread_safe = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._request_lock = threading.RLock()

    def _locked(name: str):  # builds the methods below (not a method itself)
        def method(self, *args, **kwargs):
            with self._request_lock:
                return getattr(Store, name)(self, *args, **kwargs)

        method.__name__ = name
        return method

    put = _locked("put")
    range = _locked("range")
    delete_range = _locked("delete_range")
    txn = _locked("txn")
    compact = _locked("compact")
    watch = _locked("watch")
    lease_grant = _locked("lease_grant")
    lease_revoke = _locked("lease_revoke")
    lease_keepalive = _locked("lease_keepalive")
    lease_time_to_live = _locked("lease_time_to_live")
    advance = _locked("advance")
    del _locked


class LostUpdateStore(ThreadSafeStore):
    """A txn done as "check, then write" under two separate holds of the lock: a write by
    another client between the check and the write is overwritten (a lost update). Correct
    for one client at a time, so the sequential contract cannot see it; only concurrent
    clients can."""

    window = 0.002  # seconds between the check and the write

    def txn(self, compare, success, failure=()):
        with self._request_lock:
            decided = Store.txn(self, compare, [], [])  # evaluates the compares, writes nothing
        time.sleep(self.window)
        with self._request_lock:
            branch = success if decided.succeeded else failure
            answer = Store.txn(self, [], branch, [])
        return attrs.evolve(answer, succeeded=decided.succeeded)


class WriteHeaderOneBehindStore(Store):
    """A put answers with the revision before its own in the header (an off-by-one when a
    member reports its applied index before applying): each key's values stay right, but
    the revisions a client sees no longer follow real time."""

    def put(self, key, value, **options):
        answer = super().put(key, value, **options)
        header = attrs.evolve(answer.header, revision=answer.header.revision - 1)
        return attrs.evolve(answer, header=header)


# The broken stores of this module, by name (each a complete contracts.Store), and the
# invariant each breaks.
BROKEN_STORES = {
    "stale-current-read": StaleReadStore,
    "lost-update-txn": LostUpdateStore,
    "write-header-one-behind": WriteHeaderOneBehindStore,
}
BREAKS = {
    "stale-current-read": "STORE-LINEARIZABLE",
    "lost-update-txn": "STORE-LINEARIZABLE",
    "write-header-one-behind": "STORE-REVISION-REAL-TIME",
}


# ---- the SUT ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_the_sut_store_is_linearizable_under_concurrent_clients(sut, store_factory, seed):
    history = record(
        concurrent(store_factory(), sut),
        attrs.evolve(WORKLOAD, seed=seed),
        unknown=unknown_outcomes(),
    )
    assert len(history) == WORKLOAD.clients * WORKLOAD.operations
    assert_interleaved(history)
    assert_mostly_answered(history)
    judge(check_store_history(history))


def test_the_sut_store_is_linearizable_under_contended_compare_and_swap(sut, store_factory):
    history = record(concurrent(store_factory(), sut), SWAPS, unknown=unknown_outcomes())
    assert_mostly_answered(history)
    swaps = [op for op in history if isinstance(op.input, Cas) and not op.unknown]
    assert any(op.output.succeeded for op in swaps), "no swap succeeded: the test is vacuous"
    judge(check_store_history(history))


# ---- a real etcd -----------------------------------------------------------------------------

etcd = etcd_fixture(scope="module")


def test_a_real_etcd_is_linearizable_under_concurrent_clients(etcd):
    adapter = pytest.importorskip(
        "kubeprop.conformance.adapters.etcd", reason="the etcd adapter is not installed"
    )
    store = adapter.EtcdStore(etcd.url, timeout=5.0)
    try:
        for workload in (WORKLOAD, SWAPS):
            history = record(store, workload, unknown=unknown_outcomes())
            assert_mostly_answered(history)
            judge(check_store_history(history))
    finally:
        store.close()


def test_a_real_etcd_killed_mid_run_stays_linearizable():
    """kill -9 etcd while the clients write, restart it, go on: the requests in flight at the
    kill have unknown outcomes, those refused while it was down failed, and the whole
    history, before and after the crash, is still linearizable (every acknowledged write
    survived the crash, and no request took effect twice). Its own etcd, so that no other
    test sees the crash."""
    if etcd_binary() is None:
        pytest.skip(f"etcd is not installed: {ETCD_INSTALL_HINT}")
    adapter = pytest.importorskip(
        "kubeprop.conformance.adapters.etcd", reason="the etcd adapter is not installed"
    )
    with EtcdProcess.start() as etcd:
        store = adapter.EtcdStore(etcd.url, timeout=2.0)
        nemesis = threading.Timer(0.15, etcd.kill)
        try:
            nemesis.start()
            crashed = record(
                store,
                attrs.evolve(WORKLOAD, operations=60, pause=0.005, seed=10),
                unknown=unknown_outcomes(),
            )
            nemesis.join()
            etcd.restart()
            after = record(store, attrs.evolve(WORKLOAD, seed=11), unknown=unknown_outcomes())
        finally:
            nemesis.cancel()
            store.close()
    assert any(op.unknown or op.failed for op in crashed), "the kill did not hit the run"
    assert sum(1 for op in crashed if not op.unknown and not op.failed) > 10, "killed too early"
    assert_mostly_answered(after)
    judge(check_store_history([*crashed, *after]))


# ---- the checker catches broken stores -------------------------------------------------------


def test_the_broken_stores_are_complete_stores():
    for broken in BROKEN_STORES.values():
        assert isinstance(broken(), contracts.Store), broken


def test_a_thread_safe_store_is_called_concurrently_as_it_is_and_passes():
    store = ThreadSafeStore()
    assert concurrent(store) is store
    assert isinstance(concurrent(Store()), SerializedStore)
    history = record(store, WORKLOAD)
    assert_interleaved(history)
    judge(check_store_history(history))


def test_current_reads_from_a_lagging_snapshot_are_flagged_for_a_single_client():
    history = record(StaleReadStore(), Workload(clients=1, operations=60, seed=0))
    result = check_store_history(history)
    assert result.violation is not None, "a stale read went unnoticed"
    assert any(isinstance(op.input, Get) for op in result.violation.pending)


def test_current_reads_from_a_lagging_snapshot_are_flagged_under_concurrent_clients():
    result = check_store_history(record(concurrent(StaleReadStore()), WORKLOAD))
    assert result.violation is not None, "a stale read went unnoticed"


def test_a_lost_update_looks_correct_to_a_single_client():
    store = LostUpdateStore()
    store.window = 0.0
    judge(check_store_history(record(store, attrs.evolve(SWAPS, clients=1))))


def test_a_lost_update_is_flagged_under_concurrent_compare_and_swap():
    # Whether two swaps meet in the window depends on thread timing; with four clients
    # swapping one key it happens in nearly every run, and one of three seeds must show it.
    verdicts = []
    for seed in SEEDS:
        result = check_store_history(record(LostUpdateStore(), attrs.evolve(SWAPS, seed=seed)))
        verdicts.append(result.verdict)
        if result.violation is not None:
            assert result.violation.partition == b"lin/hot"
            assert any(isinstance(op.input, Cas) for op in result.violation.pending)
            return
    pytest.fail(f"a lost update went unnoticed in every run: {verdicts}")


def test_every_broken_store_is_caught_by_the_invariant_it_breaks():
    """The broken stores this module ships, each caught, by the invariant it breaks, when
    driven as the suite drives a SUT."""
    caught = {}
    for name, broken in BROKEN_STORES.items():
        for seed in SEEDS:
            history = record(concurrent(broken()), attrs.evolve(SWAPS, seed=seed))
            try:
                with report.isolated():  # failed on purpose: not the SUT's failures
                    judge(check_store_history(history))
            except InvariantViolation as violation:
                caught[name] = violation.invariant_id
                break
    assert caught == BREAKS


def test_a_definite_error_is_not_a_violation_but_an_unanswered_history_fails():
    class Refusing:
        def __getattr__(self, name):
            def refuse(*args, **kwargs):
                raise etcd_types.StoreError("etcdserver: too many requests")

            return refuse

    history = record(Refusing(), Workload(clients=2, operations=5))
    assert check_store_history(history).ok  # nothing happened, and nothing was claimed
    with pytest.raises(AssertionError, match="only 0 of 10 requests were answered"):
        assert_mostly_answered(history)
