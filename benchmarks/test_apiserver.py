"""Benchmarks of the reference API server: creates, gets, lists, updates per second.

Each request goes the whole way a client's would: decode and strict field
check, defaulting, validation, admission, a store transaction. Run with
``tox -e bench -- -k apiserver``. Nothing here asserts a time.
"""

from __future__ import annotations

import copy

import pytest

from kubeprop.reference.apiserver import ApiServer

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"namespace": "default", "labels": {"app": "web"}},
    "spec": {
        "containers": [
            {
                "name": "main",
                "image": "nginx:1.27",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            }
        ]
    },
}
PODS = 200


def pod(number: int) -> dict:
    body = copy.deepcopy(POD)
    body["metadata"]["name"] = f"web-{number:05d}"
    return body


@pytest.fixture
def full_server() -> ApiServer:
    server = ApiServer()
    for number in range(PODS):
        assert server.create("pods", pod(number), namespace="default").code == 201
    return server


def test_pod_creates(benchmark):
    def creates():
        server = ApiServer()
        for number in range(PODS):
            server.create("pods", pod(number), namespace="default")
        return server

    server = benchmark(creates)
    assert len(server.list("pods", namespace="default").body["items"]) == PODS


def test_pod_gets(benchmark, full_server):
    answer = benchmark(full_server.get, "pods", "web-00100", "default")
    assert answer.code == 200


def test_a_pod_list_with_a_label_selector(benchmark, full_server):
    answer = benchmark(full_server.list, "pods", "default", labelSelector="app=web")
    assert len(answer.body["items"]) == PODS


def test_pod_status_updates(benchmark, full_server):
    current = full_server.get("pods", "web-00001", "default").body
    phases = iter(("Running", "Pending") * 100_000)

    def update():
        current["status"] = {"phase": next(phases)}
        current["metadata"].pop("resourceVersion", None)
        return full_server.update("pods", current, "default", subresource="status")

    assert benchmark(update).code == 200
