"""`kubeprop conform --sut etcd+http://127.0.0.1:PORT` passes against a real etcd 3.4.

The whole suite runs, as a user runs it, in a subprocess against an etcd this
test starts (127.0.0.1, a temporary data directory, stopped by PID). The store
suites MUST pass on etcd, not be skipped; every other suite needs something an
etcd lacks (an API server, a cluster) and MUST be reported as skipped with the
reason. Skipped when etcd is not installed (``apt-get install etcd-server``).
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from kubeprop.conformance.etcd_server import etcd_fixture

etcd = etcd_fixture(scope="module")

# The store suites that must run, and pass, against a real etcd.
STORE_SUITES = ("test_store_contract", "test_store_linearizable", "test_store_etcd")


def outcomes(junit_xml) -> dict[str, tuple[str, str]]:
    """test id -> (outcome, skip or failure message) from pytest's JUnit XML."""
    found = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("skipped", "failure", "error"):
                outcome, message = child.tag, child.get("message") or ""
        found[name] = (outcome, message)
    return found


@pytest.mark.e2e
def test_the_suite_passes_against_a_real_etcd(etcd, tmp_path):
    report = tmp_path / "report"
    command = [
        sys.executable,
        "-m",
        "kubeprop",
        "conform",
        "--sut",
        f"etcd+{etcd.url}",
        "--report",
        str(report),
        "--",
        "-p",
        "no:randomly",
    ]
    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    results = outcomes(report / "junit.xml")
    store = {
        name: result for name, result in results.items() if any(s in name for s in STORE_SUITES)
    }
    passed = [name for name, (outcome, _) in store.items() if outcome == "passed"]
    assert any("test_store_contract" in name and "behaves_as_its_model" in name for name in passed)
    assert any("test_store_linearizable" in name for name in passed)
    assert any("test_store_etcd" in name for name in passed)
    for name, (outcome, message) in results.items():
        assert outcome in ("passed", "skipped"), (name, outcome, message)
        if outcome == "skipped":
            assert message.strip(), f"{name} was skipped without a reason"
    # Lease expiry needs time to pass on demand, which a real etcd cannot do: said so.
    expiry = [r for n, r in results.items() if "test_leases_expire_when_time_advances" in n]
    assert expiry and expiry[0][0] == "skipped" and "advance-time" in expiry[0][1]
