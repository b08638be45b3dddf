"""The Kubernetes API over HTTP as a SUT (conformance/adapters/kube.py): KubeApiServer keeps
the ApiServer protocol over the wire, its watches deliver what the server sends, it reads
kubeconfigs, and the API-server contract suite passes through it against the reference
API server served by reference/apiserver/http.py."""

from __future__ import annotations

import base64
import time
from typing import Any

import attrs
import pytest
import yaml
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance import adapters
from kubeprop.conformance.adapters.kube import KubeAdapter, KubeApiServer, kubeconfig_settings
from kubeprop.conformance.suites import test_apiserver_contract as contract
from kubeprop.conformance.suites import test_client as client_contract
from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.apiserver.http import Server
from kubeprop.spec import contracts


def lease(name: str, holder: str = "node-1", app: str = "web") -> dict:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"holderIdentity": holder},
    }


def pod(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }


@pytest.fixture
def served():
    server = Server.start(ApiServer())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(served) -> KubeApiServer:
    return KubeApiServer(served.url)


def test_it_satisfies_the_api_server_protocol(api):
    assert isinstance(api, contracts.ApiServer)


def test_objects_go_through_create_get_list_update_patch_and_delete_over_http(api):
    created = api.request("create", "leases", namespace="default", body=lease("a"))
    assert created.code == 201, created.body
    api.request("create", "leases", namespace="default", body=lease("b", app="db"))
    got = api.request("get", "leases", namespace="default", name="a")
    assert got.body["metadata"]["uid"] == created.body["metadata"]["uid"]
    listed = api.request("list", "leases", namespace="default", params={"labelSelector": "app=db"})
    assert [i["metadata"]["name"] for i in listed.body["items"]] == ["b"]
    paged = api.request(
        "list", "leases.coordination.k8s.io", namespace="default", params={"limit": 1}
    )
    assert len(paged.body["items"]) == 1 and paged.body["metadata"]["continue"]
    body = got.body
    body["spec"]["holderIdentity"] = "node-2"
    updated = api.request("update", "leases", namespace="default", name="a", body=body)
    assert updated.code == 200
    stale = api.request("update", "leases", namespace="default", name="a", body=body)
    assert stale.code == 409 and stale.body["reason"] == "Conflict"
    merged = api.request(
        "patch", "leases", namespace="default", name="a", body={"spec": {"holderIdentity": "n3"}}
    )
    assert merged.body["spec"]["holderIdentity"] == "n3"
    replaced = api.request(
        "patch",
        "leases",
        namespace="default",
        name="a",
        body=[{"op": "replace", "path": "/spec/holderIdentity", "value": "n4"}],
        params={"contentType": "application/json-patch+json"},
    )
    assert replaced.body["spec"]["holderIdentity"] == "n4"
    assert api.request("delete", "leases", namespace="default", name="a").code == 200
    gone = api.request("deletecollection", "leases", namespace="default")
    assert [i["metadata"]["name"] for i in gone.body["items"]] == ["b"]
    empty = api.request("list", "leases", namespace="default")
    assert empty.body["items"] == []


def test_subresources_and_cluster_scoped_resources_reach_their_paths(api):
    assert api.request("create", "pods", namespace="default", body=pod("p")).code == 201
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "p"},
        "target": {"name": "node-1"},
    }
    bound = api.request(
        "create", "pods", namespace="default", name="p", subresource="binding", body=binding
    )
    assert bound.code == 201, bound.body
    assert (
        api.request("get", "pods", namespace="default", name="p").body["spec"]["nodeName"]
        == "node-1"
    )
    current = api.request("get", "pods", namespace="default", name="p").body
    current["status"] = {"phase": "Running"}
    status = api.request(
        "update", "pods", namespace="default", name="p", subresource="status", body=current
    )
    assert status.code == 200 and status.body["status"]["phase"] == "Running"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    assert api.request("create", "namespaces", body=namespace).code == 201
    assert api.request("get", "namespaces", name="team-a").body["status"]["phase"] == "Active"


def test_errors_come_back_as_status_objects_and_nothing_raises(api):
    missing = api.request("get", "pods", namespace="default", name="missing")
    assert missing.code == 404 and missing.body["kind"] == "Status"
    unknown = api.request("list", "widgets", namespace="default")
    assert unknown.code == 404 and unknown.body["reason"] == "NotFound"
    bad = api.request("list", "pods", namespace="default", params={"labelSelector": "app in (("})
    assert bad.code == 400 and bad.body["kind"] == "Status"
    watch = api.request(
        "watch", "pods", namespace="default", params={"fieldSelector": "spec.bogus=1"}
    )
    assert watch.code == 400 and watch.watch is None


def test_an_unreachable_server_is_a_503_status_not_an_exception(served):
    url = served.url
    served.stop()
    answer = KubeApiServer(url, timeout=2).request("list", "pods", namespace="default")
    assert answer.code == 503 and answer.body["reason"] == "ServiceUnavailable"


def test_warnings_of_the_server_are_the_responses_warnings(api):
    body = lease("typo")
    body["spec"]["holderIdentityy"] = "x"
    answer = api.request("create", "leases", namespace="default", body=body)
    assert answer.code == 201
    assert any('unknown field "spec.holderIdentityy"' in w for w in answer.warnings)


def test_a_watch_delivers_every_change_in_order_and_stops(api):
    opened = api.request("watch", "leases", namespace="default", params={"resourceVersion": "1"})
    assert opened.code == 200 and opened.watch is not None
    stream = opened.watch
    api.request("create", "leases", namespace="default", body=lease("w"))
    api.request(
        "patch", "leases", namespace="default", name="w", body={"metadata": {"labels": {"x": "1"}}}
    )
    api.request("delete", "leases", namespace="default", name="w")
    events = stream.poll()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "w"),
        ("MODIFIED", "w"),
        ("DELETED", "w"),
    ]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and len(set(versions)) == 3
    began = time.monotonic()
    stream.stop()
    assert time.monotonic() - began < 3
    api.request("create", "leases", namespace="default", body=lease("after"))
    assert stream.poll() == []


def test_a_watch_the_server_ends_delivers_what_came_before_the_end(api):
    api.request("create", "leases", namespace="default", body=lease("early"))
    opened = api.request("watch", "leases", namespace="default", params={"timeoutSeconds": 1})
    time.sleep(1.5)
    events = opened.watch.poll()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "early")]
    assert opened.watch.poll() == []


# ---------------------------------------------------------------------- kubeconfig


def write_config(tmp_path, users: list[dict], clusters: list[dict], current: str = "main"):
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "contexts": [
            {"name": "main", "context": {"cluster": "c1", "user": "u1"}},
            {"name": "other", "context": {"cluster": "c2", "user": "u2"}},
        ],
        "clusters": clusters,
        "users": users,
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_kubeconfig_gives_the_server_credentials_and_tls_settings_of_its_context(tmp_path):
    (tmp_path / "token").write_text("from-file\n")
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    path = write_config(
        tmp_path,
        users=[
            {"name": "u1", "user": {"token": "secret"}},
            {"name": "u2", "user": {"tokenFile": "token"}},
        ],
        clusters=[
            {
                "name": "c1",
                "cluster": {"server": "https://10.0.0.1:6443", "insecure-skip-tls-verify": True},
            },
            {
                "name": "c2",
                "cluster": {"server": "https://10.0.0.2:6443", "certificate-authority-data": ca},
            },
        ],
    )
    main = kubeconfig_settings(path)
    assert (main["base_url"], main["token"], main["verify"]) == (
        "https://10.0.0.1:6443",
        "secret",
        False,
    )
    other = kubeconfig_settings(path, context="other")
    assert other["token"] == "from-file"
    with open(other["verify"], "rb") as written:
        assert written.read() == b"-----BEGIN CERTIFICATE-----\n"
    client = KubeApiServer.from_kubeconfig(path)
    assert client.session.headers["Authorization"] == "Bearer secret"
    with pytest.raises(ValueError, match="no context named 'missing'"):
        kubeconfig_settings(path, context="missing")


def test_a_kubeconfig_without_a_current_context_or_server_says_what_is_missing(tmp_path):
    path = write_config(tmp_path, users=[], clusters=[{"name": "c1", "cluster": {}}], current="")
    with pytest.raises(ValueError, match="no current-context"):
        kubeconfig_settings(path)
    with pytest.raises(ValueError, match="has no server"):
        kubeconfig_settings(path, context="main")


# ---------------------------------------------------------------------- the adapter


def test_a_kube_sut_resolves_to_the_kube_adapter_with_the_api_server_capability(served, tmp_path):
    adapter = adapters.resolve(f"kube+{served.url}")
    assert isinstance(adapter, KubeAdapter)
    assert "apiserver" in adapter.capabilities and "advance-time" not in adapter.capabilities
    client = adapter.apiserver_factory()()
    assert client.request("get", "namespaces", name="default").code == 200
    path = write_config(
        tmp_path,
        users=[{"name": "u1", "user": {}}],
        clusters=[{"name": "c1", "cluster": {"server": served.url}}],
    )
    from_file = adapters.resolve(str(path)).apiserver_factory()()
    assert from_file.request("list", "namespaces").code == 200


# ---------------------------------------------------------------------- the contract


@attrs.define(eq=False)
class ObservedKubeApiServer(KubeApiServer):
    """A KubeApiServer whose server runs in this process, so the contract machine can read
    (and compact) its store, which no HTTP client can: white-box access for this test only."""

    store: Any = None


@pytest.fixture
def served_factory():
    """Fresh reference API servers behind HTTP, one per call (the previous one stopped)."""
    running: list[Server] = []

    def factory() -> ObservedKubeApiServer:
        while running:
            running.pop().stop()
        backend = ApiServer()
        server = Server.start(backend)
        running.append(server)
        return ObservedKubeApiServer(server.url, store=backend.store)

    try:
        yield factory
    finally:
        while running:
            running.pop().stop()


def test_malformed_requests_over_http_get_status_objects_and_change_nothing(served_factory):
    contract.test_the_answers_to_malformed_requests_are_status_objects(served_factory)


def test_unknown_fields_over_http_are_dropped_with_a_warning_unless_strict(served_factory):
    contract.test_unknown_fields_are_dropped_with_a_warning_unless_validation_is_strict(
        served_factory
    )


def test_a_watch_over_http_from_a_compacted_revision_expires(served_factory):
    contract.test_a_watch_from_a_compacted_resource_version_expires(served_factory)


def test_the_api_server_contract_holds_over_http(served_factory):
    run_state_machine_as_test(
        contract.make_machine(served_factory),
        settings=settings(
            max_examples=6,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_informers_over_http_keep_the_client_contract(served_factory):
    run_state_machine_as_test(
        client_contract.make_machine(served_factory),
        settings=settings(
            max_examples=5,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
