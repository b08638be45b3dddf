"""The adapter interface every kind of system under test implements."""

from __future__ import annotations

from collections.abc import Callable

import attrs


class Unsupported(Exception):
    """The SUT lacks a capability a check needs; the message says which and why."""


@attrs.define
class Adapter:
    """A system under test: what it can build and what it can do."""

    name: str
    # Capability names (e.g. "store", "apiserver", "advance-time", "compact").
    capabilities: frozenset[str] = frozenset()

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
