"""Table tests of the reference API server: Kubernetes' exact answers, kind by kind."""

from __future__ import annotations

import copy

import pytest

from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.apiserver.patch import PatchError, json_patch, merge_patch

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
}
REPLICA_SET = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "metadata": {"name": "rs"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "x"}},
        "template": {
            "metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
    },
}


def event(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
        "reason": "Scheduled",
    }


@pytest.fixture
def server() -> ApiServer:
    return ApiServer()


def test_the_system_namespaces_exist_from_the_start(server):
    names = [n["metadata"]["name"] for n in server.list("namespaces").body["items"]]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    assert server.get("namespaces", "default").body["status"] == {"phase": "Active"}


def test_a_missing_object_is_not_found_in_kubernetes_words(server):
    answer = server.get("pods", "nope", "default")
    assert answer.code == 404
    assert answer.body["message"] == 'pods "nope" not found'
    assert answer.body["details"] == {"name": "nope", "kind": "pods"}
    group = server.get("deployments", "nope", "default")
    assert group.body["message"] == 'deployments.apps "nope" not found'


def test_a_taken_name_is_already_exists(server):
    assert server.create("pods", copy.deepcopy(POD), "default").code == 201
    answer = server.create("pods", copy.deepcopy(POD), "default")
    assert (answer.code, answer.reason) == (409, "AlreadyExists")
    assert answer.body["message"] == 'pods "web" already exists'


def test_a_stale_update_is_a_conflict_in_kubernetes_words(server):
    created = server.create("pods", copy.deepcopy(POD), "default").body
    created["metadata"]["labels"] = {"app": "other"}
    assert server.update("pods", copy.deepcopy(created), "default").code == 200
    answer = server.update("pods", created, "default")
    assert (answer.code, answer.reason) == (409, "Conflict")
    assert answer.body["message"] == (
        'Operation cannot be fulfilled on pods "web": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def test_an_invalid_object_lists_every_error_in_one_message(server):
    bad = copy.deepcopy(POD)
    bad["spec"] = {"containers": [{"name": "main"}], "restartPolicy": "Sometimes"}
    answer = server.create("pods", bad, "default")
    assert (answer.code, answer.reason) == (422, "Invalid")
    assert answer.body["message"] == (
        'Pod "web" is invalid: [spec.containers[0].image: Required value, '
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: '
        '"Always", "OnFailure", "Never"]'
    )
    assert [c["field"] for c in answer.body["details"]["causes"]] == [
        "spec.containers[0].image",
        "spec.restartPolicy",
    ]


def test_a_new_pod_is_pending_whatever_status_it_was_sent_with(server):
    body = copy.deepcopy(POD)
    body["status"] = {"phase": "Running", "podIP": "10.0.0.9"}
    created = server.create("pods", body, "default").body
    assert created["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert created["metadata"]["generation"] == 1
    assert created["spec"]["schedulerName"] == "default-scheduler"


def test_binding_sets_the_node_and_the_pod_scheduled_condition_once(server):
    server.create("pods", copy.deepcopy(POD), "default")
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "web"},
        "target": {"kind": "Node", "name": "node-1"},
    }
    answer = server.request(
        "create", "pods", namespace="default", name="web", subresource="binding", body=binding
    )
    assert answer.code == 201 and answer.body["status"] == "Success"
    pod = server.get("pods", "web", "default").body
    assert pod["spec"]["nodeName"] == "node-1"
    assert [c["type"] for c in pod["status"]["conditions"]] == ["PodScheduled"]
    again = server.request("create", "bindings", namespace="default", body=binding)
    assert again.code == 409
    assert 'pod web is already assigned to node "node-1"' in again.body["message"]


def test_deleting_a_bound_pod_waits_for_its_grace_period(server):
    body = copy.deepcopy(POD)
    body["spec"]["nodeName"] = "node-1"
    body["spec"]["terminationGracePeriodSeconds"] = 45
    server.create("pods", body, "default")
    marked = server.delete("pods", "web", "default")
    assert marked.code == 200
    meta = marked.body["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 45
    assert meta["deletionTimestamp"] == "2026-01-01T00:00:45Z"
    assert meta["generation"] == 2  # a graceful deletion bumps generation
    assert server.get("pods", "web", "default").code == 200
    assert server.delete("pods", "web", "default", gracePeriodSeconds=0).code == 200
    assert server.get("pods", "web", "default").code == 404


def test_a_pod_never_scheduled_is_deleted_at_once(server):
    server.create("pods", copy.deepcopy(POD), "default")
    assert server.delete("pods", "web", "default").code == 200
    assert server.get("pods", "web", "default").code == 404


def test_finalizers_hold_an_object_until_the_last_one_is_removed(server):
    body = copy.deepcopy(POD)
    body["metadata"]["finalizers"] = ["example.com/a", "example.com/b"]
    server.create("pods", body, "default")
    held = server.delete("pods", "web", "default").body
    assert (
        held["metadata"]["deletionTimestamp"]
        and held["metadata"]["deletionGracePeriodSeconds"] == 0
    )
    held["metadata"]["finalizers"] = ["example.com/a", "example.com/new"]
    refused = server.update("pods", copy.deepcopy(held), "default")
    assert refused.code == 422 and "no new finalizers can be added" in refused.body["message"]
    held["metadata"]["finalizers"] = ["example.com/a"]
    held = server.update("pods", held, "default").body
    assert server.get("pods", "web", "default").code == 200
    held["metadata"]["finalizers"] = []
    assert server.update("pods", held, "default").code == 200
    assert server.get("pods", "web", "default").code == 404


def test_a_terminating_namespace_refuses_new_objects(server):
    server.create(
        "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}}
    )
    deleting = server.delete("namespaces", "t")
    assert deleting.body["status"]["phase"] == "Terminating"
    answer = server.create("pods", copy.deepcopy(POD), "t")
    assert (answer.code, answer.reason) == (403, "Forbidden")
    assert answer.body["message"] == (
        'pods "web" is forbidden: unable to create new content in namespace t '
        "because it is being terminated"
    )
    assert server.create("pods", copy.deepcopy(POD), "missing").body["message"] == (
        'namespaces "missing" not found'
    )


def test_the_default_namespace_cannot_be_deleted(server):
    answer = server.delete("namespaces", "default")
    assert (answer.code, answer.body["message"]) == (
        403,
        'namespaces "default" is forbidden: this namespace may not be deleted',
    )


def test_the_scale_subresource_reads_and_writes_replicas(server):
    server.create("replicasets", copy.deepcopy(REPLICA_SET), "default")
    scale = server.request(
        "get", "replicasets", namespace="default", name="rs", subresource="scale"
    )
    assert scale.body["apiVersion"] == "autoscaling/v1"
    assert scale.body["spec"] == {"replicas": 2}
    assert scale.body["status"] == {"replicas": 0, "selector": "app=x"}
    scale.body["spec"]["replicas"] = 5
    server.request(
        "update",
        "replicasets",
        namespace="default",
        name="rs",
        subresource="scale",
        body=scale.body,
    )
    replica_set = server.get("replicasets", "rs", "default").body
    assert (replica_set["spec"]["replicas"], replica_set["metadata"]["generation"]) == (5, 2)


def test_a_list_pages_through_one_snapshot_with_limit_and_continue(server):
    for number in range(5):
        server.create("events", event(f"e{number}"), "default")
    first = server.list("events", "default", limit=2).body
    server.create("events", event("late"), "default")
    second = server.list(
        "events", "default", limit=2, **{"continue": first["metadata"]["continue"]}
    )
    third = server.list("events", "default", **{"continue": second.body["metadata"]["continue"]})
    names = [
        i["metadata"]["name"] for page in (first, second.body, third.body) for i in page["items"]
    ]
    assert names == ["e0", "e1", "e2", "e3", "e4"]  # "late" came after the snapshot
    assert "continue" not in third.body["metadata"]


def test_list_items_carry_no_kind_but_the_list_does(server):
    server.create("events", event("e0"), "default")
    listed = server.list("events", "default").body
    assert (listed["kind"], listed["apiVersion"]) == ("EventList", "v1")
    assert "kind" not in listed["items"][0]


def test_an_unsupported_field_selector_is_a_bad_request(server):
    answer = server.list("pods", "default", fieldSelector="spec.containers=x")
    assert (answer.code, answer.body["message"]) == (
        400,
        "field label not supported: spec.containers",
    )
    assert server.list("pods", "default", fieldSelector="spec.nodeName=n1").code == 200


def test_a_watch_with_a_selector_sees_objects_enter_and_leave_it(server):
    created = server.create("pods", copy.deepcopy(POD), "default").body
    watch = server.watch(
        "pods",
        "default",
        resourceVersion=created["metadata"]["resourceVersion"],
        labelSelector="app=web",
    ).watch
    created["metadata"]["labels"] = {"app": "db"}
    server.update("pods", copy.deepcopy(created), "default")
    created["metadata"]["labels"] = {"app": "web"}
    created["metadata"].pop("resourceVersion")
    server.update("pods", created, "default")
    assert [e["type"] for e in watch.poll()] == ["DELETED", "ADDED"]


def test_a_bookmark_carries_only_a_resource_version(server):
    stream = server.watch("pods", "default", resourceVersion="1", allowWatchBookmarks="true").watch
    stream.request_bookmark()
    (bookmark,) = stream.poll()
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"] == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": str(server.store.revision)},
    }


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": 1, "b": {"c": 2}}, {"b": {"c": None, "d": 3}}, {"a": 1, "b": {"d": 3}}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        ({"a": 1}, {"a": {"b": 1}}, {"a": {"b": 1}}),
    ],
    ids=["null removes a key", "lists are replaced whole", "a scalar becomes an object"],
)
def test_a_merge_patch_follows_rfc_7386(target, patch, result):
    assert merge_patch(target, patch) == result


def test_a_json_patch_is_all_or_nothing():
    document = {"a": [1, 2], "b": 1}
    patched = json_patch(
        document, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "remove", "path": "/b"}]
    )
    assert patched == {"a": [1, 2, 3]}
    with pytest.raises(PatchError):
        json_patch(
            document, [{"op": "remove", "path": "/b"}, {"op": "test", "path": "/a/0", "value": 9}]
        )
    assert document == {"a": [1, 2], "b": 1}


def _resources(requests=None, limits=None) -> dict:
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v}


@pytest.mark.parametrize(
    ("containers", "qos"),
    [
        ([_resources()], "BestEffort"),
        ([_resources(limits={"cpu": "1", "memory": "1Gi"})], "Guaranteed"),
        (
            [_resources({"cpu": "500m", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"})],
            "Burstable",
        ),
        ([_resources({"cpu": "1"})], "Burstable"),
        ([_resources(limits={"cpu": "1", "memory": "1Gi"}), _resources()], "Burstable"),
        ([_resources({"ephemeral-storage": "1Gi"})], "BestEffort"),
        (
            [_resources({"cpu": "1000m", "memory": "1024Mi"}, {"cpu": "1", "memory": "1Gi"})],
            "Guaranteed",
        ),
    ],
    ids=[
        "no requests or limits is best effort",
        "limits alone default the requests, so equal limits are guaranteed",
        "requests below limits are burstable",
        "a cpu request alone is burstable",
        "one container without limits makes the pod burstable",
        "resources other than cpu and memory do not count",
        "equal amounts written differently are still guaranteed",
    ],
)
def test_a_new_pod_gets_the_qos_class_kubernetes_gives_it(server, containers, qos):
    body = copy.deepcopy(POD)
    body["spec"]["containers"] = [
        {"name": f"c{n}", "image": "nginx:1.27", "resources": resources}
        for n, resources in enumerate(containers)
    ]
    created = server.create("pods", body, "default")
    assert created.code == 201, created.body
    assert created.body["status"]["qosClass"] == qos
