"""ImageLocality over a node table: the image columns give each holder's size and the spread.

Contract: the raw score of a feasible row is exactly the per-node plugin's: the
scaled sizes (size * holders / nodes, truncated) of the pod's init and app
containers' images the row holds, clamped and scaled by ``calculate_priority``;
a row holding none of them scores ``calculate_priority(0, containers)`` (0).
"""

from __future__ import annotations

from kubeprop.reference.scheduler import core
from kubeprop.reference.scheduler.plugins.image_locality import (
    ImageLocality,
    calculate_priority,
    normalized_image_name,
    scaled_image_score,
)


def score_rows(plugin, state, pod, table, rows):
    kernels = table.kernels
    if not table.image_rows:  # no node reports an image: every score is 0
        return kernels.zeros(len(rows))
    spec = pod.spec
    containers = (*spec.init_containers, *spec.containers) if spec else ()
    base = calculate_priority(0, len(containers))
    sums: dict[int, int] = {}
    for container in containers:
        holders = table.image_rows.get(normalized_image_name(container.image or ""))
        if not holders:
            continue
        for row, size in holders.items():
            sums[row] = sums.get(row, 0) + scaled_image_score(size, len(holders), table.size)
    out = kernels.zeros(len(rows))
    if not sums and not base:  # no row holds an image of the pod: every score is 0
        return out
    column = kernels.zeros(table.size)
    if base:
        for row in range(table.size):
            column[row] = base
    for row, total in sums.items():
        column[row] = calculate_priority(total, len(containers))
    kernels.gather(rows, column, out)
    return out


core.register(ImageLocality, score=score_rows)
