"""What ``kubeprop simulate`` prints (kubeprop.tables): kubectl's views of events and pods."""

from __future__ import annotations

import pytest

from kubeprop import tables


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (599, "9m59s"),
        (600, "10m"),
        (3599, "59m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 600, "3h10m"),
        (9 * 3600, "9h"),
        (48 * 3600, "2d"),
        (50 * 3600, "2d2h"),
        (8 * 24 * 3600 + 3600, "8d"),
        (2 * 365 * 24 * 3600 + 10 * 24 * 3600, "2y10d"),
        (9 * 365 * 24 * 3600, "9y"),
    ],
)
def test_ages_read_as_kubectl_prints_them(seconds, shown):
    assert tables.human_duration(seconds) == shown


def pod(state, *, ready=False, deleting=False, phase="Pending"):
    meta = {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:30Z"
    return {
        "metadata": meta,
        "spec": {"containers": [{"name": "c"}], "nodeName": "node-1"},
        "status": {
            "phase": phase,
            "podIP": "10.244.1.2",
            "containerStatuses": [{"name": "c", "state": state, "ready": ready, "restartCount": 2}],
        },
    }


@pytest.mark.parametrize(
    ("the_pod", "status"),
    [
        (pod({"waiting": {"reason": "ContainerCreating"}}), "ContainerCreating"),
        (pod({"waiting": {"reason": "ImagePullBackOff"}}), "ImagePullBackOff"),
        (pod({"waiting": {"reason": "CrashLoopBackOff"}}, phase="Running"), "CrashLoopBackOff"),
        (pod({"running": {}}, ready=True, phase="Running"), "Running"),
        (
            pod({"terminated": {"reason": "Completed", "exitCode": 0}}, phase="Succeeded"),
            "Completed",
        ),
        (pod({"terminated": {"exitCode": 3}}, phase="Failed"), "ExitCode:3"),
        (pod({"running": {}}, ready=True, deleting=True, phase="Running"), "Terminating"),
    ],
)
def test_the_status_column_is_what_kubectl_computes(the_pod, status):
    assert tables.pod_status(the_pod) == status


def test_the_wide_pod_view_has_kubectls_columns():
    text = tables.pods_table([pod({"running": {}}, ready=True, phase="Running")], now=75)
    header, row = text.splitlines()
    assert header.split() == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    assert row.split() == [
        "p",
        "1/1",
        "Running",
        "2",
        "75s",
        "10.244.1.2",
        "node-1",
        "<none>",
        "<none>",
    ]


def test_events_are_listed_in_the_order_they_happened_with_their_count():
    def event(name, reason, first, last=None, count=1):
        return {
            "metadata": {"name": name},
            "involvedObject": {"kind": "Pod", "name": "nginx"},
            "type": "Normal",
            "reason": reason,
            "message": reason.lower(),
            "count": count,
            "firstTimestamp": first,
            "lastTimestamp": last or first,
        }

    events = [
        event("nginx.77359400", "Pulled", "2026-01-01T00:00:02Z"),  # 2.0 s
        event("nginx.3b9aca00", "Pulling", "2026-01-01T00:00:01Z", "2026-01-01T00:01:01Z", 3),
    ]
    lines = tables.events_table(events).splitlines()
    assert lines[0].split() == ["TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert lines[1].split()[:4] == ["1.0s", "Normal", "Pulling", "pod/nginx"]
    assert lines[1].endswith("pulling (x3 over 60s)")
    assert lines[2].split()[:3] == ["2.0s", "Normal", "Pulled"]
