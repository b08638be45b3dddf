"""TaintToleration over a node table: the same rejections and raw scores, from the taint columns.

Contract: a node is rejected (key = 1 + the taint's id) exactly when the
per-node Filter rejects it, by its first untolerated NoSchedule/NoExecute
taint; the raw score is the count of PreferNoSchedule taints not tolerated by
the tolerations PreScore kept; NormalizeScore reverses as the plugin does.
"""

from __future__ import annotations

from kubeprop.reference.scheduler import core, taints
from kubeprop.reference.scheduler.plugins.taint_toleration import (
    _PRE_SCORE_KEY,
    TaintToleration,
    _schedule_blocking,
)


def _flags(table, wanted, tolerations) -> bytearray:
    """Per taint id: does it count (``wanted``) and is it tolerated by none of ``tolerations``."""
    return bytearray(
        1 if wanted(taint) and not taints.tolerated(tolerations, taint) else 0
        for taint in table.taints
    )


def filter_rows(plugin, state, pod, table):
    tolerations = pod.spec.tolerations if pod.spec else ()
    keys = table.kernels.zeros(table.size)
    if table.taint_width:
        flagged = _flags(table, _schedule_blocking, tolerations)
        table.kernels.first_flagged(table.taint_rows, table.taint_width, flagged, keys)
    return keys


def _prefer_no_schedule(taint) -> bool:
    return taint.effect == taints.PREFER_NO_SCHEDULE


def score_rows(plugin, state, pod, table, rows):
    out = table.kernels.zeros(len(rows))
    if table.taint_width:
        flagged = _flags(table, _prefer_no_schedule, state.read(_PRE_SCORE_KEY))
        table.kernels.count_flagged(rows, table.taint_rows, table.taint_width, flagged, out)
    return out


def normalize_rows(plugin, state, pod, table, raw):
    out = table.kernels.zeros(len(raw))
    table.kernels.normalize(raw, 1, out)
    return out


core.register(TaintToleration, filter=filter_rows, score=score_rows, normalize=normalize_rows)
