"""Deliberately broken container runtimes: each one realistic bug, which the runtime suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to a factory with the reference's
signature ``(loop, node_name, *, images=())`` returning a runtime that has the
reference's shape but breaks one rule of spec/runtime.md; ``BREAKS`` names the
invariant each one breaks. Every mutant is a small subclass of the reference
``Runtime`` overriding one method, so the bug is the only difference.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import attrs

from kubeprop.reference.runtime import images as imagelib
from kubeprop.reference.runtime.runtime import (
    SIGKILL_EXIT_CODE,
    ContainerState,
    Image,
    Runtime,
)


class CreatesWithoutImage(Runtime):
    """create_container does not look for the image: a missing one is taken on trust."""

    def create_container(self, sandbox_id, name, image_ref, *, attempt=0):
        try:
            image_name = imagelib.parse_reference(image_ref)
        except imagelib.InvalidReference:
            image_name = None
        made_up = image_name is not None and image_name.ref not in self._images
        if made_up:
            self._images[image_name.ref] = Image(image_name.image_id, image_name.ref, 0)
        try:
            return super().create_container(sandbox_id, name, image_ref, attempt=attempt)
        finally:
            if made_up:
                del self._images[image_name.ref]


class ExitCodeWhileRunning(Runtime):
    """A started container already reports exit code 0 (a zero value mistaken for a code)."""

    def start_container(self, container_id):
        super().start_container(container_id)
        status = self._containers[container_id]
        if status.state is ContainerState.RUNNING:
            self._containers[container_id] = attrs.evolve(status, exit_code=0)


class EveryImageIgnoresSigterm(Runtime):
    """SIGTERM is never delivered: every stopped container waits for SIGKILL at the timeout."""

    def stop_container(self, container_id, timeout):
        status = self._container(container_id)
        if status.state is ContainerState.RUNNING and not self.down and timeout > 0:
            self._schedule(
                container_id, timeout, lambda: self._exit(container_id, SIGKILL_EXIT_CODE)
            )
            return
        super().stop_container(container_id, timeout)


class ScriptedExitLate(Runtime):
    """A scripted exit lands one second late (the delay counted from the pull, not the start)."""

    def start_container(self, container_id):
        script = self._scripts.get(container_id)
        if script is not None and script.exit_after is not None:
            self._scripts[container_id] = attrs.evolve(script, exit_after=script.exit_after + 1)
        super().start_container(container_id)


class FailedPullKeepsImage(Runtime):
    """A pull that fails to resolve still records the image (a half-written content store)."""

    def pull_image(self, ref, on_done):
        def done(result):
            if not result.ok and result.image_ref:
                self._store_image(imagelib.parse_reference(result.image_ref))
            on_done(result)

        super().pull_image(ref, done)


class PullIgnoresSize(Runtime):
    """Every pull takes the base second, however large the image."""

    def pull_image(self, ref, on_done):
        def done(result):
            if result.ok and result.done_at - result.requested_at > 1.0:
                result = attrs.evolve(result, done_at=result.requested_at + 1.0)
            on_done(result)

        super().pull_image(ref, done)


class StartsInStoppedSandbox(Runtime):
    """create_container does not look at the sandbox's state, only that it exists."""

    def create_container(self, sandbox_id, name, image_ref, *, attempt=0):
        sandbox = self._sandboxes.get(sandbox_id) if isinstance(sandbox_id, str) else None
        if sandbox is None:
            return super().create_container(sandbox_id, name, image_ref, attempt=attempt)
        saved = sandbox
        self._sandboxes[sandbox_id] = attrs.evolve(sandbox, state=type(sandbox.state).READY)
        try:
            return super().create_container(sandbox_id, name, image_ref, attempt=attempt)
        finally:
            self._sandboxes[sandbox_id] = saved


class RestartRevivesContainers(Runtime):
    """After a crash, restart brings the UNKNOWN containers back as RUNNING."""

    def restart(self):
        survivors = {
            cid: attrs.evolve(status, state=ContainerState.RUNNING)
            for cid, status in self._containers.items()
            if status.state is ContainerState.UNKNOWN and status.started_at is not None
        }
        scripts = {cid: self._scripts[cid] for cid in survivors}
        super().restart()
        self._containers.update(survivors)
        self._scripts.update(scripts)


class SilentExit(Runtime):
    """A container that exits on its own is never announced (the event feed misses exits)."""

    def _emit(self, type, status):
        if type.value == "CONTAINER_STOPPED_EVENT" and status.exit_code not in (143, 137):
            return
        super()._emit(type, status)


class UnreadyIsReady(Runtime):
    """Readiness probes answer like liveness probes: an image that is never ready is ready."""

    def probe(self, container_id, kind):
        return super().probe(container_id, "liveness" if kind == "readiness" else kind)


# One counter shared by every instance: ids depend on what other runtimes did before.
_GLOBAL_IDS = itertools.count(1)


class ProcessWideIds(Runtime):
    """Ids come from a process-wide counter, so the same calls give different ids."""

    def _new_id(self, kind):
        return f"{kind}-{next(_GLOBAL_IDS):08d}"


MUTANTS: dict[str, Callable[..., Runtime]] = {
    "creates-without-image": CreatesWithoutImage,
    "exit-code-while-running": ExitCodeWhileRunning,
    "every-image-ignores-sigterm": EveryImageIgnoresSigterm,
    "scripted-exit-late": ScriptedExitLate,
    "failed-pull-keeps-image": FailedPullKeepsImage,
    "pull-ignores-size": PullIgnoresSize,
    "starts-in-stopped-sandbox": StartsInStoppedSandbox,
    "restart-revives-containers": RestartRevivesContainers,
    "silent-exit": SilentExit,
    "unready-is-ready": UnreadyIsReady,
    "process-wide-ids": ProcessWideIds,
}

BREAKS: dict[str, str] = {
    "creates-without-image": "RUNTIME-IMAGE-BEFORE-CREATE",
    "exit-code-while-running": "RUNTIME-EXIT-CODE",
    "every-image-ignores-sigterm": "RUNTIME-STOP-GRACE",
    "scripted-exit-late": "RUNTIME-SCRIPTED-EXIT",
    "failed-pull-keeps-image": "RUNTIME-PULL-ERRORS",
    "pull-ignores-size": "RUNTIME-PULL-TIME",
    "starts-in-stopped-sandbox": "RUNTIME-SANDBOX-BEFORE-CONTAINER",
    "restart-revives-containers": "RUNTIME-CONTAINER-STATES",
    "silent-exit": "RUNTIME-EXIT-EVENTS",
    "unready-is-ready": "RUNTIME-PROBES",
    "process-wide-ids": "RUNTIME-DETERMINISTIC",
}
