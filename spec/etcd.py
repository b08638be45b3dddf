"""The etcd v3 vocabulary: frozen value types shared by every store and its checks.

These mirror etcd's mvccpb/etcdserverpb messages (KeyValue, Event, Compare,
RequestOp, ResponseHeader) closely enough that a real etcd's JSON gateway maps
onto them one to one. Keys and values are bytes. A revision of 0 in a request
means "the current revision".

Errors are exceptions carrying etcd's own messages:
``CompactedError`` ("mvcc: required revision has been compacted"),
``FutureRevisionError`` ("mvcc: required revision is a future revision"),
``LeaseNotFoundError`` ("etcdserver: requested lease not found").
"""

from __future__ import annotations

import enum

import attrs


class StoreError(Exception):
    """An error answer of a store; ``str()`` is etcd's message."""

    message = "etcdserver: error"

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)


class CompactedError(StoreError):
    message = "mvcc: required revision has been compacted"

    def __init__(self, compact_revision: int = 0, message: str | None = None):
        super().__init__(message)
        self.compact_revision = compact_revision  # the store's compacted revision


class FutureRevisionError(StoreError):
    message = "mvcc: required revision is a future revision"


class LeaseNotFoundError(StoreError):
    message = "etcdserver: requested lease not found"


class InvalidRequestError(StoreError):
    """A malformed request (empty key, bad limit, ...)."""

    message = "etcdserver: invalid request"


@attrs.frozen
class KeyValue:
    key: bytes
    value: bytes
    create_revision: int  # revision of the write that created the key (since its last delete)
    mod_revision: int  # revision of the last write to the key
    version: int  # number of writes since creation; 1 on creation
    lease: int = 0  # lease id the key is attached to; 0 for none


class EventType(enum.Enum):
    PUT = "PUT"
    DELETE = "DELETE"


@attrs.frozen
class Event:
    """One change. For DELETE, ``kv`` holds the key and the delete's mod_revision
    (value empty, create_revision/version 0), as etcd sends it."""

    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None = None  # the key's previous state, if asked for and it existed


@attrs.frozen
class ResponseHeader:
    revision: int  # the store's revision when the request was served


@attrs.frozen
class RangeResponse:
    header: ResponseHeader
    kvs: tuple[KeyValue, ...]
    more: bool  # more keys matched than ``limit`` allowed
    count: int  # number of keys in the range (regardless of limit)


@attrs.frozen
class PutResponse:
    header: ResponseHeader
    prev_kv: KeyValue | None = None


@attrs.frozen
class DeleteRangeResponse:
    header: ResponseHeader
    deleted: int
    prev_kvs: tuple[KeyValue, ...] = ()


class CompareTarget(enum.Enum):
    VERSION = "VERSION"
    CREATE = "CREATE"  # create_revision
    MOD = "MOD"  # mod_revision
    VALUE = "VALUE"
    LEASE = "LEASE"


class CompareResult(enum.Enum):
    EQUAL = "EQUAL"
    GREATER = "GREATER"
    LESS = "LESS"
    NOT_EQUAL = "NOT_EQUAL"


@attrs.frozen
class Compare:
    """``target(key) result operand``. A missing key compares as version, create
    revision, mod revision and lease 0 (so ``CREATE EQUAL 0`` means "absent"); a
    VALUE compare on a missing key is false whatever the result, as in etcd. With
    ``range_end`` every key in the range must satisfy the compare."""

    key: bytes
    target: CompareTarget
    result: CompareResult
    operand: int | bytes
    range_end: bytes | None = None  # compare every key in [key, range_end)


@attrs.frozen
class RangeRequest:
    key: bytes
    range_end: bytes | None = None  # None: the single key; b"\0": every key >= key
    revision: int = 0
    limit: int = 0  # 0: no limit
    count_only: bool = False
    keys_only: bool = False


@attrs.frozen
class PutRequest:
    key: bytes
    value: bytes
    lease: int = 0
    prev_kv: bool = False


@attrs.frozen
class DeleteRangeRequest:
    key: bytes
    range_end: bytes | None = None
    prev_kv: bool = False


RequestOp = RangeRequest | PutRequest | DeleteRangeRequest
ResponseOp = RangeResponse | PutResponse | DeleteRangeResponse


@attrs.frozen
class TxnResponse:
    header: ResponseHeader
    succeeded: bool  # the compares all held and the success ops ran
    responses: tuple[ResponseOp, ...]


@attrs.frozen
class LeaseGrantResponse:
    header: ResponseHeader
    id: int
    ttl: int


@attrs.frozen
class LeaseTimeToLiveResponse:
    header: ResponseHeader
    id: int
    ttl: int  # remaining seconds, -1 if expired or unknown
    granted_ttl: int
    keys: tuple[bytes, ...] = ()


@attrs.frozen
class WatchResponse:
    """One batch delivered on a watch. All events of one revision arrive in the
    same response (atomic); a response with no events and ``progress`` set is a
    progress notification (bookmark) at ``header.revision``. ``canceled`` with
    ``compact_revision`` > 0 means the start revision was compacted."""

    header: ResponseHeader
    events: tuple[Event, ...] = ()
    progress: bool = False
    canceled: bool = False
    compact_revision: int = 0
    watch_id: int = 0


def prefix_end(prefix: bytes) -> bytes:
    """The range_end that selects every key starting with ``prefix`` (etcd's
    clientv3.GetPrefixRangeEnd): increment the last byte below 0xff, dropping
    trailing 0xff bytes; b"\\0" (every key) if the prefix is all 0xff or empty."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


def in_range(candidate: bytes, key: bytes, range_end: bytes | None) -> bool:
    """Whether ``candidate`` lies in etcd's range: the single ``key`` when
    ``range_end`` is None, every key >= ``key`` when it is b"\\0", else
    ``[key, range_end)``."""
    if range_end is None:
        return candidate == key
    if range_end == b"\0":
        return candidate >= key
    return key <= candidate < range_end


def compare_holds(compare: Compare, kvs: list[KeyValue]) -> bool:
    """Whether ``compare`` holds of ``kvs``, the live keys of its range: every key
    must satisfy it; with no key, it is judged against a zero KeyValue, except a
    VALUE compare, which is then false (as etcd decides it)."""
    if not kvs:
        if compare.target is CompareTarget.VALUE:
            return False
        kvs = [KeyValue(compare.key, b"", 0, 0, 0, 0)]
    for kv in kvs:
        actual = {
            CompareTarget.VALUE: kv.value,
            CompareTarget.VERSION: kv.version,
            CompareTarget.CREATE: kv.create_revision,
            CompareTarget.MOD: kv.mod_revision,
            CompareTarget.LEASE: kv.lease,
        }[compare.target]
        holds = {
            CompareResult.EQUAL: actual == compare.operand,
            CompareResult.NOT_EQUAL: actual != compare.operand,
            CompareResult.GREATER: actual > compare.operand,
            CompareResult.LESS: actual < compare.operand,
        }[compare.result]
        if not holds:
            return False
    return True
