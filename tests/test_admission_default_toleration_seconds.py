"""DefaultTolerationSeconds: the 300 s not-ready and unreachable tolerations every new pod gets.

Table tests for upstream's cases (plugin/pkg/admission/defaulttolerationseconds),
a property over generated tolerations, and the invariant failing on a server
without the plugin.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeprop.conformance.mutants.nodelifecycle import NoDefaultTolerationSeconds
from kubeprop.reference.apiserver import ApiServer
from kubeprop.spec.invariants import get
from kubeprop.spec.invariants.apiserver import Exchange

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


def default(key: str) -> dict:
    return {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}


def pod(tolerations=None, name="web") -> dict:
    spec = {"containers": [{"name": "app", "image": "nginx"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def created(server: ApiServer, body: dict) -> list[dict]:
    answer = server.create("pods", body, namespace="default")
    assert answer.ok, answer.body
    return answer.body["spec"].get("tolerations") or []


CASES = [
    (
        "a pod without tolerations gets both defaults",
        None,
        [default(NOT_READY), default(UNREACHABLE)],
    ),
    (
        "a pod tolerating not-ready for 60 s gets only the unreachable default",
        [{"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}],
        [
            {
                "key": NOT_READY,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 60,
            },
            default(UNREACHABLE),
        ],
    ),
    (
        "a toleration of every key and effect counts for both",
        [{"operator": "Exists"}],
        [{"operator": "Exists"}],
    ),
    (
        "a NoSchedule toleration of unreachable does not count",
        [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"}],
        [
            {"key": UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"},
            default(NOT_READY),
            default(UNREACHABLE),
        ],
    ),
    (
        "a toleration of unreachable with any effect counts, whatever its operator and value",
        [{"key": UNREACHABLE, "operator": "Equal", "value": "x"}],
        [{"key": UNREACHABLE, "operator": "Equal", "value": "x"}, default(NOT_READY)],
    ),
    (
        "an empty key with effect NoExecute counts for both",
        [{"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}],
        [{"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}],
    ),
]


@pytest.mark.parametrize("case, sent, stored", CASES, ids=[c[0] for c in CASES])
def test_default_toleration_seconds_follows_upstream(case, sent, stored):
    assert created(ApiServer(), pod(sent)) == stored


def test_an_update_of_a_pod_adds_no_toleration():
    server = ApiServer()
    server.create("pods", pod([{"operator": "Exists"}]), namespace="default")
    current = server.get("pods", "web", "default").body
    current["metadata"]["labels"] = {"a": "b"}
    answer = server.update("pods", current, "default")
    assert answer.ok
    assert answer.body["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_other_resources_are_not_touched():
    server = ApiServer()
    body = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "rs"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": pod()["spec"]},
        },
    }
    answer = server.create("replicasets", body, namespace="default")
    assert answer.ok
    assert "tolerations" not in answer.body["spec"]["template"]["spec"]


TOLERATIONS = st.lists(
    st.fixed_dictionaries(
        {
            "key": st.sampled_from(["", NOT_READY, UNREACHABLE, "example.com/x"]),
            "operator": st.sampled_from(["Exists", "Equal"]),
            "effect": st.sampled_from(["", "NoExecute", "NoSchedule"]),
        }
    ).map(lambda t: {k: v for k, v in t.items() if v != ""}),
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(tolerations=TOLERATIONS)
def test_the_defaults_are_added_exactly_when_missing(tolerations):
    server = ApiServer()
    body = pod([t for t in tolerations if not (t["operator"] == "Exists" and "value" in t)])
    answer = server.create("pods", body, namespace="default")
    exchange = Exchange("create", "pods", "default", None, answer.code, answer.body, body)
    assert get("NODELIFECYCLE-DEFAULT-TOLERATIONS")(exchange).ok


def test_the_invariant_fails_on_a_server_without_the_plugin():
    server = NoDefaultTolerationSeconds()
    body = pod()
    answer = server.create("pods", body, namespace="default")
    exchange = Exchange("create", "pods", "default", None, answer.code, answer.body, body)
    outcome = get("NODELIFECYCLE-DEFAULT-TOLERATIONS")(exchange)
    assert not outcome.ok and "300" in outcome.message
    assert created(ApiServer(), pod(name="again")) == [default(NOT_READY), default(UNREACHABLE)]
