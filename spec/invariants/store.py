"""The store's invariants (spec/store.md): etcd v3's MVCC, txn, lease and watch guarantees.

Contract: every predicate is pure over recorded values: a request and the
store's answer (a response, or the ``StoreError`` it raised, passed as the
``outcome``), revisions read before and after, the sequential model's state
(its key space as kvs, its change log ``changes``: ``(revision, events)`` pairs,
ascending, every event carrying its ``prev_kv``), and watch streams (the list of
``WatchResponse`` polled from one watcher, in delivery order). None of them
reads a store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from kubeprop.spec import etcd
from kubeprop.spec.etcd import compare_holds, in_range
from kubeprop.spec.invariants import HOLDS, VACUOUS, Outcome, holds_if, invariant, violated

GUARANTEES = "https://etcd.io/docs/v3.5/learning/api_guarantees/"
API = "https://etcd.io/docs/v3.5/learning/api/"
DATA_MODEL = "https://etcd.io/docs/v3.5/learning/data_model/"
MAINTENANCE = "https://etcd.io/docs/v3.5/op-guide/maintenance/"
ERRORS = "https://github.com/etcd-io/etcd/blob/release-3.5/api/v3rpc/rpctypes/error.go"

Changes = Sequence[tuple[int, Sequence[etcd.Event]]]

EMPTY_KEY = "etcdserver: key is not provided"
DUPLICATE_KEY = "etcdserver: duplicate key given in txn request"


# ---- helpers shared by the predicates (pure) -------------------------------------------------


def expected_events(
    changes: Changes,
    key: bytes,
    range_end: bytes | None,
    start_revision: int,
    through_revision: int,
    prev_kv: bool,
) -> list[etcd.Event]:
    """The events a watch on the range must deliver from start through ``through_revision``."""
    expected = []
    for revision, events in changes:
        if start_revision <= revision <= through_revision:
            for event in events:
                if in_range(event.kv.key, key, range_end):
                    expected.append(event if prev_kv else attrs.evolve(event, prev_kv=None))
    return expected


def events_of(stream: Iterable[etcd.WatchResponse]) -> list[etcd.Event]:
    return [event for response in stream for event in response.events]


def highest_seen(stream: Iterable[etcd.WatchResponse]) -> int:
    """The highest revision a stream has vouched for (an event or a progress notification)."""
    seen = 0
    for response in stream:
        if response.progress:
            seen = max(seen, response.header.revision)
        for event in response.events:
            seen = max(seen, event.kv.mod_revision)
    return seen


def _describe(event: etcd.Event) -> str:
    return f"{event.type.value} {event.kv.key!r}@{event.kv.mod_revision}"


def _first_difference(got: Sequence, want: Sequence, render=repr) -> str:
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return f"at #{i}: got {render(a)}, want {render(b)}"
    if len(got) > len(want):
        return f"{len(got) - len(want)} extra, first {render(got[len(want)])}"
    return f"{len(want) - len(got)} missing, first {render(want[len(got)])}"


def _is(outcome: object, error: type[etcd.StoreError]) -> bool:
    return isinstance(outcome, error)


# ---- revisions -------------------------------------------------------------------------------


@invariant(
    "STORE-REVISION-MONOTONIC",
    component="store",
    kind="safety",
    statement="The store's revision never decreases, and no response reports a revision below one already observed.",
    source=GUARANTEES,
)
def revision_monotonic(before: int, after: int, header_revision: int | None = None) -> Outcome:
    if after < before:
        return violated(f"revision went from {before} to {after}")
    if header_revision is not None and header_revision < before:
        return violated(
            f"response header revision {header_revision} < revision {before} seen before"
        )
    return HOLDS


@invariant(
    "STORE-REVISION-ONE-PER-WRITE",
    component="store",
    kind="contract",
    statement="Each write request that changes the key space increments the revision by exactly one; a request that changes nothing leaves it unchanged.",
    source=DATA_MODEL,
)
def revision_one_per_write(before: int, after: int, committed: int) -> Outcome:
    if after - before != committed:
        return violated(
            f"revision went from {before} to {after}, but {committed} change(s) were committed"
        )
    return HOLDS if committed else VACUOUS


@invariant(
    "STORE-READ-NO-REVISION",
    component="store",
    kind="contract",
    statement="A range request does not change the revision, and its header carries the store's current revision (also when reading a past revision).",
    source=API,
)
def read_no_revision(before: int, after: int, outcome: object) -> Outcome:
    if after != before:
        return violated(f"a read moved the revision from {before} to {after}")
    if isinstance(outcome, etcd.RangeResponse) and outcome.header.revision != before:
        return violated(
            f"a read's header revision is {outcome.header.revision}, the store's is {before}"
        )
    return HOLDS


@invariant(
    "STORE-KEY-VERSIONS",
    component="store",
    kind="safety",
    statement="Every key's create_revision is the revision of the put that created it since its last delete, its mod_revision that of its last put, and its version the number of puts since creation.",
    source=DATA_MODEL,
)
def key_versions(kvs: Iterable[etcd.KeyValue], changes: Changes) -> Outcome:
    bookkeeping: dict[bytes, tuple[int, int, int]] = {}  # key -> (create, mod, version)
    for revision, events in changes:
        for event in events:
            key = event.kv.key
            if event.type is etcd.EventType.DELETE:
                bookkeeping.pop(key, None)
            elif key in bookkeeping:
                create, _, version = bookkeeping[key]
                bookkeeping[key] = (create, revision, version + 1)
            else:
                bookkeeping[key] = (revision, revision, 1)
    problems, checked = [], 0
    for kv in kvs:
        checked += 1
        want = bookkeeping.get(kv.key)
        got = (kv.create_revision, kv.mod_revision, kv.version)
        if want is None:
            problems.append(f"{kv.key!r} exists but was never put or was deleted since")
        elif got != want:
            problems.append(
                f"{kv.key!r} has (create_revision, mod_revision, version) {got}, want {want}"
            )
    return holds_if(problems, checked=checked)


# ---- reads -----------------------------------------------------------------------------------


@invariant(
    "STORE-RANGE-MATCHES-MODEL",
    component="store",
    kind="contract",
    statement="A range returns exactly the keys of the range that exist, sorted by key, with their current values and metadata.",
    source=API,
)
def range_matches_model(outcome: object, expected: object) -> Outcome:
    if isinstance(expected, etcd.StoreError) or isinstance(outcome, etcd.StoreError):
        if type(outcome) is not type(expected):
            return violated(f"got {outcome!r}, want {expected!r}")
        return HOLDS
    got = (outcome.kvs, outcome.count, outcome.more)
    want = (expected.kvs, expected.count, expected.more)
    if got != want:
        if outcome.kvs != expected.kvs:
            return violated("kvs differ " + _first_difference(outcome.kvs, expected.kvs))
        return violated(f"(count, more) is {got[1:]}, want {want[1:]}")
    return HOLDS


@invariant(
    "STORE-RANGE-AT-REVISION",
    component="store",
    kind="contract",
    statement="A range at a past, uncompacted revision returns the keys as they were right after that revision's write.",
    source=API,
)
def range_at_revision(
    revision: int, outcome: object, expected_kvs: Sequence[etcd.KeyValue]
) -> Outcome:
    if isinstance(outcome, etcd.StoreError):
        return VACUOUS  # the error rules decide whether an error was due
    if tuple(outcome.kvs) != tuple(expected_kvs):
        return violated(
            f"at revision {revision}: " + _first_difference(outcome.kvs, tuple(expected_kvs))
        )
    return HOLDS


@invariant(
    "STORE-RANGE-LIMIT-COUNT",
    component="store",
    kind="contract",
    statement="A range response lists distinct keys of the range in ascending order, at most limit of them; count is the number of keys in the range and more says whether the limit cut some off.",
    source=API,
)
def range_limit_count(request: etcd.RangeRequest, outcome: object) -> Outcome:
    if isinstance(outcome, etcd.StoreError):
        return VACUOUS
    keys = [kv.key for kv in outcome.kvs]
    problems = []
    if any(a >= b for a, b in zip(keys, keys[1:])):
        problems.append(f"keys not strictly ascending: {keys!r}")
    outside = [k for k in keys if not in_range(k, request.key, request.range_end)]
    if outside:
        problems.append(f"keys outside the range: {outside!r}")
    if request.count_only:
        if keys:
            problems.append("count_only returned kvs")
    else:
        if request.limit > 0 and len(keys) > request.limit:
            problems.append(f"{len(keys)} kvs returned with limit {request.limit}")
        if outcome.count < len(keys):
            problems.append(f"count {outcome.count} < {len(keys)} kvs returned")
        if outcome.more != (outcome.count > len(keys)):
            problems.append(f"more={outcome.more} with count {outcome.count}, {len(keys)} returned")
        if request.limit <= 0 and outcome.count != len(keys):
            problems.append(f"no limit, but count {outcome.count} != {len(keys)} returned")
    if request.keys_only and any(kv.value for kv in outcome.kvs):
        problems.append("keys_only returned values")
    return holds_if(problems)


@invariant(
    "STORE-COMPACTED-READ",
    component="store",
    kind="contract",
    statement="A read below the compacted revision, or a compaction at or below it, fails with 'mvcc: required revision has been compacted'; nothing else does.",
    source=MAINTENANCE,
)
def compacted_read(
    requested_revision: int, compact_revision: int, outcome: object, *, compaction: bool = False
) -> Outcome:
    if compaction:
        due = requested_revision <= compact_revision
    else:
        due = 0 < requested_revision < compact_revision
    got = _is(outcome, etcd.CompactedError)
    if due and not got:
        return violated(
            f"revision {requested_revision} with compact revision {compact_revision}: got {outcome!r}, want CompactedError"
        )
    if got and not due:
        return violated(
            f"revision {requested_revision} with compact revision {compact_revision} is not compacted, got {outcome!r}"
        )
    return HOLDS if compact_revision else VACUOUS


@invariant(
    "STORE-FUTURE-REVISION",
    component="store",
    kind="contract",
    statement="A read or compaction at a revision above the current one fails with 'mvcc: required revision is a future revision'; nothing else does.",
    source=API,
)
def future_revision(requested_revision: int, current_revision: int, outcome: object) -> Outcome:
    due = requested_revision > current_revision
    got = _is(outcome, etcd.FutureRevisionError)
    if due != got:
        return violated(
            f"revision {requested_revision} with current revision {current_revision}: got {outcome!r}"
        )
    return HOLDS


@invariant(
    "STORE-EMPTY-KEY",
    component="store",
    kind="contract",
    statement="A request with an empty key fails with 'etcdserver: key is not provided' and changes nothing.",
    source=ERRORS,
)
def empty_key(keys: Sequence[bytes], outcome: object, before: int, after: int) -> Outcome:
    if not any(k == b"" for k in keys):
        return VACUOUS
    if not (_is(outcome, etcd.InvalidRequestError) and str(outcome) == EMPTY_KEY):
        return violated(f"an empty key got {outcome!r}, want InvalidRequestError({EMPTY_KEY!r})")
    if before != after:
        return violated(f"a rejected request moved the revision from {before} to {after}")
    return HOLDS


# ---- writes ----------------------------------------------------------------------------------


@invariant(
    "STORE-PUT-PREV-KV",
    component="store",
    kind="contract",
    statement="A put with prev_kv returns the key's state just before the put (none if it did not exist); without prev_kv it returns none.",
    source=API,
)
def put_prev_kv(request: etcd.PutRequest, outcome: object, before: etcd.KeyValue | None) -> Outcome:
    if not isinstance(outcome, etcd.PutResponse):
        return VACUOUS
    want = before if request.prev_kv else None
    if outcome.prev_kv != want:
        return violated(f"put {request.key!r} returned prev_kv {outcome.prev_kv!r}, want {want!r}")
    return HOLDS


@invariant(
    "STORE-DELETE-PREV-KV",
    component="store",
    kind="contract",
    statement="A delete_range reports how many keys it deleted and, with prev_kv, exactly the deleted key-values as they were, sorted by key.",
    source=API,
)
def delete_prev_kv(
    request: etcd.DeleteRangeRequest, outcome: object, before: Sequence[etcd.KeyValue]
) -> Outcome:
    if not isinstance(outcome, etcd.DeleteRangeResponse):
        return VACUOUS
    if outcome.deleted != len(before):
        return violated(f"deleted={outcome.deleted}, but {len(before)} key(s) existed in range")
    want = tuple(before) if request.prev_kv else ()
    if tuple(outcome.prev_kvs) != want:
        return violated("prev_kvs " + _first_difference(tuple(outcome.prev_kvs), want))
    return HOLDS


@invariant(
    "STORE-TXN-COMPARE",
    component="store",
    kind="contract",
    statement="A txn succeeds exactly when all its compares hold on the state before it (a missing key compares as zero revisions, version and lease; a VALUE compare on it fails), and runs that branch's ops.",
    source=API,
)
def txn_compare(
    compare: Sequence[etcd.Compare],
    before: Mapping[bytes, etcd.KeyValue],
    outcome: object,
    branch_lengths: tuple[int, int] | None = None,
) -> Outcome:
    if not isinstance(outcome, etcd.TxnResponse):
        return VACUOUS
    want = all(_compare_holds(c, before) for c in compare)
    if outcome.succeeded != want:
        return violated(f"succeeded={outcome.succeeded}, but the compares evaluate to {want}")
    if branch_lengths is not None:
        ops = branch_lengths[0] if want else branch_lengths[1]
        if len(outcome.responses) != ops:
            return violated(f"{len(outcome.responses)} responses for a branch of {ops} ops")
    return HOLDS


def _compare_holds(compare: etcd.Compare, data: Mapping[bytes, etcd.KeyValue]) -> bool:
    kvs = [data[k] for k in sorted(data) if in_range(k, compare.key, compare.range_end)]
    return compare_holds(compare, kvs)


@invariant(
    "STORE-TXN-ATOMIC",
    component="store",
    kind="safety",
    statement="A txn applies all the writes of its executed branch or, if it fails, none of them.",
    source=GUARANTEES,
)
def txn_atomic(
    observed: Sequence[etcd.KeyValue], expected: Sequence[etcd.KeyValue], outcome: object
) -> Outcome:
    if tuple(observed) != tuple(expected):
        what = "a failed" if isinstance(outcome, etcd.StoreError) else "a"
        return violated(
            f"after {what} txn the key space differs from all-or-nothing: "
            + _first_difference(tuple(observed), tuple(expected))
        )
    return HOLDS


@invariant(
    "STORE-TXN-ONE-REVISION",
    component="store",
    kind="contract",
    statement="All the writes of one txn share one revision: the txn's header revision, one above the revision before it.",
    source=API,
)
def txn_one_revision(
    before: int,
    outcome: object,
    events: Sequence[etcd.Event],
    observed: Mapping[bytes, etcd.KeyValue],
) -> Outcome:
    if not isinstance(outcome, etcd.TxnResponse):
        return VACUOUS
    want = before + 1 if events else before
    if outcome.header.revision != want:
        return violated(f"txn header revision {outcome.header.revision}, want {want}")
    problems = []
    for event in events:
        kv = observed.get(event.kv.key)
        if event.type is etcd.EventType.PUT and (kv is None or kv.mod_revision != want):
            problems.append(
                f"{event.kv.key!r} written by the txn has {kv!r}, want mod_revision {want}"
            )
    return holds_if(problems, checked=len(events))


@invariant(
    "STORE-TXN-DUPLICATE-KEY",
    component="store",
    kind="contract",
    statement="A txn that puts one key twice in a branch, or puts a key a delete of the same branch covers, fails with 'etcdserver: duplicate key given in txn request' and changes nothing.",
    source=ERRORS,
)
def txn_duplicate_key(
    success: Sequence[etcd.RequestOp],
    failure: Sequence[etcd.RequestOp],
    outcome: object,
    before: int,
    after: int,
) -> Outcome:
    def duplicate(ops):
        puts = [op.key for op in ops if isinstance(op, etcd.PutRequest)]
        deletes = [op for op in ops if isinstance(op, etcd.DeleteRangeRequest)]
        return len(puts) != len(set(puts)) or any(
            in_range(k, d.key, d.range_end) for k in puts for d in deletes
        )

    due = duplicate(success) or duplicate(failure)
    got = _is(outcome, etcd.InvalidRequestError) and str(outcome) == DUPLICATE_KEY
    if due and not got:
        return violated(f"a txn with a duplicate key got {outcome!r}")
    if got and not due:
        return violated("a txn without a duplicate key was rejected as one")
    if due and before != after:
        return violated(f"a rejected txn moved the revision from {before} to {after}")
    return HOLDS if due else VACUOUS


# ---- leases ----------------------------------------------------------------------------------


@invariant(
    "STORE-LEASE-EXPIRY",
    component="store",
    kind="safety",
    statement="No key stays attached to a lease that has expired: once its TTL elapses without keepalive the lease's keys are deleted.",
    source=API,
)
def lease_expiry(kvs: Iterable[etcd.KeyValue], live_leases: Iterable[int]) -> Outcome:
    live = set(live_leases)
    problems, checked = [], 0
    for kv in kvs:
        if kv.lease:
            checked += 1
            if kv.lease not in live:
                problems.append(f"{kv.key!r} is attached to lease {kv.lease}, which has expired")
    return holds_if(problems, checked=checked)


@invariant(
    "STORE-LEASE-REVOKE",
    component="store",
    kind="contract",
    statement="Revoking a lease deletes every key attached to it, and the lease is then unknown (time-to-live -1).",
    source=API,
)
def lease_revoke(
    lease_id: int, kvs: Iterable[etcd.KeyValue], ttl: etcd.LeaseTimeToLiveResponse
) -> Outcome:
    left = [kv.key for kv in kvs if kv.lease == lease_id]
    if left:
        return violated(f"keys {left!r} are still attached to revoked lease {lease_id}")
    if ttl.ttl != -1:
        return violated(f"revoked lease {lease_id} reports ttl {ttl.ttl}, want -1")
    return HOLDS


@invariant(
    "STORE-LEASE-TTL",
    component="store",
    kind="contract",
    statement="A lease is granted with its requested TTL (raised to etcd's minimum of 2 s), keepalive renews it to that TTL, and time-to-live reports the seconds remaining, the granted TTL and its keys.",
    source=API,
)
def lease_ttl(outcome: object, expected: object) -> Outcome:
    if isinstance(expected, etcd.StoreError) or isinstance(outcome, etcd.StoreError):
        if type(outcome) is not type(expected):
            return violated(f"got {outcome!r}, want {expected!r}")
        return HOLDS
    if isinstance(expected, etcd.LeaseGrantResponse):
        outcome, expected = (outcome.id, outcome.ttl), (expected.id, expected.ttl)
    elif isinstance(expected, etcd.LeaseTimeToLiveResponse):
        fields = ("id", "ttl", "granted_ttl", "keys")
        outcome = tuple(getattr(outcome, f) for f in fields)
        expected = tuple(getattr(expected, f) for f in fields)
    if outcome != expected:
        return violated(f"got {outcome!r}, want {expected!r}")
    return HOLDS


# ---- watches ---------------------------------------------------------------------------------


@invariant(
    "STORE-WATCH-ORDERED",
    component="store",
    kind="safety",
    statement="A watch delivers events in revision order: no event has a lower revision than one delivered before it.",
    source=GUARANTEES,
)
def watch_ordered(stream: Sequence[etcd.WatchResponse]) -> Outcome:
    events = events_of(stream)
    for earlier, later in zip(events, events[1:]):
        if later.kv.mod_revision < earlier.kv.mod_revision:
            return violated(f"{_describe(later)} delivered after {_describe(earlier)}")
    return HOLDS if events else VACUOUS


@invariant(
    "STORE-WATCH-UNIQUE",
    component="store",
    kind="safety",
    statement="A watch never delivers the same event twice.",
    source=GUARANTEES,
)
def watch_unique(stream: Sequence[etcd.WatchResponse]) -> Outcome:
    seen: set[tuple[int, bytes]] = set()
    events = events_of(stream)
    for event in events:
        identity = (event.kv.mod_revision, event.kv.key)
        if identity in seen:
            return violated(f"{_describe(event)} delivered twice")
        seen.add(identity)
    return HOLDS if events else VACUOUS


@invariant(
    "STORE-WATCH-RELIABLE",
    component="store",
    kind="safety",
    statement="A watch has no gaps: the events it delivers through the highest revision it has vouched for are exactly the store's changes in its range from its start revision on (an event's prev_kv may be missing only where its previous revision is compacted).",
    source=GUARANTEES,
)
def watch_reliable(
    stream: Sequence[etcd.WatchResponse],
    changes: Changes,
    key: bytes,
    range_end: bytes | None,
    start_revision: int,
    prev_kv: bool = False,
    compact_revision: int = 0,
) -> Outcome:
    if any(response.canceled for response in stream):
        return VACUOUS
    through = highest_seen(stream)
    got = events_of(stream)
    want = expected_events(changes, key, range_end, start_revision, through, prev_kv)
    want = forgive_compacted_prev_kv(got, want, compact_revision)
    if got != want:
        return violated(
            f"from revision {start_revision} through {through}: "
            + _first_difference(got, want, _describe_full)
        )
    return HOLDS if want else VACUOUS


def forgive_compacted_prev_kv(
    got: Sequence[etcd.Event], want: Sequence[etcd.Event], compact_revision: int
) -> list[etcd.Event]:
    """``want`` with prev_kv dropped where ``got`` lacks it and the previous revision is
    compacted: etcd then sends none ("If the previous KV is already compacted, nothing will
    be returned", api/etcdserverpb/rpc.proto, WatchCreateRequest.prev_kv)."""
    forgiven = list(want)
    for index, (delivered, due) in enumerate(zip(got, want)):
        if (
            delivered.prev_kv is None
            and due.prev_kv is not None
            and due.kv.mod_revision - 1 < compact_revision
        ):
            forgiven[index] = attrs.evolve(due, prev_kv=None)
    return forgiven


def _describe_full(event: etcd.Event) -> str:
    prev = f" prev={event.prev_kv.value!r}" if event.prev_kv else ""
    return f"{_describe(event)} value={event.kv.value!r}{prev}"


@invariant(
    "STORE-WATCH-ATOMIC",
    component="store",
    kind="safety",
    statement="All the events of one revision that a watch matches arrive together in one response.",
    source=GUARANTEES,
)
def watch_atomic(
    stream: Sequence[etcd.WatchResponse],
    changes: Changes,
    key: bytes,
    range_end: bytes | None,
) -> Outcome:
    whole = {
        revision: [e for e in events if in_range(e.kv.key, key, range_end)]
        for revision, events in changes
    }
    where: dict[int, int] = {}
    problems, checked = [], 0
    for index, response in enumerate(stream):
        revisions = sorted({event.kv.mod_revision for event in response.events})
        for revision in revisions:
            checked += 1
            if revision in where:
                problems.append(
                    f"revision {revision} split over responses {where[revision]} and {index}"
                )
                continue
            where[revision] = index
            got = [e.kv.key for e in response.events if e.kv.mod_revision == revision]
            want = [e.kv.key for e in whole.get(revision, [])]
            if got != want:
                problems.append(f"revision {revision} delivered keys {got!r}, want {want!r}")
    return holds_if(problems, checked=checked)


@invariant(
    "STORE-WATCH-RESUMABLE",
    component="store",
    kind="safety",
    statement="A watch reopened at the last revision it vouched for plus one continues the first with no gap and no duplicate.",
    source=GUARANTEES,
)
def watch_resumable(
    first: Sequence[etcd.WatchResponse],
    resumed: Sequence[etcd.WatchResponse],
    resume_revision: int,
    changes: Changes,
    key: bytes,
    range_end: bytes | None,
    start_revision: int,
    prev_kv: bool = False,
    compact_revision: int = 0,
) -> Outcome:
    if any(response.canceled for response in list(first) + list(resumed)):
        return VACUOUS
    early = [e for e in events_of(resumed) if e.kv.mod_revision < resume_revision]
    if early:
        return violated(f"resumed at {resume_revision}, got {_describe(early[0])} again")
    got = [e for e in events_of(first) if e.kv.mod_revision < resume_revision]
    got += events_of(resumed)
    through = max(highest_seen(resumed), resume_revision - 1)
    want = expected_events(changes, key, range_end, start_revision, through, prev_kv)
    want = forgive_compacted_prev_kv(got, want, compact_revision)
    if got != want:
        return violated(
            f"resumed at {resume_revision}: " + _first_difference(got, want, _describe_full)
        )
    return HOLDS if want else VACUOUS


@invariant(
    "STORE-WATCH-BOOKMARKABLE",
    component="store",
    kind="safety",
    statement="A progress notification at revision r comes after every event with revision <= r and before every event with a higher one.",
    source=GUARANTEES,
)
def watch_bookmarkable(stream: Sequence[etcd.WatchResponse]) -> Outcome:
    problems, checked = [], 0
    for index, response in enumerate(stream):
        if not response.progress:
            continue
        checked += 1
        mark = response.header.revision
        if response.events:
            problems.append(f"progress notification #{index} carries events")
        for before in events_of(stream[:index]):
            if before.kv.mod_revision > mark:
                problems.append(
                    f"{_describe(before)} came before a progress notification at {mark}"
                )
        for after in events_of(stream[index + 1 :]):
            if after.kv.mod_revision <= mark:
                problems.append(f"{_describe(after)} came after a progress notification at {mark}")
    return holds_if(problems, checked=checked)


@invariant(
    "STORE-WATCH-COMPACTED",
    component="store",
    kind="contract",
    statement="A watch over a non-empty range from a start revision below the compacted revision is canceled with compact_revision set and delivers no event; no other watch is canceled that way (a watch over an empty range is canceled at creation without one).",
    source=API,
)
def watch_compacted(
    start_revision: int,
    compact_revision: int,
    stream: Sequence[etcd.WatchResponse],
    key: bytes | None = None,
    range_end: bytes | None = None,
) -> Outcome:
    # A watch over an empty range (key >= range_end) is canceled at creation with no
    # compact revision, whatever its start ("mvcc: watcher range is empty").
    empty = range_end not in (None, b"\0") and key is not None and range_end <= key
    due = 0 < start_revision < compact_revision and not empty
    if due:
        if not stream or not stream[0].canceled:
            return violated(
                f"a watch from {start_revision} below compact revision {compact_revision} was not canceled"
            )
        if stream[0].compact_revision != compact_revision:
            return violated(
                f"canceled with compact_revision {stream[0].compact_revision}, want {compact_revision}"
            )
        if events_of(stream):
            return violated("a watch canceled for compaction delivered events")
        return HOLDS
    wrongly = [r for r in stream if r.canceled and r.compact_revision]
    if wrongly:
        return violated(
            f"a watch from {start_revision} (compact revision {compact_revision}) was canceled as compacted"
        )
    return VACUOUS


# ---- linearizability (spec/store.md section 8) -------------------------------------------------
# The verdict is computed by conformance/checkers/linearizability.py (check_store_history), a
# search too costly to repeat here; these predicates judge the recorded verdict.


@invariant(
    "STORE-LINEARIZABLE",
    component="store",
    kind="safety",
    statement="Under concurrent clients every key's history, with unknown outcomes free to take effect or not, is linearizable against the sequential store, the requests on a key taking effect in the order of their header revisions.",
    source=GUARANTEES,
)
def linearizable(result) -> Outcome:
    """``result``: the ``Result`` of ``check_store_history`` on a recorded history. A
    partition the bounded search could not decide fails too: undecided proves nothing."""
    if result.violation is not None:
        return violated(result.violation.explain())
    if result.undecided:
        return violated(
            f"undecided: the search budget ran out on partition(s) {list(result.undecided)}"
        )
    return HOLDS if result.operations else VACUOUS


@invariant(
    "STORE-REVISION-REAL-TIME",
    component="store",
    kind="safety",
    statement="Revisions follow real time across keys: a write's revision is above every header revision answered before it was sent, no header is below one answered before its request was sent, no two writes share a revision, and no kv is newer than its answer's header.",
    source=GUARANTEES,
)
def revision_real_time(result) -> Outcome:
    """``result``: the ``Result`` of ``check_store_history``; its ``revision_errors``."""
    return holds_if(list(result.revision_errors), checked=result.operations)
