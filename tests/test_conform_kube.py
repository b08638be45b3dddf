"""``kubeprop conform --sut kube+http://...`` (and a kubeconfig) against a served cluster.

A ``ServedCluster`` (the reference cluster behind the Kubernetes REST API, its
clock at 20 x real time) stands in for a real API server. ``kubeprop conform``
runs in a subprocess from a temporary folder with the ``ci`` profile, and its
JUnit XML (``--report``) says which tests passed and why any were skipped: the
API-server contract, the client machinery and the workload checks must pass,
not be skipped, and every skip must give its reason.

The checks that a live server gets can fail: broken API servers of the mutant
catalogue, served over HTTP, are caught by the contract machine through
``KubeApiServer`` (among them one whose failed updates still write, which only
the read-back of a live example's namespaces can see).
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.adapters.kube import KubeApiServer
from kubeprop.conformance.mutants.apiserver import MUTANTS
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.suites.test_apiserver_contract import make_machine
from kubeprop.reference.apiserver.http import Server
from kubeprop.serve import ServedCluster

# The tests that must pass (not be skipped) against any API server, by module.
MUST_PASS = {
    "test_apiserver_contract": {
        "test_the_api_server_keeps_its_contract",
        "test_the_answers_to_malformed_requests_are_status_objects",
        "test_unknown_fields_are_dropped_with_a_warning_unless_validation_is_strict",
    },
    "test_client": {"test_informers_queues_and_controllers_keep_the_client_contract"},
    "test_kube_workloads": {"test_a_deployment_runs_scales_heals_and_is_collected_through_the_api"},
}


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster.start(nodes=3, port=0, time_scale=20)
    yield cluster
    cluster.stop()


def conform(sut: str, selection: str, cwd: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``kubeprop conform`` on ``sut``; its result and {(module, test): (outcome, why)}."""
    report = cwd / "report"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubeprop",
            "conform",
            "--sut",
            sut,
            "--profile",
            "ci",
            "--report",
            str(report),
            "--",
            "-k",
            selection,
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )
    outcomes = {}
    junit = report / "junit.xml"
    assert junit.is_file(), result.stdout[-3000:] + result.stderr[-2000:]
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        found = [child for child in case if child.tag in ("skipped", "failure", "error")]
        outcome, why = ("passed", "") if not found else (found[0].tag, found[0].get("message"))
        outcomes[(module, case.get("name"))] = (outcome, why or "")
    return result, outcomes


def test_the_api_server_contract_client_and_workloads_pass_against_kube_http(served, tmp_path):
    result, outcomes = conform(
        f"kube+{served.url}", "apiserver or client or kube_workloads", tmp_path
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for module, tests in MUST_PASS.items():
        for test in tests:
            assert outcomes.get((module, test), ("absent",))[0] == "passed", (
                module,
                test,
                outcomes,
            )
    skipped = {key: why for key, (outcome, why) in outcomes.items() if outcome == "skipped"}
    assert all(why.strip() for why in skipped.values()), skipped
    # What an HTTP SUT lacks is named: compaction of its store.
    assert skipped.get(
        ("test_apiserver_contract", "test_a_watch_from_a_compacted_resource_version_expires"), ""
    ).endswith("an HTTP SUT offers no store to compact"), skipped
    assert "kubeprop invariants" in result.stdout


def test_a_kubeconfig_names_the_same_server(served, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "served", "cluster": {"server": served.url}}],
                "users": [{"name": "nobody", "user": {}}],
                "contexts": [
                    {"name": "served", "context": {"cluster": "served", "user": "nobody"}}
                ],
                "current-context": "served",
            }
        )
    )
    result, outcomes = conform(str(kubeconfig), "malformed_requests or unknown_fields", tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    wanted = {
        ("test_apiserver_contract", "test_the_answers_to_malformed_requests_are_status_objects"),
        (
            "test_apiserver_contract",
            "test_unknown_fields_are_dropped_with_a_warning_unless_validation_is_strict",
        ),
    }
    assert {key for key, (outcome, _) in outcomes.items() if outcome == "passed"} == wanted, (
        outcomes
    )


# A quick hunt over HTTP: generation only, as a live server's answers do not replay exactly.
LIVE_HUNT = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    report_multiple_bugs=False,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("name", ["failed-update-still-writes", "list-ignores-label-selector"])
def test_the_live_contract_machine_catches_a_mutant_api_server_served_over_http(name):
    factory, catchers = MUTANTS[name]
    served = Server.start(factory(), 0)
    try:
        machine = make_machine(lambda: KubeApiServer(served.url))
        with pytest.raises(InvariantViolation) as caught:
            run_state_machine_as_test(machine, settings=LIVE_HUNT)
    finally:
        served.stop()
    assert caught.value.invariant_id in catchers, str(caught.value)
