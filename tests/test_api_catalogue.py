"""The objects chapter, the invariant catalogue and the suite stay in step."""

from __future__ import annotations

import re
from pathlib import Path

from kubeprop.spec.invariants import catalogue

ROOT = Path(__file__).resolve().parents[1]


def test_at_least_twelve_objects_invariants_are_registered_with_https_sources():
    entries = catalogue("objects")
    assert len(entries) >= 12
    assert all(e.source.startswith("https://kubernetes.io/") for e in entries)


def test_every_objects_invariant_is_checked_by_a_suite_module():
    suites = "\n".join(p.read_text() for p in (ROOT / "conformance" / "suites").glob("*.py"))
    checked = set(re.findall(r'check\(\s*"([A-Z0-9-]+)"', suites))
    missing = {e.id for e in catalogue("objects")} - checked
    assert not missing, f"never checked by a suite: {sorted(missing)}"


def test_the_objects_chapter_tags_every_objects_invariant_and_only_those():
    chapter = (ROOT / "spec" / "objects.md").read_text()
    tagged = set(re.findall(r"`(OBJECTS-[A-Z0-9-]+)`", chapter))
    ids = {e.id for e in catalogue("objects")}
    assert ids - tagged == set(), "untagged invariants"
    assert tagged - ids == set(), "tags without an invariant"
