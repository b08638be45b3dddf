"""Deliberately broken kubelets: each breaks one rule of spec/kubelet.md.

Contract: every mutant is a small subclass of the reference ``Kubelet`` with the
same constructor, overriding one method; ``BREAKS`` names the invariant the
kubelet suite must catch it with. ``NeverRestarts`` is also used by the
cluster suite (a kubelet that never restarts a container).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from kubeprop.reference.kubelet import Kubelet
from kubeprop.reference.kubelet.kubelet import NODE_CONDITIONS


class NeverRestarts(Kubelet):
    """Exited containers are never started again, whatever restartPolicy says."""

    def should_restart(self, pod, container_status):
        return False


class IgnoresRestartPolicy(Kubelet):
    """Every exited container is restarted, even under restartPolicy Never."""

    def should_restart(self, pod, container_status):
        return not (pod.get("metadata") or {}).get("deletionTimestamp")


class NoCrashLoopBackOff(Kubelet):
    """Crashed containers are restarted at once, every time (no back-off)."""

    def back_off_delay(self, previous):
        return 0.0


class ConstantBackOff(Kubelet):
    """The crash-loop back-off never doubles: always 10 s."""

    def back_off_delay(self, previous):
        return 10.0


class NoImagePullBackOff(Kubelet):
    """A failed pull is retried at every pod sync, without the image back-off."""

    def image_back_off_delay(self, previous):
        return 0.0


class LazyLease(Kubelet):
    """The node Lease is renewed once per lease duration (40 s), not every 10 s."""

    def lease_renew_interval(self):
        return 40.0


class NotReadyNode(Kubelet):
    """The node reports Ready=False although the kubelet is healthy."""

    def node_conditions(self):
        return tuple(
            (kind, "False", "KubeletNotReady", "container runtime status check may not have completed yet")
            if kind == "Ready"
            else (kind, status, reason, message)
            for kind, status, reason, message in NODE_CONDITIONS
        )  # fmt: skip


class SkipsInitContainers(Kubelet):
    """App containers start without running the init containers first."""

    def init_containers(self, pod):
        return []


class RestartCountZero(Kubelet):
    """restartCount is always reported as 0."""

    def restart_count(self, container_status):
        return 0


class ReadyWithoutProbing(Kubelet):
    """A container is ready as soon as it runs, before its readiness probe says so."""

    def ready_before_probing(self, container):
        return True


class KillsWithoutGrace(Kubelet):
    """A deleted pod's containers are SIGKILLed at once, ignoring the grace period."""

    def stop_timeout(self, pod):
        return 0


class AdmitsEverything(Kubelet):
    """Every pod is admitted, whether or not it fits the node's allocatable."""

    def fits(self, pod):
        return None


class OneIPForAll(Kubelet):
    """Every pod gets the first address of the pod CIDR."""

    def allocate_ip(self, worker):
        if self.pod_cidr and worker.ip is None:
            network = ipaddress.ip_network(self.pod_cidr, strict=False)
            worker.ip = str(network.network_address + 2)
        return worker.ip


MUTANTS: dict[str, Callable[..., Kubelet]] = {
    "never-restarts": NeverRestarts,
    "ignores-restart-policy": IgnoresRestartPolicy,
    "no-crash-loop-back-off": NoCrashLoopBackOff,
    "constant-back-off": ConstantBackOff,
    "no-image-pull-back-off": NoImagePullBackOff,
    "lazy-lease": LazyLease,
    "not-ready-node": NotReadyNode,
    "skips-init-containers": SkipsInitContainers,
    "restart-count-zero": RestartCountZero,
    "ready-without-probing": ReadyWithoutProbing,
    "kills-without-grace": KillsWithoutGrace,
    "admits-everything": AdmitsEverything,
    "one-ip-for-all": OneIPForAll,
}

BREAKS: dict[str, str] = {
    "never-restarts": "KUBELET-RESTART-POLICY",
    "ignores-restart-policy": "KUBELET-RESTART-POLICY",
    "no-crash-loop-back-off": "KUBELET-CRASHLOOP-BACKOFF",
    "constant-back-off": "KUBELET-CRASHLOOP-BACKOFF",
    "no-image-pull-back-off": "KUBELET-IMAGE-PULL-BACKOFF",
    "lazy-lease": "KUBELET-LEASE-RENEWED",
    "not-ready-node": "KUBELET-NODE-STATUS",
    "skips-init-containers": "KUBELET-INIT-ORDER",
    "restart-count-zero": "KUBELET-STATUS-REFLECTS-RUNTIME",
    "ready-without-probing": "KUBELET-READINESS",
    "kills-without-grace": "KUBELET-GRACEFUL-TERMINATION",
    "admits-everything": "KUBELET-ADMISSION",
    "one-ip-for-all": "KUBELET-POD-IPS",
}
