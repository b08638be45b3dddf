"""Table tests for the kubelet's exact upstream numbers: back-off sequences, durations, periods."""

from __future__ import annotations

import pytest

from kubeprop.reference.kubelet import (
    INITIAL_BACK_OFF,
    MAX_CONTAINER_BACK_OFF,
    MAX_IMAGE_BACK_OFF,
    NODE_LEASE_DURATION_SECONDS,
    NODE_STATUS_UPDATE_FREQUENCY,
    Backoff,
    Kubelet,
    go_duration,
)
from kubeprop.reference.kubelet.status import format_pod, pod_phase
from kubeprop.spec.invariants.kubelet import pull_back_offs, restart_decisions


def test_the_back_off_starts_at_10s_and_is_capped_at_300s_as_upstream():
    assert (INITIAL_BACK_OFF, MAX_CONTAINER_BACK_OFF, MAX_IMAGE_BACK_OFF) == (10, 300, 300)


@pytest.mark.parametrize(
    "failures, delay",
    [
        (1, 10),
        (2, 20),
        (3, 40),
        (4, 80),
        (5, 160),
        (6, 300),
        (7, 300),
        (20, 300),
    ],
)
def test_each_failure_doubles_the_back_off_up_to_300s(failures, delay):
    backoff = Backoff()
    for n in range(failures):
        backoff.next("pod_app", n * 1.0, n * 1.0)
    assert backoff.get("pod_app") == delay


def test_the_back_off_starts_over_when_ten_minutes_pass_without_a_failure():
    backoff = Backoff()
    backoff.next("k", 0.0, 0.0)
    backoff.next("k", 10.0, 10.0)
    assert backoff.get("k") == 20
    backoff.next("k", 10.0 + 600.0, 10.0 + 600.0)  # exactly 2 * max: not yet expired
    assert backoff.get("k") == 40
    backoff.next("k", 1210.5, 1210.5)
    assert backoff.get("k") == 10


def test_a_container_is_in_back_off_until_its_delay_after_it_finished():
    backoff = Backoff()
    backoff.next("k", 0.0, 0.0)
    assert backoff.in_back_off_since("k", 5.0, 14.9)
    assert not backoff.in_back_off_since("k", 5.0, 15.0)


@pytest.mark.parametrize(
    "finishes, decisions",
    [
        ([1.0], [1.0]),  # the first restart is at once
        ([1.0, 2.0], [1.0, 12.0]),
        ([1.0, 2.0, 13.0, 34.0], [1.0, 12.0, 33.0, 74.0]),
        ([0.0, 1.0, 12.0, 33.0, 74.0, 155.0, 316.0, 617.0], [0, 11, 32, 73, 154, 315, 616, 917]),
        ([0.0, 700.0], [0.0, 700.0]),  # ran for more than 10 minutes: back to the start
    ],
)
def test_crash_loop_restarts_follow_the_upstream_schedule(finishes, decisions):
    assert restart_decisions(finishes) == decisions


def test_image_pull_back_offs_double_from_10s_to_300s():
    failures = [1.0, 12.0, 33.0, 74.0, 155.0, 316.0, 617.0]
    assert pull_back_offs(failures) == [10, 20, 40, 80, 160, 300, 300]


@pytest.mark.parametrize(
    "seconds, text",
    [
        (10, "10s"),
        (20, "20s"),
        (40, "40s"),
        (80, "1m20s"),
        (160, "2m40s"),
        (300, "5m0s"),
        (1.7, "1.7s"),
        (1.01, "1.01s"),
        (0.5, "500ms"),
        (3600, "1h0m0s"),
    ],
)
def test_durations_print_as_go_prints_them(seconds, text):
    assert go_duration(seconds) == text


def test_node_heartbeats_are_every_10s_and_the_lease_lasts_40s_renewed_at_a_quarter():
    assert NODE_STATUS_UPDATE_FREQUENCY == 10
    assert NODE_LEASE_DURATION_SECONDS == 40
    kubelet = Kubelet.__new__(Kubelet)
    assert Kubelet.lease_renew_interval(kubelet) == 10


def test_a_pod_is_formatted_as_name_namespace_uid():
    pod = {"metadata": {"name": "nginx", "namespace": "default", "uid": "u-1"}}
    assert format_pod(pod) == "nginx_default(u-1)"


def _running():
    return {"name": "c", "state": {"running": {}}}


def _exited(code, restarting=False):
    if restarting:
        return {
            "name": "c",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": code}},
        }
    return {"name": "c", "state": {"terminated": {"exitCode": code}}}


@pytest.mark.parametrize(
    "policy, inits, statuses, terminal, phase",
    [
        ("Always", [], [{"name": "c", "state": {"waiting": {}}}], False, "Pending"),
        ("Always", [], [_running()], False, "Running"),
        ("Always", [], [_exited(1, restarting=True)], False, "Running"),
        ("OnFailure", [], [_exited(0)], False, "Succeeded"),
        ("OnFailure", [], [_exited(1, restarting=True)], False, "Running"),
        ("Never", [], [_exited(1)], False, "Failed"),
        ("Never", [], [_exited(0)], False, "Succeeded"),
        ("Always", [], [_exited(143)], True, "Failed"),
        ("Always", [], [_exited(0)], True, "Succeeded"),
        ("Always", [{"name": "i", "state": {"running": {}}}], [], False, "Pending"),
        ("Never", [_exited(1)], [], False, "Failed"),
    ],
)
def test_the_phase_follows_upstream_get_phase(policy, inits, statuses, terminal, phase):
    assert pod_phase(policy, inits, statuses, terminal) == phase
