"""The container runtime suite: a Hypothesis state machine drives a runtime and its twin.

Contract: ``make_machine(factory)`` builds a ``RuleBasedStateMachine`` class whose
SUT is ``factory(loop, node_name, images=PRELOADED)`` (the reference
``Runtime`` or a mutant). Rules pull images, run, stop and remove sandboxes,
create, start, stop, kill and remove containers, probe them, crash and restart
the node and advance simulated time. Every call goes to the SUT and to a twin
built by the same factory on a loop of its own, and the two traces must agree
(``RUNTIME-DETERMINISTIC``). After every step every state invariant of
spec/runtime.md is evaluated through ``kubeprop.conformance.report.check``; the
call invariants are checked on each call's answer, pull results when they
arrive. What a container should do on its own comes from the image table
(``kubeprop.reference.runtime.images``), the executable form of spec/runtime.md.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kubeprop.conformance.report import check
from kubeprop.reference.loop import EventLoop
from kubeprop.reference.runtime import CRIError, Runtime, images
from kubeprop.spec.invariants.runtime import ScriptedRun, StopRecord

NODE = "node-a"
# Preloaded images (the rest must be pulled first): half the scripted behaviours.
PRELOADED = (
    "docker.io/library/busybox:1.36",
    "kubeprop.test/exit:3-after-2s",
    "kubeprop.test/crash",
    "kubeprop.test/ignore-sigterm",
    "kubeprop.test/slow-start:3s",
    "kubeprop.test/unready",
)
# References a pull succeeds with, spanning every scripted behaviour and an ordinary image.
GOOD_REFS = (
    "nginx",
    "registry.k8s.io/pause:3.10",
    "kubeprop.test/exit:0",
    "kubeprop.test/exit:3-after-2s",
    "kubeprop.test/crash",
    "kubeprop.test/oom",
    "kubeprop.test/unready",
    "kubeprop.test/slow-start:3s",
    "kubeprop.test/ignore-sigterm",
)
# References every pull of fails: unknown hosts, missing tags, unknown test images, bad syntax.
BAD_REFS = (
    "unknown.example/app:1",
    "localhost:5000/app",
    "nginx:doesnotexist",
    "quay.io/org/app:missing-v2",
    "kubeprop.test/exit:abc",
    "kubeprop.test/nope",
    "Nginx",
    "nginx:",
)
CREATE_REFS = GOOD_REFS + ("busybox:1.36", "docker.io/library/redis:7")
TIMEOUTS = (0, 1, 5, 30)
STEPS = (0.5, 1.0, 2.0, 5.0, 30.0)


def answer(function: Callable, *args, **kwargs) -> object:
    """The result of a runtime call, or the CRIError it raised as (code, message)."""
    try:
        return function(*args, **kwargs)
    except CRIError as error:
        return CRIError, error.code, error.message


def expected_pull(ref: str) -> tuple[str | None, str | None, float]:
    """(the error text a pull must end with, the kubelet's reason, how long it takes)."""
    try:
        name = images.parse_reference(ref)
    except images.InvalidReference:
        return "invalid reference format", "InvalidImageName", 0.0
    error = images.pull_error(name)
    if error is not None:
        return error, "ErrImagePull", images.FAILED_PULL_SECONDS
    return None, None, images.pull_seconds(name)


def state_of(item: object) -> str:
    """A container's or sandbox's state as the CRI names it (an enum's value, or a string)."""
    return getattr(item.state, "value", item.state)


def script_of(image_ref: str) -> images.ImageScript:
    return images.parse_script(images.parse_reference(image_ref))


class RuntimeMachine(RuleBasedStateMachine):
    """Calls, faults and time against one runtime, mirrored on a twin."""

    factory: Callable[..., object] | None = None  # set by make_machine

    def __init__(self) -> None:
        super().__init__()
        self.loop, self.twin_loop = EventLoop(), EventLoop()
        self.runtime = self.factory(self.loop, NODE, images=PRELOADED)
        self.twin = self.factory(self.twin_loop, NODE, images=PRELOADED)
        self.trace: list[object] = []  # what the SUT answered and announced, in order
        self.twin_trace: list[object] = []  # the same, from the twin
        self.events: list[object] = []  # the SUT's container events
        self.runtime.on_container_event(self._on_event(self.trace, self.events))
        self.twin.on_container_event(self._on_event(self.twin_trace, []))
        self.sandboxes: list[str] = []  # sandbox ids handed out (some removed since)
        self.containers: list[str] = []  # container ids handed out (some removed since)
        self.interrupted: dict[str, float] = {}  # container -> first stop/kill/crash while running
        self.stops: list[StopRecord] = []  # every stop of a running container
        self.seen: dict[str, object] = {}  # last listed status of each container
        self.removed: set[str] = set()  # containers listed once and gone since
        self.crashes = 0  # crashes so far: a pull that spans one says nothing

    @staticmethod
    def _on_event(trace: list, events: list) -> Callable[[object], None]:
        def record(event: object) -> None:
            trace.append(event)
            events.append(event)

        return record

    # ---- plumbing ---------------------------------------------------------------------------

    def _call(self, method: str, *args, **kwargs) -> object:
        outcome = answer(getattr(self.runtime, method), *args, **kwargs)
        self.trace.append((method, args, outcome))
        self.twin_trace.append((method, args, answer(getattr(self.twin, method), *args, **kwargs)))
        return outcome

    def _status(self, container_id: str):
        return next((s for s in self.runtime.list_containers() if s.id == container_id), None)

    def _present(self, ref: str) -> bool:
        image = answer(self.runtime.image_status, ref)
        return image is not None and not isinstance(image, tuple)

    def _interrupt_running(self, container_ids) -> None:
        for container_id in container_ids:
            status = self._status(container_id)
            if status is not None and state_of(status) == "CONTAINER_RUNNING":
                self.interrupted.setdefault(container_id, self.loop.now)

    @initialize(ref=st.sampled_from(PRELOADED))
    def a_pod_sandbox_runs(self, ref: str | None = None) -> None:
        """A READY sandbox, and with ``ref`` a container of that image running in it."""
        self.run_pod_sandbox(0, 0)
        if ref is not None:
            self.the_runtime_obeys_its_state_invariants()
            self.create_container(0, "app", 0, ref, start=True)

    # ---- images -----------------------------------------------------------------------------

    @rule(ref=st.sampled_from(GOOD_REFS + BAD_REFS))
    def pull_image(self, ref: str) -> None:
        expected_error, reason, seconds = expected_pull(ref)
        present_before = self._present(ref)
        crashes = self.crashes

        def done(result) -> None:
            self.trace.append(("pulled", result))
            present_after = self._present(ref)
            image_id = self.runtime.image_status(ref).id if present_after else None
            if self.crashes != crashes:
                return  # the node crashed during the pull: it failed, whatever it was
            check(
                "RUNTIME-PULL-ERRORS",
                expected_error,
                reason,
                result,
                present_before,
                present_after,
                image_id,
            )
            check("RUNTIME-PULL-TIME", result, seconds)

        outcome = answer(self.runtime.pull_image, ref, done)
        self.trace.append(("pull_image", ref, outcome))
        self.twin_trace.append(
            (
                "pull_image",
                ref,
                answer(self.twin.pull_image, ref, lambda r: self.twin_trace.append(("pulled", r))),
            )
        )

    @precondition(lambda self: len(self.runtime.list_images()) > len(PRELOADED))
    @rule(ref=st.sampled_from(GOOD_REFS))
    def remove_image(self, ref: str) -> None:
        self._call("remove_image", ref)

    # ---- sandboxes --------------------------------------------------------------------------

    @rule(pod=st.integers(0, 2), attempt=st.integers(0, 1))
    def run_pod_sandbox(self, pod: int, attempt: int) -> None:
        outcome = self._call(
            "run_pod_sandbox", f"uid-{pod}", f"pod-{pod}", "default", attempt=attempt
        )
        if isinstance(outcome, str):
            self.sandboxes.append(outcome)

    def _sandbox(self, index: int) -> str:
        """0-6: a READY sandbox, newest first; 7-8: any listed one; 9: any handed out."""
        listed = self.runtime.list_pod_sandboxes()
        ready = [s.id for s in listed if state_of(s) == "SANDBOX_READY"]
        pool = ready if index < 7 else [s.id for s in listed] if index < 9 else []
        pool = pool or [s.id for s in listed] or self.sandboxes
        return pool[-1 - index % len(pool)]

    @precondition(lambda self: self.runtime.list_pod_sandboxes() and self.containers)
    @rule(index=st.integers(0, 9), remove=st.booleans())
    def stop_pod_sandbox(self, index: int, remove: bool = False) -> None:
        sandbox_id = self._sandbox(index)
        members = [s.id for s in self.runtime.list_containers() if s.sandbox_id == sandbox_id]
        self._interrupt_running(members)
        self._call("remove_pod_sandbox" if remove else "stop_pod_sandbox", sandbox_id)

    # ---- containers -------------------------------------------------------------------------

    @precondition(lambda self: self.sandboxes)
    @rule(
        index=st.integers(0, 9),
        name=st.sampled_from(["app", "sidecar"]),
        attempt=st.integers(0, 2),
        ref=st.sampled_from(CREATE_REFS),
        start=st.booleans(),
    )
    def create_container(
        self, index: int, name: str, attempt: int, ref: str, start: bool = False
    ) -> None:
        sandbox_id = self._sandbox(index)
        sandbox = next((s for s in self.runtime.list_pod_sandboxes() if s.id == sandbox_id), None)
        state_before = None if sandbox is None else state_of(sandbox)
        present = self._present(ref)
        outcome = self._call("create_container", sandbox_id, name, ref, attempt=attempt)
        status = None
        if isinstance(outcome, str):
            self.containers.append(outcome)
            status = self._status(outcome)
        normalised = images.parse_reference(ref).ref
        check("RUNTIME-IMAGE-BEFORE-CREATE", present, normalised, outcome, status)
        check(
            "RUNTIME-SANDBOX-BEFORE-CONTAINER",
            {s.id: s for s in self.runtime.list_pod_sandboxes()},
            self.runtime.list_containers(),
            (state_before, outcome),
        )
        if start and isinstance(outcome, str):
            self._call("start_container", outcome)

    def _pick(self, index: int) -> str:
        """Mostly a listed container (the newest first); index 9: any handed out."""
        live = [s.id for s in self.runtime.list_containers()]
        pool = live if live and index < 9 else self.containers
        return pool[-1 - index % len(pool)]

    @precondition(lambda self: self.containers)
    @rule(index=st.integers(0, 9))
    def start_container(self, index: int) -> None:
        self._call("start_container", self._pick(index))

    @precondition(lambda self: self.containers)
    @rule(index=st.integers(0, 9), timeout=st.sampled_from(TIMEOUTS))
    def stop_container(self, index: int, timeout: float) -> None:
        container_id = self._pick(index)
        status = self._status(container_id)
        running = status is not None and state_of(status) == "CONTAINER_RUNNING"
        if running and not self.runtime.down:
            script = script_of(status.image_ref)
            scripted = None
            if script.exit_after is not None:
                scripted = status.started_at + script.exit_after
            self.stops.append(
                StopRecord(container_id, self.loop.now, timeout, script.ignores_sigterm, scripted)
            )
            self.interrupted.setdefault(container_id, self.loop.now)
        self._call("stop_container", container_id, timeout)

    @precondition(lambda self: self.containers)
    @rule(index=st.integers(0, 9))
    def kill_container(self, index: int) -> None:
        container_id = self._pick(index)
        if not self.runtime.down:
            self._interrupt_running([container_id])
        self._call("kill_container", container_id)

    @precondition(lambda self: self.containers)
    @rule(index=st.integers(0, 9))
    def remove_container(self, index: int) -> None:
        self._call("remove_container", self._pick(index))

    @precondition(lambda self: self.containers)
    @rule(index=st.integers(0, 9))
    def probe(self, index: int) -> None:
        container_id = self._pick(index)
        status = self._status(container_id)
        if status is None:
            return
        answers = {
            kind: self._call("probe", container_id, kind)
            for kind in ("liveness", "readiness", "startup")
        }
        script = script_of(status.image_ref)
        check(
            "RUNTIME-PROBES", status, script.ready_after, script.never_ready, self.loop.now, answers
        )

    # ---- faults and time --------------------------------------------------------------------

    @precondition(lambda self: not self.runtime.down and self.containers)
    @rule(then_restart=st.booleans())
    def crash(self, then_restart: bool = False) -> None:
        """The node dies (and, maybe, its runtime comes back at once)."""
        self._interrupt_running([s.id for s in self.runtime.list_containers()])
        self.crashes += 1
        self._call("crash")
        if then_restart:
            self.the_runtime_obeys_its_state_invariants()
            self._call("restart")

    @precondition(lambda self: self.runtime.down)
    @rule()
    def restart(self) -> None:
        self._call("restart")

    @rule(seconds=st.sampled_from(STEPS))
    def advance(self, seconds: float) -> None:
        self.loop.run_for(seconds)
        self.twin_loop.run_for(seconds)

    # ---- after every step -------------------------------------------------------------------

    @invariant()
    def the_runtime_obeys_its_state_invariants(self) -> None:
        now = self.loop.now
        statuses = self.runtime.list_containers()
        listed = {s.id: s for s in statuses}
        sandboxes = {s.id: s for s in self.runtime.list_pod_sandboxes()}
        check("RUNTIME-CONTAINER-STATES", self.seen, listed, self.removed)
        self.removed |= set(self.seen) - set(listed)
        self.seen = listed
        check("RUNTIME-EXIT-CODE", statuses, now)
        check("RUNTIME-SANDBOX-BEFORE-CONTAINER", sandboxes, statuses)
        runs = []
        for status in statuses:
            script = script_of(status.image_ref)
            runs.append(
                ScriptedRun(
                    status,
                    script.exit_code,
                    script.exit_after,
                    script.reason,
                    self.interrupted.get(status.id),
                )
            )
        check("RUNTIME-SCRIPTED-EXIT", runs, now)
        for stop in self.stops:
            check("RUNTIME-STOP-GRACE", stop, listed.get(stop.container_id), now)
        check("RUNTIME-EXIT-EVENTS", self.events, statuses)
        snapshot = (
            "listed",
            statuses,
            self.runtime.list_pod_sandboxes(),
            self.runtime.list_images(),
        )
        twin = (
            "listed",
            self.twin.list_containers(),
            self.twin.list_pod_sandboxes(),
            self.twin.list_images(),
        )
        check("RUNTIME-DETERMINISTIC", self.trace + [snapshot], self.twin_trace + [twin])


def make_machine(factory: Callable[..., object]) -> type[RuntimeMachine]:
    """The runtime machine over runtimes built by ``factory(loop, node_name, images=...)``."""
    return type(
        f"RuntimeMachineOf{getattr(factory, '__name__', 'SUT')}",
        (RuntimeMachine,),
        {"factory": staticmethod(factory)},
    )


ReferenceRuntimeMachine = make_machine(Runtime)


def test_the_reference_runtime_obeys_every_runtime_invariant():
    run_state_machine_as_test(ReferenceRuntimeMachine)
