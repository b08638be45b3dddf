"""The store contract suite: a Hypothesis state machine drives a store and the sequential model.

Contract: ``make_machine(factory)`` builds a ``RuleBasedStateMachine`` class whose
SUT is ``factory()`` (any ``kubeprop.spec.contracts.Store``: the reference, a
real etcd's adapter, or a mutant). Every rule sends one request to the SUT and
the same op to ``kubeprop.conformance.models.store``, then evaluates the store
invariants that apply through ``kubeprop.conformance.report.check``; after every
step the whole key space is compared with the model. Watches are polled by a
rule and in teardown, and their streams checked against the model's change log.
A failure is an ``InvariantViolation`` naming the invariant, and Hypothesis
prints the shrunk steps.

What the machine exercises follows the SUT's capabilities (``make_machine``'s
``capabilities``, else the factory's ``capabilities`` attribute, else all of
them): without "advance-time" (a real etcd, whose clock is real time) the
``advance`` rule never runs, leases are granted with TTLs of minutes (their
requested TTL times ``REAL_TIME_TTL_SCALE``) so that none expires while an
example runs, and a lease's time-to-live may be below the model's by the whole
seconds of real time elapsed since the example began. Lease expiry itself is
then checked by no test of this SUT: ``test_leases_expire_when_time_advances``
is skipped with the reason. For a grant with id 0 the store picks the id (the
reference picks 1, 2, ...; etcd a random one): the model adopts the id picked,
so a picked id that is 0 or already in use still fails STORE-LEASE-TTL.

EMPTY-RANGE WATCHES: a watch whose range is empty (``key >= range_end``) is
created canceled, with no compact revision, as etcd does ("mvcc: watcher range
is empty"); STORE-WATCH-COMPACTED is told the range so it does not expect one.
PREV_KV AND COMPACTION: an event's prev_kv may be missing where its previous
revision is compacted (etcd's documented behaviour); the watch checks are given
the model's compacted revision to allow exactly that.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

import attrs
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kubeprop.conformance.adapters import Unsupported
from kubeprop.conformance.checkers.watch import WatchLog
from kubeprop.conformance.models import store as model
from kubeprop.conformance.report import check
from kubeprop.conformance.strategies import store as strategies
from kubeprop.spec import etcd

MAX_WATCHES = 4
UNKNOWN_LEASE = 999  # never granted by the machine
FROM_THE_START = 99  # a "back" that reaches revision 1 (compacted, once anything is)
# Without "advance-time", leases are granted for this many times their drawn TTL (minutes):
# real time passes during an example, and no lease may expire behind the model's back.
REAL_TIME_TTL_SCALE = 300
ALL_CAPABILITIES = frozenset({"store", "advance-time", "compact", "leases"})


def call(function: Callable, *args, **kwargs) -> object:
    """The answer of a store call: its response, or the StoreError it raised."""
    try:
        return function(*args, **kwargs)
    except etcd.StoreError as error:
        return error


def check_watch(log: WatchLog, changes, compact_revision: int = 0) -> None:
    """Every watch guarantee, on the whole stream so far (``compact_revision``: the
    store's compacted revision now, below which an event may lack its prev_kv)."""
    stream = log.stream
    check(
        "STORE-WATCH-COMPACTED",
        log.requested_start,
        log.compact_at_open,
        stream,
        log.key,
        log.range_end,
    )
    check("STORE-WATCH-ORDERED", stream)
    check("STORE-WATCH-UNIQUE", stream)
    check("STORE-WATCH-BOOKMARKABLE", stream)
    check("STORE-WATCH-ATOMIC", stream, changes, log.key, log.range_end)
    if log.resumed_from is not None:
        first, first_start = log.resumed_from
        check(
            "STORE-WATCH-RESUMABLE",
            first,
            stream,
            log.start,
            changes,
            log.key,
            log.range_end,
            first_start,
            log.prev_kv,
            compact_revision,
        )
    check(
        "STORE-WATCH-RELIABLE",
        stream,
        changes,
        log.key,
        log.range_end,
        log.start,
        log.prev_kv,
        compact_revision,
    )


def _keys_of(op: object) -> list[bytes]:
    if isinstance(op, model.Txn):
        return [c.key for c in op.compare] + [o.key for o in op.success + op.failure]
    return [op.key]


class StoreMachine(RuleBasedStateMachine):
    """Requests, time and watches against one store, checked against the model."""

    factory: Callable[[], object] | None = None  # set by make_machine
    capabilities: frozenset[str] = ALL_CAPABILITIES  # set by make_machine

    def __init__(self) -> None:
        super().__init__()
        self.store = self.factory()
        # Whether the store's time is simulated (advance) or real (leases then get long TTLs).
        self.advance_time = "advance-time" in self.capabilities
        self.started = time.monotonic()  # real time of the example's start (TTL slack)
        self.model = model.init(getattr(self.store, "clock", 0.0))
        self.watches: list[WatchLog] = []  # every watch opened, open or not
        self.granted: list[int] = []  # lease ids granted so far (some expired since)
        self.last_write: tuple[int, int, int] | None = (
            None  # (before, after, committed) of the last request
        )

    # ---- plumbing ---------------------------------------------------------------------------

    def _send(self, op: object, function: Callable, *args, **kwargs):
        """Run ``op`` on the model and the SUT; check the revision rules every request obeys."""
        model_before = self.model
        expected, self.model = model.step(model_before, op)
        before = self.store.revision
        outcome = call(function, *args, **kwargs)
        after = self.store.revision
        header = getattr(getattr(outcome, "header", None), "revision", None)
        check("STORE-REVISION-MONOTONIC", before, after, header)
        if isinstance(
            op, model.Txn | etcd.RangeRequest | etcd.PutRequest | etcd.DeleteRangeRequest
        ):
            check("STORE-EMPTY-KEY", _keys_of(op), outcome, before, after)
        committed = len(self.model.changes) - len(model_before.changes)
        self.last_write = (before, after, committed)  # checked after the rule's own checks
        return model_before, expected, outcome, before

    def _all_kvs(self) -> tuple[etcd.KeyValue, ...]:
        return self.store.range(b"\0", b"\0").kvs

    def _lease_id(self, choice: int) -> int:
        """0: no lease; 1-3: a lease granted earlier (maybe expired since); 4: one never granted."""
        if choice >= 4:
            return UNKNOWN_LEASE
        if choice == 0 or not self.granted:
            return 0
        return self.granted[-choice % len(self.granted)]

    def _revision(self, back: int) -> int:
        """A revision ``back`` steps below the next one (may be compacted or in the future)."""
        return max(1, self.model.revision + 1 - back)

    # ---- a start that exercises something -----------------------------------------------

    @initialize(
        puts=st.lists(st.tuples(strategies.keys, strategies.values), min_size=1, max_size=3),
        prev_kv=st.booleans(),
    )
    def seed(self, puts, prev_kv):
        """Put a few keys, then watch every key from the first put (a replay)."""
        for key, value in puts:
            self.put(key, value, 0, False)
        self._open_watch(b"\0", b"\0", 2, prev_kv, False, resumed_from=None)

    # ---- key-value requests ----------------------------------------------------------------

    @rule(
        key=strategies.keys | st.just(b""),
        value=strategies.values,
        lease=st.sampled_from([0, 0, 0, 1, 2, 4]),
        prev_kv=st.booleans(),
    )
    def put(self, key, value, lease, prev_kv):
        lease = self._lease_id(lease)
        op = etcd.PutRequest(key=key, value=value, lease=lease, prev_kv=prev_kv)
        before_state, _, outcome, _ = self._send(
            op, self.store.put, key, value, lease=lease, prev_kv=prev_kv
        )
        check("STORE-PUT-PREV-KV", op, outcome, before_state.data.get(key))

    @rule(span=strategies.ranges(), prev_kv=st.booleans())
    def delete_range(self, span, prev_kv):
        key, range_end = span
        op = etcd.DeleteRangeRequest(key=key, range_end=range_end, prev_kv=prev_kv)
        before_state, _, outcome, _ = self._send(
            op, self.store.delete_range, key, range_end, prev_kv=prev_kv
        )
        check("STORE-DELETE-PREV-KV", op, outcome, before_state.kvs(key, range_end))

    @rule(
        span=strategies.ranges(),
        back=st.none() | st.integers(-1, 6) | st.just(FROM_THE_START),
        limit=st.sampled_from([0, 0, 1, 2]),
        count_only=st.booleans(),
        keys_only=st.booleans(),
    )
    def range(self, span, back, limit, count_only, keys_only):
        key, range_end = span
        revision = 0 if back is None else self._revision(back)
        op = etcd.RangeRequest(key, range_end, revision, limit, count_only, keys_only)
        state, expected, outcome, before = self._send(
            op,
            self.store.range,
            key,
            range_end,
            revision=revision,
            limit=limit,
            count_only=count_only,
            keys_only=keys_only,
        )
        check("STORE-READ-NO-REVISION", before, self.store.revision, outcome)
        check("STORE-FUTURE-REVISION", revision, before, outcome)
        check("STORE-COMPACTED-READ", revision, state.compact_revision, outcome)
        check("STORE-RANGE-LIMIT-COUNT", op, outcome)
        if revision and not isinstance(expected, etcd.StoreError):
            check("STORE-RANGE-AT-REVISION", revision, outcome, expected.kvs)
        check("STORE-RANGE-MATCHES-MODEL", outcome, expected)

    @rule(
        compare=st.lists(strategies.compares(), max_size=2).map(tuple),
        success=strategies.txn_branches(st.sampled_from([0, 0, 1, 4])),
        failure=strategies.txn_branches(st.sampled_from([0, 0, 1, 4])),
    )
    def txn(self, compare, success, failure):
        success = tuple(self._with_lease(op) for op in success)
        failure = tuple(self._with_lease(op) for op in failure)
        op = model.Txn(compare, success, failure)
        state, expected, outcome, before = self._send(op, self.store.txn, compare, success, failure)
        observed = self._all_kvs()
        check("STORE-TXN-DUPLICATE-KEY", success, failure, outcome, before, self.store.revision)
        check("STORE-TXN-COMPARE", compare, state.data, outcome, (len(success), len(failure)))
        events = self.model.changes[-1][1] if self.model.revision > state.revision else ()
        check("STORE-TXN-ONE-REVISION", before, outcome, events, {kv.key: kv for kv in observed})
        check("STORE-TXN-ATOMIC", observed, tuple(self.model.kvs(b"\0", b"\0")), outcome)
        if isinstance(outcome, etcd.TxnResponse) and isinstance(expected, etcd.TxnResponse):
            for got, want in zip(outcome.responses, expected.responses):
                if isinstance(want, etcd.RangeResponse):
                    check("STORE-RANGE-MATCHES-MODEL", got, want)

    def _with_lease(self, op):
        if isinstance(op, etcd.PutRequest):
            return etcd.PutRequest(op.key, op.value, self._lease_id(op.lease), op.prev_kv)
        return op

    @rule(back=st.integers(-1, 6))
    def compact(self, back):
        revision = self._revision(back)
        state, _, outcome, before = self._send(
            model.Compact(revision), self.store.compact, revision
        )
        check("STORE-COMPACTED-READ", revision, state.compact_revision, outcome, compaction=True)
        check("STORE-FUTURE-REVISION", revision, before, outcome)

    # ---- leases ----------------------------------------------------------------------------

    @rule(ttl=strategies.lease_ttls, id=st.sampled_from([0, 0, 0, 7]))
    def lease_grant(self, ttl, id):
        if not self.advance_time:
            ttl *= REAL_TIME_TTL_SCALE
        if id == 0:
            self._grant_picked(ttl)
            return
        _, expected, outcome, _ = self._send(
            model.LeaseGrant(ttl, id), self.store.lease_grant, ttl, id
        )
        check("STORE-LEASE-TTL", outcome, expected)
        if isinstance(outcome, etcd.LeaseGrantResponse):
            self.granted.append(outcome.id)

    def _grant_picked(self, ttl: int) -> None:
        """A grant with id 0: the store picks the id, and the model grants that same id."""
        before = self.store.revision
        outcome = call(self.store.lease_grant, ttl, 0)
        picked = outcome.id if isinstance(outcome, etcd.LeaseGrantResponse) else 0
        # A picked id of 0 makes the model pick its own, which the outcome then fails to match.
        expected, self.model = model.step(self.model, model.LeaseGrant(ttl, picked))
        after = self.store.revision
        header = getattr(getattr(outcome, "header", None), "revision", None)
        check("STORE-REVISION-MONOTONIC", before, after, header)
        self.last_write = (before, after, 0)
        check("STORE-LEASE-TTL", outcome, expected)
        if isinstance(outcome, etcd.LeaseGrantResponse):
            self.granted.append(outcome.id)

    @rule(lease=st.sampled_from([1, 1, 2, 4]))
    def lease_revoke(self, lease):
        lease = self._lease_id(lease)
        _, expected, outcome, _ = self._send(
            model.LeaseRevoke(lease), self.store.lease_revoke, lease
        )
        check("STORE-LEASE-TTL", outcome, expected)
        if not isinstance(expected, etcd.StoreError):
            check(
                "STORE-LEASE-REVOKE", lease, self._all_kvs(), self.store.lease_time_to_live(lease)
            )

    @rule(lease=st.sampled_from([1, 1, 2, 4]))
    def lease_keepalive(self, lease):
        lease = self._lease_id(lease)
        _, expected, outcome, _ = self._send(
            model.LeaseKeepAlive(lease), self.store.lease_keepalive, lease
        )
        check("STORE-LEASE-TTL", outcome, expected)

    @rule(lease=st.sampled_from([1, 1, 2, 4]), keys=st.booleans())
    def lease_time_to_live(self, lease, keys):
        lease = self._lease_id(lease)
        _, expected, outcome, _ = self._send(
            model.LeaseTimeToLive(lease, keys), self.store.lease_time_to_live, lease, keys=keys
        )
        check("STORE-LEASE-TTL", outcome, self._allowing_real_time(outcome, expected))

    def _allowing_real_time(self, outcome: object, expected: object) -> object:
        """The model's time-to-live answer, with the TTL the store reported if real time
        explains the difference: the store's clock is real time (no "advance-time") and its
        TTL is below the model's by no more than the whole seconds elapsed, plus one for
        truncation. Otherwise the model's answer unchanged (so a wrong TTL still fails)."""
        if self.advance_time or not isinstance(expected, etcd.LeaseTimeToLiveResponse):
            return expected
        if not isinstance(outcome, etcd.LeaseTimeToLiveResponse) or expected.ttl < 0:
            return expected
        slack = math.ceil(time.monotonic() - self.started) + 1
        if expected.ttl - slack <= outcome.ttl <= expected.ttl:
            return attrs.evolve(expected, ttl=outcome.ttl)
        return expected

    @precondition(lambda self: self.advance_time)
    @rule(seconds=strategies.advances)
    def advance(self, seconds):
        self._send(model.Advance(seconds), self.store.advance, seconds)

    # ---- watches ---------------------------------------------------------------------------

    @precondition(lambda self: sum(log.open for log in self.watches) < MAX_WATCHES)
    @rule(
        span=strategies.ranges(),
        back=st.none() | st.integers(-1, 6) | st.just(FROM_THE_START),
        prev_kv=st.booleans(),
        progress_notify=st.booleans(),
    )
    def watch(self, span, back, prev_kv, progress_notify):
        key, range_end = span
        start = 0 if back is None else self._revision(back)
        self._open_watch(key, range_end, start, prev_kv, progress_notify, resumed_from=None)

    def _open_watch(self, key, range_end, start, prev_kv, progress_notify, resumed_from):
        watcher = self.store.watch(
            key, range_end, start_revision=start, prev_kv=prev_kv, progress_notify=progress_notify
        )
        log = WatchLog(
            watcher=watcher,
            key=key,
            range_end=range_end,
            requested_start=start,
            start=start or self.model.revision + 1,
            prev_kv=prev_kv,
            compact_at_open=self.model.compact_revision,
            resumed_from=resumed_from,
        )
        self.watches.append(log)
        return log

    def _open(self, which: int) -> WatchLog | None:
        open_logs = [log for log in self.watches if log.open]
        return open_logs[which % len(open_logs)] if open_logs else None

    @precondition(lambda self: any(log.open for log in self.watches))
    @rule(which=st.integers(0, MAX_WATCHES - 1), progress=st.booleans())
    def poll(self, which, progress):
        log = self._open(which)
        if progress:
            log.watcher.request_progress()
        log.poll()
        check_watch(log, self.model.changes, self.model.compact_revision)

    @precondition(lambda self: any(log.open for log in self.watches))
    @rule(which=st.integers(0, MAX_WATCHES - 1))
    def request_progress(self, which):
        self._open(which).watcher.request_progress()

    @precondition(lambda self: any(log.open for log in self.watches))
    @rule(which=st.integers(0, MAX_WATCHES - 1))
    def resume(self, which):
        """Cancel a watch and reopen it one past the last revision it vouched for."""
        log = self._open(which)
        log.poll()
        check_watch(log, self.model.changes, self.model.compact_revision)
        log.watcher.cancel()
        log.open = False
        if log.resumed_from is None:
            history, origin = list(log.stream), log.start
        else:
            history, origin = log.resumed_from[0] + log.stream, log.resumed_from[1]
        resumed = self._open_watch(
            log.key,
            log.range_end,
            log.resume_revision(),
            log.prev_kv,
            False,
            resumed_from=(history, origin),
        )
        resumed.poll()
        check_watch(resumed, self.model.changes, self.model.compact_revision)

    # ---- after every step ------------------------------------------------------------------

    @invariant()
    def the_key_space_matches_the_model(self):
        before = self.store.revision
        response = call(self.store.range, b"\0", b"\0")
        check("STORE-READ-NO-REVISION", before, self.store.revision, response)
        check("STORE-LEASE-EXPIRY", response.kvs, self.model.leases)
        if self.last_write is not None:
            check("STORE-REVISION-ONE-PER-WRITE", *self.last_write)
            self.last_write = None
        check("STORE-KEY-VERSIONS", response.kvs, self.model.changes)
        expected, _ = model.step(self.model, etcd.RangeRequest(b"\0", b"\0"))
        check("STORE-RANGE-MATCHES-MODEL", response, expected)

    def teardown(self):
        try:
            for log in self.watches:
                if log.open:
                    log.poll()
                    check_watch(log, self.model.changes, self.model.compact_revision)
        finally:
            close = getattr(self.store, "close", None)  # a real store's streams and leases
            if close is not None:
                close()


def make_machine(
    factory: Callable[[], object], capabilities: Iterable[str] | None = None
) -> type[StoreMachine]:
    """The contract machine for stores built by ``factory``, exercising what ``capabilities``
    (default: the factory's ``capabilities`` attribute, else every one) allow."""
    if capabilities is None:
        capabilities = getattr(factory, "capabilities", ALL_CAPABILITIES)
    name = getattr(factory, "__name__", "Store")
    return type(
        f"{name}Machine",
        (StoreMachine,),
        {"factory": staticmethod(factory), "capabilities": frozenset(capabilities)},
    )


def test_the_store_behaves_as_its_model(sut, store_factory):
    run_state_machine_as_test(make_machine(store_factory, sut.capabilities))


def test_leases_expire_when_time_advances(sut, store_factory):
    """A lease's keys vanish once its TTL elapses without keepalive (STORE-LEASE-EXPIRY),
    checked with simulated time; a SUT on real time (no "advance-time") is skipped."""
    try:
        sut.require("advance-time", "leases")
    except Unsupported as reason:
        pytest.skip(f"{reason}: lease expiry needs simulated time")
    machine = make_machine(store_factory, sut.capabilities)()
    machine.seed(puts=[(b"a", b"x")], prev_kv=False)
    machine.lease_grant(ttl=2, id=0)
    machine.put(b"b", b"y", lease=1, prev_kv=False)
    machine.the_key_space_matches_the_model()
    machine.advance(seconds=3)
    machine.the_key_space_matches_the_model()
    kvs = machine.store.range(b"\0", b"\0").kvs
    assert [kv.key for kv in kvs] == [b"a"], kvs
    machine.teardown()


def test_a_fresh_store_starts_at_revision_one_with_nothing_compacted(store_factory):
    store = store_factory()
    assert (store.revision, store.compact_revision) == (1, 0)
