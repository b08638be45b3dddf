"""The spec's prose, the invariant registry and the conformance suite stay in step.

- every id written in backticks in a chapter (``spec/*.md``) is registered;
- every registered invariant is named in its component's chapter;
- every registered invariant is evaluated by the suite: its id is the literal
  first argument of a ``check(...)`` call somewhere under ``conformance/``
  (read statically, so a check that is never reached still counts: the
  report's tally shows that one at run time);
- every literal id given to ``check`` is registered;
- ids are unique, kinds are known, sources are https URLs.

Chapters and suite modules are read from the INSTALLED package (the spec
chapters ship as package data of ``kubeprop.spec``), so this test checks what
a user gets, not only what the checkout holds.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import kubeprop.conformance
from kubeprop.spec import invariants

# An invariant id as the chapters write it: `STORE-WATCH-ORDERED`.
BACKTICKED_ID = re.compile(r"`([A-Z]+(?:-[A-Z0-9]+)+)`")
# The catalogue's size once the objects, store and apiserver chapters have landed.
MINIMUM_INVARIANTS = 40


@cache
def chapters() -> dict[str, str]:
    """The text of every spec/*.md shipped with the installed package, by file name."""
    root = resources.files("kubeprop.spec")
    return {
        item.name: item.read_text(encoding="utf-8")
        for item in root.iterdir()
        if item.name.endswith(".md") and item.is_file()
    }


@cache
def checked_ids() -> dict[str, list[str]]:
    """Literal ids passed to ``check(...)`` in conformance/**/*.py, with where they are."""
    found: dict[str, list[str]] = {}
    root = Path(kubeprop.conformance.__file__).parent
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            first = node.args[0]
            if name == "check" and isinstance(first, ast.Constant) and isinstance(first.value, str):
                where = f"{path.relative_to(root.parent)}:{node.lineno}"
                found.setdefault(first.value, []).append(where)
    return found


def catalogue() -> list[invariants.Invariant]:
    return invariants.catalogue()


def test_every_component_chapter_ships_with_the_installed_package():
    missing = [f"{c}.md" for c in invariants.COMPONENT_MODULES if f"{c}.md" not in chapters()]
    assert not missing, f"chapters missing from the kubeprop.spec package data: {missing}"


def test_the_reading_guide_links_every_chapter():
    guide = chapters().get("README.md")
    assert guide is not None, "spec/README.md is not installed with kubeprop.spec"
    unlinked = [name for name in chapters() if name != "README.md" and f"({name})" not in guide]
    assert not unlinked, f"spec/README.md does not link {unlinked}"


def test_every_id_written_in_a_chapter_is_registered():
    registered = {entry.id for entry in catalogue()}
    unknown = sorted(
        f"{name}: {id}"
        for name, text in chapters().items()
        for id in set(BACKTICKED_ID.findall(text))
        if id not in registered
    )
    assert not unknown, f"ids cited in the spec but not registered: {unknown}"


def test_every_invariant_is_named_in_its_components_chapter():
    unnamed = []
    for entry in catalogue():
        text = chapters().get(f"{entry.component}.md", "")
        if not re.search(rf"(?<![A-Z0-9-]){re.escape(entry.id)}(?![A-Z0-9-])", text):
            unnamed.append(f"{entry.id} (spec/{entry.component}.md)")
    assert not unnamed, f"invariants their chapter never names: {unnamed}"


def test_every_invariant_is_evaluated_by_a_check_in_the_suite():
    unchecked = sorted(entry.id for entry in catalogue() if entry.id not in checked_ids())
    assert not unchecked, (
        f'invariants no check("ID", ...) under conformance/ evaluates: {unchecked}'
    )


def test_every_id_given_to_check_is_registered():
    registered = {entry.id for entry in catalogue()}
    unknown = {id: where for id, where in checked_ids().items() if id not in registered}
    assert not unknown, f"check() calls naming unregistered invariants: {unknown}"


def test_ids_are_unique():
    counts = Counter(entry.id for entry in catalogue())
    assert [id for id, n in counts.items() if n > 1] == []


def test_every_invariant_has_a_known_kind_a_statement_and_an_https_source():
    bad = []
    for entry in catalogue():
        source = urlsplit(entry.source)
        if source.scheme != "https" or not source.netloc:
            bad.append(f"{entry.id}: source {entry.source!r} is not an https URL")
        if entry.kind not in invariants.KINDS:
            bad.append(f"{entry.id}: kind {entry.kind!r}")
        if not entry.statement.strip():
            bad.append(f"{entry.id}: empty statement")
    assert not bad, bad


def test_every_invariant_belongs_to_a_component_with_a_module():
    strays = [e.id for e in catalogue() if e.component not in invariants.COMPONENT_MODULES]
    assert not strays, f"invariants of components missing from COMPONENT_MODULES: {strays}"


@pytest.mark.parametrize("component", sorted(invariants.COMPONENT_MODULES))
def test_every_component_has_invariants(component):
    assert invariants.catalogue(component), f"component {component} registers no invariant"


def test_the_catalogue_covers_the_three_components_with_at_least_40_invariants():
    assert len(catalogue()) >= MINIMUM_INVARIANTS
