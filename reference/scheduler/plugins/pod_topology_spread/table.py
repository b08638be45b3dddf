"""PodTopologySpread's Filter over a node table: each constraint decided once per topology value.

Contract: for each DoNotSchedule constraint in order, a row still passing is
rejected with key 1 (missing required label) when it lacks the topology key,
or key 2 (constraints not matched) when the skew of its domain's value, worked
out once per value with the plugin's own ``skew_exceeds``, is too large;
exactly the per-node Filter's rejections.
"""

from __future__ import annotations

from kubeprop.reference.scheduler import core
from kubeprop.reference.scheduler.plugins.pod_topology_spread import PodTopologySpread
from kubeprop.reference.scheduler.plugins.pod_topology_spread.common import (
    labels_of,
    selector_matches,
)
from kubeprop.reference.scheduler.plugins.pod_topology_spread.filtering import (
    PRE_FILTER_STATE_KEY,
)

MISSING_LABEL, SKEW_EXCEEDED = 1, 2


def filter_rows(plugin, state, pod, table):
    spread = state.read(PRE_FILTER_STATE_KEY)
    pod_labels = labels_of(pod)
    keys = table.kernels.zeros(table.size)
    for i, constraint in enumerate(spread.constraints):
        key = constraint.topology_key
        self_match = 1 if selector_matches(constraint.selector, pod_labels) else 0
        low = spread.min_match_num(i)
        counts = spread.match_num[i]
        exceeds = bytearray(
            1
            if plugin.skew_exceeds(counts.get(value, 0) + self_match - low, constraint.max_skew)
            else 0
            for value in table.label_names.get(key, ())
        )
        table.kernels.lookup_keys(
            table.label_column(key), exceeds, MISSING_LABEL, SKEW_EXCEEDED, keys
        )
    return keys


core.register(PodTopologySpread, filter=filter_rows)
