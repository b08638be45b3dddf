"""InterPodAffinity's Filter over a node table: each term decided once per topology value.

Contract: the rows rejected are exactly the per-node Filter's, with keys 1
(affinity: a topology key missing, or no matching pod in the node's domain for
some term, unless the pod is the first of a group with affinity to itself),
2 (the pod's anti-affinity: a matching pod in the node's domain of some term)
and 3 (an existing pod's anti-affinity matches the pod in the node's domain),
checked in that order.
"""

from __future__ import annotations

from kubeprop.reference.scheduler import core
from kubeprop.reference.scheduler.plugins.inter_pod_affinity import InterPodAffinity
from kubeprop.reference.scheduler.plugins.inter_pod_affinity.filtering import (
    PRE_FILTER_STATE_KEY,
    matches_all,
)

AFFINITY, ANTI_AFFINITY, EXISTING_ANTI_AFFINITY = 1, 2, 3


def _counted(table, key: str, counts) -> bytearray:
    """Per value id of label ``key``: is there a count above 0 for (key, value)."""
    return bytearray(
        1 if counts.get((key, value), 0) > 0 else 0 for value in table.label_names.get(key, ())
    )


def filter_rows(plugin, state, pod, table):
    found = state.read(PRE_FILTER_STATE_KEY)
    kernels, n = table.kernels, table.size
    keys = kernels.zeros(n)
    if found.affinity_terms:
        allowed = bytearray(b"\x01") * n
        exist = bytearray(b"\x01") * n
        for term in found.affinity_terms:
            column = table.label_column(term.topology_key)
            values = len(table.label_names.get(term.topology_key, ()))
            kernels.and_lookup(column, bytearray(b"\x01") * values, 0, allowed)
            kernels.and_lookup(
                column, _counted(table, term.topology_key, found.affinity_counts), 0, exist
            )
        first_of_group = not found.affinity_counts and matches_all(found.affinity_terms, found.pod)
        if not first_of_group:
            kernels.and_into(exist, allowed)
        kernels.keys_where_unset(allowed, AFFINITY, keys)
    for term in found.anti_affinity_terms:
        flags = _counted(table, term.topology_key, found.anti_affinity_counts)
        kernels.lookup_keys(table.label_column(term.topology_key), flags, 0, ANTI_AFFINITY, keys)
    for key in sorted({key for key, _ in found.existing_anti_affinity_counts}):
        flags = _counted(table, key, found.existing_anti_affinity_counts)
        kernels.lookup_keys(table.label_column(key), flags, 0, EXISTING_ANTI_AFFINITY, keys)
    return keys


core.register(InterPodAffinity, filter=filter_rows)
