"""kubeprop.reference.kubelet: the node agent of the simulated cluster.

Contract: ``Kubelet`` (one per node, on the cluster's ``EventLoop``) registers
its Node, heartbeats through node status and its Lease, and runs the pods bound
to its node on that node's ``Runtime``; ``backoff`` holds the back-off rules it
follows and ``status`` the pure rules of the pod status it reports.
spec/kubelet.md states the rules; spec/invariants/kubelet.py checks them.
"""

from kubeprop.reference.kubelet.backoff import (
    INITIAL_BACK_OFF,
    MAX_CONTAINER_BACK_OFF,
    MAX_IMAGE_BACK_OFF,
    Backoff,
    go_duration,
)
from kubeprop.reference.kubelet.kubelet import (
    KUBELET_VERSION,
    NODE_LEASE_DURATION_SECONDS,
    NODE_LEASE_NAMESPACE,
    NODE_STATUS_UPDATE_FREQUENCY,
    Kubelet,
    PodWorker,
)

__all__ = [
    "INITIAL_BACK_OFF",
    "KUBELET_VERSION",
    "MAX_CONTAINER_BACK_OFF",
    "MAX_IMAGE_BACK_OFF",
    "NODE_LEASE_DURATION_SECONDS",
    "NODE_LEASE_NAMESPACE",
    "NODE_STATUS_UPDATE_FREQUENCY",
    "Backoff",
    "Kubelet",
    "PodWorker",
    "go_duration",
]
