"""A tiny sequential model of the etcd v3 store, the oracle of the store suite.

Contract: ``init(clock)`` is a fresh store; ``step(state, op)`` returns
``(result, next_state)`` where ``result`` is the etcd response (or the
``StoreError`` instance a store must raise) and ``next_state`` is a new value:
``state`` is never mutated. The model keeps a full snapshot of the key space per
revision (obviously right, not fast) and the change log of every revision,
never compacted (what the watch invariants compare a watch stream against).

Ops are ``etcd.RangeRequest``, ``etcd.PutRequest``, ``etcd.DeleteRangeRequest``
and the model's ``Txn``, ``Compact``, ``LeaseGrant``, ``LeaseRevoke``,
``LeaseKeepAlive``, ``LeaseTimeToLive``, ``Advance``. Each op's repr is a readable
step of a history.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from kubeprop.spec import etcd
from kubeprop.spec.etcd import compare_holds, in_range

MIN_LEASE_TTL = 2
MAX_TXN_OPS = 128
EMPTY = MappingProxyType({})


@attrs.frozen
class Txn:
    compare: tuple[etcd.Compare, ...] = ()
    success: tuple[etcd.RequestOp, ...] = ()
    failure: tuple[etcd.RequestOp, ...] = ()


@attrs.frozen
class Compact:
    revision: int


@attrs.frozen
class LeaseGrant:
    ttl: int
    id: int = 0


@attrs.frozen
class LeaseRevoke:
    id: int


@attrs.frozen
class LeaseKeepAlive:
    id: int


@attrs.frozen
class LeaseTimeToLive:
    id: int
    keys: bool = False


@attrs.frozen
class Advance:
    seconds: float


@attrs.frozen
class Lease:
    id: int
    ttl: int
    expiry: float


Op = (
    etcd.RangeRequest
    | etcd.PutRequest
    | etcd.DeleteRangeRequest
    | Txn
    | Compact
    | LeaseGrant
    | LeaseRevoke
    | LeaseKeepAlive
    | LeaseTimeToLive
    | Advance
)


@attrs.frozen(unsafe_hash=False)
class State:
    """The model store. ``snapshots[r - 1]`` is the key space at revision ``r``."""

    snapshots: tuple[Mapping[bytes, etcd.KeyValue], ...] = (EMPTY,)
    compact_revision: int = 0
    clock: float = 0.0
    leases: Mapping[int, Lease] = EMPTY
    next_lease_id: int = 1
    # (revision, events) of every committed write, ascending, never compacted.
    changes: tuple[tuple[int, tuple[etcd.Event, ...]], ...] = ()

    @property
    def revision(self) -> int:
        return len(self.snapshots)

    @property
    def data(self) -> Mapping[bytes, etcd.KeyValue]:
        return self.snapshots[-1]

    def kvs(
        self, key: bytes, range_end: bytes | None = None, revision: int = 0
    ) -> list[etcd.KeyValue]:
        """The kvs in range at ``revision`` (0: current), sorted by key."""
        data = self.snapshots[(revision or self.revision) - 1]
        return [data[k] for k in sorted(data) if in_range(k, key, range_end)]


def init(clock: float = 0.0) -> State:
    return State(clock=clock)


def _read_error(state: State, revision: int) -> etcd.StoreError | None:
    if revision > state.revision:
        return etcd.FutureRevisionError()
    if 0 < revision < state.compact_revision:
        return etcd.CompactedError(state.compact_revision)
    return None


def _duplicate(ops: tuple[etcd.RequestOp, ...]) -> bool:
    puts = [op.key for op in ops if isinstance(op, etcd.PutRequest)]
    deletes = [op for op in ops if isinstance(op, etcd.DeleteRangeRequest)]
    if len(puts) != len(set(puts)):
        return True
    return any(in_range(k, d.key, d.range_end) for k in puts for d in deletes)


def _request_keys(op: Op) -> list[bytes]:
    if isinstance(op, Txn):
        return [c.key for c in op.compare] + [o.key for o in op.success + op.failure]
    if isinstance(op, etcd.RangeRequest | etcd.PutRequest | etcd.DeleteRangeRequest):
        return [op.key]
    return []


class _Writer:
    """The working copy of one write request (model-private, discarded after step)."""

    def __init__(self, state: State):
        self.state = state
        self.data = dict(state.data)
        self.events: list[etcd.Event] = []
        self.revision = state.revision + 1

    def seen_revision(self) -> int:
        return self.revision if self.events else self.state.revision

    def put(self, op: etcd.PutRequest) -> etcd.PutResponse:
        prev = self.data.get(op.key)
        kv = etcd.KeyValue(
            op.key,
            op.value,
            prev.create_revision if prev else self.revision,
            self.revision,
            prev.version + 1 if prev else 1,
            op.lease,
        )
        self.data[op.key] = kv
        self.events.append(etcd.Event(etcd.EventType.PUT, kv, prev))
        return etcd.PutResponse(etcd.ResponseHeader(self.revision), prev if op.prev_kv else None)

    def delete(self, op: etcd.DeleteRangeRequest) -> etcd.DeleteRangeResponse:
        doomed = [self.data[k] for k in sorted(self.data) if in_range(k, op.key, op.range_end)]
        for prev in doomed:
            del self.data[prev.key]
            tombstone = etcd.KeyValue(prev.key, b"", 0, self.revision, 0, 0)
            self.events.append(etcd.Event(etcd.EventType.DELETE, tombstone, prev))
        return etcd.DeleteRangeResponse(
            etcd.ResponseHeader(self.seen_revision()),
            len(doomed),
            tuple(doomed) if op.prev_kv else (),
        )

    def range(self, op: etcd.RangeRequest) -> etcd.RangeResponse:
        if op.revision > 0:
            kvs = self.state.kvs(op.key, op.range_end, op.revision)
        else:
            kvs = [self.data[k] for k in sorted(self.data) if in_range(k, op.key, op.range_end)]
        return range_response(etcd.ResponseHeader(self.seen_revision()), kvs, op)

    def commit(self, **changes) -> State:
        state = self.state
        if self.events:
            state = attrs.evolve(
                state,
                snapshots=state.snapshots + (MappingProxyType(self.data),),
                changes=state.changes + ((self.revision, tuple(self.events)),),
            )
        return attrs.evolve(state, **changes) if changes else state


def range_response(
    header: etcd.ResponseHeader, kvs: list[etcd.KeyValue], op: etcd.RangeRequest
) -> etcd.RangeResponse:
    count = len(kvs)
    if op.count_only:
        return etcd.RangeResponse(header, (), False, count)
    shown = kvs[: op.limit] if op.limit > 0 else kvs
    if op.keys_only:
        shown = [attrs.evolve(kv, value=b"") for kv in shown]
    return etcd.RangeResponse(header, tuple(shown), len(shown) < count, count)


def _revoke(state: State, lease_id: int) -> State:
    """Drop the lease and delete its keys at one revision."""
    leases = MappingProxyType({i: lease for i, lease in state.leases.items() if i != lease_id})
    state = attrs.evolve(state, leases=leases)
    writer = _Writer(state)
    for key in sorted(k for k, kv in state.data.items() if kv.lease == lease_id):
        writer.delete(etcd.DeleteRangeRequest(key))
    return writer.commit()


def step(state: State, op: Op) -> tuple[object, State]:
    """Apply one request; return (response or StoreError, next state)."""
    if any(not k for k in _request_keys(op)):
        return etcd.InvalidRequestError("etcdserver: key is not provided"), state
    header = etcd.ResponseHeader(state.revision)

    if isinstance(op, etcd.RangeRequest):
        error = _read_error(state, op.revision)
        if error:
            return error, state
        return range_response(header, state.kvs(op.key, op.range_end, op.revision), op), state

    if isinstance(op, etcd.PutRequest):
        if op.lease and op.lease not in state.leases:
            return etcd.LeaseNotFoundError(), state
        writer = _Writer(state)
        response = writer.put(op)
        return response, writer.commit()

    if isinstance(op, etcd.DeleteRangeRequest):
        writer = _Writer(state)
        response = writer.delete(op)
        return response, writer.commit()

    if isinstance(op, Txn):
        if max(len(op.compare), len(op.success), len(op.failure)) > MAX_TXN_OPS:
            return etcd.InvalidRequestError("etcdserver: too many operations in txn request"), state
        if _duplicate(op.success) or _duplicate(op.failure):
            return etcd.InvalidRequestError("etcdserver: duplicate key given in txn request"), state
        succeeded = all(compare_holds(c, state.kvs(c.key, c.range_end)) for c in op.compare)
        ops = op.success if succeeded else op.failure
        for o in ops:
            if isinstance(o, etcd.PutRequest) and o.lease and o.lease not in state.leases:
                return etcd.LeaseNotFoundError(), state
            if isinstance(o, etcd.RangeRequest):
                error = _read_error(state, o.revision)
                if error:
                    return error, state
        writer = _Writer(state)
        responses = []
        for o in ops:
            if isinstance(o, etcd.PutRequest):
                responses.append(writer.put(o))
            elif isinstance(o, etcd.DeleteRangeRequest):
                responses.append(writer.delete(o))
            else:
                responses.append(writer.range(o))
        after = writer.commit()
        return etcd.TxnResponse(
            etcd.ResponseHeader(after.revision), succeeded, tuple(responses)
        ), after

    if isinstance(op, Compact):
        if op.revision <= state.compact_revision:
            return etcd.CompactedError(state.compact_revision), state
        if op.revision > state.revision:
            return etcd.FutureRevisionError(), state
        return None, attrs.evolve(state, compact_revision=op.revision)

    if isinstance(op, LeaseGrant):
        if op.id in state.leases:
            return etcd.InvalidRequestError("etcdserver: lease already exists"), state
        next_id = state.next_lease_id
        lease_id = op.id
        if lease_id == 0:
            while next_id in state.leases:
                next_id += 1
            lease_id, next_id = next_id, next_id + 1
        ttl = max(op.ttl, MIN_LEASE_TTL)
        lease = Lease(lease_id, ttl, state.clock + ttl)
        leases = MappingProxyType({**state.leases, lease_id: lease})
        after = attrs.evolve(state, leases=leases, next_lease_id=next_id)
        return etcd.LeaseGrantResponse(header, lease_id, ttl), after

    if isinstance(op, LeaseRevoke):
        if op.id not in state.leases:
            return etcd.LeaseNotFoundError(), state
        return None, _revoke(state, op.id)

    if isinstance(op, LeaseKeepAlive):
        lease = state.leases.get(op.id)
        if lease is None:
            return etcd.LeaseNotFoundError(), state
        renewed = attrs.evolve(lease, expiry=state.clock + lease.ttl)
        return lease.ttl, attrs.evolve(
            state, leases=MappingProxyType({**state.leases, op.id: renewed})
        )

    if isinstance(op, LeaseTimeToLive):
        lease = state.leases.get(op.id)
        if lease is None:
            return etcd.LeaseTimeToLiveResponse(header, op.id, -1, 0), state
        keys = tuple(sorted(k for k, kv in state.data.items() if kv.lease == op.id))
        return etcd.LeaseTimeToLiveResponse(
            header, op.id, int(lease.expiry - state.clock), lease.ttl, keys if op.keys else ()
        ), state

    if isinstance(op, Advance):
        until = state.clock + op.seconds
        for lease in sorted(state.leases.values(), key=lambda lease: (lease.expiry, lease.id)):
            if lease.expiry <= until:
                state = _revoke(attrs.evolve(state, clock=max(state.clock, lease.expiry)), lease.id)
        return None, attrs.evolve(state, clock=until)

    raise TypeError(f"the store model has no op {op!r}")
