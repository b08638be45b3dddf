"""The protocols a system under test satisfies, with their written contracts.

A third party's store or API server is checked by the conformance suite
through these protocols; the reference model satisfies each of them. The
contracts are stated in full in the spec chapters (store.md, apiserver.md) and
each rule there names the invariant that checks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from kubeprop.spec import etcd


@runtime_checkable
class Watcher(Protocol):
    """A watch stream opened by ``Store.watch``."""

    def poll(self) -> list[etcd.WatchResponse]:
        """The responses delivered since the last poll, oldest first (may be empty)."""

    def request_progress(self) -> None:
        """Ask for a progress notification at the current revision (a bookmark)."""

    def cancel(self) -> None:
        """Stop the stream; later polls return nothing."""


@runtime_checkable
class Store(Protocol):
    """An etcd v3-like key-value store (spec/store.md).

    - Every write request (put, delete_range that deletes something, txn whose
      executed ops write) increments the global revision by exactly one; reads
      never do (STORE-REVISION-MONOTONIC, STORE-TXN-ONE-REVISION).
    - Reads at revision r see the state after the r-th write, until r is
      compacted (STORE-RANGE-AT-REVISION, STORE-COMPACTED-READ).
    - A watch from revision r delivers every change with mod_revision >= r, in
      order, once each, whole revisions at a time (STORE-WATCH-*).
    - Keys attached to a lease vanish when the lease expires or is revoked.
    Errors are raised as ``kubeprop.spec.etcd.StoreError`` subclasses.
    """

    def put(
        self, key: bytes, value: bytes, *, lease: int = 0, prev_kv: bool = False
    ) -> etcd.PutResponse: ...

    def range(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
        keys_only: bool = False,
    ) -> etcd.RangeResponse: ...

    def delete_range(
        self, key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False
    ) -> etcd.DeleteRangeResponse: ...

    def txn(
        self,
        compare: Sequence[etcd.Compare],
        success: Sequence[etcd.RequestOp],
        failure: Sequence[etcd.RequestOp] = (),
    ) -> etcd.TxnResponse: ...

    def compact(self, revision: int) -> None: ...

    def watch(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        start_revision: int = 0,
        prev_kv: bool = False,
        progress_notify: bool = False,
    ) -> Watcher: ...

    def lease_grant(self, ttl: int, id: int = 0) -> etcd.LeaseGrantResponse: ...

    def lease_revoke(self, id: int) -> None: ...

    def lease_keepalive(self, id: int) -> int:
        """Renew the lease; returns its TTL."""

    def lease_time_to_live(
        self, id: int, *, keys: bool = False
    ) -> etcd.LeaseTimeToLiveResponse: ...

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of (simulated) time pass: leases may expire."""

    @property
    def revision(self) -> int:
        """The current revision: 1 for a store never written (as etcd starts), +1 per write."""

    @property
    def compact_revision(self) -> int:
        """The highest revision compacted so far (0 if never)."""


@attrs.frozen
class Response:
    """One answer of an API server: an HTTP status code and a manifest body.

    ``body`` is the object, a list, or a Kubernetes ``Status`` (for every error);
    ``watch`` is set for a successful watch; ``warnings`` are the texts Kubernetes
    sends as ``Warning`` headers (e.g. unknown fields dropped under
    fieldValidation=Warn)."""

    code: int
    body: dict[str, Any] | None = None
    watch: Any = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def reason(self) -> str | None:
        """The Status reason of an error answer (NotFound, Conflict, ...)."""
        if self.body and self.body.get("kind") == "Status":
            return self.body.get("reason")
        return None


@runtime_checkable
class ApiServer(Protocol):
    """A Kubernetes API server (spec/apiserver.md), with manifests (dicts) in and out.

    ``request`` never raises: every answer is a ``Response`` whose body is the
    object, a list, or a Kubernetes ``Status`` for errors.
    """

    def request(
        self,
        verb: str,
        resource: str,
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Response: ...


@runtime_checkable
class WatchStream(Protocol):
    """A watch opened by an API server's ``watch`` verb."""

    def poll(self) -> list[dict[str, Any]]:
        """Watch events delivered since the last poll: ``{"type": ADDED | MODIFIED |
        DELETED | BOOKMARK | ERROR, "object": manifest}``, oldest first."""

    def stop(self) -> None:
        """Close the stream; later polls return nothing."""
