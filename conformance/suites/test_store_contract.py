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
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kubeprop.conformance.checkers.watch import WatchLog
from kubeprop.conformance.models import store as model
from kubeprop.conformance.report import check
from kubeprop.conformance.strategies import store as strategies
from kubeprop.spec import etcd

MAX_WATCHES = 4
UNKNOWN_LEASE = 999  # never granted by the machine
FROM_THE_START = 99  # a "back" that reaches revision 1 (compacted, once anything is)


def call(function: Callable, *args, **kwargs) -> object:
    """The answer of a store call: its response, or the StoreError it raised."""
    try:
        return function(*args, **kwargs)
    except etcd.StoreError as error:
        return error


def check_watch(log: WatchLog, changes) -> None:
    """Every watch guarantee, on the whole stream so far."""
    stream = log.stream
    check("STORE-WATCH-COMPACTED", log.requested_start, log.compact_at_open, stream)
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
        )
    check("STORE-WATCH-RELIABLE", stream, changes, log.key, log.range_end, log.start, log.prev_kv)


def _keys_of(op: object) -> list[bytes]:
    if isinstance(op, model.Txn):
        return [c.key for c in op.compare] + [o.key for o in op.success + op.failure]
    return [op.key]


class StoreMachine(RuleBasedStateMachine):
    """Requests, time and watches against one store, checked against the model."""

    factory: Callable[[], object] | None = None  # set by make_machine

    def __init__(self) -> None:
        super().__init__()
        self.store = self.factory()
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
        _, expected, outcome, _ = self._send(
            model.LeaseGrant(ttl, id), self.store.lease_grant, ttl, id
        )
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
        check("STORE-LEASE-TTL", outcome, expected)

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
        check_watch(log, self.model.changes)

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
        check_watch(log, self.model.changes)
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
        check_watch(resumed, self.model.changes)

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
        for log in self.watches:
            if log.open:
                log.poll()
                check_watch(log, self.model.changes)


def make_machine(factory: Callable[[], object]) -> type[StoreMachine]:
    """The contract machine for stores built by ``factory``."""
    name = getattr(factory, "__name__", "Store")
    return type(f"{name}Machine", (StoreMachine,), {"factory": staticmethod(factory)})


def test_the_store_behaves_as_its_model(store_factory):
    run_state_machine_as_test(make_machine(store_factory))


def test_a_fresh_store_starts_at_revision_one_with_nothing_compacted(store_factory):
    store = store_factory()
    assert (store.revision, store.compact_revision) == (1, 0)
