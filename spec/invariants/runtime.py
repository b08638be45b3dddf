"""The container runtime's invariants (spec/runtime.md): the CRI's container and image rules.

Contract: every predicate is pure over values the suite recorded from a runtime:
container statuses and sandboxes as listed (objects with the attributes of
``ContainerStatus`` / ``PodSandbox``: ``state`` compares equal to the CRI's
state names), the events it delivered, pull results, and small records of what
the suite did (``ScriptedRun``, ``StopRecord``) carrying what the image table
says the container should do. None of them calls a runtime.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from kubeprop.spec.invariants import HOLDS, VACUOUS, Outcome, holds_if, invariant, violated

CRI = "https://kubernetes.io/docs/concepts/architecture/cri/"
CRI_API = "https://github.com/kubernetes/cri-api/blob/master/pkg/apis/runtime/v1/api.proto"
POD_LIFECYCLE = "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/"
TERMINATION = "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination"
IMAGES = "https://kubernetes.io/docs/concepts/containers/images/"
PROBES = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/"

CREATED, RUNNING, EXITED, UNKNOWN = (
    "CONTAINER_CREATED",
    "CONTAINER_RUNNING",
    "CONTAINER_EXITED",
    "CONTAINER_UNKNOWN",
)
READY = "SANDBOX_READY"
SIGTERM_EXIT_CODE = 143  # 128 + SIGTERM (15)
SIGKILL_EXIT_CODE = 137  # 128 + SIGKILL (9)
_ORDER = {CREATED: 0, RUNNING: 1, EXITED: 2}
_EVENT_ORDER = {
    "CONTAINER_CREATED_EVENT": 0,
    "CONTAINER_STARTED_EVENT": 1,
    "CONTAINER_STOPPED_EVENT": 2,
    "CONTAINER_DELETED_EVENT": 3,
}
EPSILON = 1e-9


def _state(status) -> str:
    return getattr(status.state, "value", status.state)


def expected_reason(exit_code: int) -> str:
    return "Completed" if exit_code == 0 else "Error"


@attrs.frozen
class ScriptedRun:
    """A container as observed, with what its image's script says it does on its own."""

    status: object  # the ContainerStatus listed now
    exit_code: int | None  # the script's exit code (None: runs until stopped)
    exit_after: float | None  # seconds after its start
    reason: str | None  # the reason the script's exit reports (None: from the code)
    interrupted_at: float | None  # first stop, kill, sandbox stop or crash while it ran


@attrs.frozen
class StopRecord:
    """One ``stop_container(id, timeout)`` call made while the container was RUNNING."""

    container_id: str
    at: float
    timeout: float
    ignores_sigterm: bool  # the image ignores SIGTERM
    scripted_exit_at: float | None = None  # when it would have exited on its own


@invariant(
    "RUNTIME-CONTAINER-STATES",
    component="runtime",
    kind="safety",
    statement=(
        "A container moves only forward through CREATED -> RUNNING -> EXITED (or to UNKNOWN, "
        "which it never leaves), and a removed container id never comes back."
    ),
    source=CRI_API,
)
def container_states(
    before: Mapping[str, object], after: Mapping[str, object], removed: Iterable[str] = ()
) -> Outcome:
    bad = []
    gone = set(removed)
    for container_id, status in after.items():
        new = _state(status)
        if container_id in gone:
            bad.append(f"container {container_id[:12]} was removed but is listed again ({new})")
        if container_id not in before:
            continue
        old = _state(before[container_id])
        went_back = old == UNKNOWN or _ORDER.get(new, -1) < _ORDER.get(old, 99)
        if new != UNKNOWN and went_back:
            bad.append(f"container {container_id[:12]} went from {old} back to {new}")
    return holds_if(bad, checked=len(after))


@invariant(
    "RUNTIME-EXIT-CODE",
    component="runtime",
    kind="safety",
    statement=(
        "A container has an exit code, a reason and finished_at exactly when it is EXITED, "
        "started_at once it has run, and created_at <= started_at <= finished_at <= now; "
        "its reason is Completed for exit code 0, else Error (or OOMKilled)."
    ),
    source=POD_LIFECYCLE,
)
def exit_code(statuses: Iterable[object], now: float) -> Outcome:
    bad = []
    count = 0
    for status in statuses:
        count += 1
        state = _state(status)
        who = f"container {status.id[:12]} ({state})"
        exited = state == EXITED
        if exited != (status.exit_code is not None) or exited != (status.finished_at is not None):
            bad.append(f"{who} has exit_code={status.exit_code} finished_at={status.finished_at}")
        if exited != (status.reason is not None):
            bad.append(f"{who} has reason {status.reason!r}")
        if state in (RUNNING, EXITED) and status.started_at is None:
            bad.append(f"{who} has no started_at")
        if state == CREATED and status.started_at is not None:
            bad.append(f"{who} has started_at {status.started_at} before it started")
        times = [status.created_at, status.started_at, status.finished_at, now]
        times = [t for t in times if t is not None]
        if any(a > b + EPSILON for a, b in zip(times, times[1:])):
            bad.append(f"{who} has times out of order: {times}")
        if exited and status.exit_code is not None:
            if not 0 <= status.exit_code <= 255:
                bad.append(f"{who} has exit code {status.exit_code} outside 0..255")
            allowed = {expected_reason(status.exit_code)}
            if status.exit_code == SIGKILL_EXIT_CODE:
                allowed.add("OOMKilled")
            if status.reason is not None and status.reason not in allowed:
                bad.append(f"{who} exited {status.exit_code} with reason {status.reason!r}")
    return holds_if(bad, checked=count)


@invariant(
    "RUNTIME-IMAGE-BEFORE-CREATE",
    component="runtime",
    kind="contract",
    statement=(
        "create_container succeeds only when the image is present on the node, and the "
        "container it creates runs that image."
    ),
    source=IMAGES,
)
def image_before_create(
    present: bool, image_ref: str | None, outcome: object, status: object | None
) -> Outcome:
    created = isinstance(outcome, str)
    if created and not present:
        return violated(f"a container was created from {image_ref!r}, which is not on the node")
    if created and (status is None or status.image_ref != image_ref):
        shown = None if status is None else status.image_ref
        return violated(f"a container created from {image_ref!r} lists image {shown!r}")
    if not created and present and outcome is None:
        return violated(f"create_container from present image {image_ref!r} returned nothing")
    return HOLDS


@invariant(
    "RUNTIME-SANDBOX-BEFORE-CONTAINER",
    component="runtime",
    kind="safety",
    statement=(
        "Every container belongs to a listed sandbox; a container is created only in a READY "
        "sandbox, and a RUNNING container's sandbox is READY."
    ),
    source=CRI,
)
def sandbox_before_container(
    sandboxes: Mapping[str, object],
    statuses: Iterable[object],
    create: tuple[str | None, object] | None = None,
) -> Outcome:
    """``create``: (the sandbox's state before a create_container call, its outcome)."""
    bad = []
    count = 0
    for status in statuses:
        count += 1
        sandbox = sandboxes.get(status.sandbox_id)
        if sandbox is None:
            bad.append(f"container {status.id[:12]} has no sandbox {status.sandbox_id[:12]}")
        elif _state(status) == RUNNING and _state(sandbox) != READY:
            bad.append(f"container {status.id[:12]} runs in a {_state(sandbox)} sandbox")
    if create is not None:
        count += 1
        state_before, outcome = create
        if isinstance(outcome, str) and state_before != READY:
            bad.append(f"container {outcome[:12]} was created in a sandbox that was {state_before}")
    return holds_if(bad, checked=count)


@invariant(
    "RUNTIME-SCRIPTED-EXIT",
    component="runtime",
    kind="safety",
    statement=(
        "A started container whose image scripts an exit exits with the scripted code and "
        "reason exactly at its start plus the scripted delay, unless stopped, killed or "
        "crashed first; until then, and forever for an ordinary image, it is RUNNING."
    ),
    source=POD_LIFECYCLE,
)
def scripted_exit(runs: Iterable[ScriptedRun], now: float) -> Outcome:
    bad = []
    count = 0
    for run in runs:
        status = run.status
        state = _state(status)
        if status.started_at is None or state == UNKNOWN:
            continue
        due = math.inf if run.exit_after is None else status.started_at + run.exit_after
        if run.interrupted_at is not None and run.interrupted_at <= due + EPSILON:
            continue
        count += 1
        who = f"container {status.id[:12]}"
        if now + EPSILON >= due:
            reason = run.reason or expected_reason(run.exit_code)
            if (
                state != EXITED
                or status.exit_code != run.exit_code
                or status.reason != reason
                or abs(status.finished_at - due) > EPSILON
            ):
                bad.append(
                    f"{who} should have exited {run.exit_code} ({reason}) at {due}, "
                    f"but is {state} exit_code={status.exit_code} reason={status.reason} "
                    f"finished_at={status.finished_at}"
                )
        elif state != RUNNING:
            bad.append(
                f"{who} should run until {due} but is {state} since {status.finished_at} "
                f"(exit code {status.exit_code})"
            )
    return holds_if(bad, checked=count)


@invariant(
    "RUNTIME-PULL-ERRORS",
    component="runtime",
    kind="contract",
    statement=(
        "A pull from an unknown registry host fails with 'no such host', a pull of a missing "
        "tag with 'not found', an unparsable reference with InvalidImageName; none of them "
        "adds an image, and a pull that succeeds leaves its image present with the id reported."
    ),
    source=IMAGES,
)
def pull_errors(
    expected_error: str | None,
    expected_reason: str | None,
    result: object,
    present_before: bool,
    present_after: bool,
    image_id_after: str | None,
) -> Outcome:
    if expected_error is None:
        if result.error is not None or result.image_id is None:
            return violated(f"the pull of {result.ref!r} should succeed but ended {result.error}")
        if not present_after or image_id_after != result.image_id:
            return violated(
                f"the pull of {result.ref!r} reported {result.image_id} but the node lists "
                f"{image_id_after}"
            )
        return HOLDS
    if result.error is None or result.image_id is not None:
        return violated(f"the pull of {result.ref!r} should fail ({expected_error}) but succeeded")
    if expected_error not in result.error or result.reason != expected_reason:
        return violated(
            f"the pull of {result.ref!r} failed with {result.reason}: {result.error!r}; "
            f"expected {expected_reason}: {expected_error!r}"
        )
    if present_after and not present_before:
        return violated(f"the failed pull of {result.ref!r} left an image on the node")
    return HOLDS


@invariant(
    "RUNTIME-PULL-TIME",
    component="runtime",
    kind="contract",
    statement=(
        "A successful pull ends 1 s + 1 s per 100 MB of the image after it was requested; a "
        "failed one after 1 s; an unparsable reference at once."
    ),
    source=IMAGES,
)
def pull_time(result: object, expected_seconds: float) -> Outcome:
    took = result.done_at - result.requested_at
    if abs(took - expected_seconds) > EPSILON:
        return violated(f"the pull of {result.ref!r} took {took} s, not {expected_seconds} s")
    return HOLDS


@invariant(
    "RUNTIME-STOP-GRACE",
    component="runtime",
    kind="safety",
    statement=(
        "A running container that is stopped with a timeout is EXITED by the timeout: at once "
        "with 143 (killed by SIGTERM) if its image does not ignore SIGTERM, else with 137 "
        "(SIGKILL) no later than the timeout; a timeout <= 0 is SIGKILL at once (137)."
    ),
    source=TERMINATION,
)
def stop_grace(stop: StopRecord, status: object | None, now: float) -> Outcome:
    if status is None or _state(status) == UNKNOWN:
        return VACUOUS  # removed, or the node crashed: nothing left to observe
    who = f"container {stop.container_id[:12]}"
    state = _state(status)
    if stop.scripted_exit_at is not None and stop.scripted_exit_at < stop.at - EPSILON:
        return VACUOUS
    if stop.timeout <= 0 or not stop.ignores_sigterm:
        code = SIGKILL_EXIT_CODE if stop.timeout <= 0 else SIGTERM_EXIT_CODE
        if (
            state != EXITED
            or status.exit_code != code
            or abs(status.finished_at - stop.at) > EPSILON
        ):
            return violated(
                f"{who}, stopped at {stop.at} with timeout {stop.timeout}, should have exited "
                f"{code} at once but is {state} exit_code={status.exit_code} "
                f"finished_at={status.finished_at}"
            )
        return HOLDS
    deadline = stop.at + stop.timeout
    if state == EXITED:
        if status.finished_at > deadline + EPSILON:
            return violated(f"{who} exited at {status.finished_at}, after its deadline {deadline}")
        scripted = (
            stop.scripted_exit_at is not None
            and abs(status.finished_at - stop.scripted_exit_at) <= EPSILON
        )
        if status.exit_code != SIGKILL_EXIT_CODE and not scripted:
            return violated(
                f"{who} ignores SIGTERM but exited {status.exit_code}, not {SIGKILL_EXIT_CODE}"
            )
        return HOLDS
    if now + EPSILON >= deadline:
        return violated(f"{who} is still {state} at {now}, past its stop deadline {deadline}")
    return HOLDS


@invariant(
    "RUNTIME-EXIT-EVENTS",
    component="runtime",
    kind="safety",
    statement=(
        "The container events come in order (created, started, stopped, deleted; each at most "
        "once per container, instants never going back), and every container listed EXITED "
        "has had its stopped event, carrying its exit code."
    ),
    source=CRI_API,
)
def exit_events(events: Sequence[object], statuses: Iterable[object]) -> Outcome:
    bad = []
    last: dict[str, int] = {}
    stopped: dict[str, object] = {}
    previous_at = -math.inf
    for event in events:
        kind = getattr(event.type, "value", event.type)
        rank = _EVENT_ORDER.get(kind, -1)
        if event.at < previous_at - EPSILON:
            bad.append(f"event {kind} at {event.at} after one at {previous_at}")
        previous_at = max(previous_at, event.at)
        if rank <= last.get(event.container_id, -1):
            bad.append(f"container {event.container_id[:12]}: {kind} out of order")
        last[event.container_id] = rank
        if rank == 2:
            stopped[event.container_id] = event.status
    count = 0
    for status in statuses:
        if _state(status) != EXITED:
            continue
        count += 1
        seen = stopped.get(status.id)
        if seen is None:
            bad.append(f"container {status.id[:12]} exited without a stopped event")
        elif seen.exit_code != status.exit_code:
            bad.append(
                f"container {status.id[:12]}'s stopped event says {seen.exit_code}, "
                f"its status {status.exit_code}"
            )
    return holds_if(bad, checked=count + len(events))


@invariant(
    "RUNTIME-PROBES",
    component="runtime",
    kind="safety",
    statement=(
        "Probes of a container that is not RUNNING fail; a running container passes its "
        "liveness and startup probes from its start plus its image's start delay, and its "
        "readiness probe too unless its image is never ready."
    ),
    source=PROBES,
)
def probes(
    status: object, ready_after: float, never_ready: bool, now: float, answers: Mapping[str, bool]
) -> Outcome:
    state = _state(status)
    running = state == RUNNING and now + EPSILON >= status.started_at + ready_after
    expected = {
        "liveness": running,
        "startup": running,
        "readiness": running and not never_ready,
    }
    wrong = [
        f"container {status.id[:12]} ({state}) {kind} probe answered {answers[kind]} at {now}"
        for kind, want in expected.items()
        if kind in answers and answers[kind] != want
    ]
    return holds_if(wrong, checked=len(answers))


@invariant(
    "RUNTIME-DETERMINISTIC",
    component="runtime",
    kind="safety",
    statement=(
        "Two runtimes given the same calls at the same simulated instants give the same ids, "
        "states, pull results and events."
    ),
    source=CRI,
)
def deterministic(trace: Sequence[object], twin: Sequence[object]) -> Outcome:
    for index, (a, b) in enumerate(zip(trace, twin)):
        if a != b:
            return violated(f"the runs differ at step {index}: {a!r} != {b!r}")
    if len(trace) != len(twin):
        return violated(f"one run has {len(trace)} steps, the other {len(twin)}")
    return holds_if([], checked=len(trace))
