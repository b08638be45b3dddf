"""The official ``kubernetes`` Python client against ``kubeprop serve``: list, create, patch,
delete and watch, with the client's own models and error types, unmodified."""

from __future__ import annotations

import json
import threading

import pytest

kubernetes = pytest.importorskip(
    "kubernetes", reason="the official client is a test extra: pip install 'kubeprop[test]'"
)

from kubernetes import client, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

from kubeprop.serve import ServedCluster  # noqa: E402

TIME_SCALE = 0.0  # the tests let simulated time pass themselves (served.advance)


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster.start(nodes=2, port=0, time_scale=TIME_SCALE, seed=1)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def api_client(served):
    configuration = client.Configuration(host=served.url)
    with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture
def core(api_client) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


def a_pod(name: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": "client"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx")]),
    )


def test_the_client_lists_the_nodes_and_namespaces_of_the_served_cluster(core):
    # Read untyped: the simulated kubelet leaves nodeInfo.bootID and kubeProxyVersion out,
    # which client 37's V1NodeSystemInfo requires (a gap of the kubelet model, not of HTTP).
    answer = core.list_node(_preload_content=False)
    nodes = json.loads(answer.data)["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["node-1", "node-2"]
    assert all(n["status"]["conditions"] for n in nodes)
    namespaces = {n.metadata.name for n in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= namespaces


def test_a_pod_created_by_the_client_is_scheduled_and_runs(served, core):
    created = core.create_namespaced_pod("default", a_pod("from-client"))
    assert created.metadata.uid and created.status.phase == "Pending"
    served.advance(10)
    running = core.read_namespaced_pod("from-client", "default")
    assert running.status.phase == "Running" and running.spec.node_name.startswith("node-")
    listed = core.list_namespaced_pod("default", label_selector="app=client")
    assert "from-client" in [p.metadata.name for p in listed.items]


def test_the_client_patches_with_a_merge_patch_and_a_json_patch(core):
    core.create_namespaced_pod("default", a_pod("patched"))
    merged = core.patch_namespaced_pod(
        "patched", "default", {"metadata": {"labels": {"tier": "front"}}}
    )
    assert merged.metadata.labels == {"app": "client", "tier": "front"}
    operations = [{"op": "remove", "path": "/metadata/labels/tier"}]
    removed = core.patch_namespaced_pod("patched", "default", operations)
    assert removed.metadata.labels == {"app": "client"}


def test_the_client_scales_a_deployment_and_reads_its_scale(served, apps):
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="scaled"),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels={"app": "scaled"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "scaled"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx")]),
            ),
        ),
    )
    apps.create_namespaced_deployment("default", deployment)
    apps.patch_namespaced_deployment_scale("scaled", "default", {"spec": {"replicas": 2}})
    served.advance(20)
    assert apps.read_namespaced_deployment_scale("scaled", "default").spec.replicas == 2
    status = apps.read_namespaced_deployment_status("scaled", "default").status
    assert status.ready_replicas == 2 and status.available_replicas == 2


def test_errors_reach_the_client_as_api_exceptions_with_the_status(core):
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("missing", "default")
    assert missing.value.status == 404 and '"reason":"NotFound"' in missing.value.body
    core.create_namespaced_pod("default", a_pod("twice"))
    with pytest.raises(ApiException) as again:
        core.create_namespaced_pod("default", a_pod("twice"))
    assert again.value.status == 409 and '"reason":"AlreadyExists"' in again.value.body


def test_the_client_deletes_a_pod_gracefully_and_it_is_gone_after_the_grace_period(served, core):
    core.create_namespaced_pod("default", a_pod("deleted"))
    served.advance(10)
    marked = core.delete_namespaced_pod("deleted", "default", grace_period_seconds=5)
    assert marked.metadata.deletion_timestamp is not None
    served.advance(15)
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_pod("deleted", "default")
    assert gone.value.status == 404


def test_the_clients_watch_sees_a_pod_added_modified_and_deleted(served, core):
    start = core.list_namespaced_pod("default").metadata.resource_version
    seen: list[tuple[str, str]] = []
    finished = threading.Event()
    watcher = watch.Watch()

    def follow() -> None:
        for event in watcher.stream(
            core.list_namespaced_pod,
            "default",
            field_selector="metadata.name=watched",
            resource_version=start,
            timeout_seconds=15,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                watcher.stop()
        finished.set()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    core.create_namespaced_pod("default", a_pod("watched"))
    core.patch_namespaced_pod("watched", "default", {"metadata": {"labels": {"seen": "yes"}}})
    core.delete_namespaced_pod("watched", "default", grace_period_seconds=0)
    assert finished.wait(20), f"the watch did not end: {seen}"
    thread.join(timeout=5)
    assert seen == [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")]
