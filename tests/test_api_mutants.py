"""The object-model mutants: each broken implementation is caught by its invariant."""

from __future__ import annotations

import pytest

from kubeprop.conformance.mutants.objects import MUTANTS
from kubeprop.spec.invariants import catalogue


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_object_model_mutant_is_caught_by_its_invariant(name):
    invariant_id, probe = MUTANTS[name]
    outcomes = probe()
    assert any(not o.ok for o in outcomes), f"mutant {name} slipped past {invariant_id}"


def test_every_objects_invariant_has_a_mutant_that_breaks_it():
    ids = {inv.id for inv in catalogue("objects")}
    caught = {invariant_id for invariant_id, _probe in MUTANTS.values()}
    assert ids - caught == set()
