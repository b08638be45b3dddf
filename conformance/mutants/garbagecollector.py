"""Deliberately broken garbage collectors: each one realistic bug the suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to a factory with the reference
``GarbageCollector``'s constructor; each is a small subclass overriding one
method. ``BREAKS`` names the invariant each one breaks.
"""

from __future__ import annotations

from collections.abc import Callable

from kubeprop.reference.controllers.garbagecollector import FOREGROUND, ORPHAN, GarbageCollector


class NeverCollects(GarbageCollector):
    """Dependents of deleted owners are kept forever (cascading deletion is off)."""

    def collectible(self, states):
        return False


class AnyOwnerGone(GarbageCollector):
    """A dependent goes as soon as one of its owners is gone, though another lives."""

    def collectible(self, states):
        return "absent" in states or super().collectible(states)


class OrphanForgetsReferences(GarbageCollector):
    """Orphaning drops the finalizer without removing the dependents' references to the owner."""

    def _attempt_to_orphan(self, uid):
        ref = self._objects.get(uid)
        if ref is not None and not self.stopped:
            self._remove_finalizer(ref, ORPHAN)


class ForegroundDoesNotWait(GarbageCollector):
    """A foreground owner is released at once, before its blocking dependents are gone."""

    def _process_deleting_dependents(self, ref, owner):
        self._remove_finalizer(ref, FOREGROUND)


MUTANTS: dict[str, Callable[..., GarbageCollector]] = {
    "never-collects": NeverCollects,
    "any-owner-gone": AnyOwnerGone,
    "orphan-forgets-references": OrphanForgetsReferences,
    "foreground-does-not-wait": ForegroundDoesNotWait,
}

BREAKS: dict[str, str] = {
    "never-collects": "GC-DELETES-DEPENDENTS",
    "any-owner-gone": "GC-NEVER-LIVE-OWNER",
    "orphan-forgets-references": "GC-ORPHANS-KEPT",
    "foreground-does-not-wait": "GC-FOREGROUND-WAITS",
}
