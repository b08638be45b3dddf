"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import pytest

from kubeprop.conformance import report


@pytest.fixture(autouse=True)
def _mutant_runs_stay_out_of_the_report(request: pytest.FixtureRequest):
    """A mutant test fails invariants on purpose; keep those out of the invariant report."""
    if "mutant" in request.node.nodeid:
        with report.isolated():
            yield
    else:
        yield
