"""Deliberately broken API servers: each one a realistic bug the suite must catch.

Every mutant is the reference server with one behaviour changed. ``MUTANTS``
maps a name to (factory, the invariant ids expected to catch it); the mutant
test runs the API server contract machine against each and asserts it fails
with one of those ids.
"""

from __future__ import annotations

import json
import uuid

import attrs

from kubeprop.reference.apiserver import server as reference
from kubeprop.reference.apiserver import watch as watches
from kubeprop.reference.apiserver.server import ApiServer


@attrs.define
class AcceptsStaleResourceVersion(ApiServer):
    """Optimistic concurrency forgotten: an update's resourceVersion is ignored."""

    def _update(self, res, namespace, name, body, subresource, params):
        if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
            body = {
                **body,
                "metadata": {k: v for k, v in body["metadata"].items() if k != "resourceVersion"},
            }
        return super()._update(res, namespace, name, body, subresource, params)


@attrs.define
class CreateOverwrites(ApiServer):
    """create is an upsert: a taken name is overwritten instead of AlreadyExists."""

    def _create(self, res, namespace, body, params):
        name = body.get("metadata", {}).get("name") if isinstance(body, dict) else None
        if name and self._read(res, namespace, name) is not None:
            self.store.delete_range(res.key(namespace, name))
        return super()._create(res, namespace, body, params)


@attrs.define
class NoGenerationBump(ApiServer):
    """metadata.generation is set on create and never bumped."""

    def _update(self, res, namespace, name, body, subresource, params):
        original = reference._prepare_for_update

        def keep_generation(res_, subresource_, new, old):
            merged = original(res_, subresource_, new, old)
            if "generation" in old["metadata"]:
                merged["metadata"]["generation"] = old["metadata"]["generation"]
            return merged

        reference._prepare_for_update = keep_generation
        try:
            return super()._update(res, namespace, name, body, subresource, params)
        finally:
            reference._prepare_for_update = original


@attrs.define
class StatusUpdateWritesEverything(ApiServer):
    """An update of /status stores the whole body, spec and labels included."""

    def _update(self, res, namespace, name, body, subresource, params):
        return super()._update(
            res, namespace, name, body, None if subresource == "status" else subresource, params
        )


@attrs.define
class IgnoresFinalizers(ApiServer):
    """delete removes an object at once, finalizers or not."""

    def _mark_deleting(self, res, current, grace):
        if current["metadata"].get("finalizers"):
            current = json.loads(json.dumps(current))
            current["metadata"]["finalizers"] = []
        return super()._mark_deleting(res, current, grace)


@attrs.define
class KeepsDeletedObjects(ApiServer):
    """Removing the last finalizer of a deleting object does not remove it."""

    def _update(self, res, namespace, name, body, subresource, params):
        original = reference._should_delete
        reference._should_delete = lambda manifest: False
        try:
            return super()._update(res, namespace, name, body, subresource, params)
        finally:
            reference._should_delete = original


@attrs.define
class NoGracePeriod(ApiServer):
    """Pods are removed at once on delete, with no graceful termination."""

    def _mark_deleting(self, res, current, grace):
        return super()._mark_deleting(res, current, 0 if res.plural == "pods" else grace)


@attrs.define
class RebindsPods(ApiServer):
    """A bound pod can be bound again, to another node."""

    def _bind(self, namespace, name, body):
        found = self._read(reference.lookup("pods"), namespace, name)
        if found is not None and found[0].get("spec", {}).get("nodeName"):
            pod, kv = found
            pod["spec"]["nodeName"] = body["target"]["name"]
            self.store.put(kv.key, reference._encode_stored(pod))
            return 201, reference.errors.success(201), None
        return super()._bind(namespace, name, body)


@attrs.define
class NoNamespaceLifecycle(ApiServer):
    """Objects can be created in namespaces that are missing or terminating."""

    def _create(self, res, namespace, body, params):
        original = reference.admission.admit_create
        reference.admission.admit_create = lambda *args: None
        try:
            return super()._create(res, namespace, body, params)
        finally:
            reference.admission.admit_create = original


@attrs.define
class FirstValidationErrorOnly(ApiServer):
    """Validation stops at the first field error."""

    def _create(self, res, namespace, body, params):
        original = reference.schema.raise_invalid

        def first_only(res_, name, problems, kind=None, group=None):
            return original(res_, name, list(problems)[:1], kind, group)

        reference.schema.raise_invalid = first_only
        try:
            return super()._create(res, namespace, body, params)
        finally:
            reference.schema.raise_invalid = original


@attrs.define
class ListIgnoresLabelSelector(ApiServer):
    """list returns every object of the namespace whatever the labelSelector."""

    def _list(self, res, namespace, params):
        return super()._list(
            res, namespace, {k: v for k, v in params.items() if k != "labelSelector"}
        )


@attrs.define
class WatchDropsModifications(ApiServer):
    """A watch loses every second MODIFIED event (a lossy fan-out)."""

    def _watch(self, res, namespace, params):
        stream = super()._watch(res, namespace, params)
        return LossyWatch(
            **{f.name: getattr(stream, f.name) for f in attrs.fields(watches.WatchStream)}
        )


@attrs.define
class LossyWatch(watches.WatchStream):
    dropped: int = 0

    def poll(self):
        kept = []
        for event in super().poll():
            if event["type"] == "MODIFIED":
                self.dropped += 1
                if self.dropped % 2 == 0:
                    continue
            kept.append(event)
        return kept


@attrs.define
class WatchIgnoresCompaction(ApiServer):
    """A watch from a compacted resourceVersion silently starts from now."""

    def _watch(self, res, namespace, params):
        rv = params.get("resourceVersion")
        if rv not in (None, "", "0") and int(rv) < self.store.compact_revision:
            params = {**params, "resourceVersion": str(self.store.revision)}
        return super()._watch(res, namespace, params)


@attrs.define
class FailedUpdateStillWrites(ApiServer):
    """An update that fails validation has already written the object."""

    def _update(self, res, namespace, name, body, subresource, params):
        found = self._read(res, namespace, name)
        if found is not None and isinstance(body, dict):
            # Touch the stored object before validating: a write that must not happen.
            self.store.put(found[1].key, found[1].value)
        return super()._update(res, namespace, name, body, subresource, params)


@attrs.define
class UidFromName(ApiServer):
    """uids derived from the object's name: a re-created object gets its old uid back."""

    _creating: dict = attrs.field(init=False, factory=dict)  # metadata of the create being served

    def _create(self, res, namespace, body, params):
        self._creating = body.get("metadata", {}) if isinstance(body, dict) else {}
        return super()._create(res, namespace, body, params)

    def _new_uid(self) -> str:
        meta = self._creating
        name = f"{meta.get('namespace')}/{meta.get('name') or meta.get('generateName')}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


# name -> (factory, ids of the invariants expected to catch it)
MUTANTS = {
    "accepts-stale-resource-version": (
        AcceptsStaleResourceVersion,
        {"APISERVER-STALE-RV-CONFLICT", "APISERVER-ONE-WINNER"},
    ),
    "create-overwrites": (
        CreateOverwrites,
        {"APISERVER-ALREADY-EXISTS", "APISERVER-FAILED-NO-CHANGE"},
    ),
    "no-generation-bump": (NoGenerationBump, {"APISERVER-GENERATION"}),
    "status-update-writes-everything": (
        StatusUpdateWritesEverything,
        {"APISERVER-STATUS-SUBRESOURCE", "APISERVER-GENERATION"},
    ),
    "ignores-finalizers": (IgnoresFinalizers, {"APISERVER-FINALIZERS-BLOCK-DELETE"}),
    "keeps-deleted-objects": (KeepsDeletedObjects, {"APISERVER-DELETE-COMPLETES"}),
    "no-grace-period": (NoGracePeriod, {"APISERVER-GRACEFUL-POD-DELETE"}),
    "rebinds-pods": (RebindsPods, {"APISERVER-BIND-ONCE"}),
    "no-namespace-lifecycle": (NoNamespaceLifecycle, {"APISERVER-NAMESPACE-LIFECYCLE"}),
    "first-validation-error-only": (FirstValidationErrorOnly, {"APISERVER-INVALID-REJECTED"}),
    "list-ignores-label-selector": (ListIgnoresLabelSelector, {"APISERVER-LIST-MATCHES"}),
    "watch-drops-modifications": (WatchDropsModifications, {"APISERVER-WATCH-EXACT"}),
    "watch-ignores-compaction": (WatchIgnoresCompaction, {"APISERVER-WATCH-EXPIRED"}),
    "failed-update-still-writes": (FailedUpdateStillWrites, {"APISERVER-FAILED-NO-CHANGE"}),
    "uid-from-name": (UidFromName, {"APISERVER-SYSTEM-FIELDS"}),
}
