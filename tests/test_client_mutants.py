"""The client suite catches every deliberately broken informer, queue and controller.

Each mutant runs through the same state machine as the reference; the run
must fail with an InvariantViolation naming one of the invariants expected to
catch that bug.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance import report
from kubeprop.conformance.mutants.client import MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.suites.test_client import make_machine

# Finding is what is tested here; shrinking a mutant's history (most of the cost
# of a run) is left to the suite's own failures.
HUNT = mutant_hunt(200, shrink=False)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_suite_catches_the_broken_client(name: str) -> None:
    overrides, catchers = MUTANTS[name]
    with report.isolated(), pytest.raises(InvariantViolation) as caught:
        run_state_machine_as_test(make_machine(**overrides), settings=HUNT)
    assert caught.value.invariant_id in catchers, str(caught.value)


def test_the_reference_client_is_not_a_mutant() -> None:
    run_state_machine_as_test(make_machine(), settings=settings(HUNT, max_examples=20))


def test_every_client_invariant_catches_some_mutant() -> None:
    from kubeprop.spec.invariants import catalogue

    caught = set().union(*(ids for _, ids in MUTANTS.values()))
    missing = {inv.id for inv in catalogue("client")} - caught
    assert not missing, f"no mutant is expected to be caught by {sorted(missing)}"
