"""Evaluating invariants and tallying the evaluations for the report.

``check(id, ...)`` is the only way the suite evaluates an invariant: it runs the
registered predicate, counts the evaluation (and whether it was vacuous), and
raises ``InvariantViolation`` naming the id when the predicate fails. The tally
is per process; the pytest plugin merges the tallies of xdist workers and
prints, per invariant, how often it was checked, how often non-vacuously, and
how often it failed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import attrs

from kubeprop.spec import invariants


class InvariantViolation(AssertionError):
    """An invariant of the spec does not hold; the message starts with its id."""

    def __init__(self, invariant_id: str, message: str):
        super().__init__(f"{invariant_id} violated: {message}")
        self.invariant_id = invariant_id
        self.detail = message


@attrs.define
class Tally:
    """How often one invariant was evaluated."""

    checked: int = 0  # evaluations
    non_vacuous: int = 0  # evaluations that had something to check
    failed: int = 0  # evaluations that found a violation

    def add(self, other: Tally) -> None:
        self.checked += other.checked
        self.non_vacuous += other.non_vacuous
        self.failed += other.failed


# Per-process tallies by invariant id; merged across workers by the plugin.
TALLIES: dict[str, Tally] = {}


def check(invariant_id: str, *args, **kwargs) -> invariants.Outcome:
    """Evaluate invariant ``invariant_id``; raise InvariantViolation if it fails."""
    entry = invariants.get(invariant_id)
    outcome = entry(*args, **kwargs)
    tally = TALLIES.setdefault(invariant_id, Tally())
    tally.checked += 1
    if not outcome.vacuous:
        tally.non_vacuous += 1
    if not outcome.ok:
        tally.failed += 1
        raise InvariantViolation(invariant_id, outcome.message)
    return outcome


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """Evaluations inside the block leave the tally as it was (for mutant runs,
    whose failures are expected and say nothing about the system under test)."""
    saved = {key: attrs.evolve(value) for key, value in TALLIES.items()}
    try:
        yield
    finally:
        TALLIES.clear()
        TALLIES.update(saved)


def snapshot() -> dict[str, dict[str, int]]:
    return {key: attrs.asdict(value) for key, value in TALLIES.items()}


def merge(into: dict[str, Tally], tallies: Mapping[str, Mapping[str, int]]) -> None:
    for key, counts in tallies.items():
        into.setdefault(key, Tally()).add(Tally(**counts))


def rows(tallies: Mapping[str, Tally]) -> list[dict[str, object]]:
    """One row per catalogued invariant, with its tally (zeros if never checked)."""
    result = []
    for entry in invariants.catalogue():
        tally = tallies.get(entry.id, Tally())
        result.append({**entry.as_dict(), **attrs.asdict(tally)})
    return result


def render(tallies: Mapping[str, Tally]) -> str:
    lines = [f"{'invariant':<40} {'checked':>8} {'non-vacuous':>12} {'failed':>7}"]
    for row in rows(tallies):
        lines.append(
            f"{row['id']:<40} {row['checked']:>8} {row['non_vacuous']:>12} {row['failed']:>7}"
        )
    return "\n".join(lines)


def write(directory: str | Path, tallies: Mapping[str, Tally]) -> Path:
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    target = path / "invariants.json"
    target.write_text(json.dumps(rows(tallies), indent=2) + "\n")
    return target
