"""Informers: a list+watch cache of one resource, kept on the simulated event loop.

Contract (spec/client.md):
- ``start()`` lists the resource through the API server, fills the cache (key
  ``namespace/name``, or ``name`` for cluster-scoped objects) and opens a
  watch from the list's resourceVersion; ``poll_interval`` seconds of
  simulated time after the watch has something new (or every
  ``poll_interval`` seconds, for a watch that cannot say so and while a list
  or watch is failing) it applies the watch's events in the order they came
  (CLIENT-INFORMER-SUBSEQUENCE). BOOKMARK only moves ``last_resource_version``.
- A watch that ends is opened again from ``last_resource_version``, as
  client-go's reflector does; a watch answered with 410 Expired (the history
  it needs was compacted) makes the informer list again, and the cache is
  reconciled with that list (CLIENT-INFORMER-RELIST).
- Handlers see, in event order, ``on_add(new)``, ``on_update(old, new)`` and
  ``on_delete(last known)``; after a relist they see the differences between
  the old cache and the list (CLIENT-HANDLERS-ORDERED).
- Once the watch is drained and nothing is written, the cache equals a fresh
  list (CLIENT-INFORMER-CONVERGES).
- Handlers and listers never get the cached objects, so nothing outside can
  change the cache. The handlers of one event share what they get (one copy
  of the new object; the old one, which has left the cache), as client-go's
  share one object: a handler must not modify it.
  The objects a watch's ``poll`` returns belong to the informer (the API
  server's watch decodes each delivery afresh; so does any HTTP client), so
  they are cached without a copy.
- A failed list or watch (any error answer) is retried at the next poll; the
  informer never raises out of the loop for an answer of the API server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs

from kubeprop.reference.loop import EventLoop, Handle
from kubeprop.spec.api import selectors
from kubeprop.spec.api.io import copy_manifest

Manifest = dict[str, Any]


def key_of(manifest: Manifest) -> str:
    """The cache key of an object: ``namespace/name``, or ``name`` when cluster-scoped."""
    meta = manifest.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta.get('name')}" if namespace else str(meta.get("name"))


def split_key(key: str) -> tuple[str | None, str]:
    """``namespace/name`` -> (namespace, name); ``name`` -> (None, name)."""
    namespace, _, name = key.rpartition("/")
    return (namespace or None), name


def resource_version(manifest: Manifest | None) -> str:
    if not manifest:
        return ""
    return str((manifest.get("metadata") or {}).get("resourceVersion", ""))


def list_items(body: Manifest) -> dict[str, Manifest]:
    """The items of a list answer by key, with the kind and apiVersion of the list."""
    kind = str(body.get("kind", ""))
    kind = kind[: -len("List")] if kind.endswith("List") else kind
    items = {}
    for item in body.get("items") or []:
        item = {"kind": kind, "apiVersion": body.get("apiVersion"), **copy_manifest(item)}
        items[key_of(item)] = item
    return items


def _positive(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{attribute.name}: Invalid value: {value!r}: must be greater than 0")


@attrs.frozen
class Handlers:
    """One set of event handlers (client-go's ResourceEventHandlerFuncs); any may be None."""

    on_add: Callable[[Manifest], object] | None = None
    on_update: Callable[[Manifest, Manifest], object] | None = None
    on_delete: Callable[[Manifest], object] | None = None


@attrs.define(eq=False)
class Informer:
    """A list+watch cache of one resource (one namespace, one pair of selectors)."""

    server: Any  # answers request(verb, resource, ...) like kubeprop ApiServer
    resource: str
    loop: EventLoop
    namespace: str | None = attrs.field(default=None, kw_only=True)
    label_selector: str = attrs.field(default="", kw_only=True)
    field_selector: str = attrs.field(default="", kw_only=True)
    poll_interval: float = attrs.field(default=0.1, kw_only=True, validator=_positive)
    # key -> the object as last seen; equals a fresh list once settled (CLIENT-INFORMER-CONVERGES).
    _cache: dict[str, Manifest] = attrs.field(init=False, factory=dict)
    # Registered handlers, called in registration order for each change (CLIENT-HANDLERS-ORDERED).
    _handlers: list[Handlers] = attrs.field(init=False, factory=list)
    _stream: Any = attrs.field(init=False, default=None)  # the open watch, None before the first
    # The resourceVersion of the last list or event applied; a new watch starts after it.
    last_resource_version: str = attrs.field(init=False, default="")
    has_synced: bool = attrs.field(
        init=False, default=False
    )  # True once a list has filled the cache
    # True when the next poll must list again (after 410 Expired, CLIENT-INFORMER-RELIST).
    _must_relist: bool = attrs.field(init=False, default=True)
    _started: bool = attrs.field(init=False, default=False)  # start() was called
    stopped: bool = attrs.field(init=False, default=False)  # stop() was called: nothing more runs
    _next_poll: Handle | None = attrs.field(init=False, default=None)  # the scheduled poll
    relists: int = attrs.field(init=False, default=0)  # lists made, the first one included
    last_error: Manifest | None = attrs.field(init=False, default=None)  # the last error Status

    # ------------------------------------------------------------------ public

    def add_handler(
        self,
        on_add: Callable[[Manifest], object] | None = None,
        on_update: Callable[[Manifest, Manifest], object] | None = None,
        on_delete: Callable[[Manifest], object] | None = None,
    ) -> None:
        """Register handlers; a handler added after start first sees an add per cached object."""
        handlers = Handlers(on_add, on_update, on_delete)
        self._handlers.append(handlers)
        if handlers.on_add is not None:
            for key in sorted(self._cache):
                handlers.on_add(copy_manifest(self._cache[key]))

    def start(self) -> None:
        """List, fill the cache, watch, and poll every ``poll_interval`` seconds."""
        if self._started or self.stopped:
            return
        self._started = True
        self._poll()

    def stop(self) -> None:
        self.stopped = True
        if self._next_poll is not None:
            self.loop.cancel(self._next_poll)
            self._next_poll = None
        if self._stream is not None:
            self._stream.stop()

    def lister(self) -> Lister:
        return Lister(self)

    def keys(self) -> list[str]:
        return sorted(self._cache)

    def snapshot(self) -> dict[str, Manifest]:
        """A private copy of the cache, by key."""
        return copy_manifest(self._cache)

    # ------------------------------------------------------------------ the loop

    def _poll(self) -> None:
        self._next_poll = None
        if self.stopped:
            return
        if self._must_relist:
            self._list_and_watch()
        elif self._stream is None or self._stream.stopped:
            self._watch()
        if self._stream is not None and not self._must_relist:
            self._apply(self._stream.poll())
        if not self.stopped and not self._woken_by_stream():
            self._next_poll = self.loop.call_later(self.poll_interval, self._poll)

    def _woken_by_stream(self) -> bool:
        """True when the open watch wakes the informer itself (no need to poll on a timer).

        A stream that can say when it has events (``on_ready``) makes the
        informer poll ``poll_interval`` after the first event of a batch, the
        same latency bound as polling every ``poll_interval``, without waking
        an idle component. A broken, stopped or plain stream is polled on the
        timer, so failed lists and watches are retried as before."""
        stream = self._stream
        return (
            stream is not None
            and not self._must_relist
            and not stream.stopped
            and hasattr(stream, "on_ready")
        )

    def _wake(self) -> None:
        """The stream has something (or ended): poll after the delivery latency."""
        if self._next_poll is None and not self.stopped:
            self._next_poll = self.loop.call_later(self.poll_interval, self._poll)

    def _params(self) -> dict[str, str]:
        params = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        return params

    def _list_and_watch(self) -> None:
        answer = self.server.request(
            "list", self.resource, namespace=self.namespace, params=self._params()
        )
        if not answer.ok:
            self.last_error = answer.body
            return
        self.relists += 1
        fresh = list_items(answer.body)
        self._replace(fresh)
        self.last_resource_version = str(answer.body["metadata"]["resourceVersion"])
        self.has_synced = True
        self._must_relist = False
        self._watch()

    def _watch(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream = None
        params = {
            **self._params(),
            "resourceVersion": self.last_resource_version,
            "allowWatchBookmarks": "true",
        }
        answer = self.server.request(
            "watch", self.resource, namespace=self.namespace, params=params
        )
        if answer.code == 410:
            self._expired(answer.body)
        elif not answer.ok:
            self.last_error = answer.body
        else:
            self._stream = answer.watch
            if hasattr(self._stream, "on_ready"):
                self._stream.on_ready(self._wake)

    def _expired(self, status: Manifest | None) -> None:
        """410 Expired: the history after last_resource_version is gone; list again."""
        self.last_error = status
        self._must_relist = True
        if self._stream is not None:
            self._stream.stop()
            self._stream = None

    def _apply(self, events: list[Manifest]) -> None:
        for event in events:
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    self._expired(obj)
                else:
                    self.last_error = obj
                    self._stream.stop()
                return
            if kind == "BOOKMARK":
                self.last_resource_version = resource_version(obj)
                continue
            key = key_of(obj)
            if kind in ("ADDED", "MODIFIED"):
                self._store(key, obj)  # a watch hands over objects of its own
            elif kind == "DELETED":
                self._forget(key, obj)
            self.last_resource_version = resource_version(obj)

    # ------------------------------------------------------------------ the cache

    def _store(self, key: str, new: Manifest) -> None:
        old = self._cache.get(key)
        self._cache[key] = new
        handed = None  # one copy of the new object for this event's handlers
        for handlers in self._notified():
            if old is None and handlers.on_add is not None:
                handed = handed if handed is not None else copy_manifest(new)
                handlers.on_add(handed)
            elif old is not None and handlers.on_update is not None:
                handed = handed if handed is not None else copy_manifest(new)
                handlers.on_update(old, handed)  # old has left the cache: no copy needed

    def _forget(self, key: str, last: Manifest) -> None:
        if self._cache.pop(key, None) is None:
            return
        for handlers in self._notified():
            if handlers.on_delete is not None:
                handlers.on_delete(last)  # not (or no longer) in the cache

    def _replace(self, fresh: dict[str, Manifest]) -> None:
        """Reconcile the cache with a list: deletes first, then adds and updates by key."""
        for key in sorted(set(self._cache) - set(fresh)):
            self._forget(key, self._cache[key])
        for key in sorted(fresh):
            old = self._cache.get(key)
            if old is None or resource_version(old) != resource_version(fresh[key]):
                self._store(key, fresh[key])

    def _notified(self) -> Iterator[Handlers]:
        return iter(list(self._handlers))


@attrs.frozen
class Lister:
    """A read-only view of an informer's cache (client-go's Lister); answers are copies."""

    informer: Informer

    def get(self, namespace: str | None, name: str) -> Manifest | None:
        key = f"{namespace}/{name}" if namespace else name
        found = self.informer._cache.get(key)
        return copy_manifest(found) if found is not None else None

    def list(self, namespace: str | None = None, selector: str | None = None) -> list[Manifest]:
        """The cached objects (of one namespace; matching a label selector), by key.

        A malformed selector raises ValueError("unable to parse requirement: ...").
        """
        matches: Callable[[dict[str, str]], bool] = lambda labels: True  # noqa: E731
        if selector:
            try:
                matches = selectors.parse_label_selector(selector).matches
            except ValueError as error:
                raise ValueError(f"unable to parse requirement: {error}") from None
        found = []
        for key in sorted(self.informer._cache):
            item = self.informer._cache[key]
            meta = item.get("metadata") or {}
            if namespace is not None and meta.get("namespace") != namespace:
                continue
            if matches(meta.get("labels") or {}):
                found.append(copy_manifest(item))
        return found


@attrs.define(eq=False)
class Informers:
    """A shared informer factory: one informer per (resource, namespace, selectors)."""

    server: Any
    loop: EventLoop
    poll_interval: float = attrs.field(default=0.1, kw_only=True)
    # (resource, namespace, label selector, field selector) -> its one informer.
    _informers: dict[tuple[str, str | None, str, str], Informer] = attrs.field(
        init=False, factory=dict
    )

    def informer(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> Informer:
        key = (resource, namespace, label_selector, field_selector)
        if key not in self._informers:
            self._informers[key] = Informer(
                self.server,
                resource,
                self.loop,
                namespace=namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                poll_interval=self.poll_interval,
            )
        return self._informers[key]

    def start(self) -> None:
        for informer in self._informers.values():
            informer.start()

    def stop(self) -> None:
        for informer in self._informers.values():
            informer.stop()

    def has_synced(self) -> bool:
        return all(informer.has_synced for informer in self._informers.values())
