"""Systems under test: one adapter module per kind, chosen by one string (``--sut``).

An adapter says what it can build (a store, an API server) and what it can do
(its capabilities). A check that needs something the SUT lacks is skipped with
the reason, never passed silently: use ``require``.
"""

from __future__ import annotations

from kubeprop.conformance.adapters.base import Adapter, Unsupported
from kubeprop.conformance.adapters.reference import ReferenceAdapter

__all__ = ["Adapter", "Unsupported", "resolve", "SUT_FORMS"]

SUT_FORMS = ("reference",)


def resolve(sut: str) -> Adapter:
    """The adapter for a ``--sut`` string; ValueError says which forms exist."""
    if sut == "reference":
        return ReferenceAdapter()
    raise ValueError(f"--sut {sut!r} is not supported: use one of {', '.join(SUT_FORMS)}")
