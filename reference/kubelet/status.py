"""Pure rules the kubelet follows when it reports a pod: phase, conditions, resources, formats.

Contract (spec/kubelet.md, "Pod status"):
- ``pod_phase(spec, init_statuses, statuses, terminal)`` is upstream's
  ``getPhase``: Pending while an init container has not completed (Failed if
  one failed under restartPolicy Never) or an app container waits without
  having run; Running while one runs; once all have stopped, Succeeded if all
  exited 0 and Failed otherwise when the pod is terminal (or restartPolicy
  Never; OnFailure with every exit 0), else Running (they are restarting).
- ``pod_conditions`` gives PodReadyToStartContainers, Initialized, Ready,
  ContainersReady with upstream reasons and messages, keeping PodScheduled
  and the lastTransitionTime of a condition whose status did not change.
- ``pod_requests`` is the pod's effective request (the larger of the sum of
  the app containers and the largest init container, plus overhead), as
  kubelet admission and the scheduler's NodeResourcesFit count it.
- ``format_pod`` is ``format.Pod``: ``name_namespace(uid)``.
"""

from __future__ import annotations

from typing import Any

from kubeprop.spec.api.quantity import Quantity, parse_quantity

Manifest = dict[str, Any]

CONDITION_ORDER = (
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
)


def format_pod(pod: Manifest) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('name')}_{meta.get('namespace')}({meta.get('uid')})"


def _state_of(status: Manifest) -> str:
    state = status.get("state") or {}
    for kind in ("running", "terminated", "waiting"):
        if state.get(kind) is not None:
            return kind
    return "waiting"


def init_complete(init_statuses: list[Manifest]) -> bool:
    return all(
        _state_of(s) == "terminated" and s["state"]["terminated"].get("exitCode") == 0
        for s in init_statuses
    )


def init_failed(init_statuses: list[Manifest]) -> bool:
    """An init container exited non-zero (and will not be retried, under restartPolicy Never)."""
    for s in init_statuses:
        if _state_of(s) == "terminated" and s["state"]["terminated"].get("exitCode") != 0:
            return True
    return False


def pod_phase(
    restart_policy: str, init_statuses: list[Manifest], statuses: list[Manifest], terminal: bool
) -> str:
    if not init_complete(init_statuses):
        if restart_policy == "Never" and init_failed(init_statuses):
            return "Failed"
        return "Pending"
    running = waiting = stopped = succeeded = 0
    for status in statuses:
        kind = _state_of(status)
        if kind == "running":
            running += 1
        elif kind == "terminated":
            stopped += 1
            if status["state"]["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif ((status.get("lastState") or {}).get("terminated")) is not None:
            stopped += 1  # waiting to restart
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _condition(
    kind: str, ok: bool, now: str, old: dict[str, Manifest], reason=None, message=None
) -> Manifest:
    value = "True" if ok else "False"
    previous = old.get(kind)
    since = now
    if previous is not None and previous.get("status") == value:
        since = previous.get("lastTransitionTime") or now
    condition = {"type": kind, "status": value, "lastTransitionTime": since}
    if not ok and reason:
        condition["reason"] = reason
    if not ok and message:
        condition["message"] = message
    return condition


def pod_conditions(
    old_conditions: list[Manifest],
    *,
    sandbox_ready: bool,
    init_statuses: list[Manifest],
    statuses: list[Manifest],
    phase: str,
    now: str,
) -> list[Manifest]:
    old = {c.get("type"): c for c in old_conditions or []}
    pending_init = [
        s["name"]
        for s in init_statuses
        if not (_state_of(s) == "terminated" and s["state"]["terminated"].get("exitCode") == 0)
    ]
    unready = [s["name"] for s in statuses if not s.get("ready")]
    completed = phase == "Succeeded"
    init_reason = "PodCompleted" if completed else "ContainersNotInitialized"
    ready_reason = "PodCompleted" if completed else "ContainersNotReady"
    init_message = f"containers with incomplete status: [{' '.join(pending_init)}]"
    ready_message = None if completed else f"containers with unready status: [{' '.join(unready)}]"
    ready = not unready and not completed
    made = {
        "PodReadyToStartContainers": _condition(
            "PodReadyToStartContainers", sandbox_ready, now, old
        ),
        "Initialized": _condition(
            "Initialized",
            not pending_init,
            now,
            old,
            init_reason,
            None if completed else init_message,
        ),
        "Ready": _condition("Ready", ready, now, old, ready_reason, ready_message),
        "ContainersReady": _condition(
            "ContainersReady", ready, now, old, ready_reason, ready_message
        ),
    }
    conditions = []
    for kind in CONDITION_ORDER:
        if kind in made:
            conditions.append(made[kind])
        elif kind in old:
            conditions.append(old[kind])
    conditions.extend(c for t, c in old.items() if t not in CONDITION_ORDER)
    return conditions


def _request(container: Manifest, resource: str) -> Quantity:
    requests = ((container.get("resources") or {}).get("requests")) or {}
    value = requests.get(resource)
    return parse_quantity(str(value)) if value is not None else parse_quantity("0")


def pod_requests(spec: Manifest, resource: str) -> Quantity:
    """max(sum of the app containers, largest init container) + overhead."""
    total = parse_quantity("0")
    for container in spec.get("containers") or []:
        total = total + _request(container, resource)
    for container in spec.get("initContainers") or []:
        request = _request(container, resource)
        if request > total:
            total = request
    overhead = (spec.get("overhead") or {}).get(resource)
    if overhead is not None:
        total = total + parse_quantity(str(overhead))
    return total


def scaled(resource: str, quantity: Quantity) -> int:
    """The integer a fit message shows: millicores for cpu, else the value (bytes, count)."""
    return quantity.milli_value() if resource == "cpu" else quantity.value()
