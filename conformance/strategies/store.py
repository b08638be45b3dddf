"""Hypothesis strategies for etcd v3 requests over a small key alphabet (collisions happen).

Keys come from ``KEYS`` (a few flat keys and a prefix family ``a/…``); ranges are
single keys, prefixes, half-open intervals or "every key from"; compares use
every target and result with operands near the revisions a short history makes.
"""

from __future__ import annotations

from hypothesis import strategies as st

from kubeprop.spec import etcd

KEYS = (b"a", b"a/1", b"a/2", b"b", b"c")
VALUES = (b"", b"x", b"y", b"z")

keys = st.sampled_from(KEYS)
no_lease = st.just(0)
values = st.sampled_from(VALUES)


@st.composite
def ranges(draw, key: bytes | None = None) -> tuple[bytes, bytes | None]:
    """A (key, range_end): one key, a prefix, every key from key, or [key, other key)."""
    key = draw(keys) if key is None else key
    kind = draw(st.sampled_from(["single", "prefix", "from", "interval"]))
    if kind == "single":
        return key, None
    if kind == "prefix":
        return key, etcd.prefix_end(key)
    if kind == "from":
        return key, b"\0"
    return key, draw(keys)  # may be <= key: an empty range


@st.composite
def compares(draw) -> etcd.Compare:
    key, range_end = draw(st.one_of(ranges(), keys.map(lambda k: (k, None))))
    target = draw(st.sampled_from(list(etcd.CompareTarget)))
    result = draw(st.sampled_from(list(etcd.CompareResult)))
    if target is etcd.CompareTarget.VALUE:
        operand = draw(values)
    elif target is etcd.CompareTarget.LEASE:
        operand = draw(st.sampled_from([0, 1, 2]))
    else:
        operand = draw(st.integers(0, 8))
    return etcd.Compare(key=key, target=target, result=result, operand=operand, range_end=range_end)


def request_ops(leases: st.SearchStrategy[int] = no_lease) -> st.SearchStrategy[etcd.RequestOp]:
    """One txn op: a put (maybe with a lease), a delete_range or a range."""
    puts = st.builds(etcd.PutRequest, key=keys, value=values, lease=leases, prev_kv=st.booleans())
    deletes = ranges().flatmap(
        lambda r: st.builds(
            etcd.DeleteRangeRequest,
            key=st.just(r[0]),
            range_end=st.just(r[1]),
            prev_kv=st.booleans(),
        )
    )
    reads = ranges().flatmap(
        lambda r: st.builds(
            etcd.RangeRequest,
            key=st.just(r[0]),
            range_end=st.just(r[1]),
            limit=st.sampled_from([0, 0, 1, 2]),
        )
    )
    return st.one_of(puts, deletes, reads)


def txn_branches(leases: st.SearchStrategy[int] = no_lease):
    """A branch of up to 3 ops (duplicate keys are possible, and rejected by etcd)."""
    return st.lists(request_ops(leases), max_size=3).map(tuple)


lease_ttls = st.sampled_from([1, 2, 3, 5, 10])
advances = st.sampled_from([0.5, 1, 2, 3, 5, 600])
