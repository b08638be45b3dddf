"""The container runtime of one node: a CRI-shaped image service and runtime service.

Contract (spec/runtime.md):
- Everything happens on the shared ``EventLoop``: a pull ends, a scripted
  container exits and a SIGKILL lands at simulated instants; the same calls at
  the same instants give the same ids, states and events.
- Images: ``pull_image(ref, on_done)`` calls ``on_done(PullResult)`` when the
  pull ends (``images.pull_seconds`` after the call, or ``FAILED_PULL_SECONDS``
  for an error; an invalid reference at once). Only a successful pull adds an image.
- Sandboxes are READY from ``run_pod_sandbox`` until ``stop_pod_sandbox``
  (NOTREADY; their containers get SIGKILL); ``remove_pod_sandbox`` removes
  them and their containers.
- Containers go CREATED -> RUNNING -> EXITED only (UNKNOWN when the node
  crashes). ``create_container`` needs the image present and the sandbox READY.
  A container does what its image's script says; ``stop_container(id, timeout)``
  sends SIGTERM: a container that does not ignore it dies of it at once (exit
  143); one that ignores it gets SIGKILL at ``timeout`` (exit 137); a timeout
  <= 0 is SIGKILL at once (137). ``kill_container`` is SIGKILL at once.
- Every transition is announced, in order, to the ``on_container_event``
  listeners (the CRI's ContainerEventResponse, which the evented PLEG reads).
- ``crash()``: the node dies; containers become UNKNOWN, sandboxes NOTREADY,
  nothing runs and every call but the reads fails with Unavailable until
  ``restart()``, which brings the runtime back with its images and without
  any sandbox or container.
- Bad input raises ``CRIError`` (a gRPC status code and a message naming the
  argument) and changes nothing. Removals are idempotent, as the CRI requires.
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Callable, Iterable

import attrs

from kubeprop.reference.loop import EventLoop, Handle
from kubeprop.reference.runtime import images as imagelib

SIGTERM_EXIT_CODE = 143  # 128 + 15
SIGKILL_EXIT_CODE = 137  # 128 + 9
PROBE_KINDS = ("liveness", "readiness", "startup")


class ContainerState(str, enum.Enum):
    CREATED = "CONTAINER_CREATED"
    RUNNING = "CONTAINER_RUNNING"
    EXITED = "CONTAINER_EXITED"
    UNKNOWN = "CONTAINER_UNKNOWN"


class SandboxState(str, enum.Enum):
    READY = "SANDBOX_READY"
    NOTREADY = "SANDBOX_NOTREADY"


class ContainerEventType(str, enum.Enum):
    CREATED = "CONTAINER_CREATED_EVENT"
    STARTED = "CONTAINER_STARTED_EVENT"
    STOPPED = "CONTAINER_STOPPED_EVENT"
    DELETED = "CONTAINER_DELETED_EVENT"


class CRIError(Exception):
    """A CRI call failed: a gRPC status code (NotFound, InvalidArgument, ...) and why."""

    def __init__(self, code: str, message: str):
        super().__init__(f"rpc error: code = {code} desc = {message}")
        self.code = code
        self.message = message


@attrs.frozen
class Image:
    id: str  # sha256:<hex>
    ref: str  # the normalised reference it was pulled by
    size_bytes: int


@attrs.frozen
class PullResult:
    """How a pull ended: ``image_id`` on success, else ``error`` and the kubelet's reason."""

    ref: str  # the reference as requested
    image_ref: str  # normalised ("" if it did not parse)
    image_id: str | None = None
    error: str | None = None
    reason: str | None = None  # ErrImagePull | InvalidImageName
    code: str | None = None  # the gRPC code of the error: NotFound, Unknown (no such host), ...
    requested_at: float = 0.0
    done_at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen
class PodSandbox:
    id: str
    pod_uid: str
    name: str
    namespace: str
    attempt: int
    state: SandboxState
    created_at: float
    ip: str | None = None


@attrs.frozen
class ContainerStatus:
    id: str
    sandbox_id: str
    name: str
    attempt: int
    image_ref: str  # normalised
    image_id: str
    state: ContainerState
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str | None = None  # Completed | Error | OOMKilled, once EXITED
    message: str = ""


@attrs.frozen
class ContainerEvent:
    type: ContainerEventType
    container_id: str
    sandbox_id: str
    at: float
    status: ContainerStatus  # the container right after the transition


def exit_reason(exit_code: int) -> str:
    """The reason a container reports for an exit code (containerd's rule)."""
    return "Completed" if exit_code == 0 else "Error"


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise CRIError("InvalidArgument", f"{field}: must be a non-empty string, not {value!r}")
    return value


def _seconds(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CRIError("InvalidArgument", f"{field}: must be a finite number, not {value!r}")
    return float(value)


def _attempt(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CRIError("InvalidArgument", f"{field}: must be an integer >= 0, not {value!r}")
    return value


@attrs.define
class Runtime:
    """One node's container runtime on the shared event loop."""

    loop: EventLoop
    node_name: str
    # Images present on the node by normalised reference; only successful pulls add
    # (RUNTIME-PULL-ERRORS, RUNTIME-IMAGE-BEFORE-CREATE).
    _images: dict[str, Image] = attrs.field(init=False, factory=dict)
    # Sandboxes by id (RUNTIME-SANDBOX-BEFORE-CONTAINER).
    _sandboxes: dict[str, PodSandbox] = attrs.field(init=False, factory=dict)
    # Containers by id, in creation order (RUNTIME-CONTAINER-STATES, RUNTIME-EXIT-CODE).
    _containers: dict[str, ContainerStatus] = attrs.field(init=False, factory=dict)
    # The script each container follows (RUNTIME-SCRIPTED-EXIT, RUNTIME-STOP-GRACE).
    _scripts: dict[str, imagelib.ImageScript] = attrs.field(init=False, factory=dict)
    # Pending exits and SIGKILLs per container; cancelled when it exits.
    _timers: dict[str, list[Handle]] = attrs.field(init=False, factory=dict)
    _listeners: list[Callable[[ContainerEvent], object]] = attrs.field(init=False, factory=list)
    _ids: int = attrs.field(init=False, default=0)  # ids handed out; never reused
    # Bumped by crash/restart: a pull that began in an older epoch fails.
    _epoch: int = attrs.field(init=False, default=0)
    down: bool = attrs.field(init=False, default=False)  # crashed and not restarted

    def __init__(self, loop: EventLoop, node_name: str, *, images: Iterable[str] = ()):
        _text(node_name, "node_name")
        if isinstance(images, str | bytes):
            raise CRIError("InvalidArgument", f"images: a list of references, not {images!r}")
        self.__attrs_init__(loop, node_name)
        for ref in images:
            name = self._parse(ref, "images[]")
            error = imagelib.pull_error(name)
            if error is not None:
                raise CRIError("NotFound", f"images[]: {error}")
            self._store_image(name)

    # ---- plumbing -----------------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        self._ids += 1
        return hashlib.sha256(f"{self.node_name}/{kind}/{self._ids}".encode()).hexdigest()

    def _up(self) -> None:
        if self.down:
            raise CRIError("Unavailable", f"the container runtime on node {self.node_name} is down")

    def _parse(self, ref: object, field: str) -> imagelib.ImageName:
        try:
            return imagelib.parse_reference(ref)
        except imagelib.InvalidReference as error:
            raise CRIError("InvalidArgument", f"{field}: {error}") from None

    def _store_image(self, name: imagelib.ImageName) -> Image:
        image = Image(name.image_id, name.ref, imagelib.image_size_mb(name) * 1_000_000)
        self._images[name.ref] = image
        return image

    def _emit(self, type: ContainerEventType, status: ContainerStatus) -> None:
        event = ContainerEvent(type, status.id, status.sandbox_id, self.loop.now, status)
        for listener in list(self._listeners):
            listener(event)

    def _container(self, container_id: object) -> ContainerStatus:
        _text(container_id, "container_id")
        try:
            return self._containers[container_id]
        except KeyError:
            raise CRIError(
                "NotFound",
                f"container_id: an error occurred when try to find container "
                f"{container_id!r}: not found",
            ) from None

    def _sandbox(self, sandbox_id: object, field: str = "pod_sandbox_id") -> PodSandbox:
        _text(sandbox_id, field)
        try:
            return self._sandboxes[sandbox_id]
        except KeyError:
            raise CRIError(
                "NotFound",
                f"{field}: an error occurred when try to find sandbox {sandbox_id!r}: not found",
            ) from None

    def _schedule(self, container_id: str, delay: float, action: Callable[[], None]) -> None:
        self._timers.setdefault(container_id, []).append(
            self.loop.call_later(max(delay, 0.0), action)
        )

    def _cancel_timers(self, container_id: str) -> None:
        for handle in self._timers.pop(container_id, []):
            self.loop.cancel(handle)

    def _exit(self, container_id: str, exit_code: int, reason: str | None = None) -> None:
        """The container's process ended now with ``exit_code``."""
        status = self._containers.get(container_id)
        if status is None or status.state is not ContainerState.RUNNING:
            return
        self._cancel_timers(container_id)
        status = attrs.evolve(
            status,
            state=ContainerState.EXITED,
            finished_at=self.loop.now,
            exit_code=exit_code,
            reason=reason or exit_reason(exit_code),
        )
        self._containers[container_id] = status
        self._emit(ContainerEventType.STOPPED, status)

    # ---- image service ------------------------------------------------------------------

    def list_images(self) -> tuple[Image, ...]:
        return tuple(sorted(self._images.values(), key=lambda image: image.ref))

    def image_status(self, ref: str) -> Image | None:
        """The image named by ``ref`` (a reference or an image id), or None if absent."""
        if isinstance(ref, str) and ref.startswith("sha256:"):
            return next((i for i in self._images.values() if i.id == ref), None)
        return self._images.get(self._parse(ref, "image").ref)

    def pull_image(self, ref: str, on_done: Callable[[PullResult], object]) -> None:
        """Start pulling ``ref``; ``on_done`` gets the PullResult when the pull ends."""
        self._up()
        if not callable(on_done):
            raise CRIError("InvalidArgument", f"on_done: must be callable, not {on_done!r}")
        now, epoch = self.loop.now, self._epoch
        try:
            name = imagelib.parse_reference(ref)
        except imagelib.InvalidReference as error:
            result = PullResult(
                str(ref), "", error=f"image: {error}", reason="InvalidImageName",
                code="InvalidArgument", requested_at=now, done_at=now,
            )  # fmt: skip
            self.loop.call_later(0, lambda: on_done(result))
            return
        error = imagelib.pull_error(name)
        delay = imagelib.FAILED_PULL_SECONDS if error else imagelib.pull_seconds(name)

        def finish() -> None:
            failed, code = error, "NotFound" if error and error.endswith("not found") else "Unknown"
            if self._epoch != epoch:
                failed = "error reading from server: EOF (the container runtime went down)"
                code = "Unavailable"
            result = PullResult(ref, name.ref, requested_at=now, done_at=self.loop.now)
            if failed is None:
                image = self._store_image(name)
                result = attrs.evolve(result, image_id=image.id)
            else:
                result = attrs.evolve(result, error=failed, reason="ErrImagePull", code=code)
            on_done(result)

        self.loop.call_later(delay, finish)

    def remove_image(self, ref: str) -> None:
        """Remove the image (idempotent); containers already created keep running."""
        self._up()
        image = self.image_status(ref)
        if image is not None:
            del self._images[image.ref]

    # ---- sandboxes ----------------------------------------------------------------------

    def run_pod_sandbox(
        self, pod_uid: str, name: str, namespace: str, *, attempt: int = 0, ip: str | None = None
    ) -> str:
        self._up()
        _text(pod_uid, "config.metadata.uid")
        _text(name, "config.metadata.name")
        _text(namespace, "config.metadata.namespace")
        _attempt(attempt, "config.metadata.attempt")
        if ip is not None:
            _text(ip, "ip")
        for sandbox in self._sandboxes.values():
            if (sandbox.pod_uid, sandbox.name, sandbox.namespace, sandbox.attempt) == (
                pod_uid, name, namespace, attempt,
            ):  # fmt: skip
                raise CRIError(
                    "AlreadyExists",
                    f"config.metadata: failed to reserve sandbox name "
                    f'"{name}_{namespace}_{pod_uid}_{attempt}": reserved for {sandbox.id!r}',
                )
        sandbox_id = self._new_id("sandbox")
        self._sandboxes[sandbox_id] = PodSandbox(
            sandbox_id, pod_uid, name, namespace, attempt, SandboxState.READY, self.loop.now, ip
        )
        return sandbox_id

    def stop_pod_sandbox(self, sandbox_id: str) -> None:
        """Kill every running container of the sandbox and mark it NOTREADY (idempotent)."""
        self._up()
        _text(sandbox_id, "pod_sandbox_id")
        sandbox = self._sandboxes.get(sandbox_id)
        if sandbox is None:
            return
        for status in list(self._containers.values()):
            if status.sandbox_id == sandbox_id:
                self._exit(status.id, SIGKILL_EXIT_CODE)
        self._sandboxes[sandbox_id] = attrs.evolve(sandbox, state=SandboxState.NOTREADY)

    def remove_pod_sandbox(self, sandbox_id: str) -> None:
        """Remove the sandbox and its containers, killing those still running (idempotent)."""
        self._up()
        _text(sandbox_id, "pod_sandbox_id")
        if sandbox_id not in self._sandboxes:
            return
        self.stop_pod_sandbox(sandbox_id)
        for status in list(self._containers.values()):
            if status.sandbox_id == sandbox_id:
                self._remove(status.id)
        del self._sandboxes[sandbox_id]

    def list_pod_sandboxes(
        self, *, state: SandboxState | None = None, pod_uid: str | None = None
    ) -> tuple[PodSandbox, ...]:
        """The sandboxes in creation order, filtered as the CRI's PodSandboxFilter does."""
        return tuple(
            sandbox
            for sandbox in self._sandboxes.values()
            if state in (None, sandbox.state) and pod_uid in (None, sandbox.pod_uid)
        )

    def pod_sandbox_status(self, sandbox_id: str) -> PodSandbox:
        return self._sandbox(sandbox_id)

    # ---- containers ---------------------------------------------------------------------

    def create_container(
        self, sandbox_id: str, name: str, image_ref: str, *, attempt: int = 0
    ) -> str:
        self._up()
        sandbox = self._sandbox(sandbox_id)
        _text(name, "config.metadata.name")
        _attempt(attempt, "config.metadata.attempt")
        if sandbox.state is not SandboxState.READY:
            raise CRIError(
                "FailedPrecondition",
                f"pod_sandbox_id: sandbox {sandbox_id!r} is in {sandbox.state.value} state, "
                f"expected {SandboxState.READY.value}",
            )
        image = self.image_status(image_ref)
        if image is None:
            raise CRIError(
                "NotFound",
                f"config.image.image: failed to get image {image_ref!r}: not found "
                f"on node {self.node_name}; pull it first",
            )
        for other in self._containers.values():
            if (other.sandbox_id, other.name, other.attempt) == (sandbox_id, name, attempt):
                raise CRIError(
                    "AlreadyExists",
                    f'config.metadata: failed to reserve container name "{name}_{attempt}": '
                    f"reserved for {other.id!r}",
                )
        container_id = self._new_id("container")
        status = ContainerStatus(
            container_id, sandbox_id, name, attempt, image.ref, image.id,
            ContainerState.CREATED, self.loop.now,
        )  # fmt: skip
        self._containers[container_id] = status
        self._scripts[container_id] = imagelib.parse_script(imagelib.parse_reference(image.ref))
        self._emit(ContainerEventType.CREATED, status)
        return container_id

    def start_container(self, container_id: str) -> None:
        self._up()
        status = self._container(container_id)
        if status.state is not ContainerState.CREATED:
            raise CRIError(
                "FailedPrecondition",
                f"container_id: container {container_id!r} is in {status.state.value} state, "
                f"expected {ContainerState.CREATED.value}",
            )
        sandbox = self._sandboxes[status.sandbox_id]
        if sandbox.state is not SandboxState.READY:
            raise CRIError(
                "FailedPrecondition",
                f"container_id: the sandbox of container {container_id!r} is {sandbox.state.value}",
            )
        status = attrs.evolve(status, state=ContainerState.RUNNING, started_at=self.loop.now)
        self._containers[container_id] = status
        self._emit(ContainerEventType.STARTED, status)
        script = self._scripts[container_id]
        if script.exit_after is not None:
            code, reason = script.exit_code, script.reason
            self._schedule(
                container_id, script.exit_after, lambda: self._exit(container_id, code, reason)
            )

    def stop_container(self, container_id: str, timeout: float) -> None:
        """Send SIGTERM, and SIGKILL ``timeout`` seconds later if it is still running."""
        self._up()
        status = self._container(container_id)
        timeout = _seconds(timeout, "timeout")
        if status.state is not ContainerState.RUNNING:
            return  # stopping a container that is not running is a no-op
        if timeout <= 0:
            self._exit(container_id, SIGKILL_EXIT_CODE)
        elif not self._scripts[container_id].ignores_sigterm:
            self._exit(container_id, SIGTERM_EXIT_CODE)
        else:
            self._schedule(
                container_id, timeout, lambda: self._exit(container_id, SIGKILL_EXIT_CODE)
            )

    def kill_container(self, container_id: str) -> bool:
        """Fault: SIGKILL the container now (exit 137); False if it was not running."""
        self._up()
        status = self._container(container_id)
        if status.state is not ContainerState.RUNNING:
            return False
        self._exit(container_id, SIGKILL_EXIT_CODE)
        return True

    def _remove(self, container_id: str) -> None:
        self._cancel_timers(container_id)
        status = self._containers.pop(container_id)
        self._scripts.pop(container_id, None)
        self._emit(ContainerEventType.DELETED, status)

    def remove_container(self, container_id: str) -> None:
        """Remove a container that is not running (idempotent for an unknown id)."""
        self._up()
        _text(container_id, "container_id")
        status = self._containers.get(container_id)
        if status is None:
            return
        if status.state is ContainerState.RUNNING:
            raise CRIError(
                "FailedPrecondition",
                f"container_id: container {container_id!r} is still running, to stop first",
            )
        self._remove(container_id)

    def list_containers(
        self, *, sandbox_id: str | None = None, state: ContainerState | None = None
    ) -> tuple[ContainerStatus, ...]:
        """The containers in creation order, filtered as the CRI's ContainerFilter does."""
        return tuple(
            status
            for status in self._containers.values()
            if sandbox_id in (None, status.sandbox_id) and state in (None, status.state)
        )

    def container_status(self, container_id: str) -> ContainerStatus:
        return self._container(container_id)

    def probe(self, container_id: str, kind: str) -> bool:
        """Whether the container's ``kind`` probe (liveness/readiness/startup) succeeds now."""
        status = self._container(container_id)
        if kind not in PROBE_KINDS:
            raise CRIError(
                "InvalidArgument", f"kind: must be one of {', '.join(PROBE_KINDS)}, not {kind!r}"
            )
        if self.down or status.state is not ContainerState.RUNNING:
            return False
        script = self._scripts[container_id]
        if self.loop.now < status.started_at + script.ready_after:
            return False
        return not (kind == "readiness" and script.never_ready)

    def on_container_event(self, callback: Callable[[ContainerEvent], object]) -> None:
        if not callable(callback):
            raise CRIError("InvalidArgument", f"callback: must be callable, not {callback!r}")
        self._listeners.append(callback)

    def script_of(self, container_id: str) -> imagelib.ImageScript:
        """The behaviour the container follows (from its image)."""
        self._container(container_id)
        return self._scripts[container_id]

    # ---- faults -------------------------------------------------------------------------

    def crash(self) -> None:
        """The node dies: containers become UNKNOWN, sandboxes NOTREADY, pulls in flight fail."""
        self.down = True
        self._epoch += 1
        for container_id, status in list(self._containers.items()):
            self._cancel_timers(container_id)
            if status.state in (ContainerState.CREATED, ContainerState.RUNNING):
                self._containers[container_id] = attrs.evolve(status, state=ContainerState.UNKNOWN)
        for sandbox_id, sandbox in list(self._sandboxes.items()):
            self._sandboxes[sandbox_id] = attrs.evolve(sandbox, state=SandboxState.NOTREADY)

    def restart(self) -> None:
        """The runtime comes back (after a crash or not): images kept, no sandbox or container."""
        for container_id in list(self._containers):
            self._cancel_timers(container_id)
        self._containers.clear()
        self._scripts.clear()
        self._sandboxes.clear()
        self._epoch += 1
        self.down = False
