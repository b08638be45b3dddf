"""The API server contract suite catches every deliberately broken server.

Each mutant runs through the same state machine as the reference; the run
must fail with an InvariantViolation naming one of the invariants expected to
catch that bug, after Hypothesis has shrunk the history.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.apiserver import MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.suites.test_apiserver_contract import make_machine

HUNT = mutant_hunt(300, shrink=True, every_bug=True)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_suite_catches_the_broken_api_server(name: str) -> None:
    factory, catchers = MUTANTS[name]
    with pytest.raises(InvariantViolation) as caught:
        run_state_machine_as_test(make_machine(factory), settings=HUNT)
    assert caught.value.invariant_id in catchers, str(caught.value)


def test_the_reference_api_server_is_not_a_mutant() -> None:
    from kubeprop.reference.apiserver import ApiServer

    run_state_machine_as_test(make_machine(ApiServer), settings=settings(HUNT, max_examples=20))


def test_every_api_server_invariant_is_the_one_that_catches_some_mutant() -> None:
    from kubeprop.spec.invariants import catalogue

    alone = {next(iter(ids)) for _, ids in MUTANTS.values() if len(ids) == 1}
    missing = {inv.id for inv in catalogue("apiserver")} - alone
    assert not missing, f"no mutant is caught by exactly {sorted(missing)}"
