"""Taints and tolerations as the scheduler matches them (v1.Toleration.ToleratesTaint).

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/):
a toleration tolerates a taint when its effect is empty or equal to the taint's,
its key is empty or equal to the taint's, and either its operator is Exists or
its operator is Equal (or empty) and its value equals the taint's. An empty key
with Exists tolerates every taint. Other operators tolerate nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kubeprop.spec.api.core import Taint, Toleration

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"

# v1.TaintNodeUnschedulable: the taint a cordoned node carries.
TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    if toleration.operator in (None, "", "Equal"):
        return (toleration.value or "") == (taint.value or "")
    return False


def tolerated(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    return any(tolerates(toleration, taint) for toleration in tolerations)


def find_untolerated_taint(
    taints: Iterable[Taint],
    tolerations: Iterable[Toleration],
    include: Callable[[Taint], bool] = lambda taint: True,
) -> Taint | None:
    """The first taint selected by ``include`` that no toleration tolerates."""
    tolerations = tuple(tolerations)
    for taint in taints:
        if include(taint) and not tolerated(tolerations, taint):
            return taint
    return None
