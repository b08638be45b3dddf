"""Defaulting: Kubernetes' v1 defaults, filled only where unset."""

from __future__ import annotations

import pytest

from kubeprop.spec.api import default, dump, load


def defaulted(manifest):
    return dump(default(load(manifest)))


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("repo/app@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_image_pull_policy_defaults_by_tag(image, policy):
    pod = defaulted(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": image}]},
        }
    )
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_a_pod_gets_kubernetes_v1_defaults():
    pod = defaulted(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "x:1",
                        "ports": [{"containerPort": 80}],
                        "resources": {"limits": {"cpu": "1"}},
                    }
                ]
            },
        }
    )
    spec = pod["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["schedulerName"]) == (
        "Always",
        "ClusterFirst",
        "default-scheduler",
    )
    assert (
        spec["terminationGracePeriodSeconds"],
        spec["priority"],
        spec["enableServiceLinks"],
    ) == (30, 0, True)
    c = spec["containers"][0]
    assert c["ports"][0]["protocol"] == "TCP"
    assert (c["terminationMessagePath"], c["terminationMessagePolicy"]) == (
        "/dev/termination-log",
        "File",
    )
    assert c["resources"]["requests"] == {"cpu": "1"}


def test_a_deployment_gets_replicas_strategy_and_limits():
    d = defaulted(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {
                "selector": {"matchLabels": {"a": "b"}},
                "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        }
    )["spec"]
    assert d["replicas"] == 1
    assert d["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert (d["revisionHistoryLimit"], d["progressDeadlineSeconds"]) == (10, 600)
    assert d["template"]["spec"]["restartPolicy"] == "Always"


def test_a_service_gets_cluster_ip_type_tcp_and_target_port():
    spec = defaulted(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}]},
        }
    )["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80}]


def test_a_namespace_gets_its_finalizer_and_phase():
    ns = defaulted({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}


def test_a_replica_set_gets_one_replica_and_set_fields_are_kept():
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "r"},
        "spec": {"replicas": 0},
    }
    assert defaulted(rs)["spec"]["replicas"] == 0
