"""The reference model as a system under test (the default SUT)."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from kubeprop.conformance.adapters.base import Adapter


@attrs.define
class ReferenceAdapter(Adapter):
    name: str = "reference"
    capabilities: frozenset[str] = frozenset(
        {
            "store",
            "apiserver",
            "cluster",
            "advance-time",
            "compact",
            "leases",
            "crash-node",
            "partition",
        }
    )

    @property
    def is_reference(self) -> bool:
        return True

    def store_factory(self) -> Callable[[], object]:
        from kubeprop.reference.store import Store

        return Store

    def apiserver_factory(self) -> Callable[[], object]:
        from kubeprop.reference.apiserver import ApiServer

        return ApiServer

    def component(self, role: str) -> Callable[..., object]:
        """The reference component of ``role`` (the cluster's own factories)."""
        from kubeprop.reference.cluster import reference_components

        return reference_components()[role]
