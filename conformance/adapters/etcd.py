"""A real etcd (v3.4 and later) as a system under test, through its v3 JSON gateway.

Contract: ``EtcdStore(url, prefix=None, timeout=5.0)`` satisfies
``kubeprop.spec.contracts.Store`` by sending every request to etcd's gRPC
gateway (``POST /v3/kv/range``, ``/v3/kv/put``, ``/v3/kv/deleterange``,
``/v3/kv/txn``, ``/v3/kv/compaction``, ``/v3/watch``, ``/v3/lease/*``; keys and
values base64, 64-bit integers as strings), with ``requests``. It is thread-safe:
several threads may call one instance at once (one HTTP session per thread).

- Isolation: every key is stored under ``prefix`` (a fresh unique one by
  default), so a fresh EtcdStore looks empty. It registers itself with one put
  outside every store's prefix; the revision of that put is its base ``B``, and
  it reports etcd revision ``e`` as ``e - B + 1``, so a fresh store is at
  revision 1 as the contract says. Every revision is translated both ways
  (request revisions, compare operands on CREATE and MOD, watch start
  revisions; response headers, create and mod revisions, compact revisions);
  0 ("current", "absent") stays 0. The revision is etcd's global one: writers
  outside this store move it too, so a store is isolated from earlier stores,
  not from concurrent writers to the same etcd.
- Compaction is global in etcd; the store's ``compact_revision`` is the highest
  revision it compacted itself (etcd's API does not report it).
- Lease ids are etcd's own (ids are global: a lease granted through one store
  is known to all). ``close()`` revokes the leases the store granted and
  cancels its watches; ``EtcdAdapter.store_factory()`` closes the previous store
  when it makes the next one, so an explicit lease id can be granted again.
- Keepalive of an unknown lease: etcd answers TTL 0, which the adapter reports
  as ``LeaseNotFoundError``, as etcd's Go client does
  (https://github.com/etcd-io/etcd/blob/release-3.4/clientv3/lease.go,
  ``KeepAliveOnce``). A lease's keys come back from etcd in no particular order;
  the adapter sorts them.
- Errors: etcd's messages map onto ``kubeprop.spec.etcd`` errors (compacted,
  future revision, lease not found; invalid requests such as "key is not
  provided", "duplicate key given in txn request", "too many operations in txn
  request", "lease already exists"); an empty key is sent as it is, so etcd
  itself rejects it. A transport failure (etcd down, timeout) raises
  ``EtcdUnavailableError``: the request's outcome is unknown.
- Watches: one streaming ``POST /v3/watch`` per watch, read by a thread. etcd
  delivers asynchronously; ``poll()`` waits (at most ``timeout`` seconds) until
  the stream has vouched, by an event or one of etcd's progress notifications,
  for the highest revision this store has observed, so the events of every
  write acknowledged before the poll are there, as with the reference. The
  stream always asks etcd for progress notifications (the fixture's etcd sends
  them every 20 ms to an idle watch); the caller gets only those it asked for:
  after ``request_progress()``, the first notification at or above the revision
  current at the request; with ``progress_notify``, etcd's periodic ones, a run
  of them with no event between folded into the last. etcd's "created" answer is
  not delivered.
- ``catch_up=False`` makes ``watch()`` and ``poll()`` return at once with what
  etcd has sent so far (for a reader woken by ``Watcher.notify``, as the API
  server's watch is), without the synchronous delivery the contract suite needs.
- Time is etcd's real time: ``advance`` lets nothing pass (leases expire on
  their own clock), so the adapter lacks the "advance-time" capability.

Gateway: https://etcd.io/docs/v3.4/dev-guide/api_grpc_gateway/; messages:
https://github.com/etcd-io/etcd/blob/release-3.4/etcdserver/etcdserverpb/rpc.proto.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import requests

from kubeprop.conformance.adapters.base import Adapter
from kubeprop.spec import etcd

REGISTRY = b"kubeprop-stores/"  # the registration keys of EtcdStores live here
CAPABILITIES = frozenset({"store", "compact", "leases"})

# etcd's messages (https://github.com/etcd-io/etcd/blob/release-3.4/etcdserver/api/v3rpc/rpctypes/error.go)
# -> the error class; the first fragment found in an error's message decides.
ERRORS: tuple[tuple[str, type[etcd.StoreError]], ...] = (
    ("required revision has been compacted", etcd.CompactedError),
    ("required revision is a future revision", etcd.FutureRevisionError),
    ("requested lease not found", etcd.LeaseNotFoundError),
    ("key is not provided", etcd.InvalidRequestError),
    ("duplicate key given in txn request", etcd.InvalidRequestError),
    ("too many operations in txn request", etcd.InvalidRequestError),
    ("lease already exists", etcd.InvalidRequestError),
    ("too large lease TTL", etcd.InvalidRequestError),
    ("lease TTL too large", etcd.InvalidRequestError),
    ("invalid", etcd.InvalidRequestError),
)
# gRPC codes of errors a client caused (InvalidArgument, FailedPrecondition, OutOfRange).
CLIENT_ERROR_CODES = {3, 9, 11}

TARGET_FIELDS = {
    etcd.CompareTarget.VERSION: "version",
    etcd.CompareTarget.CREATE: "create_revision",
    etcd.CompareTarget.MOD: "mod_revision",
    etcd.CompareTarget.VALUE: "value",
    etcd.CompareTarget.LEASE: "lease",
}


class EtcdUnavailableError(etcd.StoreError):
    """etcd did not answer (down, or too slow): the request may or may not have happened."""

    message = "etcd unavailable"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def integer(value: Any) -> int:
    """A proto3-JSON integer (64-bit ones come as strings; absent is 0)."""
    return int(value) if value not in (None, "") else 0


def store_error(answer: dict[str, Any], compact_revision: int = 0) -> etcd.StoreError:
    """The ``StoreError`` for one of the gateway's error bodies (``{"error", "code"}``)."""
    message = answer.get("error") or answer.get("message") or "etcdserver: unknown error"
    for fragment, error in ERRORS:
        if fragment in message:
            if error is etcd.CompactedError:
                return etcd.CompactedError(compact_revision, message)
            return error(message)
    if integer(answer.get("code")) in CLIENT_ERROR_CODES:
        return etcd.InvalidRequestError(message)
    return etcd.StoreError(message)


@attrs.frozen
class Translation:
    """How one store's relative keys and revisions map onto etcd's (see the module contract)."""

    prefix: bytes  # every key of the store lives under it
    base: int  # the etcd revision that is the store's revision 1

    def key(self, key: bytes) -> bytes:
        """An empty key stays empty, for etcd itself to reject."""
        return self.prefix + key if key else key

    def range_end(self, range_end: bytes | None) -> bytes | None:
        if range_end is None:
            return None
        if range_end == b"\0":
            return etcd.prefix_end(self.prefix)
        return self.prefix + range_end

    def unkey(self, key: bytes) -> bytes:
        if not key.startswith(self.prefix):
            raise etcd.StoreError(f"etcd returned key {key!r} outside the store's prefix")
        return key[len(self.prefix) :]

    def to_etcd(self, revision: int) -> int:
        """A request revision: > 0 is shifted; 0 and below mean "current" and stay as they are."""
        return revision + self.base - 1 if revision > 0 else revision

    def from_etcd(self, revision: int) -> int:
        return revision - self.base + 1 if revision > 0 else 0


class EtcdStore:
    """A ``contracts.Store`` over a real etcd (see the module contract)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: bytes | None = None,
        timeout: float = 5.0,
        catch_up: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        # Whether watch() and poll() wait for etcd to catch a stream up (the contract's
        # synchronous delivery); False for an event-driven reader (``Watcher.notify``).
        self.catch_up = catch_up
        prefix = prefix if prefix is not None else f"kubeprop/{uuid.uuid4().hex}/".encode()
        if not isinstance(prefix, bytes) or not prefix:
            raise etcd.InvalidRequestError(
                f"etcdserver: prefix: Invalid value: {prefix!r}: must be non-empty bytes"
            )
        self._local = threading.local()  # one requests.Session per thread
        self._lock = threading.Lock()  # guards the fields below
        self._seen = 0  # the highest etcd revision any answer carried
        self._compact_revision = 0  # the highest (relative) revision this store compacted
        self._leases: set[int] = set()  # ids of the leases this store granted
        self._watchers: list[EtcdWatcher] = []  # every watch opened and not canceled
        registered = self._post("/v3/kv/put", {"key": b64(REGISTRY + prefix), "value": ""})
        self.translation = Translation(prefix=prefix, base=self._header(registered))

    # ---- transport -------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a request; the answer's JSON, or the StoreError etcd answered with."""
        try:
            answer = self._session().post(self.url + path, json=body, timeout=self.timeout)
        except requests.RequestException as error:
            raise EtcdUnavailableError(f"etcd unavailable: {path}: {error}") from None
        try:
            payload = json.loads(answer.text.splitlines()[0]) if answer.text.strip() else {}
        except ValueError:
            raise etcd.StoreError(
                f"etcd answered {path} with {answer.status_code}: {answer.text[:200]!r}"
            ) from None
        if "result" in payload and "header" not in payload:  # a streaming RPC (keepalive)
            payload = payload["result"] if isinstance(payload["result"], dict) else {}
        if answer.status_code != 200 or "error" in payload:
            raise store_error(payload, self._compact_revision)
        return payload

    def _header(self, payload: dict[str, Any]) -> int:
        """The etcd revision of an answer's header, remembered as seen."""
        revision = integer(payload.get("header", {}).get("revision"))
        with self._lock:
            self._seen = max(self._seen, revision)
        return revision

    def _response_header(self, payload: dict[str, Any]) -> etcd.ResponseHeader:
        return etcd.ResponseHeader(revision=self.translation.from_etcd(self._header(payload)))

    # ---- encoding --------------------------------------------------------------------------

    def _range_body(self, request: etcd.RangeRequest) -> dict[str, Any]:
        t = self.translation
        body: dict[str, Any] = {"key": b64(t.key(request.key))}
        range_end = t.range_end(request.range_end)
        if range_end is not None:
            body["range_end"] = b64(range_end)
        if request.revision:
            body["revision"] = str(t.to_etcd(request.revision))
        if request.limit:
            body["limit"] = str(request.limit)
        if request.count_only:
            body["count_only"] = True
        if request.keys_only:
            body["keys_only"] = True
        return body

    def _put_body(self, request: etcd.PutRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "key": b64(self.translation.key(request.key)),
            "value": b64(request.value),
        }
        if request.lease:
            body["lease"] = str(request.lease)
        if request.prev_kv:
            body["prev_kv"] = True
        return body

    def _delete_body(self, request: etcd.DeleteRangeRequest) -> dict[str, Any]:
        t = self.translation
        body: dict[str, Any] = {"key": b64(t.key(request.key))}
        range_end = t.range_end(request.range_end)
        if range_end is not None:
            body["range_end"] = b64(range_end)
        if request.prev_kv:
            body["prev_kv"] = True
        return body

    def _compare_body(self, compare: etcd.Compare) -> dict[str, Any]:
        t = self.translation
        body: dict[str, Any] = {
            "key": b64(t.key(compare.key)),
            "target": compare.target.value,
            "result": compare.result.value,
        }
        range_end = t.range_end(compare.range_end)
        if range_end is not None:
            body["range_end"] = b64(range_end)
        field = TARGET_FIELDS[compare.target]
        operand = compare.operand
        if compare.target is etcd.CompareTarget.VALUE:
            body[field] = b64(operand)
        elif compare.target in (etcd.CompareTarget.CREATE, etcd.CompareTarget.MOD):
            body[field] = str(t.to_etcd(operand))
        else:
            body[field] = str(operand)
        return body

    def _op_body(self, op: etcd.RequestOp) -> dict[str, Any]:
        if isinstance(op, etcd.PutRequest):
            return {"request_put": self._put_body(op)}
        if isinstance(op, etcd.DeleteRangeRequest):
            return {"request_delete_range": self._delete_body(op)}
        if isinstance(op, etcd.RangeRequest):
            return {"request_range": self._range_body(op)}
        raise etcd.InvalidRequestError(
            f"etcdserver: txn op: Invalid value: {op!r}: "
            "must be a RangeRequest, PutRequest or DeleteRangeRequest"
        )

    def kv(self, payload: dict[str, Any]) -> etcd.KeyValue:
        t = self.translation
        return etcd.KeyValue(
            key=t.unkey(unb64(payload.get("key"))),
            value=unb64(payload.get("value")),
            create_revision=t.from_etcd(integer(payload.get("create_revision"))),
            mod_revision=t.from_etcd(integer(payload.get("mod_revision"))),
            version=integer(payload.get("version")),
            lease=integer(payload.get("lease")),
        )

    def _range_response(self, payload: dict[str, Any]) -> etcd.RangeResponse:
        return etcd.RangeResponse(
            header=self._response_header(payload),
            kvs=tuple(self.kv(kv) for kv in payload.get("kvs", ())),
            more=bool(payload.get("more", False)),
            count=integer(payload.get("count")),
        )

    def _put_response(self, payload: dict[str, Any]) -> etcd.PutResponse:
        prev = payload.get("prev_kv")
        return etcd.PutResponse(
            header=self._response_header(payload), prev_kv=self.kv(prev) if prev else None
        )

    def _delete_response(self, payload: dict[str, Any]) -> etcd.DeleteRangeResponse:
        return etcd.DeleteRangeResponse(
            header=self._response_header(payload),
            deleted=integer(payload.get("deleted")),
            prev_kvs=tuple(self.kv(kv) for kv in payload.get("prev_kvs", ())),
        )

    # ---- key-value requests ----------------------------------------------------------------

    @property
    def revision(self) -> int:
        answer = self._post(
            "/v3/kv/range",
            {"key": b64(REGISTRY + self.translation.prefix), "count_only": True},
        )
        return self.translation.from_etcd(self._header(answer))

    @property
    def compact_revision(self) -> int:
        with self._lock:
            return self._compact_revision

    def range(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
        keys_only: bool = False,
    ) -> etcd.RangeResponse:
        request = etcd.RangeRequest(key, range_end, revision, limit, count_only, keys_only)
        return self._range_response(self._post("/v3/kv/range", self._range_body(request)))

    def put(
        self, key: bytes, value: bytes, *, lease: int = 0, prev_kv: bool = False
    ) -> etcd.PutResponse:
        request = etcd.PutRequest(key, value, lease, prev_kv)
        return self._put_response(self._post("/v3/kv/put", self._put_body(request)))

    def delete_range(
        self, key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False
    ) -> etcd.DeleteRangeResponse:
        request = etcd.DeleteRangeRequest(key, range_end, prev_kv)
        return self._delete_response(self._post("/v3/kv/deleterange", self._delete_body(request)))

    def txn(
        self,
        compare: Sequence[etcd.Compare],
        success: Sequence[etcd.RequestOp],
        failure: Sequence[etcd.RequestOp] = (),
    ) -> etcd.TxnResponse:
        body = {
            "compare": [self._compare_body(c) for c in compare],
            "success": [self._op_body(op) for op in success],
            "failure": [self._op_body(op) for op in failure],
        }
        payload = self._post("/v3/kv/txn", body)
        responses: list[etcd.ResponseOp] = []
        for response in payload.get("responses", ()):
            if "response_put" in response:
                responses.append(self._put_response(response["response_put"]))
            elif "response_delete_range" in response:
                responses.append(self._delete_response(response["response_delete_range"]))
            elif "response_range" in response:
                responses.append(self._range_response(response["response_range"]))
            else:  # an op etcd answered with an empty message: its kind is in the request
                op = (success if payload.get("succeeded") else failure)[len(responses)]
                kind = {
                    etcd.PutRequest: self._put_response,
                    etcd.DeleteRangeRequest: self._delete_response,
                    etcd.RangeRequest: self._range_response,
                }[type(op)]
                responses.append(kind({"header": payload.get("header", {})}))
        return etcd.TxnResponse(
            header=self._response_header(payload),
            succeeded=bool(payload.get("succeeded", False)),
            responses=tuple(responses),
        )

    def compact(self, revision: int) -> None:
        self._post("/v3/kv/compaction", {"revision": str(self.translation.to_etcd(revision))})
        with self._lock:
            self._compact_revision = max(self._compact_revision, revision)

    # ---- leases ----------------------------------------------------------------------------

    def lease_grant(self, ttl: int, id: int = 0) -> etcd.LeaseGrantResponse:
        payload = self._post("/v3/lease/grant", {"TTL": str(ttl), "ID": str(id)})
        granted = integer(payload.get("ID"))
        with self._lock:
            self._leases.add(granted)
        return etcd.LeaseGrantResponse(
            header=self._response_header(payload), id=granted, ttl=integer(payload.get("TTL"))
        )

    def lease_revoke(self, id: int) -> None:
        self._post("/v3/lease/revoke", {"ID": str(id)})
        with self._lock:
            self._leases.discard(id)

    def lease_keepalive(self, id: int) -> int:
        payload = self._post("/v3/lease/keepalive", {"ID": str(id)})
        ttl = integer(payload.get("TTL"))
        if ttl <= 0:
            raise etcd.LeaseNotFoundError()
        return ttl

    def lease_time_to_live(self, id: int, *, keys: bool = False) -> etcd.LeaseTimeToLiveResponse:
        payload = self._post("/v3/lease/timetolive", {"ID": str(id), "keys": bool(keys)})
        prefix = self.translation.prefix
        attached = sorted(
            self.translation.unkey(key)
            for key in map(unb64, payload.get("keys", ()))
            if key.startswith(prefix)
        )
        return etcd.LeaseTimeToLiveResponse(
            header=self._response_header(payload),
            id=integer(payload.get("ID")) or id,
            ttl=integer(payload.get("TTL")),
            granted_ttl=integer(payload.get("grantedTTL")),
            keys=tuple(attached),
        )

    def advance(self, seconds: float) -> None:
        """Real time passes on its own: nothing to do (leases expire on etcd's clock)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise etcd.InvalidRequestError(
                f"etcdserver: advance.seconds: Invalid value: {seconds!r}: must be a number"
            )
        if not math.isfinite(seconds) or seconds < 0:
            raise etcd.InvalidRequestError(
                f"etcdserver: advance.seconds: Invalid value: {seconds!r}: "
                "must be a finite number >= 0"
            )

    # ---- watches ---------------------------------------------------------------------------

    def watch(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        start_revision: int = 0,
        prev_kv: bool = False,
        progress_notify: bool = False,
    ) -> EtcdWatcher:
        watcher = EtcdWatcher(
            self, key, range_end, start_revision, bool(prev_kv), bool(progress_notify)
        )
        with self._lock:
            self._watchers = [w for w in self._watchers if not w.canceled] + [watcher]
        # etcd replays history to a new watch in the background (every 100 ms) and cancels
        # one still replaying when a compaction passes it; the contract's watch has its
        # history at once. Returning only once etcd has caught the watch up keeps it so.
        if self.catch_up:
            watcher.wait_synced()
        return watcher

    def seen(self) -> int:
        """The highest etcd revision an answer has carried so far."""
        with self._lock:
            return self._seen

    # ---- end of life -----------------------------------------------------------------------

    def close(self) -> None:
        """Cancel this store's watches and revoke the leases it granted (best effort)."""
        with self._lock:
            watchers, self._watchers = self._watchers, []
            leases, self._leases = sorted(self._leases), set()
        for watcher in watchers:
            watcher.cancel()
        for lease in leases:
            with contextlib.suppress(etcd.StoreError):  # expired or revoked already, etcd gone
                self._post("/v3/lease/revoke", {"ID": str(lease)})

    def __repr__(self) -> str:
        return f"EtcdStore({self.url!r}, prefix={self.translation.prefix!r})"


class EtcdWatcher:
    """One watch stream over etcd's streaming ``/v3/watch`` (contract: ``contracts.Watcher``)."""

    def __init__(
        self,
        store: EtcdStore,
        key: bytes,
        range_end: bytes | None,
        start_revision: int,
        prev_kv: bool,
        progress_notify: bool,
    ) -> None:
        self.store = store
        self.progress_notify = progress_notify
        # Called (no arguments, from the reader thread) whenever something deliverable is
        # queued; lets an event-driven reader poll only when there is something to read.
        self.notify: Callable[[], object] | None = None
        t = store.translation
        create: dict[str, Any] = {
            "key": b64(t.key(key)),
            "progress_notify": True,  # our catch-up signal; filtered for the caller in poll()
        }
        end = t.range_end(range_end)
        if end is not None:
            create["range_end"] = b64(end)
        if start_revision:
            create["start_revision"] = str(t.to_etcd(start_revision))
        if prev_kv:
            create["prev_kv"] = True
        self._condition = threading.Condition()
        # Guarded by _condition:
        self._received: list[tuple[str, int, etcd.WatchResponse]] = []  # (kind, etcd rev, resp)
        self._vouched = 0  # every event up to this etcd revision has been received
        self._created = False  # etcd confirmed the watch
        self._ended = False  # the stream is over (canceled by etcd, closed, failed)
        self._failure: etcd.StoreError | None = None  # why the stream failed, if it did
        self._progress_wanted: list[int] = []  # etcd revisions of request_progress() calls
        self.canceled = False  # canceled by the client
        self._start = t.to_etcd(start_revision) if start_revision > 0 else 0
        try:
            self._response = requests.post(
                store.url + "/v3/watch",
                json={"create_request": create},
                stream=True,
                timeout=(store.timeout, None),
            )
        except requests.RequestException as error:
            raise EtcdUnavailableError(f"etcd unavailable: /v3/watch: {error}") from None
        if self._response.status_code != 200:
            payload = self._response.json()
            self._response.close()
            raise store_error(payload, store.compact_revision)
        self._thread = threading.Thread(target=self._read, name="etcd-watch", daemon=True)
        self._thread.start()

    # ---- the reader thread -----------------------------------------------------------------

    def _read(self) -> None:
        try:
            for line in self._response.iter_lines():
                if self.canceled:
                    break
                if line and self._receive(json.loads(line)):
                    break  # etcd canceled the watch: nothing more will come
        except (requests.RequestException, ValueError, AttributeError, OSError) as error:
            if not self.canceled:
                self._fail(EtcdUnavailableError(f"etcd watch stream broke: {error}"))
        finally:
            with self._condition:
                self._ended = True
                self._condition.notify_all()
            self._response.close()

    def _fail(self, error: etcd.StoreError) -> None:
        with self._condition:
            self._failure = error
            self._condition.notify_all()

    def _receive(self, message: dict[str, Any]) -> bool:
        """Record one message of the stream; True once etcd has canceled the watch."""
        if "error" in message:
            self._fail(store_error(message.get("error", {}), self.store.compact_revision))
            return True
        result = message.get("result", {})
        header_revision = integer(result.get("header", {}).get("revision"))
        t = self.store.translation
        response = None
        with self._condition:
            if result.get("created"):
                self._created = True
                # Nothing below the start (or, from "now", at or below the creation) is due.
                self._vouched = max(
                    self._vouched, self._start - 1 if self._start else header_revision
                )
            if result.get("canceled"):
                compact = integer(result.get("compact_revision"))
                response = etcd.WatchResponse(
                    header=etcd.ResponseHeader(t.from_etcd(header_revision)),
                    canceled=True,
                    compact_revision=t.from_etcd(compact) if compact else 0,
                    watch_id=integer(result.get("watch_id")),
                )
                self._received.append(("canceled", header_revision, response))
                self._ended = True
            elif result.get("events"):
                events = tuple(self._event(event) for event in result["events"])
                newest = max(integer(e["kv"].get("mod_revision")) for e in result["events"])
                response = etcd.WatchResponse(
                    header=etcd.ResponseHeader(t.from_etcd(header_revision)),
                    events=events,
                    watch_id=integer(result.get("watch_id")),
                )
                self._received.append(("events", newest, response))
                self._vouched = max(self._vouched, newest)
            elif not result.get("created") and header_revision:
                response = etcd.WatchResponse(
                    header=etcd.ResponseHeader(t.from_etcd(header_revision)),
                    progress=True,
                    watch_id=integer(result.get("watch_id")),
                )
                if self._received and self._received[-1][0] == "progress":
                    self._received.pop()  # a newer notification says all the older one did
                self._received.append(("progress", header_revision, response))
                self._vouched = max(self._vouched, header_revision)
                if not (self._progress_wanted or self.progress_notify):
                    response = None  # nothing the caller asked for: no need to wake it
            self._condition.notify_all()
            ended = self._ended
        if response is not None and self.notify is not None:
            self.notify()
        return ended

    def _event(self, payload: dict[str, Any]) -> etcd.Event:
        prev = payload.get("prev_kv")
        return etcd.Event(
            type=etcd.EventType(payload.get("type", "PUT")),
            kv=self.store.kv(payload.get("kv", {})),
            prev_kv=self.store.kv(prev) if prev else None,
        )

    # ---- the client's side -----------------------------------------------------------------

    def _ready(self, target: int) -> bool:
        """Whether the stream has caught up with ``target`` and every progress notification
        asked for has come (caller holds _condition)."""
        if self._ended or self._failure is not None:
            return True
        if not self._created or self._vouched < target:
            return False
        if self._progress_wanted:  # a notification at or above the first request is due
            return any(
                kind == "progress" and revision >= self._progress_wanted[0]
                for kind, revision, _ in self._received
            )
        return True

    def _wait(self, target: int) -> None:
        """Wait, at most the store's timeout, until ``_ready(target)``."""
        deadline = time.monotonic() + self.store.timeout
        with self._condition:
            while not self._ready(target):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._condition.wait(left)

    def wait_synced(self) -> None:
        """Wait until etcd has replayed the history the watch asked for (see watch())."""
        self._wait(self.store.seen())

    def poll(self) -> list[etcd.WatchResponse]:
        if self.canceled:
            return []
        if self.store.catch_up:
            self._wait(self.store.seen())
        with self._condition:
            received, self._received = self._received, []
            if self._failure is not None and not received:
                failure, self._failure = self._failure, None
                raise failure
            return self._deliverable(received)

    def _deliverable(self, received: list[tuple[str, int, etcd.WatchResponse]]):
        """What the caller asked for (caller holds _condition), see the module contract."""
        delivered: list[etcd.WatchResponse] = []
        for index, (kind, revision, response) in enumerate(received):
            if kind != "progress":
                delivered.append(response)
                continue
            if self._progress_wanted and revision >= self._progress_wanted[0]:
                self._progress_wanted = [r for r in self._progress_wanted if r > revision]
                delivered.append(response)
            elif self.progress_notify:
                following = received[index + 1 : index + 2]
                if not following or following[0][0] != "progress":
                    delivered.append(response)  # the last of a run of notifications
        return delivered

    def request_progress(self) -> None:
        if self.canceled:
            return
        current = self.store.translation.to_etcd(self.store.revision)
        with self._condition:
            self._progress_wanted.append(current)

    def cancel(self) -> None:
        if self.canceled:
            return
        self.canceled = True
        # Shut the socket down rather than close the response: closing would wait for the
        # reader thread's blocked read; a shutdown ends that read at once.
        connection = getattr(self._response.raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=self.store.timeout)
        with self._condition:
            self._received = []


class StoreFactory:
    """Makes fresh, isolated EtcdStores on one etcd, closing the previous one first."""

    __name__ = "EtcdStore"

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self.capabilities = CAPABILITIES  # the contract machine reads what it may exercise
        self._last: EtcdStore | None = None

    def __call__(self) -> EtcdStore:
        if self._last is not None:
            self._last.close()
        self._last = EtcdStore(self.url, timeout=self.timeout)
        return self._last

    def close(self) -> None:
        if self._last is not None:
            self._last.close()
            self._last = None


@attrs.define
class EtcdAdapter(Adapter):
    """A real etcd named by ``--sut etcd+http://HOST:PORT``: the store contract runs on it."""

    url: str = ""
    name: str = ""
    capabilities: frozenset[str] = CAPABILITIES

    def __init__(self, url: str) -> None:
        url = url.removeprefix("etcd+")
        self.__attrs_init__(url=url.rstrip("/"), name=f"etcd+{url.rstrip('/')}")

    def store_factory(self) -> StoreFactory:
        return StoreFactory(self.url)
