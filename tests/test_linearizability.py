"""The linearizability checker on hand-written histories, and the recorder on the reference store.

Histories are written as the clients saw them: ``op(client, call, return, request,
answer)``, with ``return`` None for an unknown outcome. Revisions follow etcd: a fresh
store is at revision 1, so the first write is revision 2. The classic register
cases (stale read, new-old inversion, lost update) are those of Knossos' and
Porcupine's examples, in etcd's vocabulary.
"""

from __future__ import annotations

import itertools
import threading
import time

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kubeprop.conformance.checkers.linearizability import (
    KV,
    STORE_REGISTER,
    Cas,
    Delete,
    Deleted,
    Failed,
    Get,
    Model,
    Operation,
    Put,
    Read,
    Swapped,
    Workload,
    Written,
    check,
    check_store_history,
    outcome_unknown,
    record,
    revision_order,
)
from kubeprop.reference.store import Store
from kubeprop.spec import etcd

A, B = b"a", b"b"
VERSION, MOD, VALUE, CREATE = (
    etcd.CompareTarget.VERSION,
    etcd.CompareTarget.MOD,
    etcd.CompareTarget.VALUE,
    etcd.CompareTarget.CREATE,
)


def op(client: int, call: float, return_: float | None, request, answer=None) -> Operation:
    return Operation(client, call, return_, request, answer)


def kv(value: bytes, version: int, create: int, mod: int) -> KV:
    return KV(value, version, create, mod)


ONE = kv(b"1", 1, 2, 2)  # a=1, put at revision 2
TWO = kv(b"2", 2, 2, 3)  # a=2, put over ONE at revision 3

# name -> (history, linearizable?)
REGISTER_CASES: dict[str, tuple[list[Operation], bool]] = {
    "a read after a completed put sees the put": (
        [op(0, 0, 1, Put(A, b"1"), Written(None, 2)), op(1, 2, 3, Get(A), Read(ONE, 2))],
        True,
    ),
    "a read of a key never written finds nothing": ([op(0, 0, 1, Get(A), Read(None, 1))], True),
    "a read that sees a value nobody wrote is not linearizable": (
        [op(0, 0, 1, Get(A), Read(ONE, 2))],
        False,
    ),
    "a read after a completed put that still sees the older value is a stale read": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(0, 2, 3, Put(A, b"2"), Written(None, 3)),
            op(1, 4, 5, Get(A), Read(ONE, 3)),
        ],
        False,
    ),
    "a read concurrent with a put may see the old value, then the new one": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(0, 2, 6, Put(A, b"2"), Written(None, 3)),
            op(1, 3, 4, Get(A), Read(ONE, 2)),
            op(2, 5, 7, Get(A), Read(TWO, 3)),
        ],
        True,
    ),
    "once a read has seen the new value, a later read may not see the old one": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(0, 2, 10, Put(A, b"2"), Written(None, 3)),
            op(1, 3, 4, Get(A), Read(TWO, 3)),
            op(2, 5, 6, Get(A), Read(ONE, 3)),
        ],
        False,
    ),
    "two concurrent reads may disagree while a put is in flight": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(0, 2, 10, Put(A, b"2"), Written(None, 3)),
            op(1, 3, 6, Get(A), Read(TWO, 3)),
            op(2, 4, 5, Get(A), Read(ONE, 2)),
        ],
        True,
    ),
    "a put whose outcome is unknown may take effect after its call": (
        [
            op(0, 0, None, Put(A, b"1")),
            op(1, 1, 2, Get(A), Read(None, 1)),
            op(1, 3, 4, Get(A), Read(ONE, 2)),
        ],
        True,
    ),
    "a put whose outcome is unknown may never take effect": (
        [
            op(0, 0, None, Put(A, b"1")),
            op(1, 1, 2, Get(A), Read(None, 1)),
            op(1, 50, 51, Get(A), Read(None, 1)),
        ],
        True,
    ),
    "a put whose outcome is unknown cannot take effect before it was called": (
        [op(1, 0, 1, Get(A), Read(ONE, 2)), op(0, 2, None, Put(A, b"1"))],
        False,
    ),
    "a put whose outcome is unknown, once seen, cannot be unseen": (
        [
            op(0, 0, None, Put(A, b"1")),
            op(1, 1, 2, Get(A), Read(ONE, 2)),
            op(1, 3, 4, Get(A), Read(None, 2)),
        ],
        False,
    ),
    "a put that failed definitely never takes effect": (
        [
            op(0, 0, 1, Put(A, b"1"), Failed("etcdserver: too many requests")),
            op(1, 2, 3, Get(A), Read(ONE, 2)),
        ],
        False,
    ),
    "a put that failed definitely leaves the key as it was": (
        [
            op(0, 0, 1, Put(A, b"1"), Failed("etcdserver: too many requests")),
            op(1, 2, 3, Get(A), Read(None, 1)),
        ],
        True,
    ),
    "a put's prev_kv shows the state it replaced": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(0, 2, 3, Put(A, b"2", prev_kv=True), Written(ONE, 3)),
        ],
        True,
    ),
    "a put's prev_kv may not show a state the key never had": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(0, 2, 3, Put(A, b"2", prev_kv=True), Written(None, 3)),
        ],
        False,
    ),
    "two swaps from the same version cannot both succeed (a lost update)": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(1, 2, 5, Cas(A, VERSION, 1, b"x"), Swapped(True, ONE, 3)),
            op(2, 2, 5, Cas(A, VERSION, 1, b"y"), Swapped(True, ONE, 4)),
        ],
        False,
    ),
    "of two concurrent swaps from the same version one succeeds and the other sees its write": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(1, 2, 5, Cas(A, VERSION, 1, b"x"), Swapped(True, ONE, 3)),
            op(2, 2, 5, Cas(A, VERSION, 1, b"y"), Swapped(False, kv(b"x", 2, 2, 3), 3)),
        ],
        True,
    ),
    "a swap whose compare held must not report failure": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(1, 2, 3, Cas(A, VALUE, b"1", b"x"), Swapped(False, ONE, 2)),
        ],
        False,
    ),
    "a value compare on a missing key fails": (
        [op(1, 0, 1, Cas(A, VALUE, b"", b"x"), Swapped(False, None, 1))],
        True,
    ),
    "create-if-absent succeeds on a missing key": (
        [op(1, 0, 1, Cas(A, CREATE, 0, b"x"), Swapped(True, None, 2))],
        True,
    ),
    "a delete of a missing key deletes nothing": (
        [op(0, 0, 1, Delete(A), Deleted(0, None, 1))],
        True,
    ),
    "a delete of a missing key may not claim to delete it": (
        [op(0, 0, 1, Delete(A), Deleted(1, None, 1))],
        False,
    ),
    "a delete resets the version: the next put creates the key again at version 1": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(0, 2, 3, Delete(A, prev_kv=True), Deleted(1, ONE, 3)),
            op(0, 4, 5, Put(A, b"2"), Written(None, 4)),
            op(1, 6, 7, Get(A), Read(kv(b"2", 1, 4, 4), 4)),
        ],
        True,
    ),
    "a version that survives a delete is not linearizable": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(0, 2, 3, Delete(A), Deleted(1, None, 3)),
            op(0, 4, 5, Put(A, b"2"), Written(None, 4)),
            op(1, 6, 7, Get(A), Read(kv(b"2", 2, 2, 4), 4)),
        ],
        False,
    ),
    "every response showing one write agrees on its mod revision": (
        [
            op(0, 0, None, Put(A, b"1")),
            op(1, 1, 2, Get(A), Read(kv(b"1", 1, 5, 5), 5)),
            op(1, 3, 4, Get(A), Read(kv(b"1", 1, 6, 6), 6)),
        ],
        False,
    ),
    "a swap on the mod revision of a lost put holds once a read has shown the revision": (
        [
            op(0, 0, None, Put(A, b"1")),
            op(1, 1, 2, Get(A), Read(ONE, 2)),
            op(1, 3, 4, Cas(A, MOD, 2, b"x"), Swapped(True, ONE, 3)),
            op(1, 5, 6, Get(A), Read(kv(b"x", 2, 2, 3), 3)),
        ],
        True,
    ),
    "a swap may reveal the mod revision of a lost put": (
        [
            op(0, 0, None, Put(A, b"1")),
            op(1, 1, 2, Cas(A, MOD, 2, b"x"), Swapped(True, ONE, 3)),
        ],
        True,
    ),
    "a mod revision a swap revealed binds every later response": (
        [
            op(0, 0, None, Put(A, b"1")),
            op(1, 1, 2, Cas(A, MOD, 7, b"x"), Swapped(True, kv(b"1", 1, 7, 7), 8)),
            op(1, 3, 4, Delete(A, prev_kv=True), Deleted(1, kv(b"x", 2, 2, 8), 9)),
        ],
        False,
    ),
    "a swap whose outcome is unknown may have taken effect": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(1, 2, None, Cas(A, VALUE, b"1", b"x")),
            op(2, 3, 4, Get(A), Read(kv(b"x", 2, 2, 3), 3)),
        ],
        True,
    ),
    "a swap whose outcome is unknown only takes effect if its compare holds": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(1, 2, None, Cas(A, VALUE, b"0", b"x")),
            op(2, 3, 4, Get(A), Read(kv(b"x", 2, 2, 3), 3)),
        ],
        False,
    ),
    "concurrent puts take effect in revision order: a later read sees the higher revision": (
        [
            op(0, 0, 3, Put(A, b"x"), Written(None, 3)),
            op(1, 1, 2, Put(A, b"y"), Written(None, 2)),
            op(2, 4, 5, Get(A), Read(kv(b"y", 2, 3, 2), 3)),  # as if x (3) came before y (2)
        ],
        False,
    ),
    "concurrent puts in revision order: the read sees the higher revision's value": (
        [
            op(0, 0, 3, Put(A, b"x"), Written(None, 3)),
            op(1, 1, 2, Put(A, b"y"), Written(None, 2)),
            op(2, 4, 5, Get(A), Read(kv(b"x", 2, 2, 3), 3)),
        ],
        True,
    ),
    "a read whose header revision includes a concurrent put must see the put": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(0, 2, 5, Put(A, b"2"), Written(None, 3)),
            op(1, 3, 4, Get(A), Read(ONE, 3)),
        ],
        False,
    ),
    "a read concurrent with a put, at the revision before it, sees the old value": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(0, 2, 5, Put(A, b"2"), Written(None, 3)),
            op(1, 3, 4, Get(A), Read(ONE, 2)),
        ],
        True,
    ),
    "keys are independent: interleaved writes to two keys are each linearizable": (
        [
            op(0, 0, 3, Put(A, b"1"), Written(None, 2)),
            op(1, 1, 2, Put(B, b"1"), Written(None, 3)),
            op(2, 4, 5, Get(B), Read(kv(b"1", 1, 3, 3), 3)),
            op(2, 6, 7, Get(A), Read(ONE, 3)),
        ],
        True,
    ),
}


@pytest.mark.parametrize("name", REGISTER_CASES)
def test_register_histories(name):
    history, linearizable = REGISTER_CASES[name]
    result = check(history, STORE_REGISTER)
    assert result.verdict == ("ok" if linearizable else "violation"), result.explain()
    assert (result.violation is None) == linearizable


def test_a_violation_names_its_key_and_the_operations_that_cannot_be_ordered():
    stale = op(1, 4, 5, Get(B), Read(kv(b"1", 1, 2, 2), 3))
    history = [
        op(0, 0, 1, Put(A, b"1"), Written(None, 4)),
        op(1, 2, 3, Get(A), Read(kv(b"1", 1, 4, 4), 4)),
        op(0, 0, 1, Put(B, b"1"), Written(None, 2)),
        op(0, 2, 3, Put(B, b"2"), Written(None, 3)),
        stale,
    ]
    result = check(history, STORE_REGISTER)
    assert not result.ok
    assert result.violation.partition == B
    assert [o.input for o in result.violation.linearized] == [Put(B, b"1"), Put(B, b"2")]
    assert result.violation.pending == (stale,)
    explanation = result.explain()
    assert "partition b'b' is not linearizable" in explanation
    assert str(stale) in explanation


def test_the_deepest_partial_order_is_explained_not_the_first_dead_end():
    # get->1 must come before put 2 (it returned first) and the later get->1 cannot follow it.
    history = [
        op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
        op(0, 2, 6, Put(A, b"2"), Written(None, 3)),
        op(1, 3, 4, Get(A), Read(ONE, 2)),
        op(1, 7, 8, Get(A), Read(ONE, 3)),
    ]
    violation = check(history, STORE_REGISTER).violation
    assert [str(o.input) for o in violation.linearized] == [
        "put(b'a', b'1')",
        "get(b'a')",
        "put(b'a', b'2')",
    ]
    assert violation.state.value == b"2"
    assert [o.return_ for o in violation.pending] == [8]


def _concurrent_puts_then_a_phantom_read(n: int) -> list[Operation]:
    """n puts, all concurrent, then a read of a value none of them wrote: a violation, but
    only after every order of the puts has been tried."""
    puts = [op(i, 0, 100, Put(A, b"%d" % i), Written(None, 2 + i)) for i in range(n)]
    return [*puts, op(99, 101, 102, Get(A), Read(kv(b"nobody", 1, 2, 2), n + 1))]


def test_a_search_that_runs_out_of_budget_is_unknown_not_ok():
    history = _concurrent_puts_then_a_phantom_read(12)
    started = time.monotonic()
    result = check(history, STORE_REGISTER, budget=500)
    assert result.verdict == "unknown"
    assert not result.ok and result.unknown
    assert result.undecided == (A,)
    assert result.steps <= 500
    assert "budget ran out" in result.explain()
    assert time.monotonic() - started < 5


def test_the_same_history_with_enough_budget_is_a_violation():
    result = check(_concurrent_puts_then_a_phantom_read(8), STORE_REGISTER, budget=10**6)
    assert result.verdict == "violation"
    assert result.steps > 500  # the small budget above really cut a long search short


def test_a_violation_in_one_partition_outweighs_an_undecided_one():
    history = [
        *_concurrent_puts_then_a_phantom_read(12),
        op(0, 0, 1, Get(B), Read(kv(b"ghost", 1, 2, 2), 2)),
    ]
    result = check(history, STORE_REGISTER, budget=500)
    assert result.verdict == "violation"
    assert result.violation.partition == B
    assert result.undecided == (A,)


def test_the_order_candidates_are_tried_in_never_changes_the_verdict():
    by_call = attrs.evolve(STORE_REGISTER, priority=lambda o: o.call)
    for name, (history, _) in REGISTER_CASES.items():
        assert check(history, by_call).verdict == check(history, STORE_REGISTER).verdict, name


def test_trying_operations_in_revision_order_linearizes_a_correct_history_without_backtracking():
    history = record(_Serialized(Store()), Workload(clients=4, operations=60, seed=5, pause=0.0005))
    result = check(history, STORE_REGISTER)
    assert result.ok
    assert result.steps == len(history)


def test_the_search_works_for_any_model():
    """A counter whose increments return the new value, to show the checker is generic."""

    def step(state, request, answer):
        if request == "inc":
            return [state + 1] if answer in (None, state + 1) else []
        return [state] if answer == state else []

    counter = Model(init=lambda: 0, step=step)
    fine = [op(0, 0, 3, "inc", 2), op(1, 1, 2, "inc", 1), op(2, 4, 5, "read", 2)]
    lost = [op(0, 0, 3, "inc", 1), op(1, 1, 2, "inc", 1)]
    assert check(fine, counter).ok
    assert check(lost, counter).verdict == "violation"


# ---- the global revision order ---------------------------------------------------------------

# name -> (history, what revision_order must say, or "" for nothing)
REVISION_CASES: dict[str, tuple[list[Operation], str]] = {
    "a write called after another write returned has a higher revision": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 3)),
            op(1, 2, 3, Put(B, b"1"), Written(None, 2)),
        ],
        "not above 3",
    ),
    "concurrent writes may take their revisions in either order": (
        [
            op(0, 0, 3, Put(A, b"1"), Written(None, 3)),
            op(1, 1, 2, Put(B, b"1"), Written(None, 2)),
        ],
        "",
    ),
    "a read called after a write returned reports at least the write's revision": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 3)),
            op(1, 2, 3, Get(B), Read(None, 2)),
        ],
        "reports revision 2 < 3",
    ),
    "a write called after a read returned is above the read's revision": (
        [
            op(1, 0, 1, Get(B), Read(None, 5)),
            op(0, 2, 3, Put(A, b"1"), Written(None, 5)),
        ],
        "not above 5",
    ),
    "two writes never share a revision": (
        [
            op(0, 0, 3, Put(A, b"1"), Written(None, 2)),
            op(1, 1, 2, Put(B, b"1"), Written(None, 2)),
        ],
        "2 writes share revision 2",
    ),
    "a response never shows a key newer than its own header": (
        [op(1, 0, 1, Get(A), Read(kv(b"1", 1, 2, 4), 3))],
        "exceed the header",
    ),
    "a delete of nothing and a failed swap are not writes": (
        [
            op(0, 0, 1, Put(A, b"1"), Written(None, 2)),
            op(1, 2, 3, Delete(B), Deleted(0, None, 2)),
            op(1, 4, 5, Cas(A, VERSION, 7, b"x"), Swapped(False, ONE, 2)),
        ],
        "",
    ),
    "operations with unknown or failed outcomes constrain nothing": (
        [
            op(0, 0, None, Put(A, b"1")),
            op(0, 0, 1, Put(A, b"2"), Failed("etcdserver: request timed out")),
            op(1, 2, 3, Get(B), Read(None, 1)),
        ],
        "",
    ),
}


@pytest.mark.parametrize("name", REVISION_CASES)
def test_revision_order(name):
    history, expected = REVISION_CASES[name]
    errors = revision_order(history)
    if expected:
        assert any(expected in error for error in errors), errors
    else:
        assert errors == []


def test_a_store_history_fails_on_revision_order_even_when_every_key_is_linearizable():
    history = [
        op(0, 0, 1, Put(A, b"1"), Written(None, 3)),
        op(1, 2, 3, Put(B, b"1"), Written(None, 2)),
    ]
    assert check(history, STORE_REGISTER).ok
    result = check_store_history(history)
    assert result.verdict == "violation" and result.violation is None
    assert "revision order violated" in result.explain()


# ---- the recorder ----------------------------------------------------------------------------


class _Serialized:
    """The reference store behind one lock (it is not thread-safe; etcd serialises requests
    through its apply loop the same way)."""

    def __init__(self, store):
        self._store, self._lock = store, threading.Lock()

    def __getattr__(self, name):
        method = getattr(self._store, name)

        def locked(*args, **kwargs):
            with self._lock:
                return method(*args, **kwargs)

        return locked


def test_one_client_with_one_seed_sends_the_same_requests_every_time():
    workload = Workload(clients=1, operations=60, seed=7)
    first = [o.input for o in record(Store(), workload)]
    second = [o.input for o in record(Store(), workload)]
    assert first == second
    assert {type(request) for request in first} == {Get, Put, Delete, Cas}


def test_different_seeds_send_different_requests():
    first = [o.input for o in record(Store(), Workload(clients=1, operations=30, seed=1))]
    second = [o.input for o in record(Store(), Workload(clients=1, operations=30, seed=2))]
    assert first != second


def test_the_reference_store_under_concurrent_clients_records_a_linearizable_history():
    history = record(_Serialized(Store()), Workload(clients=4, operations=60, seed=3, pause=0.0005))
    assert len(history) == 240
    assert all(not o.unknown and not o.failed for o in history)
    swaps = [o for o in history if isinstance(o.input, Cas)]
    assert any(o.output.succeeded for o in swaps) and any(not o.output.succeeded for o in swaps)
    result = check_store_history(history)
    assert result.ok, result.explain()


class _Flaky:
    """Every third request a store error, every fifth a lost connection."""

    def __init__(self):
        self._store, self._calls = Store(), 0

    def __getattr__(self, name):
        method = getattr(self._store, name)

        def flaky(*args, **kwargs):
            self._calls += 1
            if self._calls % 3 == 0:
                raise etcd.InvalidRequestError("etcdserver: too many requests")
            if self._calls % 5 == 0:
                raise ConnectionResetError("connection reset by peer")
            return method(*args, **kwargs)

        return flaky


def test_store_errors_are_definite_failures_and_lost_connections_unknown_outcomes():
    history = record(_Flaky(), Workload(clients=1, operations=30, seed=0))
    failed = [o for o in history if o.failed]
    unknown = [o for o in history if o.unknown]
    assert len(failed) == 10 and len(unknown) == 4
    assert all(o.output == Failed("etcdserver: too many requests") for o in failed)
    assert all(o.output is None for o in unknown)
    # After each lost outcome the client goes on under a new identity: its last op is pending.
    assert len({o.client for o in history}) == 1 + len(unknown)
    assert check_store_history(history).ok


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (ConnectionResetError("connection reset by peer"), True),
        (TimeoutError("timed out"), True),
        (etcd.StoreError("etcdserver: request timed out"), True),
        (etcd.StoreError("etcdserver: leader changed"), True),
        (ConnectionRefusedError("[Errno 111] Connection refused"), False),
        (etcd.StoreError("etcd unavailable: [Errno 111] Connection refused"), False),
        (etcd.StoreError("etcdserver: too many requests"), False),
        (etcd.CompactedError(), False),
    ],
    ids=str,
)
def test_which_errors_leave_the_outcome_unknown(error, unknown):
    assert outcome_unknown(error, (OSError,)) is unknown


def test_an_adapters_unavailable_error_is_unknown_when_the_recorder_is_told_so():
    class Unavailable(etcd.StoreError):
        pass

    assert not outcome_unknown(Unavailable("etcd did not answer"), (OSError,))
    assert outcome_unknown(Unavailable("etcd did not answer"), (OSError, Unavailable))


def test_a_think_time_spaces_a_clients_requests():
    history = record(Store(), Workload(clients=1, operations=5, pause=0.01))
    gaps = [b.call - a.return_ for a, b in zip(history, history[1:])]
    assert min(gaps) >= 0.01


# ---- properties: true linearizations are accepted, stale reads are not -------------------------


def _sequential(seed: int, operations: int = 40) -> list[Operation]:
    """One client's history on the reference store, re-timed so that op k takes effect at
    time 10k (its interval is [10k - 1, 10k + 1])."""
    history = record(Store(), Workload(clients=1, operations=operations, seed=seed))
    return [attrs.evolve(o, call=10.0 * k - 1, return_=10.0 * k + 1) for k, o in enumerate(history)]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    widths=st.lists(st.tuples(st.floats(0.5, 40), st.floats(0.5, 40)), min_size=40, max_size=40),
    lost=st.sets(st.integers(0, 39), max_size=6),
)
def test_widening_every_interval_around_its_true_instant_keeps_a_history_linearizable(
    seed, widths, lost
):
    """Concurrency only adds orders: if each request still spans the instant it took effect,
    the history is linearizable, also when some outcomes are lost (unknown)."""
    history = [
        attrs.evolve(
            o,
            call=10.0 * k - before,
            return_=None if k in lost else 10.0 * k + after,
            output=None if k in lost else o.output,
        )
        for k, (o, (before, after)) in enumerate(zip(_sequential(seed), widths))
    ]
    result = check_store_history(history)
    assert result.ok, result.explain()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), pick=st.randoms(use_true_random=False))
def test_a_read_answered_with_an_earlier_state_of_its_key_is_never_linearizable(seed, pick):
    history = _sequential(seed)
    reads: dict[bytes, list[int]] = {}
    for k, o in enumerate(history):
        if isinstance(o.input, Get):
            reads.setdefault(o.input.key, []).append(k)
    pairs = [
        (i, j)
        for ks in reads.values()
        for i in ks
        for j in ks
        if i < j and history[i].output.kv != history[j].output.kv
    ]
    assume(pairs)
    i, j = pick.choice(pairs)
    stale = attrs.evolve(history[j].output, kv=history[i].output.kv)
    history[j] = attrs.evolve(history[j], output=stale)
    result = check(history, STORE_REGISTER)
    assert result.verdict == "violation"
    assert history[j] in result.violation.pending


def _brute_force(history: list[Operation], model: Model) -> bool:
    """Linearizable by enumeration: some order of the definite ops and some of the unknown
    ones that respects real time and that the model accepts (every possible state kept)."""
    live = [o for o in history if not o.failed]
    definite = [o for o in live if not o.unknown]
    maybe = [o for o in live if o.unknown]
    for k in range(len(maybe) + 1):
        for chosen in itertools.combinations(maybe, k):
            for order in itertools.permutations([*definite, *chosen]):
                if any(
                    later.return_ is not None and later.return_ < earlier.call
                    for n, earlier in enumerate(order)
                    for later in order[n + 1 :]
                ):
                    continue
                states = {model.init()}
                for o in order:
                    states = {after for s in states for after in model.step(s, o.input, o.output)}
                if states:
                    return True
    return False


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    changes=st.lists(
        st.tuples(st.floats(0, 25), st.floats(0, 25), st.sampled_from(["keep", "lose", "swap"])),
        min_size=6,
        max_size=6,
    ),
    swap_with=st.randoms(use_true_random=False),
)
def test_the_search_agrees_with_brute_force_enumeration(seed, changes, swap_with):
    """Small one-key histories from the reference, widened, with some outcomes lost and some
    answers swapped between requests of the same kind: the search decides as enumeration does
    (also through the model's several possible states after a compare on a lost revision)."""
    recorded = record(
        Store(), Workload(clients=1, operations=6, keys=(A,), seed=seed, weights=(3, 3, 1, 4))
    )
    history = []
    for k, (o, (before, after, change)) in enumerate(zip(recorded, changes)):
        o = attrs.evolve(o, call=10.0 * k - before, return_=10.0 * k + 1 + after)
        if change == "lose":
            o = attrs.evolve(o, return_=None, output=None)
        elif change == "swap":
            same = [p for p in recorded if type(p.input) is type(o.input)]
            o = attrs.evolve(o, output=swap_with.choice(same).output)
        history.append(o)
    for model in (STORE_REGISTER, attrs.evolve(STORE_REGISTER, priority=lambda o: o.call)):
        result = check(history, model)
        assert result.ok == _brute_force(history, model), "\n".join(map(str, history))
