"""The example API-server plug-in (examples/plugins/apiserver.py): its audit log, and the
API-server contract run through it -- which a front end that breaks the contract fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance import adapters, report
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.suites.test_apiserver_contract import make_machine

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    not (REPO / "examples" / "plugins").is_dir(),
    reason="examples/plugins is in the source checkout, not the package",
)
SUT = "python:examples.plugins.apiserver:AuditedApiServer"
HUNT = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    report_multiple_bugs=False,
)


@pytest.fixture
def front(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))
    from examples.plugins.apiserver import AuditedApiServer

    return AuditedApiServer


def pod(name=None, generate=None):
    meta = {"name": name} if name else {"generateName": generate}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }


def test_every_request_is_one_metadata_level_audit_event(front):
    server = front()
    assert server.request("create", "pods", namespace="default", body=pod("web")).ok
    assert server.request("get", "pods", namespace="default", name="web").ok
    assert server.request("get", "pods", namespace="default", name="gone").code == 404
    assert server.request("list", "pods", namespace="default").ok
    assert server.request("deletecollection", "pods", namespace="default").ok
    events = server.events
    assert [
        (e["verb"], e["objectRef"].get("name"), e["responseStatus"]["code"]) for e in events
    ] == [
        ("create", "web", 201),
        ("get", "web", 200),
        ("get", "gone", 404),
        ("list", None, 200),
        ("deletecollection", None, 200),
    ]
    assert {e["stage"] for e in events} == {"ResponseComplete"}
    assert {e["level"] for e in events} == {"Metadata"}
    assert len({e["auditID"] for e in events}) == len(events)
    # Metadata level: neither the request nor the response body is kept.
    assert not any("requestObject" in e or "responseObject" in e for e in events)
    assert all(e["objectRef"]["resource"] == "pods" for e in events)


def test_a_created_objects_generated_name_is_logged_from_the_answer(front):
    server = front()
    answer = server.request("create", "pods", namespace="default", body=pod(generate="web-"))
    assert answer.ok
    assert server.events[-1]["objectRef"]["name"] == answer.body["metadata"]["name"]
    assert server.events[-1]["objectRef"]["name"].startswith("web-")


def test_a_subresource_is_named_and_stamps_follow_the_servers_clock(front):
    server = front()
    server.request("create", "pods", namespace="default", body=pod("web"))
    server.backend.clock.advance(90.0)
    current = server.request("get", "pods", namespace="default", name="web").body
    server.request(
        "update", "pods", namespace="default", name="web", subresource="status", body=current
    )
    first, last = server.events[0], server.events[-1]
    assert last["objectRef"]["subresource"] == "status"
    assert "subresource" not in first["objectRef"]
    assert first["stageTimestamp"] < last["stageTimestamp"]
    assert last["stageTimestamp"].endswith("Z") and "." in last["stageTimestamp"]


def test_the_api_server_contract_holds_through_the_front_end(front):
    factory = adapters.resolve(SUT).apiserver_factory()
    assert isinstance(factory(), front)
    run_state_machine_as_test(make_machine(factory), settings=HUNT)


def test_a_front_end_that_answers_reads_from_its_own_cache_is_caught(front):
    class Caching(front):
        """Keeps the first answer of each GET: a watch-less cache that never hears of writes."""

        def __init__(self):
            super().__init__()
            self.cache = {}

        def request(self, verb, resource, **kwargs):
            if verb != "get":
                return super().request(verb, resource, **kwargs)
            key = (resource, kwargs.get("namespace"), kwargs.get("name"), kwargs.get("subresource"))
            if key not in self.cache:
                self.cache[key] = super().request(verb, resource, **kwargs)
            return self.cache[key]

    # Failed on purpose: kept out of the run's invariant report.
    with pytest.raises(InvariantViolation) as caught, report.isolated():
        run_state_machine_as_test(make_machine(Caching), settings=HUNT)
    assert caught.value.invariant_id == "APISERVER-READ-YOUR-WRITES"
