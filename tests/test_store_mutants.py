"""The store suite proves its strength: it catches every deliberately broken store.

Two checks per mutant: the Hypothesis contract machine, left to find a failing
history on its own, fails with an InvariantViolation; and a short, hand-picked
history trips exactly the invariant the mutant breaks. Together the hand-picked
histories show every store invariant failing on some broken implementation.
"""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.store import BREAKS, MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.suites.test_store_contract import FROM_THE_START, make_machine
from kubeprop.conformance.suites.test_store_linearizable import BREAKS as LINEARIZABILITY_BREAKS
from kubeprop.spec import etcd, invariants

# Finding is cheap, shrinking is not: the per-mutant runs skip the shrink phase; one test
# below shrinks, to show what a user sees.
SHRUNK = mutant_hunt(100, shrink=True)
CAUGHT = mutant_hunt(100, shrink=False)

A, B, C = b"a", b"b", b"c"
NOW = None  # "back" for a read or watch at the current revision

# name -> the steps after seeding the store with a=x (revision 2) and an all-keys watch from 1.
HISTORIES: dict[str, list[tuple[str, dict]]] = {
    "revision-rewinds-on-compact": [("put", dict(key=B)), ("compact", dict(back=2))],
    "empty-delete-spends-a-revision": [("delete_range", dict(span=(C, None)))],
    "past-read-header-at-requested-revision": [
        ("put", dict(key=B)),
        ("range", dict(span=(A, None), back=2)),
    ],
    "range-spends-a-revision": [("range", dict(span=(A, None)))],
    "version-not-reset-on-delete": [("delete_range", dict(span=(A, None))), ("put", dict(key=A))],
    "range-drops-the-lease": [("lease_grant", dict(ttl=5, id=0)), ("put", dict(key=A, lease=1))],
    "past-read-returns-current-value": [
        ("put", dict(key=A, value=b"y")),
        ("range", dict(span=(A, None), back=2)),
    ],
    "count-after-limit": [
        ("put", dict(key=B)),
        ("range", dict(span=(A, b"\0"), back=NOW, limit=1)),
    ],
    "compaction-keeps-old-reads": [
        ("put", dict(key=A, value=b"y")),
        ("compact", dict(back=1)),
        ("range", dict(span=(A, None), back=FROM_THE_START)),
    ],
    "future-read-serves-current": [("range", dict(span=(A, None), back=-1))],
    "empty-key-accepted": [("put", dict(key=b""))],
    "put-prev-kv-is-the-new-kv": [("put", dict(key=A, value=b"y", prev_kv=True))],
    "delete-counts-tombstones": [
        ("delete_range", dict(span=(A, None))),
        ("delete_range", dict(span=(A, None))),
    ],
    "compare-greater-less-swapped": [
        (
            "txn",
            dict(compare=(etcd.Compare(A, etcd.CompareTarget.MOD, etcd.CompareResult.GREATER, 0),)),
        )
    ],
    "txn-not-atomic": [
        ("txn", dict(success=(etcd.PutRequest(B, b"x"), etcd.PutRequest(C, b"y", lease=4))))
    ],
    "txn-one-revision-per-op": [
        ("txn", dict(success=(etcd.PutRequest(B, b"x"), etcd.PutRequest(C, b"y"))))
    ],
    "duplicate-keys-allowed": [
        ("txn", dict(success=(etcd.PutRequest(B, b"x"), etcd.PutRequest(B, b"y"))))
    ],
    "leases-never-expire": [
        ("lease_grant", dict(ttl=2, id=0)),
        ("put", dict(key=B, lease=1)),
        ("advance", dict(seconds=3)),
    ],
    "revoke-keeps-keys": [
        ("lease_grant", dict(ttl=5, id=0)),
        ("put", dict(key=B, lease=1)),
        ("lease_revoke", dict(lease=1)),
    ],
    "time-to-live-reports-granted-ttl": [
        ("lease_grant", dict(ttl=5, id=0)),
        ("advance", dict(seconds=1)),
        ("lease_time_to_live", dict(lease=1, keys=False)),
    ],
    "watch-skips-first-replayed-event": [
        ("put", dict(key=B)),
        ("watch", dict(span=(A, b"\0"), back=2)),
        ("poll", dict(which=1)),
    ],
    "watch-repeats-the-last-seen-revision": [
        ("put", dict(key=B)),
        ("poll", dict(which=0)),
        ("resume", dict(which=0)),
    ],
    "watch-replays-newest-first": [
        ("put", dict(key=B)),
        ("watch", dict(span=(A, b"\0"), back=FROM_THE_START)),
        ("poll", dict(which=1)),
    ],
    "watch-splits-revisions": [
        ("txn", dict(success=(etcd.PutRequest(B, b"x"), etcd.PutRequest(C, b"y")))),
        ("poll", dict(which=0)),
    ],
    "duplicate-events-after-progress": [
        ("put", dict(key=B)),
        ("request_progress", dict(which=0)),
        ("poll", dict(which=0)),
    ],
    "progress-jumps-the-queue": [
        ("put", dict(key=B)),
        ("request_progress", dict(which=0)),
        ("poll", dict(which=0)),
    ],
    "compacted-watch-starts-at-compaction": [
        ("put", dict(key=A, value=b"y")),
        ("compact", dict(back=1)),
        ("watch", dict(span=(A, None), back=FROM_THE_START)),
        ("poll", dict(which=1)),
    ],
}

DEFAULTS = {
    "put": dict(value=b"x", lease=0, prev_kv=False),
    "delete_range": dict(prev_kv=False),
    "range": dict(back=NOW, limit=0, count_only=False, keys_only=False),
    "txn": dict(compare=(), success=(), failure=()),
    "watch": dict(prev_kv=False, progress_notify=False),
    "poll": dict(progress=False),
}


def replay(factory, steps) -> None:
    """Run seed + ``steps`` on the contract machine, checking after every step as Hypothesis does."""
    machine = make_machine(factory)()
    machine.seed(puts=[(A, b"x")], prev_kv=False)
    machine.the_key_space_matches_the_model()
    for name, arguments in steps:
        getattr(machine, name)(**{**DEFAULTS.get(name, {}), **arguments})
        machine.the_key_space_matches_the_model()
    machine.teardown()


def test_every_store_invariant_is_broken_by_some_mutant():
    store_ids = {entry.id for entry in invariants.catalogue("store")}
    # The linearizability invariants are broken by the concurrent suite's broken stores.
    assert store_ids == set(BREAKS.values()) | set(LINEARIZABILITY_BREAKS.values())
    assert set(BREAKS) == set(MUTANTS) == set(HISTORIES)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_a_short_history_trips_the_invariant_the_mutant_breaks(name):
    with pytest.raises(InvariantViolation) as caught:
        replay(MUTANTS[name], HISTORIES[name])
    assert caught.value.invariant_id == BREAKS[name], str(caught.value)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_same_history_passes_on_the_reference_store(name):
    from kubeprop.reference.store import Store

    replay(Store, HISTORIES[name])


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_contract_machine_catches_the_mutant_on_its_own(name):
    with pytest.raises(InvariantViolation):
        run_state_machine_as_test(make_machine(MUTANTS[name]), settings=CAUGHT)


def test_a_caught_mutant_is_reported_as_a_short_readable_history():
    with pytest.raises(InvariantViolation) as caught:
        run_state_machine_as_test(
            make_machine(MUTANTS["compare-greater-less-swapped"]), settings=SHRUNK
        )
    assert caught.value.invariant_id == "STORE-TXN-COMPARE"
    printed = "\n".join(getattr(caught.value, "__notes__", []))
    steps = [line.strip() for line in printed.splitlines() if line.strip().startswith("state.")]
    assert steps[0].startswith("state.seed("), printed
    assert any(step.startswith("state.txn(") for step in steps), printed
    assert len(steps) <= 4, printed
