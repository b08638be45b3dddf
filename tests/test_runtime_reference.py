"""The reference container runtime, call by call: exact states, codes, instants and errors."""

from __future__ import annotations

import re

import pytest

from kubeprop.reference.loop import EventLoop
from kubeprop.reference.runtime import (
    ContainerEventType,
    ContainerState,
    CRIError,
    Runtime,
    SandboxState,
)

IMAGES = (
    "busybox:1.36",
    "kubeprop.test/exit:3-after-5s",
    "kubeprop.test/exit:0",
    "kubeprop.test/crash",
    "kubeprop.test/oom",
    "kubeprop.test/unready",
    "kubeprop.test/slow-start:10s",
    "kubeprop.test/ignore-sigterm",
)


@pytest.fixture
def loop() -> EventLoop:
    return EventLoop()


@pytest.fixture
def runtime(loop) -> Runtime:
    return Runtime(loop, "node-a", images=IMAGES)


def running(runtime: Runtime, image: str, name: str = "app") -> str:
    sandbox = runtime.run_pod_sandbox(f"uid-{name}", f"pod-{name}", "default")
    container = runtime.create_container(sandbox, name, image)
    runtime.start_container(container)
    return container


# ---- images -------------------------------------------------------------------------------


def test_a_pull_ends_after_its_pull_time_and_leaves_the_image_on_the_node(loop, runtime):
    results = []
    runtime.pull_image("nginx", results.append)
    loop.run_until(1.69)
    assert results == [] and runtime.image_status("nginx") is None
    loop.run_until(1.7)
    (result,) = results
    assert result.ok and result.image_ref == "docker.io/library/nginx:latest"
    assert runtime.image_status("docker.io/library/nginx").id == result.image_id
    assert runtime.image_status(result.image_id).ref == result.image_ref


@pytest.mark.parametrize(
    ("reference", "reason", "code", "after", "says"),
    [
        ("nope.example/app", "ErrImagePull", "Unknown", 1.0, "no such host"),
        ("nginx:doesnotexist", "ErrImagePull", "NotFound", 1.0, "not found"),
        ("Nginx", "InvalidImageName", "InvalidArgument", 0.0, "invalid reference format"),
    ],
)
def test_a_failed_pull_reports_the_kubelets_reason_and_adds_no_image(
    loop, runtime, reference, reason, code, after, says
):
    results = []
    before = runtime.list_images()
    runtime.pull_image(reference, results.append)
    loop.run_until(after)
    (result,) = results
    assert (result.reason, result.code, result.done_at, result.image_id) == (
        reason, code, after, None,
    )  # fmt: skip
    assert says in result.error
    assert runtime.list_images() == before


def test_a_pull_in_flight_when_the_node_crashes_fails(loop, runtime):
    results = []
    runtime.pull_image("nginx", results.append)
    runtime.crash()
    runtime.restart()
    loop.run_for(5)
    assert (results[0].reason, results[0].code) == ("ErrImagePull", "Unavailable")
    assert runtime.image_status("nginx") is None


def test_removing_an_image_is_idempotent_and_keeps_its_containers_running(runtime):
    container = running(runtime, "busybox:1.36")
    runtime.remove_image("busybox:1.36")
    runtime.remove_image("busybox:1.36")
    assert runtime.image_status("busybox:1.36") is None
    assert runtime.container_status(container).state is ContainerState.RUNNING


@pytest.mark.parametrize(
    ("node_name", "preloaded", "says"),
    [
        ("", (), "node_name"),
        ("node-a", "nginx", "images: a list"),
        ("node-a", ["Nginx"], "images[]"),
    ],
)
def test_a_runtime_is_not_built_from_a_bad_node_name_or_image_list(node_name, preloaded, says):
    with pytest.raises(CRIError, match=re.escape(says)):
        Runtime(EventLoop(), node_name, images=preloaded)


def test_a_node_cannot_be_preloaded_with_an_image_no_registry_has():
    with pytest.raises(CRIError) as error:
        Runtime(EventLoop(), "node-a", images=["nginx:missing-1"])
    assert error.value.code == "NotFound" and "images[]" in error.value.message


# ---- sandboxes and containers -------------------------------------------------------------


def test_a_container_is_created_only_from_a_present_image_in_a_ready_sandbox(runtime):
    sandbox = runtime.run_pod_sandbox("uid", "pod", "default", ip="10.244.0.5")
    assert runtime.pod_sandbox_status(sandbox).ip == "10.244.0.5"
    with pytest.raises(CRIError) as missing:
        runtime.create_container(sandbox, "app", "nginx")
    assert missing.value.code == "NotFound" and "config.image.image" in missing.value.message
    runtime.stop_pod_sandbox(sandbox)
    assert runtime.pod_sandbox_status(sandbox).state is SandboxState.NOTREADY
    with pytest.raises(CRIError) as stopped:
        runtime.create_container(sandbox, "app", "busybox:1.36")
    assert stopped.value.code == "FailedPrecondition"
    assert runtime.list_containers() == ()


def test_a_container_goes_created_running_exited_with_its_instants(loop, runtime):
    sandbox = runtime.run_pod_sandbox("uid", "pod", "default")
    loop.run_for(1)
    container = runtime.create_container(sandbox, "app", "kubeprop.test/exit:3-after-5s")
    status = runtime.container_status(container)
    assert (status.state, status.created_at, status.started_at) == (ContainerState.CREATED, 1, None)
    loop.run_for(1)
    runtime.start_container(container)
    assert runtime.container_status(container).state is ContainerState.RUNNING
    loop.run_until(6.9)
    assert runtime.container_status(container).exit_code is None
    loop.run_until(7)
    status = runtime.container_status(container)
    assert (status.state, status.started_at, status.finished_at) == (ContainerState.EXITED, 2, 7)
    assert (status.exit_code, status.reason) == (3, "Error")
    with pytest.raises(CRIError) as again:
        runtime.start_container(container)
    assert again.value.code == "FailedPrecondition"


@pytest.mark.parametrize(
    ("image", "code", "reason"),
    [
        ("kubeprop.test/exit:0", 0, "Completed"),
        ("kubeprop.test/crash", 1, "Error"),
        ("kubeprop.test/oom", 137, "OOMKilled"),
    ],
)
def test_a_scripted_image_exits_after_one_second_with_its_code_and_reason(
    loop, runtime, image, code, reason
):
    container = running(runtime, image)
    loop.run_for(1)
    status = runtime.container_status(container)
    assert (status.exit_code, status.reason, status.finished_at) == (code, reason, 1)


@pytest.mark.parametrize(
    ("image", "timeout", "code", "at"),
    [
        ("busybox:1.36", 30, 143, 0),  # dies of SIGTERM at once
        ("busybox:1.36", 0, 137, 0),  # no grace: SIGKILL at once
        ("kubeprop.test/ignore-sigterm", 30, 137, 30),  # SIGKILL at the timeout
        ("kubeprop.test/ignore-sigterm", 0, 137, 0),
    ],
)
def test_stopping_sends_sigterm_then_sigkill_at_the_timeout(
    loop, runtime, image, timeout, code, at
):
    container = running(runtime, image)
    runtime.stop_container(container, timeout)
    loop.run_for(at)
    status = runtime.container_status(container)
    assert (status.state, status.exit_code, status.finished_at) == (ContainerState.EXITED, code, at)


def test_a_container_ignoring_sigterm_runs_until_the_timeout(loop, runtime):
    container = running(runtime, "kubeprop.test/ignore-sigterm")
    runtime.stop_container(container, 30)
    loop.run_for(29.5)
    assert runtime.container_status(container).state is ContainerState.RUNNING
    with pytest.raises(CRIError) as still_running:
        runtime.remove_container(container)
    assert still_running.value.code == "FailedPrecondition"


def test_killing_a_container_exits_it_with_137_and_reason_error(runtime):
    container = running(runtime, "busybox:1.36")
    assert runtime.kill_container(container) is True
    status = runtime.container_status(container)
    assert (status.exit_code, status.reason) == (137, "Error")
    assert runtime.kill_container(container) is False


def test_stopping_a_sandbox_kills_its_containers_and_removing_it_removes_them(runtime):
    container = running(runtime, "busybox:1.36")
    sandbox = runtime.container_status(container).sandbox_id
    runtime.stop_pod_sandbox(sandbox)
    assert runtime.container_status(container).exit_code == 137
    runtime.remove_pod_sandbox(sandbox)
    runtime.remove_pod_sandbox(sandbox)
    assert runtime.list_containers() == () and runtime.list_pod_sandboxes() == ()


def test_every_transition_is_announced_in_order(loop, runtime):
    events = []
    runtime.on_container_event(events.append)
    container = running(runtime, "kubeprop.test/crash")
    loop.run_for(1)
    runtime.remove_container(container)
    assert [(e.type, e.at) for e in events] == [
        (ContainerEventType.CREATED, 0),
        (ContainerEventType.STARTED, 0),
        (ContainerEventType.STOPPED, 1),
        (ContainerEventType.DELETED, 1),
    ]
    assert events[2].status.exit_code == 1


# ---- probes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "at", "expected"),
    [
        ("busybox:1.36", 0, dict(liveness=True, readiness=True, startup=True)),
        ("kubeprop.test/unready", 100, dict(liveness=True, readiness=False, startup=True)),
        ("kubeprop.test/slow-start:10s", 9, dict(liveness=False, readiness=False, startup=False)),
        ("kubeprop.test/slow-start:10s", 10, dict(liveness=True, readiness=True, startup=True)),
    ],
)
def test_probes_answer_as_the_image_table_says(loop, runtime, image, at, expected):
    container = running(runtime, image)
    loop.run_for(at)
    assert {kind: runtime.probe(container, kind) for kind in expected} == expected


def test_an_exited_container_fails_every_probe(loop, runtime):
    container = running(runtime, "kubeprop.test/exit:0")
    loop.run_for(1)
    assert not any(runtime.probe(container, k) for k in ("liveness", "readiness", "startup"))


# ---- faults -------------------------------------------------------------------------------


def test_a_crashed_node_shows_unknown_containers_and_refuses_calls_until_restart(loop, runtime):
    container = running(runtime, "kubeprop.test/crash")
    runtime.crash()
    loop.run_for(5)
    status = runtime.container_status(container)
    assert (status.state, status.exit_code) == (ContainerState.UNKNOWN, None)
    with pytest.raises(CRIError) as down:
        runtime.run_pod_sandbox("uid", "pod", "default")
    assert down.value.code == "Unavailable"
    runtime.restart()
    assert runtime.list_containers() == () and runtime.list_pod_sandboxes() == ()
    assert runtime.image_status("kubeprop.test/crash") is not None
    assert running(runtime, "busybox:1.36", name="again") != container


# ---- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "code", "field"),
    [
        (lambda r: r.run_pod_sandbox("", "pod", "default"), "InvalidArgument", "metadata.uid"),
        (lambda r: r.run_pod_sandbox("u", "p", "ns", attempt=-1), "InvalidArgument", "attempt"),
        (lambda r: r.create_container("nope", "app", "busybox"), "NotFound", "pod_sandbox_id"),
        (lambda r: r.start_container(7), "InvalidArgument", "container_id"),
        (lambda r: r.stop_container("nope", 1), "NotFound", "container_id"),
        (lambda r: r.container_status("nope"), "NotFound", "container_id"),
        (lambda r: r.image_status("Nginx"), "InvalidArgument", "image"),
        (lambda r: r.pull_image("nginx", None), "InvalidArgument", "on_done"),
    ],
)
def test_bad_input_is_a_cri_error_naming_the_field_and_changes_nothing(runtime, call, code, field):
    before = (runtime.list_images(), runtime.list_pod_sandboxes(), runtime.list_containers())
    with pytest.raises(CRIError) as error:
        call(runtime)
    assert error.value.code == code and field in error.value.message
    assert str(error.value).startswith(f"rpc error: code = {code} desc = ")
    assert (
        runtime.list_images(),
        runtime.list_pod_sandboxes(),
        runtime.list_containers(),
    ) == before


def test_bad_stop_timeout_and_probe_kind_are_rejected(runtime):
    container = running(runtime, "busybox:1.36")
    with pytest.raises(CRIError, match="timeout"):
        runtime.stop_container(container, float("nan"))
    with pytest.raises(CRIError, match="kind"):
        runtime.probe(container, "alive")
    assert runtime.container_status(container).state is ContainerState.RUNNING


def test_the_same_calls_give_the_same_ids_and_states():
    def run() -> tuple:
        loop = EventLoop()
        runtime = Runtime(loop, "node-a", images=IMAGES)
        running(runtime, "kubeprop.test/crash")
        running(runtime, "busybox:1.36", name="web")
        loop.run_for(3)
        return runtime.list_containers(), runtime.list_pod_sandboxes()

    assert run() == run()


def test_listings_filter_by_sandbox_state_and_pod_as_the_cri_filters_do(runtime):
    first = running(runtime, "busybox:1.36", name="one")
    second = running(runtime, "busybox:1.36", name="two")
    runtime.kill_container(second)
    sandbox = runtime.container_status(first).sandbox_id
    assert [s.id for s in runtime.list_containers(sandbox_id=sandbox)] == [first]
    assert [s.id for s in runtime.list_containers(state=ContainerState.EXITED)] == [second]
    runtime.stop_pod_sandbox(sandbox)
    assert [s.pod_uid for s in runtime.list_pod_sandboxes(state=SandboxState.READY)] == ["uid-two"]
    assert [s.id for s in runtime.list_pod_sandboxes(pod_uid="uid-one")] == [sandbox]
