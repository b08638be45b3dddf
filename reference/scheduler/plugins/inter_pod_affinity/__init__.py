"""InterPodAffinity: place pods with, or away from, other pods by the labels of the pods around.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#inter-pod-affinity-and-anti-affinity):
- Filter (filtering.py): the incoming pod's required affinity and
  anti-affinity, and the required anti-affinity of the pods already placed,
  per topology domain; reasons and codes as upstream's.
- Score (scoring.py): preferred terms of the incoming pod and of the existing
  pods, and the existing pods' required affinity weighted by
  ``hardPodAffinityWeight``; min-max normalised.
- ``new(args, handle)`` reads InterPodAffinityArgs (args.py), raising
  ``InvalidInput`` naming the bad field. Default weight in the default
  profile: 2, after PodTopologySpread and before NodeResourcesBalancedAllocation.
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import Handle
from kubeprop.reference.scheduler.plugins.inter_pod_affinity.args import (
    InterPodAffinityArgs,
    parse,
)
from kubeprop.reference.scheduler.plugins.inter_pod_affinity.filtering import (
    REASON_AFFINITY,
    REASON_ANTI_AFFINITY,
    REASON_EXISTING_ANTI_AFFINITY,
    Filtering,
)
from kubeprop.reference.scheduler.plugins.inter_pod_affinity.scoring import Scoring

NAME = "InterPodAffinity"

__all__ = [
    "NAME",
    "REASON_AFFINITY",
    "REASON_ANTI_AFFINITY",
    "REASON_EXISTING_ANTI_AFFINITY",
    "InterPodAffinity",
    "InterPodAffinityArgs",
    "new",
]


@attrs.frozen
class InterPodAffinity(Filtering, Scoring):
    args: InterPodAffinityArgs = InterPodAffinityArgs()
    name: str = NAME


def new(args: Any, handle: Handle) -> InterPodAffinity:
    return InterPodAffinity(args=parse(args))
