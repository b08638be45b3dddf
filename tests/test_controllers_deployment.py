"""The reference Deployment controller against upstream's numbers, names and rollout steps."""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies import workloads
from kubeprop.conformance.suites.test_deployment import make_machine
from kubeprop.reference.controllers import deployment as dep
from kubeprop.reference.controllers.deployment import DeploymentController
from kubeprop.spec.invariants.deployment import fenceposts


@pytest.mark.parametrize(
    "surge, unavailable, replicas, expected",
    [
        ("25%", "25%", 10, (3, 2)),  # surge rounds up, unavailable rounds down
        ("25%", "25%", 4, (1, 1)),
        ("25%", "25%", 1, (1, 0)),
        ("25%", "25%", 0, (0, 1)),  # both 0: one may be unavailable
        ("50%", "10%", 5, (3, 0)),
        ("0%", "10%", 5, (0, 1)),
        (1, 0, 3, (1, 0)),
        (0, 1, 3, (0, 1)),
        (2, "100%", 3, (2, 3)),
        ("30%", "30%", 7, (3, 2)),
    ],
)
def test_max_surge_and_max_unavailable_resolve_as_upstream(surge, unavailable, replicas, expected):
    assert dep.resolve_fenceposts(surge, unavailable, replicas) == expected


def test_max_unavailable_never_exceeds_the_replicas_and_agrees_with_the_spec():
    d = workloads.deployment(
        "web",
        3,
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 5}},
    )
    assert dep.max_unavailable(d) == 3
    assert (dep.max_surge(d), dep.max_unavailable(d)) == fenceposts(d)
    assert dep.max_surge(workloads.deployment("web", 3, strategy={"type": "Recreate"})) == 0


def test_a_malformed_int_or_percent_is_an_error_naming_the_value():
    with pytest.raises(ValueError, match="invalid value 'abc'"):
        dep.scaled_value("abc", 10, True)


@pytest.mark.parametrize(
    "data, value", [(b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)]
)
def test_fnv32a_matches_the_published_test_vectors(data, value):
    assert dep.fnv32a(data) == value


def test_safe_encoding_maps_each_digit_onto_the_vowel_free_alphabet():
    assert dep.safe_encode("0123456789") == "456789bcdf"


def test_the_pod_template_hash_has_upstreams_shape_and_changes_with_the_template():
    template = workloads.template("web")
    value = dep.pod_template_hash(template)
    assert value == dep.pod_template_hash(template)
    assert 1 <= len(value) <= 10 and set(value) <= set(dep.SAFE_ALPHABET)
    assert dep.pod_template_hash(workloads.template("web", "nginx:1.24")) != value
    assert dep.pod_template_hash(template, 1) != value


def rs(name: str, replicas: int, created: int, max_replicas: int | None = None) -> dict:
    annotations = {dep.MAX_REPLICAS: str(max_replicas)} if max_replicas is not None else {}
    return {
        "metadata": {
            "name": name,
            "uid": name,
            "creationTimestamp": f"2026-01-01T00:00:{created:02d}Z",
            "annotations": annotations,
        },
        "spec": {"replicas": replicas},
    }


def test_proportional_scaling_spreads_new_replicas_by_size_as_the_docs_example():
    # https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#proportional-scaling
    d = workloads.deployment(
        "web",
        15,
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}},
    )
    old, new = rs("old", 8, 0, 13), rs("new", 5, 1, 13)
    sizes = DeploymentController.proportional_sizes(None, d, [old, new])
    assert [(r["metadata"]["name"], size, op) for r, size, op in sizes] == [
        ("old", 11, "up"),
        ("new", 7, "up"),
    ]


def test_the_new_replicaset_grows_only_within_max_surge():
    d = workloads.deployment("web", 10)  # 25% / 25%: surge 3
    new = rs("new", 0, 1)
    assert dep.new_rs_new_replicas(d, [rs("old", 10, 0), new], new) == 3
    grown = rs("new", 5, 1)
    assert dep.new_rs_new_replicas(d, [rs("old", 8, 0), grown], grown) == 5
    recreate = workloads.deployment("web", 10, strategy={"type": "Recreate"})
    assert dep.new_rs_new_replicas(recreate, [new], new) == 10


# ---------------------------------------------------------------------- whole rollouts


def machine(replicas: int, strategy: dict, **extra):
    m = make_machine(DeploymentController)()
    settings = dict(min_ready_seconds=0, revision_history_limit=10, progress_deadline_seconds=600)
    m.a_deployment_exists(replicas=replicas, strategy=strategy, **{**settings, **extra})
    return m


def scaling_events(m) -> list[str]:
    events = [
        e
        for e in m.server.request("list", "events", namespace="default").body["items"]
        if e["reason"] == "ScalingReplicaSet"
    ]
    events.sort(key=lambda e: int(e["metadata"]["name"].rsplit(".", 1)[1], 16))
    return [e["message"] for e in events]


def names(m) -> tuple[str, str]:
    """(old, new) ReplicaSet names after an image update."""
    d = m.deployment()
    new = dep.DeploymentController.find_new_replica_set(d, m.replicasets())["metadata"]["name"]
    old = next(r["metadata"]["name"] for r in m.replicasets() if r["metadata"]["name"] != new)
    return old, new


def test_a_rolling_update_with_surge_one_and_no_unavailability_goes_one_pod_at_a_time():
    m = machine(3, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    m.update_image("nginx:1.24")
    for _ in range(6):
        m.kubelet_runs_pods(count=3, node="node-a")
        m.kubelet_finishes_terminations()
    old, new = names(m)
    assert scaling_events(m) == [
        f"Scaled up replica set {old} from 0 to 3",
        f"Scaled up replica set {new} from 0 to 1",
        f"Scaled down replica set {old} from 3 to 2",
        f"Scaled up replica set {new} from 1 to 2",
        f"Scaled down replica set {old} from 2 to 1",
        f"Scaled up replica set {new} from 2 to 3",
        f"Scaled down replica set {old} from 1 to 0",
    ]


def test_recreate_scales_the_old_replicaset_to_zero_before_starting_the_new_one():
    m = machine(3, {"type": "Recreate"})
    m.update_image("nginx:1.24")
    assert len(m.replicasets()) == 1  # the old pods still terminate: no new ReplicaSet yet
    m.kubelet_finishes_terminations()
    old, new = names(m)
    assert scaling_events(m) == [
        f"Scaled up replica set {old} from 0 to 3",
        f"Scaled down replica set {old} from 3 to 0",
        f"Scaled up replica set {new} from 0 to 3",
    ]


def test_replicasets_carry_the_hash_and_the_revision_annotations():
    m = machine(2, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    (first,) = m.replicasets()
    pod_hash = first["spec"]["selector"]["matchLabels"][dep.HASH_LABEL]
    assert first["metadata"]["name"] == f"web-{pod_hash}"
    assert first["spec"]["template"]["metadata"]["labels"] == {
        "app": "web",
        dep.HASH_LABEL: pod_hash,
    }
    assert first["metadata"]["annotations"] == {
        dep.REVISION: "1",
        dep.DESIRED_REPLICAS: "2",
        dep.MAX_REPLICAS: "3",
    }
    m.update_image("nginx:1.24")
    m.settle_everything()
    m.update_image("nginx:1.23")  # back to the first template: a rollback
    m.settle_everything()
    revisions = {
        r["metadata"]["name"]: r["metadata"]["annotations"][dep.REVISION] for r in m.replicasets()
    }
    assert revisions[first["metadata"]["name"]] == "3"
    assert m.deployment()["metadata"]["annotations"][dep.REVISION] == "3"


def test_a_complete_deployment_reports_its_conditions_as_upstream():
    m = machine(2, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    status = m.deployment()["status"]
    (rs_name,) = [r["metadata"]["name"] for r in m.replicasets()]
    conditions = {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}
    assert conditions == {
        "Available": ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
        "Progressing": (
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{rs_name}" has successfully progressed.',
        ),
    }
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 1,
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "unavailableReplicas": 0,
    }


def test_a_rollout_without_progress_exceeds_its_deadline():
    m = machine(
        2,
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        progress_deadline_seconds=10,
    )
    m.update_image("nginx:1.24")
    m.advance(15.0)
    _, new = names(m)
    progressing = next(
        c for c in m.deployment()["status"]["conditions"] if c["type"] == "Progressing"
    )
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        f'ReplicaSet "{new}" has timed out progressing.',
    )


def test_old_replicasets_beyond_the_history_limit_are_deleted():
    m = machine(1, {"type": "Recreate"}, revision_history_limit=1)
    for image in ("nginx:1.24", "nginx:1.25"):
        m.update_image(image)
        m.settle_everything()
    assert len(m.replicasets()) == 2  # the new one and one old revision
