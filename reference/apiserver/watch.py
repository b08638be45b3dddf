"""Watch streams of the API server: store events turned into Kubernetes watch events.

Contract: events come in resourceVersion order, each change once, starting
after the requested resourceVersion (or with synthetic ADDED events for what
exists when none was given). With a selector, an object that starts to match
arrives as ADDED and one that stops matching as DELETED, as the watch cache
does. A start revision older than the compacted history yields one ERROR
event carrying a 410 Expired Status ("too old resource version"), then nothing.
Every delivered object is the stream's own (decoded afresh or copied). To judge
a selector, a stream reads the server's shared decode of a stored value (one
decode per key and revision however many watchers look); a stream without
selectors decodes only what it delivers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs

from kubeprop.reference.apiserver import status as errors
from kubeprop.spec import etcd
from kubeprop.spec.api.io import copy_manifest

Manifest = dict[str, Any]


def _manifest(kv: etcd.KeyValue | None, revision: int | None = None) -> Manifest | None:
    if kv is None or not kv.value:
        return None
    manifest = json.loads(kv.value)
    manifest["metadata"]["resourceVersion"] = str(
        revision if revision is not None else kv.mod_revision
    )
    return manifest


@attrs.define
class WatchStream:
    watcher: Any  # the store's Watcher over the resource's key prefix
    visible: Callable[[Manifest | None], bool]  # the label and field selectors
    pending: list[Manifest]  # events ready for the next poll (initial ADDED events first)
    bookmarks: bool  # allowWatchBookmarks: turn progress notifications into BOOKMARK events
    kind: str
    api_version: str
    requested_revision: int  # the resourceVersion the watch started after
    stopped: bool = False  # after stop() or an ERROR event nothing more is delivered
    # False when ``visible`` is "exists" (no selectors): nothing needs decoding to judge it.
    filtered: bool = True
    # A stored value's manifest, shared and read-only (the server's decode cache).
    shared: Callable[[etcd.KeyValue | None], Manifest | None] = _manifest

    def poll(self) -> list[Manifest]:
        if self.stopped:
            return []
        for response in self.watcher.poll():
            self._translate(response)
            if self.stopped:
                break
        events, self.pending = self.pending, []
        return events

    def on_ready(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` whenever the store queues something for this stream.

        Lets a reader poll only when there is something to read; a reader that
        never calls this polls as before."""
        self.watcher.notify = callback

    def request_bookmark(self) -> None:
        """Ask the store for a progress notification (a BOOKMARK if allowed)."""
        self.watcher.request_progress()

    def stop(self) -> None:
        """End the stream (either side may); a reader waiting on ``on_ready`` is woken."""
        self.stopped = True
        self.watcher.cancel()
        notify, self.watcher.notify = self.watcher.notify, None
        if notify is not None:
            notify()

    def _translate(self, response: etcd.WatchResponse) -> None:
        if response.canceled:
            if response.compact_revision:
                error = errors.expired(
                    f"too old resource version: {self.requested_revision} ({response.compact_revision})"
                )
                self.pending.append({"type": "ERROR", "object": error.status})
            self.stopped = True
            self.watcher.cancel()
            return
        if response.progress and not response.events:
            if self.bookmarks:
                self.pending.append(
                    {
                        "type": "BOOKMARK",
                        "object": {
                            "kind": self.kind,
                            "apiVersion": self.api_version,
                            "metadata": {"resourceVersion": str(response.header.revision)},
                        },
                    }
                )
            return
        for event in response.events:
            self._translate_event(event)

    def _translate_event(self, event: etcd.Event) -> None:
        if not self.filtered and event.type is not etcd.EventType.DELETE:
            new = _manifest(event.kv)
            if new is not None:  # it exists, so it is visible: ADDED unless it existed
                existed = event.prev_kv is not None and bool(event.prev_kv.value)
                self.pending.append({"type": "MODIFIED" if existed else "ADDED", "object": new})
                return
        revision = event.kv.mod_revision
        old = self.shared(event.prev_kv)
        if event.type is etcd.EventType.DELETE:
            if self.visible(old):
                # A deleted object is sent in its last state, at the delete's revision.
                self.pending.append({"type": "DELETED", "object": _at(old, revision)})
            return
        new = self.shared(event.kv)
        was, now = self.visible(old), self.visible(new)
        if now and was:
            self.pending.append({"type": "MODIFIED", "object": copy_manifest(new)})
        elif now:
            self.pending.append({"type": "ADDED", "object": copy_manifest(new)})
        elif was:
            # It stopped matching the selector: to this watcher it is gone.
            self.pending.append({"type": "DELETED", "object": _at(new, revision)})


def _at(shared: Manifest, revision: int) -> Manifest:
    """A copy of a shared manifest stamped with ``revision`` as its resourceVersion."""
    manifest = copy_manifest(shared)
    manifest["metadata"]["resourceVersion"] = str(revision)
    return manifest
