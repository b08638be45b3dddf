"""The invariant catalogue: every rule of the spec, defined once as a pure predicate.

Contract:
- An invariant has a unique id (``COMPONENT-WORDS``, upper case), the component
  whose chapter states it, a kind (safety: must hold after every step; liveness:
  must hold once faults are healed and the cluster has settled; contract: must
  hold of every answer of a protocol), a one-sentence statement and the public
  source it is taken from.
- Its predicate is pure: it reads the values it is given (a history, an observed
  state, a request and its answer) and returns an ``Outcome``; it never mutates
  them and never reads anything else.
- ``Outcome.vacuous`` says the predicate held only because there was nothing to
  check (no watch event, no compaction, ...); reports count such evaluations
  apart so that a suite that never exercises a rule is visible.

Each module of this package (one per component, named after it) registers its
invariants on import; ``catalogue()`` imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from typing import Literal

import attrs

Kind = Literal["safety", "liveness", "contract"]
KINDS: tuple[str, ...] = ("safety", "liveness", "contract")

# The modules of this package that define invariants, by component: every
# module here, found when the package is imported (adding a component's module
# is all it takes to catalogue it).
COMPONENT_MODULES: dict[str, str] = {
    info.name: f"{__name__}.{info.name}"
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
}

_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")


@attrs.frozen
class Outcome:
    """What one evaluation of a predicate found."""

    ok: bool
    vacuous: bool = False
    message: str = ""

    def __bool__(self) -> bool:
        return self.ok


HOLDS = Outcome(ok=True)
VACUOUS = Outcome(ok=True, vacuous=True)


def violated(message: str) -> Outcome:
    """The predicate found a counterexample, described by ``message``."""
    return Outcome(ok=False, message=message)


def holds_if(violations: list[str], *, checked: int = 1) -> Outcome:
    """HOLDS when ``violations`` is empty (VACUOUS when nothing was checked)."""
    if violations:
        shown = "; ".join(violations[:5])
        more = f" (and {len(violations) - 5} more)" if len(violations) > 5 else ""
        return violated(shown + more)
    return HOLDS if checked else VACUOUS


@attrs.frozen
class Invariant:
    """One rule of the spec, with the predicate that decides it."""

    id: str = attrs.field(validator=attrs.validators.matches_re(_ID))
    component: str
    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    statement: str
    source: str = attrs.field(validator=attrs.validators.matches_re(r"https://\S+"))
    predicate: Callable[..., Outcome] = attrs.field(repr=False, eq=False)

    def __call__(self, *args, **kwargs) -> Outcome:
        outcome = self.predicate(*args, **kwargs)
        if not isinstance(outcome, Outcome):
            raise TypeError(f"invariant {self.id} returned {outcome!r}, not an Outcome")
        return outcome

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "component": self.component,
            "kind": self.kind,
            "statement": self.statement,
            "source": self.source,
        }


REGISTRY: dict[str, Invariant] = {}


def invariant(
    id: str, *, component: str, kind: Kind, statement: str, source: str
) -> Callable[[Callable[..., Outcome]], Invariant]:
    """Register the decorated predicate as invariant ``id``."""

    def register(predicate: Callable[..., Outcome]) -> Invariant:
        if id in REGISTRY:
            raise ValueError(f"invariant {id} is registered twice")
        entry = Invariant(
            id=id,
            component=component,
            kind=kind,
            statement=statement,
            source=source,
            predicate=predicate,
        )
        REGISTRY[id] = entry
        return entry

    return register


def catalogue(component: str | None = None) -> list[Invariant]:
    """Every registered invariant (of one component), ordered by component then id."""
    for module in COMPONENT_MODULES.values():
        importlib.import_module(module)
    entries = [inv for inv in REGISTRY.values() if component in (None, inv.component)]
    return sorted(entries, key=lambda inv: (inv.component, inv.id))


def get(id: str) -> Invariant:
    """The invariant with this id; KeyError names the id."""
    if id not in REGISTRY:
        catalogue()
    try:
        return REGISTRY[id]
    except KeyError:
        raise KeyError(f"no invariant {id!r} in the catalogue") from None
