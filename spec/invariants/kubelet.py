"""The kubelet's invariants (spec/kubelet.md): what a node agent reports and how it runs pods.

Contract: every predicate is pure over values the suite recorded: Pod, Node and
Lease manifests read from the API server, the runtime's containers and sandboxes
(objects with the attributes of the runtime's ``ContainerStatus`` /
``PodSandbox``; ``state`` compares equal to the CRI's state names), the events
the kubelet recorded and small records of what the suite did
(``DeletionRecord``). None of them calls a kubelet or a runtime. The back-off
arithmetic (``restart_decisions``, ``pull_back_offs``) is the executable form of
client-go's flowcontrol.Backoff as the kubelet configures it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from kubeprop.spec.api import times
from kubeprop.spec.api.quantity import parse_quantity as _parse_quantity
from kubeprop.spec.invariants import HOLDS, VACUOUS, Outcome, holds_if, invariant, violated

Manifest = dict[str, Any]

POD_LIFECYCLE = "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/"
RESTART_POLICY = POD_LIFECYCLE + "#restart-policy"
CRASH_LOOP = POD_LIFECYCLE + "#container-restarts"
INIT_CONTAINERS = "https://kubernetes.io/docs/concepts/workloads/pods/init-containers/"
IMAGE_BACK_OFF = "https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff"
TERMINATION = POD_LIFECYCLE + "#pod-termination"
HEARTBEATS = "https://kubernetes.io/docs/concepts/architecture/nodes/#node-heartbeats"
NODE_STATUS = "https://kubernetes.io/docs/reference/node/node-status/"
FIT = "https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/lifecycle/predicate.go"
PROBES = POD_LIFECYCLE + "#container-probes"
POD_NETWORK = "https://kubernetes.io/docs/concepts/cluster-administration/networking/"

RUNNING, EXITED, CREATED = "CONTAINER_RUNNING", "CONTAINER_EXITED", "CONTAINER_CREATED"
SANDBOX_READY = "SANDBOX_READY"
INITIAL_BACK_OFF = 10.0
MAX_BACK_OFF = 300.0
EXPIRY = 2 * MAX_BACK_OFF  # an entry not updated for this long starts over
WORKER_PERIOD = 10.0  # a pod whose sync failed is synced again this much later
LEASE_RENEW_INTERVAL = 10.0  # 25% of the 40 s lease
NODE_STATUS_PERIOD = 10.0
NODE_STATUS_REPORT_PERIOD = 300.0  # nodeStatusReportFrequency: an unchanged status's period
SIGKILL_EXIT_CODE = 137
EPSILON = 1e-6


@functools.lru_cache(maxsize=256)
def parse_quantity(text: str):
    """A resource quantity (cached: the same few strings are parsed at every step)."""
    return _parse_quantity(text)


def _state(item: object) -> str:
    return getattr(item.state, "value", item.state)


def _meta(obj: Manifest) -> Manifest:
    return obj.get("metadata") or {}


def _spec(obj: Manifest) -> Manifest:
    return obj.get("spec") or {}


def _statuses(pod: Manifest) -> list[Manifest]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def by_name(containers: Iterable[object]) -> dict[str, list[object]]:
    """Containers grouped by name, each group in attempt order."""
    groups: dict[str, list[object]] = {}
    for container in containers:
        groups.setdefault(container.name, []).append(container)
    for group in groups.values():
        group.sort(key=lambda c: (c.attempt, c.created_at))
    return groups


def restart_decisions(finishes: Sequence[float]) -> list[float]:
    """When the kubelet decides to restart after each exit (client-go flowcontrol.Backoff):
    at once after the first exit (or one more than 10 minutes after the last decision),
    else after the current delay, which starts at 10 s and doubles up to 300 s."""
    decisions = []
    delay = last = None
    for finished in finishes:
        if delay is not None and finished - last <= EXPIRY:
            decision = finished + delay
            delay = min(delay * 2, MAX_BACK_OFF)
        else:
            decision = finished
            delay = INITIAL_BACK_OFF
        last = decision
        decisions.append(decision)
    return decisions


def pull_back_offs(failures: Sequence[float]) -> list[float]:
    """The image pull back-off after each failed pull: 10 s doubling to 300 s (reset after
    10 minutes without a failure)."""
    delays = []
    delay = last = None
    for failed in failures:
        if delay is None or failed - last > EXPIRY:
            delay = INITIAL_BACK_OFF
        else:
            delay = min(delay * 2, MAX_BACK_OFF)
        last = failed
        delays.append(delay)
    return delays


def restart_wanted(policy: str, init: bool, exit_code: int | None) -> bool:
    """Whether restartPolicy restarts a container that exited with ``exit_code``."""
    if init:
        return exit_code != 0 and policy != "Never"
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


@attrs.frozen
class PodRun:
    """One pod as observed: its manifest and the containers of its current sandbox."""

    pod: Manifest
    containers: tuple[object, ...]
    pull_seconds: Mapping[str, float] = attrs.field(factory=dict)  # name -> pull per start
    active: bool = True  # the kubelet runs and the pod is not being deleted
    now: float = 0.0  # when it was observed


@invariant(
    "KUBELET-STATUS-REFLECTS-RUNTIME",
    component="kubelet",
    kind="safety",
    statement=(
        "Each container status the kubelet reports describes the latest container of that "
        "name in the runtime: running with its containerID while it runs; once it exited, "
        "terminated with its exit code (or waiting to restart with it as lastState); and "
        "restartCount is its attempt number."
    ),
    source=POD_LIFECYCLE,
)
def status_reflects_runtime(runs: Iterable[PodRun]) -> Outcome:
    bad = []
    checked = 0
    for run in runs:
        groups = by_name(run.containers)
        who = _meta(run.pod).get("name")
        for status in _statuses(run.pod):
            name = status.get("name")
            group = groups.get(name)
            state = status.get("state") or {}
            if not group:
                if state.get("running") is not None:
                    bad.append(f"{who}/{name} is reported running but no container runs")
                continue
            checked += 1
            latest = group[-1]
            cid = f"containerd://{latest.id}"
            if status.get("restartCount") != latest.attempt:
                bad.append(
                    f"{who}/{name} reports restartCount {status.get('restartCount')}, "
                    f"its container is attempt {latest.attempt}"
                )
            if _state(latest) in (RUNNING, EXITED) and status.get("containerID") != cid:
                bad.append(f"{who}/{name} reports {status.get('containerID')}, latest is {cid}")
            if _state(latest) == RUNNING and state.get("running") is None:
                bad.append(f"{who}/{name} runs but is reported {sorted(state)}")
            if _state(latest) == EXITED:
                terminated = state.get("terminated")
                last = (status.get("lastState") or {}).get("terminated")
                if terminated is not None:
                    shown = terminated.get("exitCode")
                elif state.get("waiting") is not None and last is not None:
                    shown = last.get("exitCode") if last.get("containerID") == cid else None
                else:
                    shown = None
                if shown != latest.exit_code:
                    bad.append(
                        f"{who}/{name} exited {latest.exit_code} but is reported "
                        f"{state} (lastState {status.get('lastState')})"
                    )
    return holds_if(bad, checked=checked)


def _restart_deadline(run: PodRun, name: str, group: Sequence[object]) -> float:
    decisions = restart_decisions([c.finished_at for c in group])
    return decisions[-1] + run.pull_seconds.get(name, 0.0)


def _init_names(pod: Manifest) -> list[str]:
    return [c.get("name") for c in _spec(pod).get("initContainers") or []]


@invariant(
    "KUBELET-RESTART-POLICY",
    component="kubelet",
    kind="safety",
    statement=(
        "A container is started again only if restartPolicy says so (Always; OnFailure after "
        "a non-zero exit; an init container only after a failure and never under Never), "
        "and an exited container that restartPolicy restarts is started again once its "
        "crash-loop back-off (and the pull its image policy requires) has passed."
    ),
    source=RESTART_POLICY,
)
def restart_policy(runs: Iterable[PodRun], now: float) -> Outcome:
    bad = []
    checked = 0
    for run in runs:
        policy = _spec(run.pod).get("restartPolicy") or "Always"
        inits = set(_init_names(run.pod))
        who = _meta(run.pod).get("name")
        for name, group in by_name(run.containers).items():
            checked += 1
            init = name in inits
            for earlier in group[:-1]:
                if not restart_wanted(policy, init, earlier.exit_code):
                    bad.append(
                        f"{who}/{name} (restartPolicy {policy}) was started again after "
                        f"attempt {earlier.attempt} exited {earlier.exit_code}"
                    )
            latest = group[-1]
            if not run.active or _state(latest) != EXITED:
                continue
            if not restart_wanted(policy, init, latest.exit_code):
                continue
            due = _restart_deadline(run, name, group)
            if now > due + EPSILON:
                bad.append(
                    f"{who}/{name} (restartPolicy {policy}) exited {latest.exit_code} at "
                    f"{latest.finished_at} and should have been restarted by {due}, "
                    f"but it is still not at {now}"
                )
    return holds_if(bad, checked=checked)


@invariant(
    "KUBELET-CRASHLOOP-BACKOFF",
    component="kubelet",
    kind="safety",
    statement=(
        "Restarts of a container follow the crash-loop back-off: the first restart at once, "
        "each later one 10 s, 20 s, 40 s, ... (at most 300 s) after the exit, starting over "
        "once 10 minutes pass without a restart; plus the pull its image policy requires."
    ),
    source=CRASH_LOOP,
)
def crashloop_back_off(runs: Iterable[PodRun]) -> Outcome:
    bad = []
    checked = 0
    for run in runs:
        who = _meta(run.pod).get("name")
        for name, group in by_name(run.containers).items():
            finishes = [c.finished_at for c in group[:-1]]
            if not finishes or any(f is None for f in finishes):
                continue
            decisions = restart_decisions(finishes)
            pull = run.pull_seconds.get(name, 0.0)
            for decision, earlier, later in zip(decisions, group, group[1:]):
                checked += 1
                expected = decision + pull
                if abs(later.created_at - expected) > EPSILON:
                    bad.append(
                        f"{who}/{name} attempt {later.attempt} was created at "
                        f"{later.created_at}, {later.created_at - earlier.finished_at:g} s "
                        f"after attempt {earlier.attempt} exited; the back-off says {expected}"
                    )
    return holds_if(bad, checked=checked)


@invariant(
    "KUBELET-INIT-ORDER",
    component="kubelet",
    kind="safety",
    statement=(
        "Init containers run one at a time in order: each is created only after the one "
        "before it exited 0, and no app container is created before every init container "
        "exited 0."
    ),
    source=INIT_CONTAINERS,
)
def init_order(runs: Iterable[PodRun]) -> Outcome:
    bad = []
    checked = 0
    for run in runs:
        inits = _init_names(run.pod)
        if not inits:
            continue
        groups = by_name(run.containers)
        who = _meta(run.pod).get("name")
        apps = [c.get("name") for c in _spec(run.pod).get("containers") or []]
        steps = [[name] for name in inits] + [apps]
        for before, after in zip(steps, steps[1:]):
            created = [c.created_at for name in after for c in groups.get(name, [])]
            if not created:
                continue
            checked += 1
            done = [
                c.finished_at
                for c in groups.get(before[0], [])
                if _state(c) == EXITED and c.exit_code == 0
            ]
            if not done or min(created) < min(done) - EPSILON:
                bad.append(
                    f"{who}: {', '.join(after)} was created at {min(created)} before init "
                    f"container {before[0]} completed ({min(done) if done else 'never'})"
                )
    return holds_if(bad, checked=checked)


@attrs.frozen
class PullLog:
    """The image pulls the kubelet made for one pod and image, as its events said."""

    pod: str  # namespace/name (uid)
    image: str
    steps: tuple[tuple[str, float], ...]  # ("pulling" | "failed" | "pulled", instant)
    active: bool  # the pod still runs on this kubelet and waits for the image


@invariant(
    "KUBELET-IMAGE-PULL-BACKOFF",
    component="kubelet",
    kind="safety",
    statement=(
        "After a failed pull the kubelet pulls the image again for that pod no sooner than "
        "the image back-off (10 s, doubling to 300 s) and no later than one pod sync period "
        "(10 s) after it; meanwhile the container waits in ImagePullBackOff."
    ),
    source=IMAGE_BACK_OFF,
)
def image_pull_back_off(logs: Iterable[PullLog], now: float) -> Outcome:
    bad = []
    checked = 0
    for log in logs:
        failures = [at for kind, at in log.steps if kind == "failed"]
        delays = dict(zip(failures, pull_back_offs(failures)))
        pending = None  # (failed at, back-off) awaiting the next pull
        for kind, at in log.steps:
            if kind == "failed":
                pending = (at, delays[at])
            elif kind == "pulling" and pending is not None:
                checked += 1
                failed, delay = pending
                waited = at - failed
                if waited < delay - EPSILON or waited > delay + WORKER_PERIOD + EPSILON:
                    bad.append(
                        f"{log.pod}: {log.image} was pulled again {waited:g} s after a failed "
                        f"pull; the back-off was {delay:g} s"
                    )
                pending = None
            else:
                pending = None
        if pending is not None and log.active:
            checked += 1
            failed, delay = pending
            if now > failed + delay + WORKER_PERIOD + EPSILON:
                bad.append(
                    f"{log.pod}: {log.image} failed at {failed} and was not pulled again by "
                    f"{now} (back-off {delay:g} s)"
                )
    return holds_if(bad, checked=checked)


@attrs.frozen
class DeletionRecord:
    """A graceful delete of a running pod, and what ran in it then."""

    pod: str  # namespace/name
    at: float  # when the delete was accepted
    grace: int  # deletionGracePeriodSeconds
    running: Mapping[str, bool]  # container id -> its image ignores SIGTERM
    killed: frozenset[str] = frozenset()  # containers a fault or the OOM killer hit


@invariant(
    "KUBELET-GRACEFUL-TERMINATION",
    component="kubelet",
    kind="safety",
    statement=(
        "A pod deleted gracefully has its containers stopped with SIGTERM and given its "
        "deletionGracePeriodSeconds before SIGKILL; the kubelet deletes the pod "
        "(gracePeriodSeconds=0) only once they stopped, within the grace period of seeing it."
    ),
    source=TERMINATION,
)
def graceful_termination(
    record: DeletionRecord,
    present: bool,
    exits: Mapping[str, tuple[int, float, str]],
    still_running: Iterable[str],
    now: float,
    latency: float,
) -> Outcome:
    bad = []
    running_now = set(still_running) & set(record.running)
    if present and now > record.at + latency + record.grace + EPSILON:
        bad.append(
            f"{record.pod} was deleted at {record.at} with a {record.grace} s grace period "
            f"but is still there at {now}"
        )
    if not present and running_now:
        bad.append(f"{record.pod} was removed while {sorted(running_now)} still ran")
    for cid, ignores in record.running.items():
        if cid not in exits or cid in record.killed:
            continue
        code, at, reason = exits[cid]
        if code != SIGKILL_EXIT_CODE or reason == "OOMKilled":
            continue  # it exited on its own (the OOM killer is not the kubelet)
        if not ignores:
            bad.append(f"{record.pod}: container {cid[:12]} was SIGKILLed, not sent SIGTERM")
        elif at < record.at + record.grace - EPSILON:
            bad.append(
                f"{record.pod}: container {cid[:12]} was SIGKILLed at {at}, before its grace "
                f"period ended at {record.at + record.grace}"
            )
    return holds_if(bad, checked=1)


_micro = times.seconds  # simulated seconds of a timestamp (None if absent)


@invariant(
    "KUBELET-LEASE-RENEWED",
    component="kubelet",
    kind="safety",
    statement=(
        "While the kubelet runs and reaches the API server, its node's Lease in "
        "kube-node-lease is held by the node, lasts 40 s and was renewed within the renew "
        "interval (25% of 40 s = 10 s)."
    ),
    source=HEARTBEATS,
)
def lease_renewed(lease: Manifest | None, node_name: str, now: float) -> Outcome:
    if lease is None:
        return violated(f"node {node_name} has no Lease in kube-node-lease")
    spec = _spec(lease)
    if spec.get("holderIdentity") != node_name or spec.get("leaseDurationSeconds") != 40:
        return violated(
            f"the Lease of {node_name} is held by {spec.get('holderIdentity')!r} for "
            f"{spec.get('leaseDurationSeconds')} s"
        )
    renewed = _micro(spec.get("renewTime"))
    if renewed is None or now - renewed > LEASE_RENEW_INTERVAL + EPSILON:
        return violated(
            f"the Lease of {node_name} was last renewed at {spec.get('renewTime')}, "
            f"more than {LEASE_RENEW_INTERVAL:g} s before {now}"
        )
    return HOLDS


EXPECTED_NODE_CONDITIONS = {
    "MemoryPressure": ("False", "KubeletHasSufficientMemory"),
    "DiskPressure": ("False", "KubeletHasNoDiskPressure"),
    "PIDPressure": ("False", "KubeletHasSufficientPID"),
    "Ready": ("True", "KubeletReady"),
}


@invariant(
    "KUBELET-NODE-STATUS",
    component="kubelet",
    kind="safety",
    statement=(
        "A healthy kubelet's Node reports Ready=True (KubeletReady) and no pressure, "
        "posts it at least every nodeStatusReportFrequency (5 min) plus one "
        "nodeStatusUpdateFrequency (10 s), allocatable equal to "
        "its capacity, and kubeletVersion v1.35."
    ),
    source=NODE_STATUS,
)
def node_status(node: Manifest | None, capacity: Mapping[str, str], now: float) -> Outcome:
    if node is None:
        return violated("the kubelet's Node is not registered")
    status = node.get("status") or {}
    bad = []
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    for kind, (value, reason) in EXPECTED_NODE_CONDITIONS.items():
        found = conditions.get(kind) or {}
        if (found.get("status"), found.get("reason")) != (value, reason):
            bad.append(f"condition {kind} is {found.get('status')} ({found.get('reason')})")
        beat = _micro(found.get("lastHeartbeatTime"))
        if beat is None or now - beat > NODE_STATUS_REPORT_PERIOD + NODE_STATUS_PERIOD + EPSILON:
            bad.append(f"condition {kind} last heartbeat {found.get('lastHeartbeatTime')}")
    for field in ("capacity", "allocatable"):
        shown = {k: str(v) for k, v in (status.get(field) or {}).items()}
        wanted = {k: str(v) for k, v in capacity.items()}
        if any(parse_quantity(shown.get(k, "0")) != parse_quantity(v) for k, v in wanted.items()):
            bad.append(f"{field} is {shown}, not {wanted}")
    version = (status.get("nodeInfo") or {}).get("kubeletVersion") or ""
    if not version.startswith("v1.35."):
        bad.append(f"kubeletVersion is {version!r}")
    return holds_if(bad, checked=1)


def _pod_request(pod: Manifest, resource: str):
    total = parse_quantity("0")
    for container in _spec(pod).get("containers") or []:
        value = ((container.get("resources") or {}).get("requests") or {}).get(resource)
        if value is not None:
            total = total + parse_quantity(str(value))
    for container in _spec(pod).get("initContainers") or []:
        value = ((container.get("resources") or {}).get("requests") or {}).get(resource)
        if value is not None and parse_quantity(str(value)) > total:
            total = parse_quantity(str(value))
    return total


@invariant(
    "KUBELET-ADMISSION",
    component="kubelet",
    kind="safety",
    statement=(
        "The pods a kubelet runs fit its allocatable (cpu, memory, pods); a pod that does not "
        "fit is rejected: phase Failed, reason OutOf<resource>, and it never gets a sandbox."
    ),
    source=FIT,
)
def admission(
    pods: Iterable[Manifest],
    ready_sandboxes: Iterable[str],
    any_sandbox: Iterable[str],
    allocatable,
) -> Outcome:
    bad = []
    ready, seen = set(ready_sandboxes), set(any_sandbox)
    running = [p for p in pods if _meta(p).get("uid") in ready]
    if len(running) > int(parse_quantity(str(allocatable.get("pods", "110"))).value()):
        bad.append(f"{len(running)} pods run, more than allocatable pods")
    for resource in ("cpu", "memory"):
        total = parse_quantity("0")
        for pod in running:
            total = total + _pod_request(pod, resource)
        cap = parse_quantity(str(allocatable.get(resource, "0")))
        if total > cap:
            names = [_meta(p).get("name") for p in running]
            bad.append(f"running pods {names} request {total} {resource}, more than {cap}")
    for pod in pods:
        status = pod.get("status") or {}
        rejected = str(status.get("reason") or "").startswith("OutOf")
        if rejected and (status.get("phase") != "Failed" or _meta(pod).get("uid") in seen):
            bad.append(f"rejected pod {_meta(pod).get('name')} is {status.get('phase')}")
    return holds_if(bad, checked=1)


@invariant(
    "KUBELET-READINESS",
    component="kubelet",
    kind="safety",
    statement=(
        "A container is reported ready only while it runs and, if it has a readiness probe, "
        "once that probe succeeded (not before its initialDelaySeconds, nor while the image "
        "fails it); a running container with neither a readiness nor a startup probe is "
        "ready at once."
    ),
    source=PROBES,
)
def readiness(runs: Iterable[PodRun], ready_after: Mapping[str, float]) -> Outcome:
    """``ready_after``: image -> seconds after its start before its readiness probe can pass
    (``math.inf``: never); other images pass at once."""
    bad = []
    checked = 0
    for run in runs:
        groups = by_name(run.containers)
        specs = {c.get("name"): c for c in _spec(run.pod).get("containers") or []}
        who = _meta(run.pod).get("name")
        for status in (run.pod.get("status") or {}).get("containerStatuses") or []:
            name = status.get("name")
            spec = specs.get(name) or {}
            group = groups.get(name) or []
            latest = group[-1] if group else None
            runs_now = latest is not None and _state(latest) == RUNNING
            checked += 1
            if status.get("ready"):
                if not runs_now:
                    bad.append(f"{who}/{name} is reported ready but does not run")
                elif spec.get("readinessProbe") is not None:
                    probe = spec["readinessProbe"]
                    delay = max(
                        probe.get("initialDelaySeconds") or 0,
                        ready_after.get(spec.get("image"), 0.0),
                    )
                    if latest.started_at + delay > run.now + EPSILON:
                        bad.append(
                            f"{who}/{name} is reported ready at {run.now}, before its "
                            f"readiness probe could pass ({delay} s after its start)"
                        )
            elif (
                runs_now
                and spec.get("readinessProbe") is None
                and spec.get("startupProbe") is None
                and (status.get("state") or {}).get("running") is not None
                and run.active
            ):
                bad.append(f"{who}/{name} runs without a readiness probe but is not ready")
    return holds_if(bad, checked=checked)


@invariant(
    "KUBELET-POD-IPS",
    component="kubelet",
    kind="safety",
    statement=(
        "Every pod with a ready sandbox reports a podIP from its node's pod CIDR, podIPs "
        "holding it, and no two such pods share an IP."
    ),
    source=POD_NETWORK,
)
def pod_ips(pods: Iterable[Manifest], ready_sandboxes: Iterable[str], pod_cidr: str) -> Outcome:
    bad = []
    ready = set(ready_sandboxes)
    network = ipaddress.ip_network(pod_cidr, strict=False)
    owners: dict[str, str] = {}
    checked = 0
    for pod in pods:
        if _meta(pod).get("uid") not in ready:
            continue
        status = pod.get("status") or {}
        ip = status.get("podIP")
        if not ip and not status.get("containerStatuses"):
            continue  # the kubelet has not reported it yet
        checked += 1
        name = _meta(pod).get("name")
        if not ip or ipaddress.ip_address(ip) not in network:
            bad.append(f"{name} has podIP {ip!r}, outside {pod_cidr}")
            continue
        if [p.get("ip") for p in status.get("podIPs") or []] != [ip]:
            bad.append(f"{name} has podIPs {status.get('podIPs')} for podIP {ip}")
        if ip in owners:
            bad.append(f"{name} and {owners[ip]} share podIP {ip}")
        owners[ip] = name
    return holds_if(bad, checked=checked) if checked else VACUOUS
