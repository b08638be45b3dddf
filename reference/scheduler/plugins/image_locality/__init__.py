"""ImageLocality: Score favouring nodes that already hold the pod's container images, weighed by their spread.

Contract (https://github.com/kubernetes/kubernetes/blob/release-1.35/pkg/scheduler/framework/plugins/imagelocality/image_locality.go):
- An image name is normalised by appending ":latest" when it carries no tag
  (its last ":" is not after its last "/"); a digest reference ("name@sha256:...")
  and a registry port ("host:5000/name") are handled by that rule. Nothing else
  is normalised (no "docker.io/library/" prefix), so a node must report the
  image under the name the pod uses.
- For every init container (all of them, regular and sidecar, as upstream does) and every
  app container whose normalised image the node holds (``NodeInfo.image_states``),
  the node gains ``int(size * spread)``, where ``spread`` is the number of nodes
  of the whole snapshot holding that image name divided by the number of nodes
  of the snapshot (float64 arithmetic, truncated).
- With ``n`` containers (init and app), the sum is clamped to
  [23 MiB, n * 1000 MiB] and the score is
  ``100 * (sum - 23 MiB) / (n * 1000 MiB - 23 MiB)`` in integer arithmetic.
  The score is already in [0, 100]: there is no NormalizeScore.
- The snapshot comes from ``state.snapshot``; a cycle without one, or a node not
  in it, is an Error as upstream's snapshot lister answers.
"""

from __future__ import annotations

from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import (
    SUCCESS,
    CycleState,
    Handle,
    NodeInfo,
    Status,
    error,
)
from kubeprop.reference.scheduler.helper import MAX_NODE_SCORE, go_div
from kubeprop.spec.api.core import Pod

NAME = "ImageLocality"
MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB
# Where the cycle keeps, once computed, the snapshot's (node count, image -> nodes holding it,
# node names).
SPREAD_KEY = "Score" + NAME + "/spread"


def normalized_image_name(name: str) -> str:
    """The name with ":latest" appended when it has no tag."""
    if name.rfind(":") <= name.rfind("/"):
        return name + ":latest"
    return name


def calculate_priority(sum_scores: int, num_containers: int) -> int:
    """The sum clamped to [minThreshold, n * maxContainerThreshold], scaled to [0, 100]."""
    max_threshold = MAX_CONTAINER_THRESHOLD * num_containers
    if sum_scores < MIN_THRESHOLD:
        sum_scores = MIN_THRESHOLD
    elif sum_scores > max_threshold:
        sum_scores = max_threshold
    return go_div(MAX_NODE_SCORE * (sum_scores - MIN_THRESHOLD), max_threshold - MIN_THRESHOLD)


def scaled_image_score(size: int, num_nodes: int, total_num_nodes: int) -> int:
    """The image's size times the share of nodes holding it (float64, truncated)."""
    spread = float(num_nodes) / float(total_num_nodes)
    return int(float(size) * spread)


def _spread(state: CycleState) -> tuple[int, dict[str, int], frozenset[str]] | None:
    """(node count, image name -> nodes holding it, node names) of the cycle's snapshot."""
    cached = state.data.get(SPREAD_KEY)
    if cached is None and state.snapshot is not None:
        holders: dict[str, int] = {}
        for info in state.snapshot.node_infos:
            for image in info.image_states:
                holders[image] = holders.get(image, 0) + 1
        names = frozenset(info.name for info in state.snapshot.node_infos)
        cached = (len(state.snapshot.node_infos), holders, names)
        state.write(SPREAD_KEY, cached)
    return cached


@attrs.frozen
class ImageLocality:
    name: str = NAME

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        spread = _spread(state)
        if spread is None:
            return 0, error("ImageLocality: the cycle state has no snapshot")
        total, holders, names = spread
        if node_info.name not in names:
            return 0, error(
                f'getting node "{node_info.name}" from Snapshot: '
                f'nodeinfo not found for node name "{node_info.name}"'
            )
        spec = pod.spec
        containers = (*spec.init_containers, *spec.containers) if spec else ()
        return calculate_priority(
            self.sum_image_scores(node_info, containers, total, holders), len(containers)
        ), SUCCESS

    def sum_image_scores(
        self, node_info: NodeInfo, containers: Any, total: int, holders: dict[str, int]
    ) -> int:
        """The scaled sizes of the containers' images the node holds."""
        total_score = 0
        for container in containers:
            image = normalized_image_name(container.image or "")
            size = node_info.image_states.get(image)
            if size is not None:
                total_score += scaled_image_score(size, holders.get(image, 0), total)
        return total_score

    def score_extensions(self) -> None:
        return None


def new(args: Any, handle: Handle) -> ImageLocality:
    return ImageLocality()
