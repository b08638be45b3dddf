"""The reference cluster over HTTP (reference/apiserver/http.py, kubeprop serve): what a
Kubernetes client meets on the wire — discovery, version, CRUD, Tables, watch streams —
and how bad input is refused: a Status with the right code, and nothing stored changes.

The served cluster's clock is frozen (time_scale 0): a test lets simulated time pass
with ``served.advance``, so nothing changes between two requests unless a test says so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import attrs
import pytest
import requests
import yaml

from kubeprop.conformance.etcd_server import etcd_fixture
from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.apiserver import table as printing
from kubeprop.reference.apiserver.http import MAX_REQUEST_BODY_BYTES, Server
from kubeprop.reference.apiserver.resources import Resource
from kubeprop.serve import ServedCluster

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def pod(name: str, image: str = "nginx", **labels: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster.start(nodes=2, port=0, time_scale=0.0, seed=0)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def url(served) -> str:
    return served.url


def status_of(answer: requests.Response, code: int) -> dict:
    """The answer's Status, checked to be a Failure with ``code`` in the body too."""
    assert answer.status_code == code, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert body["kind"] == "Status" and body["status"] == "Failure", body
    assert body["code"] == code
    return body


def snapshot(served) -> tuple[int, str]:
    """The store's revision and every pod as listed: what a refused request must not change."""
    revision = served.cluster.server.store.revision
    pods = requests.get(served.url + "/api/v1/pods").json()["items"]
    return revision, json.dumps(pods, sort_keys=True)


# ---------------------------------------------------------------------- discovery


def test_the_version_is_a_v1_35_server(url):
    info = requests.get(url + "/version").json()
    assert (info["major"], info["minor"], info["gitVersion"]) == ("1", "35", "v1.35.0")


def test_health_checks_answer_ok(url):
    for path in ("/healthz", "/readyz", "/livez"):
        answer = requests.get(url + path)
        assert (answer.status_code, answer.text) == (200, "ok")


def test_the_core_group_lists_its_resources_with_short_names_and_verbs(url):
    assert requests.get(url + "/api").json()["versions"] == ["v1"]
    listed = requests.get(url + "/api/v1").json()
    assert listed["kind"] == "APIResourceList" and listed["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in listed["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"] and by_name["pods"]["categories"] == ["all"]
    assert by_name["pods"]["namespaced"] and not by_name["nodes"]["namespaced"]
    assert set(by_name["pods"]["verbs"]) >= {"create", "get", "list", "watch", "patch", "delete"}
    assert by_name["nodes"]["shortNames"] == ["no"] and by_name["events"]["shortNames"] == ["ev"]
    assert "pods/status" in by_name and by_name["pods/binding"]["verbs"] == ["create"]


def test_the_named_groups_are_discoverable(url):
    groups = {g["name"]: g for g in requests.get(url + "/apis").json()["groups"]}
    assert groups["apps"]["preferredVersion"]["groupVersion"] == "apps/v1"
    assert requests.get(url + "/apis/apps").json()["kind"] == "APIGroup"
    apps = {r["name"]: r for r in requests.get(url + "/apis/apps/v1").json()["resources"]}
    assert apps["deployments"]["shortNames"] == ["deploy"]
    assert apps["replicasets"]["shortNames"] == ["rs"]
    assert apps["deployments/scale"]["kind"] == "Scale"


def test_aggregated_discovery_is_declined_so_clients_fall_back_to_the_legacy_documents(url):
    accept = (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
        "application/json"
    )
    assert requests.get(url + "/apis", headers={"Accept": accept}).json()["kind"] == "APIGroupList"
    only = {"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"}
    status_of(requests.get(url + "/apis", headers=only), 406)


def test_openapi_v3_says_the_server_validates_fields_for_each_kind(url):
    index = requests.get(url + "/openapi/v3").json()["paths"]
    document = requests.get(url + index["apis/apps/v1"]["serverRelativeURL"]).json()
    patches = [op["patch"] for op in document["paths"].values()]
    kinds = {p["x-kubernetes-group-version-kind"]["kind"] for p in patches}
    assert {"Deployment", "ReplicaSet"} <= kinds
    assert all("fieldValidation" in [q["name"] for q in p["parameters"]] for p in patches)


# ---------------------------------------------------------------------- CRUD


def test_a_pod_goes_through_create_get_list_update_patch_and_delete(url):
    created = requests.post(url + PODS, json=pod("crud"))
    assert created.status_code == 201, created.text
    got = requests.get(f"{url}{PODS}/crud").json()
    assert got["metadata"]["uid"] == created.json()["metadata"]["uid"]
    listed = requests.get(url + PODS, params={"labelSelector": "app=web"}).json()
    assert "crud" in [item["metadata"]["name"] for item in listed["items"]]
    got["metadata"]["labels"]["tier"] = "front"
    updated = requests.put(f"{url}{PODS}/crud", json=got)
    assert updated.status_code == 200 and updated.json()["metadata"]["labels"]["tier"] == "front"
    stale = requests.put(f"{url}{PODS}/crud", json=got)
    assert status_of(stale, 409)["reason"] == "Conflict"
    merged = requests.patch(
        f"{url}{PODS}/crud",
        data=json.dumps({"metadata": {"labels": {"tier": None}}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert "tier" not in merged.json()["metadata"]["labels"]
    patched = requests.patch(
        f"{url}{PODS}/crud",
        data=json.dumps([{"op": "replace", "path": "/metadata/labels/app", "value": "db"}]),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert patched.json()["metadata"]["labels"]["app"] == "db"
    deleted = requests.delete(f"{url}{PODS}/crud", json={"gracePeriodSeconds": 0})
    assert deleted.status_code == 200
    assert status_of(requests.get(f"{url}{PODS}/crud"), 404)["reason"] == "NotFound"


def test_a_yaml_body_is_read_as_kubectl_may_send_it(url):
    text = yaml.safe_dump(pod("from-yaml"))
    created = requests.post(url + PODS, data=text, headers={"Content-Type": "application/yaml"})
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["containers"][0]["image"] == "nginx"
    as_yaml = requests.get(f"{url}{PODS}/from-yaml", headers={"Accept": "application/yaml"})
    assert as_yaml.headers["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text)["metadata"]["name"] == "from-yaml"


def test_a_deployment_scales_through_its_scale_subresource(url):
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "scaled"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "scaled"}},
            "template": {
                "metadata": {"labels": {"app": "scaled"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    assert requests.post(url + DEPLOYMENTS, json=deployment).status_code == 201
    scale = requests.patch(
        f"{url}{DEPLOYMENTS}/scaled/scale",
        data=json.dumps({"spec": {"replicas": 3}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert scale.status_code == 200 and scale.json()["kind"] == "Scale"
    assert requests.get(f"{url}{DEPLOYMENTS}/scaled").json()["spec"]["replicas"] == 3


def test_a_cluster_wide_list_spans_namespaces_and_a_group_path_must_match_the_resource(url):
    assert requests.post(url + PODS, json=pod("everywhere")).status_code == 201
    names = [i["metadata"]["name"] for i in requests.get(url + "/api/v1/pods").json()["items"]]
    assert "everywhere" in names
    status_of(requests.get(url + "/apis/apps/v1/namespaces/default/pods"), 404)
    status_of(requests.get(url + "/api/v1/namespaces/default/deployments"), 404)


def test_events_are_listed_by_the_involved_object_as_kubectl_describe_asks(served, url):
    assert requests.post(url + PODS, json=pod("described")).status_code == 201
    served.advance(5)
    uid = requests.get(f"{url}{PODS}/described").json()["metadata"]["uid"]
    selector = (
        f"involvedObject.name=described,involvedObject.namespace=default,involvedObject.uid={uid}"
    )
    events = requests.get(
        url + "/api/v1/namespaces/default/events", params={"fieldSelector": selector}
    )
    reasons = [e["reason"] for e in events.json()["items"]]
    assert "Scheduled" in reasons
    assert {e["involvedObject"]["name"] for e in events.json()["items"]} == {"described"}


def test_a_warning_of_the_server_reaches_the_client_as_a_warning_header(url):
    body = pod("warned")
    body["spec"]["containers"][0]["imagee"] = "typo"
    answer = requests.post(url + PODS, json=body)
    assert answer.status_code == 201
    assert 'unknown field \\"spec.containers[0].imagee\\"' in answer.headers["Warning"]


# ---------------------------------------------------------------------- tables


def table(url: str, path: str, **params) -> dict:
    answer = requests.get(
        url + path, headers={"Accept": f"{TABLE},application/json"}, params=params
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["kind"], body["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    return body


def names_of(body: dict, priority: int | None = None) -> list[str]:
    return [
        c["name"]
        for c in body["columnDefinitions"]
        if priority is None or c["priority"] == priority
    ]


def test_pods_print_the_columns_kubectl_shows_with_the_wide_ones_at_priority_one(served, url):
    assert requests.post(url + PODS, json=pod("tabled")).status_code == 201
    served.advance(10)
    body = table(url, PODS)
    assert names_of(body, 0) == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert names_of(body, 1) == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    row = next(r for r in body["rows"] if r["cells"][0] == "tabled")
    name, ready, status, restarts, age, ip, node, nominated, gates = row["cells"]
    assert (ready, status, restarts, nominated, gates) == (
        "1/1",
        "Running",
        "0",
        "<none>",
        "<none>",
    )
    assert age.endswith("s") and ip.startswith("10.244.") and node.startswith("node-")
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "tabled"
    assert body["metadata"]["resourceVersion"]


def test_one_object_is_a_table_of_one_row_and_include_object_chooses_what_rows_carry(url):
    assert requests.post(url + PODS, json=pod("single")).status_code == 201
    whole = table(url, f"{PODS}/single", includeObject="Object")
    assert len(whole["rows"]) == 1 and whole["rows"][0]["object"]["kind"] == "Pod"
    bare = table(url, f"{PODS}/single", includeObject="None")
    assert "object" not in bare["rows"][0]
    status_of(
        requests.get(
            f"{url}{PODS}/single", headers={"Accept": TABLE}, params={"includeObject": "All"}
        ),
        400,
    )


@pytest.mark.parametrize(
    ("path", "columns"),
    [
        (DEPLOYMENTS, ["Name", "Ready", "Up-to-date", "Available", "Age"]),
        (
            "/apis/apps/v1/namespaces/default/replicasets",
            ["Name", "Desired", "Current", "Ready", "Age"],
        ),
        ("/api/v1/nodes", ["Name", "Status", "Roles", "Age", "Version"]),
        ("/api/v1/namespaces", ["Name", "Status", "Age"]),
        (
            "/api/v1/namespaces/default/services",
            ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"],
        ),
        ("/api/v1/namespaces/default/events", ["Last Seen", "Type", "Reason", "Object", "Message"]),
        (
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
            ["Name", "AddressType", "Ports", "Endpoints", "Age"],
        ),
    ],
)
def test_each_kind_prints_the_columns_kube_apiserver_prints_for_it(url, path, columns):
    assert names_of(table(url, path), 0) == columns


def test_a_resource_without_a_printer_gets_the_default_name_and_created_at_columns():
    widget = Resource("widgets", "example.com", "v1", "Widget", namespaced=True)
    item = {"metadata": {"name": "w", "creationTimestamp": "2026-01-01T00:00:05Z"}}
    converted = printing.convert(
        widget, {"items": [item], "metadata": {"resourceVersion": "7"}}, 60
    )
    assert names_of(converted) == ["Name", "Created At"]
    assert converted["rows"][0]["cells"] == ["w", "2026-01-01T00:00:05Z"]
    assert converted["metadata"] == {"resourceVersion": "7"}


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (119, "119s"),
        (150, "2m30s"),
        (3 * 3600 + 600, "3h10m"),
        (50 * 3600, "2d2h"),
        (9 * 86400, "9d"),
        (800 * 86400, "2y70d"),
        (3000 * 86400, "8y"),
    ],
)
def test_ages_are_printed_as_upstreams_human_duration(seconds, shown):
    assert printing.human_duration(seconds) == shown


def test_nodes_print_ready_and_cordoned_as_kubectl_shows_them(url):
    rows = {r["cells"][0]: r["cells"] for r in table(url, "/api/v1/nodes")["rows"]}
    assert rows["node-1"][1] == "Ready"
    cordon = requests.patch(
        url + "/api/v1/nodes/node-2",
        data=json.dumps({"spec": {"unschedulable": True}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert cordon.status_code == 200
    try:
        rows = {r["cells"][0]: r["cells"] for r in table(url, "/api/v1/nodes")["rows"]}
        assert rows["node-2"][1] == "Ready,SchedulingDisabled"
    finally:
        requests.patch(
            url + "/api/v1/nodes/node-2",
            data=json.dumps({"spec": {"unschedulable": None}}),
            headers={"Content-Type": "application/merge-patch+json"},
        )


def test_partial_object_metadata_lists_only_metadata(url):
    accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    body = requests.get(url + "/api/v1/namespaces", headers={"Accept": accept}).json()
    assert body["kind"] == "PartialObjectMetadataList"
    assert {item["kind"] for item in body["items"]} == {"PartialObjectMetadata"}
    assert all(set(item) == {"kind", "apiVersion", "metadata"} for item in body["items"])


# ---------------------------------------------------------------------- watch


def read_events(answer: requests.Response, count: int, seconds: float = 10.0) -> list[dict]:
    """The first ``count`` events of a streamed watch, read in a thread with a deadline."""
    events: list[dict] = []
    done = threading.Event()

    def read() -> None:
        for line in answer.iter_lines():
            if line:
                events.append(json.loads(line))
            if len(events) >= count:
                break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(seconds), f"only {len(events)} events within {seconds}s: {events}"
    return events


def test_a_watch_streams_newline_delimited_events_in_chunks(url):
    start = requests.get(url + PODS, params={"limit": 1}).json()["metadata"]["resourceVersion"]
    params = {"watch": "true", "resourceVersion": start, "timeoutSeconds": "20"}
    with requests.get(url + PODS, params=params, stream=True, timeout=20) as answer:
        assert answer.status_code == 200
        assert answer.headers.get("Transfer-Encoding") == "chunked"
        assert requests.post(url + PODS, json=pod("watched")).status_code == 201
        assert requests.delete(f"{url}{PODS}/watched").status_code == 200
        events = read_events(answer, 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "watched"),
        ("DELETED", "watched"),
    ]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > int(start)


def test_a_watch_of_tables_sends_one_row_per_event(url):
    start = requests.get(url + PODS, params={"limit": 1}).json()["metadata"]["resourceVersion"]
    params = {"watch": "1", "resourceVersion": start, "timeoutSeconds": "20"}
    with requests.get(
        url + PODS, params=params, stream=True, timeout=20, headers={"Accept": TABLE}
    ) as answer:
        assert requests.post(url + PODS, json=pod("watched-table")).status_code == 201
        (event,) = read_events(answer, 1)
    assert event["type"] == "ADDED" and event["object"]["kind"] == "Table"
    assert [row["cells"][0] for row in event["object"]["rows"]] == ["watched-table"]
    assert names_of(event["object"], 0) == ["Name", "Ready", "Status", "Restarts", "Age"]


def test_a_watch_ends_after_its_timeout_seconds(url):
    began = time.monotonic()
    params = {"watch": "true", "timeoutSeconds": "1", "fieldSelector": "metadata.name=none"}
    answer = requests.get(url + PODS, params=params, timeout=10)
    assert answer.status_code == 200 and answer.text == ""
    assert 0.9 <= time.monotonic() - began < 5


@attrs.define
class RecordingBackend:
    """An API server that remembers the watch streams it opened."""

    server: ApiServer = attrs.Factory(ApiServer)
    streams: list = attrs.Factory(list)

    def request(self, *args, **kwargs):
        answer = self.server.request(*args, **kwargs)
        if answer.watch is not None:
            self.streams.append(answer.watch)
        return answer


def test_a_watch_whose_client_goes_away_is_stopped_on_the_server():
    backend = RecordingBackend()
    server = Server.start(backend)
    try:
        with requests.get(server.url + PODS, params={"watch": "true"}, stream=True, timeout=10):
            pass  # the client closes the connection at once
        deadline = time.monotonic() + 5
        while not backend.streams[0].stopped and time.monotonic() < deadline:
            time.sleep(0.05)
        assert backend.streams[0].stopped, "the backend's watch outlived its client"
    finally:
        server.stop()


def test_stopping_the_server_ends_an_open_watch():
    server = Server.start(ApiServer())
    try:
        answer = requests.get(server.url + PODS, params={"watch": "true"}, stream=True, timeout=10)
        assert answer.status_code == 200
        ended = threading.Event()
        threading.Thread(
            target=lambda: (list(answer.iter_lines()), ended.set()), daemon=True
        ).start()
    finally:
        server.stop()
    assert ended.wait(5), "the watch was still open after the server stopped"


# ---------------------------------------------------------------------- bad input


BAD_BODIES = [
    pytest.param(
        b'{"apiVersion": "v1", "kind": "Pod",',
        "application/json",
        400,
        "not valid JSON",
        id="malformed-json",
    ),
    pytest.param(
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: [}\n",
        "application/yaml",
        400,
        "not valid YAML",
        id="malformed-yaml",
    ),
    pytest.param(
        b"kind: Pod\n---\nkind: Pod\n",
        "application/yaml",
        400,
        "one YAML document",
        id="two-yaml-documents",
    ),
    pytest.param(b"{1: 2}", "application/yaml", 400, "not a string", id="yaml-non-string-key"),
    pytest.param(b"\xff\xfe", "application/json", 400, "not UTF-8", id="not-utf8"),
    pytest.param(b'{"a": NaN}', "application/json", 400, "NaN", id="json-nan"),
    pytest.param(b"<pod/>", "application/xml", 415, "unknown format", id="xml"),
    pytest.param(
        b"\x0a\x03k8s", "application/vnd.kubernetes.protobuf", 415, "unknown format", id="protobuf"
    ),
]


@pytest.mark.parametrize(("data", "content_type", "code", "words"), BAD_BODIES)
def test_a_body_that_cannot_be_read_is_refused_and_changes_nothing(
    served, url, data, content_type, code, words
):
    before = snapshot(served)
    answer = requests.post(url + PODS, data=data, headers={"Content-Type": content_type})
    assert words in status_of(answer, code)["message"]
    assert snapshot(served) == before


def test_unknown_fields_under_strict_validation_are_refused_naming_the_field(served, url):
    body = pod("strict")
    body["spec"]["containers"][0]["imagee"] = "typo"
    before = snapshot(served)
    answer = requests.post(url + PODS, json=body, params={"fieldValidation": "Strict"})
    assert 'unknown field "spec.containers[0].imagee"' in status_of(answer, 400)["message"]
    assert snapshot(served) == before


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"containers": "nope"}, "spec.containers"),
        ({"containers": [{"name": "c", "image": 7}]}, "spec.containers[0].image"),
        (
            {"containers": [{"name": "c", "image": "i"}], "terminationGracePeriodSeconds": "x"},
            "spec.terminationGracePeriodSeconds",
        ),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_naming_the_field(served, url, spec, field):
    body = {**pod("typed"), "spec": spec}
    before = snapshot(served)
    status = status_of(requests.post(url + PODS, json=body), 400)  # a decoding error, as upstream
    assert field in status["message"]
    assert snapshot(served) == before


def test_an_oversized_body_is_refused_with_413_before_it_is_read(served, url):
    body = pod("huge")
    body["metadata"]["annotations"] = {"big": "x" * MAX_REQUEST_BODY_BYTES}
    before = snapshot(served)
    status = status_of(requests.post(url + PODS, json=body), 413)
    assert (
        status["reason"] == "RequestEntityTooLarge"
        and str(MAX_REQUEST_BODY_BYTES) in status["message"]
    )
    chunks = (b"x" * 65536 for _ in range(MAX_REQUEST_BODY_BYTES // 65536 + 2))
    chunked = requests.post(url + PODS, data=chunks, headers={"Content-Type": "application/json"})
    assert status_of(chunked, 413)["reason"] == "RequestEntityTooLarge"
    assert snapshot(served) == before


def test_a_body_just_under_the_limit_is_read(url):
    body = pod("large")
    room = MAX_REQUEST_BODY_BYTES - len(json.dumps(body)) - 64
    body["metadata"]["annotations"] = {"big": "x" * room}
    answer = requests.post(
        url + PODS, data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    # Within the HTTP limit, so the API server judges it: annotations are limited to 256 KiB.
    assert status_of(answer, 422)["reason"] == "Invalid"


@pytest.mark.parametrize(
    ("method", "path", "headers", "code"),
    [
        ("GET", "/api/v1/widgets", {}, 404),
        ("GET", "/nothing/here", {}, 404),
        ("GET", "/api/v1/namespaces/default/pods/x/y/z", {}, 404),
        ("PUT", PODS, {"Content-Type": "application/json"}, 405),
        ("POST", f"{PODS}/named", {"Content-Type": "application/json"}, 405),
        ("POST", "/api/v1", {"Content-Type": "application/json"}, 405),
        ("DELETE", f"{PODS}/x/status", {}, 405),
        ("GET", PODS, {"Accept": "application/vnd.kubernetes.protobuf"}, 406),
        ("PATCH", f"{PODS}/x", {"Content-Type": "application/json"}, 415),
        ("GET", PODS + "?limit=ten", {}, 400),
        ("GET", PODS + "?watch=true&timeoutSeconds=soon", {}, 400),
        ("POST", PODS + "?dryRun=All", {"Content-Type": "application/json"}, 400),
    ],
)
def test_a_request_the_server_cannot_serve_gets_a_status_with_the_right_code(
    served, url, method, path, headers, code
):
    before = snapshot(served)
    answer = requests.request(method, url + path, headers=headers, data=json.dumps(pod("x")))
    status_of(answer, code)
    assert snapshot(served) == before


# ---------------------------------------------------------------------- real etcd

etcd = etcd_fixture(scope="module")


def test_a_cluster_served_over_a_real_etcd_keeps_its_objects_there(etcd):
    with ServedCluster.start(nodes=1, port=0, etcd=etcd.url, time_scale=0.0) as over_etcd:
        created = requests.post(over_etcd.url + PODS, json=pod("in-etcd"), timeout=10)
        assert created.status_code == 201, created.text
        over_etcd.advance(10)
        got = requests.get(f"{over_etcd.url}{PODS}/in-etcd", timeout=10).json()
        assert got["status"]["phase"] == "Running"
        # The object lives in etcd: its resourceVersion is the etcd store's revision of it.
        store = over_etcd.cluster.server.store
        assert type(store).__name__ == "EtcdStore"
        stored = store.range(b"/registry/pods/default/in-etcd").kvs
        assert [str(kv.mod_revision) for kv in stored] == [got["metadata"]["resourceVersion"]]


# ---------------------------------------------------------------------- the command


def test_kubeprop_serve_prints_its_url_serves_and_stops_on_sigterm(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubeprop",
            "serve",
            "--port",
            "0",
            "--nodes",
            "1",
            "--time-scale",
            "10",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        first = process.stdout.readline()
        assert "Serving a 1-node reference cluster" in first, first + process.stderr.read()
        url = first.rsplit(" at ", 1)[1].strip()
        assert f"kubectl --server {url}" in process.stdout.readline()
        nodes = requests.get(url + "/api/v1/nodes", timeout=10).json()["items"]
        assert [n["metadata"]["name"] for n in nodes] == ["node-1"]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Stopped." in out and "Traceback" not in err


def test_kubeprop_serve_refuses_a_bad_time_scale_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "kubeprop", "serve", "--time-scale", "-1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "invalid time scale '-1'" in done.stderr and "Traceback" not in done.stderr
