"""The adapter interface every kind of system under test implements.

Contract:
- ``capabilities`` names what the SUT can build and do (``CAPABILITIES``); a
  check that needs one it lacks calls ``require`` and is skipped with the
  reason (``Unsupported``), never passed silently.
- ``store_factory`` / ``apiserver_factory`` give a callable making a fresh,
  empty store / API server; ``components()`` gives the factories, by role of
  ``kubeprop.reference.cluster.ROLES``, that replace the reference components
  in a cluster (``Cluster.create(components=...)``; empty: the reference
  cluster as it is), and ``component_paths()`` the same as ``module:attribute``
  strings a saved history can name. ``component(role)`` is the factory a
  component suite runs for ``role``.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

# What an adapter may declare (interfaces of issue 5): build a store, an API server, a
# cluster to run the cluster suites on; let time pass on demand; compact; leases; crash a
# node; partition a node from the API server.
CAPABILITIES = (
    "store",
    "apiserver",
    "cluster",
    "advance-time",
    "compact",
    "leases",
    "crash-node",
    "partition",
    "real-time",  # the SUT runs on real time: waits are real, bounded by timeouts
)


class Unsupported(Exception):
    """The SUT lacks a capability a check needs; the message says which and why."""


@attrs.define
class Adapter:
    """A system under test: what it can build and what it can do."""

    name: str
    # Capability names (CAPABILITIES).
    capabilities: frozenset[str] = frozenset()

    @property
    def is_reference(self) -> bool:
        """Is this kubeprop's own model, with no third party's code taking part?"""
        return False

    def require(self, *needed: str) -> None:
        missing = sorted(set(needed) - self.capabilities)
        if missing:
            raise Unsupported(f"SUT {self.name!r} lacks {', '.join(missing)}")

    def store_factory(self) -> Callable[[], object]:
        """A callable that returns a fresh, empty store satisfying contracts.Store."""
        raise Unsupported(f"SUT {self.name!r} provides no store")

    def apiserver_factory(self) -> Callable[[], object]:
        """A callable that returns a fresh API server satisfying contracts.ApiServer."""
        raise Unsupported(f"SUT {self.name!r} provides no API server")

    def components(self) -> dict[str, Callable[..., object]]:
        """role -> the factory replacing the reference component of that role."""
        return {}

    def component_paths(self) -> dict[str, str]:
        """role -> ``module:attribute`` of that factory (what a saved history names)."""
        return {}

    def component(self, role: str) -> Callable[..., object]:
        """The factory of ``role`` a component suite runs (Unsupported if the SUT has none)."""
        found = self.components().get(role)
        if found is None:
            raise Unsupported(f"SUT {self.name!r} provides no {role} component")
        return found
