"""InterPodAffinityArgs: the plugin's pluginConfig args, defaulted and validated as upstream does.

Contract (https://kubernetes.io/docs/reference/config-api/kube-scheduler-config.v1/#kubescheduler-config-k8s-io-v1-InterPodAffinityArgs):
- ``hardPodAffinityWeight`` (default 1) weighs, in Score, the required
  affinity terms of existing pods that the incoming pod matches; it must lie in
  [0, 100], else ``hardPodAffinityWeight: Invalid value: 101: not in valid
  range [0, 100]`` (upstream's validateHardPodAffinityWeight).
- ``ignorePreferredTermsOfExistingPods`` (default false): when set, PreScore
  skips a pod that has no preferred pod (anti-)affinity of its own, instead of
  scoring it by the existing pods' terms.
- ``parse(args)`` takes the camelCase mapping (or None) and raises
  ``InvalidInput`` naming the field for a bad value or an unknown field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import InvalidInput
from kubeprop.spec.api.errors import format_value, go_quote

DEFAULT_HARD_POD_AFFINITY_WEIGHT = 1
MIN_HARD_POD_AFFINITY_WEIGHT = 0
MAX_HARD_POD_AFFINITY_WEIGHT = 100
FIELDS = ("hardPodAffinityWeight", "ignorePreferredTermsOfExistingPods")


@attrs.frozen
class InterPodAffinityArgs:
    hard_pod_affinity_weight: int = DEFAULT_HARD_POD_AFFINITY_WEIGHT
    ignore_preferred_terms_of_existing_pods: bool = False


def parse(args: Mapping[str, Any] | None) -> InterPodAffinityArgs:
    """The args with upstream's defaults; InvalidInput for a bad or unknown field."""
    if not args:
        return InterPodAffinityArgs()
    if not isinstance(args, Mapping):
        raise InvalidInput(f"args: Invalid value: {format_value(str(args))}: must be an object")
    for key in args:
        if key not in FIELDS:
            raise InvalidInput(f"unknown field {go_quote(str(key))}")
    weight = args.get("hardPodAffinityWeight", DEFAULT_HARD_POD_AFFINITY_WEIGHT)
    if isinstance(weight, bool) or not isinstance(weight, int):
        raise InvalidInput(
            f"hardPodAffinityWeight: Invalid value: {format_value(weight)}: must be an integer"
        )
    if not MIN_HARD_POD_AFFINITY_WEIGHT <= weight <= MAX_HARD_POD_AFFINITY_WEIGHT:
        raise InvalidInput(
            f"hardPodAffinityWeight: Invalid value: {weight}: not in valid range "
            f"[{MIN_HARD_POD_AFFINITY_WEIGHT}, {MAX_HARD_POD_AFFINITY_WEIGHT}]"
        )
    ignore = args.get("ignorePreferredTermsOfExistingPods", False)
    if not isinstance(ignore, bool):
        raise InvalidInput(
            "ignorePreferredTermsOfExistingPods: Invalid value: "
            f"{format_value(ignore)}: must be a boolean"
        )
    return InterPodAffinityArgs(
        hard_pod_affinity_weight=weight, ignore_preferred_terms_of_existing_pods=ignore
    )
