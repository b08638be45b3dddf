"""The reference etcd v3 store (``kubeprop.reference.store``): MVCC, txns, watches, leases.

``Store()`` is an empty store at revision 1 on a simulated clock starting at 0
(``Store(clock=t)`` starts it at ``t``). It satisfies
``kubeprop.spec.contracts.Store``; spec/store.md states the contract and names
the invariant that checks each rule. ``keyrange.IMPLEMENTATION`` says whether
the compiled key-range core or its pure-Python twin is in use.
"""

from kubeprop.reference.store._store import (
    MAX_LEASE_TTL,
    MAX_TXN_OPS,
    MIN_LEASE_TTL,
    PROGRESS_NOTIFY_INTERVAL,
    Lease,
    Store,
    Watcher,
    compare_holds,
)
from kubeprop.reference.store.keyrange import IMPLEMENTATION

__all__ = [
    "IMPLEMENTATION",
    "MAX_LEASE_TTL",
    "MAX_TXN_OPS",
    "MIN_LEASE_TTL",
    "PROGRESS_NOTIFY_INTERVAL",
    "Lease",
    "Store",
    "Watcher",
    "compare_holds",
]
