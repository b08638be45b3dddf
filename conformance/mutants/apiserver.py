"""Deliberately broken API servers: each one a realistic bug the suite must catch.

Every mutant is the reference server with one behaviour changed. ``MUTANTS``
maps a name to (factory, the invariant ids expected to catch it); the mutant
test runs the API server contract machine against each and asserts it fails
with one of those ids.
"""

from __future__ import annotations

import contextlib
import json
import uuid

import attrs

from kubeprop.reference.apiserver import apply as field_manager
from kubeprop.reference.apiserver import server as reference
from kubeprop.reference.apiserver import watch as watches
from kubeprop.reference.apiserver.server import ApiServer


@contextlib.contextmanager
def _patched(module, name, replacement):
    """Swap one function of the reference server for the length of a request."""
    original = getattr(module, name)
    setattr(module, name, replacement)
    try:
        yield original
    finally:
        setattr(module, name, original)


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

        with _patched(reference, "_prepare_for_update", keep_generation):
            return super()._update(res, namespace, name, body, subresource, params)


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
        with _patched(reference, "_should_delete", lambda manifest: False):
            return super()._update(res, namespace, name, body, subresource, params)


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
        with _patched(reference.admission, "admit_create", lambda *args: None):
            return super()._create(res, namespace, body, params)


@attrs.define
class FirstValidationErrorOnly(ApiServer):
    """Validation stops at the first field error."""

    def _create(self, res, namespace, body, params):
        original = reference.schema.raise_invalid

        def first_only(res_, name, problems, kind=None, group=None):
            return original(res_, name, list(problems)[:1], kind, group)

        with _patched(reference.schema, "raise_invalid", first_only):
            return super()._create(res, namespace, body, params)


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


@attrs.define
class PlainTextNotFound(ApiServer):
    """A missing object is answered with a bare message, not a Status."""

    def request(self, verb, resource, **kwargs):
        answer = super().request(verb, resource, **kwargs)
        if answer.code == 404:
            return attrs.evolve(answer, body={"message": answer.body["message"]})
        return answer


@attrs.define
class LaggingReads(ApiServer):
    """get is served from a cache refreshed only by list: a read can miss the last write."""

    _cache: dict = attrs.field(init=False, factory=dict)  # key -> the object as last listed

    def _get(self, res, namespace, name):
        key = (res.plural, namespace, name)
        if key in self._cache:
            return json.loads(json.dumps(self._cache[key]))
        found = super()._get(res, namespace, name)
        self._cache[key] = found
        return found

    def _list(self, res, namespace, params):
        self._cache.clear()
        return super()._list(res, namespace, params)


@attrs.define
class WatchReordersBatches(ApiServer):
    """A watch delivers what it has queued newest first."""

    def _watch(self, res, namespace, params):
        stream = super()._watch(res, namespace, params)
        return ReversedWatch(
            **{f.name: getattr(stream, f.name) for f in attrs.fields(watches.WatchStream)}
        )


@attrs.define
class ReversedWatch(watches.WatchStream):
    def poll(self):
        initial = [e for e in self.pending]
        events = super().poll()
        return initial + list(reversed(events[len(initial) :]))


@attrs.define
class ShortGeneratedNames(ApiServer):
    """generateName appends three characters instead of five."""

    def _generate_name(self, prefix: str) -> str:
        return super()._generate_name(prefix)[:-2]


@attrs.define
class PerObjectResourceVersion(ApiServer):
    """resourceVersion is the object's own write count (etcd's version), not the revision."""

    def _serve(self, verb, resource, namespace, name, subresource, body, params):
        def by_version(kv):
            manifest = json.loads(kv.value)
            manifest["metadata"]["resourceVersion"] = str(kv.version)
            return manifest

        with _patched(reference, "_decode_stored", by_version):
            code, answer, stream = super()._serve(
                verb, resource, namespace, name, subresource, body, params
            )
        res = reference.lookup(resource)
        if res and verb in ("create", "update", "patch") and subresource is None:
            found = self._read(res, namespace, answer["metadata"]["name"])
            if found is not None:
                answer["metadata"]["resourceVersion"] = str(found[1].version)
        return code, answer, stream


@attrs.define
class ConflictAsInvalid(ApiServer):
    """A stale resourceVersion is answered 422 Invalid instead of 409 Conflict."""

    def _update(self, res, namespace, name, body, subresource, params):
        try:
            return super()._update(res, namespace, name, body, subresource, params)
        except reference.StatusError as error:
            if error.code != 409:
                raise
            raise reference.errors.unprocessable(
                error.status["message"], name, res.plural
            ) from None


@attrs.define
class PreconditionOnStoreRevision(ApiServer):
    """The resourceVersion precondition is compared with the store's revision,
    not the object's: any write elsewhere makes every update conflict."""

    def _update(self, res, namespace, name, body, subresource, params):
        sent = body.get("metadata", {}).get("resourceVersion") if isinstance(body, dict) else None
        if sent and sent != str(self.store.revision):
            raise reference.errors.conflict(res.plural, name, reference.errors.MODIFIED, res.group)
        return super()._update(res, namespace, name, body, subresource, params)


@attrs.define
class ApplyAlwaysForces(ApiServer):
    """Server-side apply takes every field it sets, as if force=true were always sent."""

    def _apply(self, res, namespace, name, body, subresource, params):
        return super()._apply(res, namespace, name, body, subresource, {**params, "force": "true"})


@attrs.define
class ApplyConflictStillWrites(ApiServer):
    """An apply refused for conflicts has already stored its result (forced)."""

    def _apply(self, res, namespace, name, body, subresource, params):
        try:
            return super()._apply(res, namespace, name, body, subresource, params)
        except reference.StatusError as error:
            if error.code != 409:
                raise
            super()._apply(res, namespace, name, body, subresource, {**params, "force": "true"})
            raise


@attrs.define
class ApplyIgnoresUpdateManagers(ApiServer):
    """Apply conflicts only with other appliers: fields an Update manager owns are taken silently."""

    def _apply(self, res, namespace, name, body, subresource, params):
        original = field_manager.apply

        def appliers_only(live, applied, **options):
            try:
                return original(live, applied, **options)
            except field_manager.ApplyConflict as conflict:
                kept = [
                    c for c in conflict.conflicts if c.manager.operation != field_manager.UPDATE
                ]
                if kept:
                    raise field_manager.ApplyConflict(kept) from None
                return original(live, applied, **{**options, "force": True})

        with _patched(field_manager, "apply", appliers_only):
            return super()._apply(res, namespace, name, body, subresource, params)


@attrs.define
class ApplyKeepsDroppedFields(ApiServer):
    """A field dropped from a manager's configuration stays in the object, though nobody owns it."""

    def _apply(self, res, namespace, name, body, subresource, params):
        with _patched(field_manager, "_remove", lambda manifest, path, kind: None):
            return super()._apply(res, namespace, name, body, subresource, params)


@attrs.define
class UpdateSharesOwnership(ApiServer):
    """A write with a fieldManager adds its manager as an owner of what it changed, but the
    previous owners keep those fields too."""

    def _serve(self, verb, resource, namespace, name, subresource, body, params):
        with _patched(field_manager, "_descends", lambda path, ancestors: False):
            return super()._serve(verb, resource, namespace, name, subresource, body, params)


@attrs.define
class ApplyAlwaysWrites(ApiServer):
    """An apply is stored even when it changes nothing (no identical-write skip): a new
    resourceVersion every time a manifest is applied again."""

    def _apply(self, res, namespace, name, body, subresource, params):
        with _patched(reference, "_stored_equal", lambda new, old: False):
            return super()._apply(res, namespace, name, body, subresource, params)


# name -> (factory, ids of the invariants expected to catch it)
MUTANTS = {
    "accepts-stale-resource-version": (
        AcceptsStaleResourceVersion,
        {"APISERVER-STALE-RV-CONFLICT", "APISERVER-ONE-WINNER"},
    ),
    "conflict-as-invalid": (ConflictAsInvalid, {"APISERVER-STALE-RV-CONFLICT"}),
    "precondition-on-store-revision": (PreconditionOnStoreRevision, {"APISERVER-ONE-WINNER"}),
    "create-overwrites": (
        CreateOverwrites,
        {"APISERVER-ALREADY-EXISTS"},
    ),
    "no-generation-bump": (NoGenerationBump, {"APISERVER-GENERATION"}),
    "status-update-writes-everything": (
        StatusUpdateWritesEverything,
        {"APISERVER-STATUS-SUBRESOURCE"},
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
    "plain-text-not-found": (PlainTextNotFound, {"APISERVER-ERRORS-ARE-STATUS"}),
    "lagging-reads": (LaggingReads, {"APISERVER-READ-YOUR-WRITES"}),
    "watch-reorders-batches": (WatchReordersBatches, {"APISERVER-WATCH-ORDERED"}),
    "short-generated-names": (ShortGeneratedNames, {"APISERVER-GENERATE-NAME"}),
    "per-object-resource-version": (PerObjectResourceVersion, {"APISERVER-RV-MONOTONIC"}),
    "apply-always-forces": (ApplyAlwaysForces, {"APISERVER-APPLY-CONFLICT"}),
    "apply-conflict-still-writes": (
        ApplyConflictStillWrites,
        {"APISERVER-FAILED-NO-CHANGE", "APISERVER-APPLY-CONFLICT"},
    ),
    "apply-ignores-update-managers": (ApplyIgnoresUpdateManagers, {"APISERVER-APPLY-CONFLICT"}),
    "apply-keeps-dropped-fields": (ApplyKeepsDroppedFields, {"APISERVER-APPLY-OWNERSHIP"}),
    "update-shares-ownership": (UpdateSharesOwnership, {"APISERVER-APPLY-OWNERSHIP"}),
    "apply-always-writes": (ApplyAlwaysWrites, {"APISERVER-APPLY-IDEMPOTENT"}),
}
