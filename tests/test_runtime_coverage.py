"""The runtime suite exercises every runtime invariant: none of them passes only vacuously."""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance import report
from kubeprop.conformance.suites.test_runtime import ReferenceRuntimeMachine
from kubeprop.spec import invariants


def test_every_runtime_invariant_is_checked_non_vacuously_by_the_reference_run():
    with report.isolated():
        report.TALLIES.clear()
        run_state_machine_as_test(
            ReferenceRuntimeMachine,
            settings=settings(settings.default, max_examples=60, derandomize=True, database=None),
        )
        tallies = report.snapshot()
    idle = [
        entry.id
        for entry in invariants.catalogue("runtime")
        if tallies.get(entry.id, {}).get("non_vacuous", 0) == 0
    ]
    assert not idle, f"runtime invariants the suite never really checked: {idle}"
