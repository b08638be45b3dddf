"""The reference Kubernetes API server: REST verbs over the MVCC store.

Contract (spec/apiserver.md): ``request(verb, resource, ...)`` never raises;
every answer is a ``Response`` whose body is an object, a list or a
Kubernetes ``Status``. Objects are stored as JSON under
``/registry/<resource>/<namespace>/<name>``; an object's resourceVersion is the
store's mod_revision of its key, so every write gives a higher one. A request
that fails changes nothing in the store.

Verbs: create, get, list, watch, update, patch, delete; subresources status,
scale (deployments, replicasets), binding (pods) and finalize (namespaces).
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import uuid
from collections.abc import Callable
from typing import Any

import attrs

from kubeprop.reference.apiserver import admission, apply, patch, schema
from kubeprop.reference.apiserver import status as errors
from kubeprop.reference.apiserver.resources import Resource, field_value, lookup
from kubeprop.reference.apiserver.status import StatusError
from kubeprop.reference.apiserver.watch import WatchStream
from kubeprop.reference.clock import SimClock
from kubeprop.spec import etcd
from kubeprop.spec.api.io import copy_manifest
from kubeprop.spec.contracts import Response

Manifest = dict[str, Any]

# The namespaces the API server creates at start (as kube-apiserver's system
# namespaces controller does).
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

# generateName appends 5 characters from this alphabet (no vowels, no
# confusable digits), and leaves room for them within 63 characters.
GENERATE_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
GENERATE_NAME_SUFFIX = 5
MAX_GENERATE_NAME_PREFIX = 63 - GENERATE_NAME_SUFFIX
# Kubernetes retries a create whose generated name collides (RetryGenerateName).
GENERATE_NAME_ATTEMPTS = 8
# How often an unconditional update retries after losing a race.
UPDATE_ATTEMPTS = 5

FIELD_VALIDATION = ("Strict", "Warn", "Ignore")
# How many decoded stored values the watch fan-out keeps (a few hundred revisions of
# every watched key, enough for the watchers that read them within one poll interval).
DECODED_LIMIT = 4096


def _default_store() -> Any:
    from kubeprop.reference.store import Store

    return Store()


@attrs.define
class ApiServer:
    """The reference API server; ``request`` is its one entry point."""

    store: Any = attrs.field(factory=_default_store)  # the only persistent state (contracts.Store)
    clock: SimClock = attrs.field(factory=SimClock)  # timestamps; shared with the cluster
    seed: int = 0
    # Draws uids and generated names; seeded, so the same history gives the same objects.
    _rng: random.Random = attrs.field(init=False)
    # Warnings of the request being served (unknown fields dropped under Warn).
    _warnings: list[str] = attrs.field(init=False, factory=list)
    # The subresource the request being served came through (managedFields entries name it).
    _subresource: str | None = attrs.field(init=False, default=None)
    # (key, mod_revision) -> its decoded manifest, shared by the watch streams that
    # judge selectors on it; at most DECODED_LIMIT, the oldest forgotten first.
    _decoded: dict[tuple[bytes, int], Manifest] = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        for name in SYSTEM_NAMESPACES:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            answer = self.request("create", "namespaces", body=body)
            if answer.code not in (201, 409):
                raise RuntimeError(f"cannot create namespace {name}: {answer.body}")

    # ------------------------------------------------------------------ entry

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
    ) -> Response:
        """Serve one request; errors come back as Status bodies, never as exceptions."""
        self._warnings = []
        self._subresource = subresource if isinstance(subresource, str) else None
        params = dict(params or {})
        try:
            code, answer, stream = self._serve(
                verb, resource, namespace, name, subresource, body, params
            )
        except StatusError as error:
            return Response(error.code, error.status, warnings=tuple(self._warnings))
        except Exception as error:  # a bug of the model: report it as Kubernetes does
            failure = errors.internal(f"{type(error).__name__}: {error}")
            return Response(failure.code, failure.status)
        return Response(code, answer, watch=stream, warnings=tuple(self._warnings))

    def advance(self, seconds: float) -> None:
        """Let simulated time pass (the clock and the store's leases)."""
        self.clock.advance(seconds)
        self.store.advance(seconds)

    # Convenience verbs, each one ``request`` call.
    def create(self, resource: str, body: Any, namespace: str | None = None, **params) -> Response:
        return self.request("create", resource, namespace=namespace, body=body, params=params)

    def get(self, resource: str, name: str, namespace: str | None = None) -> Response:
        return self.request("get", resource, namespace=namespace, name=name)

    def list(self, resource: str, namespace: str | None = None, **params) -> Response:
        return self.request("list", resource, namespace=namespace, params=params)

    def watch(self, resource: str, namespace: str | None = None, **params) -> Response:
        return self.request("watch", resource, namespace=namespace, params=params)

    def update(
        self, resource: str, body: Any, namespace: str | None = None, subresource=None, **params
    ) -> Response:
        name = body.get("metadata", {}).get("name") if isinstance(body, dict) else None
        return self.request(
            "update",
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            body=body,
            params=params,
        )

    def patch(
        self,
        resource: str,
        name: str,
        body: Any,
        namespace: str | None = None,
        content_type: str = patch.MERGE_PATCH,
        subresource: str | None = None,
    ) -> Response:
        return self.request(
            "patch",
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            body=body,
            params={"contentType": content_type},
        )

    def delete(self, resource: str, name: str, namespace: str | None = None, **options) -> Response:
        return self.request(
            "delete", resource, namespace=namespace, name=name, body=options or None
        )

    # ------------------------------------------------------------------ routing

    def _serve(self, verb, resource, namespace, name, subresource, body, params):
        if resource == "bindings" and verb == "create":
            return self._bind(namespace, _name_of(body), body)
        res = lookup(resource)
        if res is None:
            raise errors.resource_not_found()
        if res.namespaced and not namespace and verb not in ("list", "watch", "deletecollection"):
            raise errors.bad_request(
                f"the {res.plural} resource is namespaced: a namespace is required"
            )
        if not res.namespaced:
            if namespace:
                raise errors.resource_not_found()
            namespace = None
        if verb in ("get", "update", "patch", "delete") and not name:
            raise errors.bad_request(f"a name is required to {verb} {res.plural}")
        if subresource is not None:
            return self._serve_subresource(verb, res, namespace, name, subresource, body, params)
        if verb == "create":
            return 201, self._create(res, namespace, body, params), None
        if verb == "get":
            return 200, self._get(res, namespace, name), None
        if verb == "list":
            return 200, self._list(res, namespace, params), None
        if verb == "watch":
            return 200, None, self._watch(res, namespace, params)
        if verb == "update":
            return 200, self._update(res, namespace, name, body, None, params), None
        if verb == "patch":
            if params.get("contentType") == patch.APPLY_PATCH:
                return (*self._apply(res, namespace, name, body, None, params), None)
            return 200, self._patch(res, namespace, name, body, None, params), None
        if verb == "delete":
            return 200, self._delete(res, namespace, name, _delete_options(body, params)), None
        if verb == "deletecollection":
            return 200, self._delete_collection(res, namespace, body, params), None
        raise errors.method_not_allowed(verb, res.plural)

    def _serve_subresource(self, verb, res, namespace, name, subresource, body, params):
        if subresource == "binding" and res.plural == "pods" and verb == "create":
            return self._bind(namespace, name, body)
        if subresource == "status" and res.status_subresource:
            if verb == "get":
                return 200, self._get(res, namespace, name), None
            if verb == "update":
                return 200, self._update(res, namespace, name, body, "status", params), None
            if verb == "patch":
                if params.get("contentType") == patch.APPLY_PATCH:
                    return (*self._apply(res, namespace, name, body, "status", params), None)
                return 200, self._patch(res, namespace, name, body, "status", params), None
        if subresource == "finalize" and res.plural == "namespaces" and verb == "update":
            return 200, self._update(res, namespace, name, body, "finalize", params), None
        if subresource == "scale" and res.scale_subresource:
            if verb == "get":
                return 200, _scale_of(self._get(res, namespace, name)), None
            if verb in ("update", "patch"):
                return 200, self._scale(res, namespace, name, verb, body, params), None
        raise errors.resource_not_found()

    # ------------------------------------------------------------------ reads

    def _read(self, res: Resource, namespace, name) -> tuple[Manifest, etcd.KeyValue] | None:
        answer = self.store.range(res.key(namespace, name))
        if not answer.kvs:
            return None
        kv = answer.kvs[0]
        return _decode_stored(kv), kv

    def _get(self, res: Resource, namespace, name) -> Manifest:
        found = self._read(res, namespace, name)
        if found is None:
            raise errors.not_found(res.plural, name, res.group)
        return found[0]

    def _list(self, res: Resource, namespace, params) -> Manifest:
        label_match = schema.label_matcher(params.get("labelSelector") or "")
        field_match = self._field_matcher(res, params.get("fieldSelector") or "")
        limit = _int_param(params, "limit")
        prefix = res.prefix(namespace)
        end = etcd.prefix_end(prefix)
        start = prefix
        revision = 0
        if params.get("continue"):
            revision, start = _decode_continue(params["continue"], prefix)
        elif params.get("resourceVersion") not in (None, "", "0"):
            wanted = _rv_param(params["resourceVersion"])
            if params.get("resourceVersionMatch") == "Exact":
                revision = wanted
            elif wanted > self.store.revision:
                raise errors.timeout(
                    f"Too large resource version: {wanted}, current: {self.store.revision}"
                )
        try:
            answer = self.store.range(start, end, revision=revision)
        except etcd.CompactedError:
            if params.get("continue"):
                raise errors.expired(
                    "The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter."
                ) from None
            raise errors.expired("The resourceVersion for the provided list is too old.") from None
        except etcd.FutureRevisionError:
            raise errors.timeout(
                f"Too large resource version: {revision}, current: {self.store.revision}"
            ) from None
        items: list[Manifest] = []
        next_key: bytes | None = None
        for kv in answer.kvs:
            if limit and len(items) == limit:
                next_key = kv.key
                break
            item = _decode_stored(kv)
            if label_match(_labels(item)) and field_match(item):
                item.pop("kind", None)
                item.pop("apiVersion", None)
                items.append(item)
        # The revision read: a past one for Exact and continue, else the current one
        # (the store's header always says the current revision).
        snapshot = revision or answer.header.revision
        metadata: Manifest = {"resourceVersion": str(snapshot)}
        if next_key is not None:
            metadata["continue"] = _encode_continue(snapshot, next_key, prefix)
        return {
            "kind": f"{res.kind}List",
            "apiVersion": res.api_version,
            "metadata": metadata,
            "items": items,
        }

    def _field_matcher(self, res: Resource, text: str) -> Callable[[Manifest], bool]:
        requirements = schema.field_requirements(text)
        supported = ("metadata.name", "metadata.namespace", *res.field_labels)
        for label, _, _ in requirements:
            if label not in supported:
                raise errors.bad_request(f"field label not supported: {label}")

        def matches(manifest: Manifest) -> bool:
            for label, op, value in requirements:
                actual = field_value(manifest, label)
                if (actual == value) != (op == "="):
                    return False
            return True

        return matches

    def _watch(self, res: Resource, namespace, params) -> WatchStream:
        label_match = schema.label_matcher(params.get("labelSelector") or "")
        field_match = self._field_matcher(res, params.get("fieldSelector") or "")
        rv = params.get("resourceVersion")
        prefix = res.prefix(namespace)
        end = etcd.prefix_end(prefix)

        def visible(item: Manifest | None) -> bool:
            return item is not None and label_match(_labels(item)) and field_match(item)

        initial: list[Manifest] = []
        if rv in (None, "", "0"):
            # Start at the most recent state: synthetic ADDED for what exists.
            answer = self.store.range(prefix, end)
            start = answer.header.revision + 1
            for kv in answer.kvs:
                item = _decode_stored(kv)
                if visible(item):
                    initial.append({"type": "ADDED", "object": item})
        else:
            start = _rv_param(rv) + 1
        watcher = self.store.watch(prefix, end, start_revision=start, prev_kv=True)
        return WatchStream(
            watcher=watcher,
            visible=visible,
            pending=initial,
            bookmarks=_truthy(params.get("allowWatchBookmarks")),
            kind=res.kind,
            api_version=res.api_version,
            requested_revision=start - 1,
            filtered=bool(params.get("labelSelector") or params.get("fieldSelector")),
            shared=self._shared_manifest,
        )

    def _shared_manifest(self, kv: etcd.KeyValue | None) -> Manifest | None:
        """The manifest of a stored value, decoded once for every watcher that judges it
        (read-only: a watcher copies what it delivers). A key's value at a revision never
        changes, so the cache only forgets, oldest first, to stay small."""
        if kv is None or not kv.value:
            return None
        at = (kv.key, kv.mod_revision)
        found = self._decoded.get(at)
        if found is None:
            found = self._decoded[at] = _decode_stored(kv)
            if len(self._decoded) > DECODED_LIMIT:
                for old in list(itertools.islice(self._decoded, DECODED_LIMIT // 2)):
                    del self._decoded[old]
        return found

    # ------------------------------------------------------------------ create

    def _create(self, res: Resource, namespace, body, params) -> Manifest:
        manifest = self._admit_body(res, namespace, body)
        strict = _field_validation(params)
        meta = manifest["metadata"]
        if meta.get("resourceVersion"):
            raise errors.internal("resourceVersion should not be set on objects to be created")
        if not meta.get("name") and not meta.get("generateName"):
            schema.raise_invalid(
                res,
                "",
                [
                    schema.field_error(
                        "Required", "metadata.name", None, "name or generateName is required"
                    )
                ],
            )
        obj_manifest = self._decode_default(res, manifest, strict)
        admission.mutate_create(self, res, namespace, obj_manifest)
        meta = obj_manifest["metadata"]
        meta["uid"] = self._new_uid()
        meta["creationTimestamp"] = self.clock.timestamp()
        meta["generation"] = 1
        if not res.tracks_generation:
            meta.pop("generation")
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            meta.pop(field, None)
        status = res.status_on_create(obj_manifest)
        if status:
            obj_manifest["status"] = status
        else:
            obj_manifest.pop("status", None)
        if res.plural == "namespaces":
            obj_manifest.setdefault("spec", {})
            obj_manifest["spec"].setdefault("finalizers", ["kubernetes"])
        self._record_manager(res, None, obj_manifest, None, params)
        generated = not meta.get("name")
        for _ in range(GENERATE_NAME_ATTEMPTS if generated else 1):
            if generated:
                meta["name"] = self._generate_name(meta["generateName"])
            obj_manifest = schema.validated(res, obj_manifest)
            admission.admit_create(self, res, namespace, obj_manifest)
            key = res.key(namespace, meta["name"])
            answer = self.store.txn(
                [etcd.Compare(key, etcd.CompareTarget.CREATE, etcd.CompareResult.EQUAL, 0)],
                [etcd.PutRequest(key, _encode_stored(obj_manifest))],
            )
            if answer.succeeded:
                return _with_rv(obj_manifest, answer.header.revision)
        raise errors.already_exists(res.plural, meta["name"], res.group)

    def _new_uid(self) -> str:
        """A fresh uid: random (seeded), never given to another object."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _generate_name(self, prefix: str) -> str:
        suffix = "".join(
            self._rng.choice(GENERATE_NAME_ALPHABET) for _ in range(GENERATE_NAME_SUFFIX)
        )
        return prefix[:MAX_GENERATE_NAME_PREFIX] + suffix

    def _admit_body(self, res: Resource, namespace, body) -> Manifest:
        """Check the envelope of a request body: a JSON object of this resource's kind."""
        if not isinstance(body, dict):
            raise errors.bad_request(
                f"the body of the request must be a JSON object of kind {res.kind}"
            )
        manifest = json.loads(json.dumps(body))  # a private copy, JSON types only
        api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
        if not kind:
            raise errors.bad_request(f"Object 'Kind' is missing in '{_short(body)}'")
        if not api_version:
            raise errors.bad_request(f"Object 'apiVersion' is missing in '{_short(body)}'")
        if kind != res.kind:
            raise errors.bad_request(
                f"the kind of the object ({kind}) does not match the kind of the resource ({res.kind})"
            )
        if api_version != res.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version ({res.api_version})"
            )
        meta = manifest.get("metadata")
        if meta is None:
            meta = manifest["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.bad_request(
                f'{kind} in version "{res.version}" cannot be handled as a {kind}: metadata must be an object'
            )
        if res.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        return manifest

    def _decode_default(self, res: Resource, manifest: Manifest, strict: str) -> Manifest:
        """Decode (unknown fields per fieldValidation), default, and return the manifest.
        metadata.managedFields bypasses the object model: checked here, kept as sent."""
        managed = manifest["metadata"].pop("managedFields", None)
        if managed is not None:
            try:
                apply.entries({"metadata": {"managedFields": managed}})
            except apply.ManagedFieldsError as error:
                field, _, detail = str(error).partition(" ")
                schema.raise_invalid(
                    res,
                    manifest["metadata"].get("name", ""),
                    [schema.field_error("Invalid", field, None, detail)],
                )
        manifest, warnings = schema.decode_defaulted(res, manifest, strict)
        self._warnings.extend(warnings)
        if managed:
            manifest["metadata"]["managedFields"] = managed
        elif managed is not None:
            manifest["metadata"]["managedFields"] = []  # an update that clears them
        return manifest

    def _record_manager(self, res: Resource, old, new: Manifest, subresource, params) -> None:
        """Give the request's fieldManager (if any) the fields it set (apply.record_update);
        the entry names the subresource the request came through (status, scale)."""
        manager = params.get("fieldManager")
        if manager:
            managed = apply.record_update(
                old,
                new,
                kind=res.kind,
                manager=str(manager),
                api_version=res.api_version,
                now=self.clock.timestamp(),
                scope=_owned_scope(res, subresource),
                subresource=self._subresource,
            )
            new["metadata"]["managedFields"] = managed
        elif new["metadata"].get("managedFields"):
            new["metadata"]["managedFields"] = apply.encode(apply.entries(new))
        if not new["metadata"].get("managedFields"):
            new["metadata"].pop("managedFields", None)

    # ------------------------------------------------------------------ update

    def _update(self, res: Resource, namespace, name, body, subresource, params) -> Manifest:
        manifest = self._admit_body(res, namespace, body)
        body_name = manifest["metadata"].get("name")
        if body_name != name:
            if not body_name:
                manifest["metadata"]["name"] = name
            else:
                raise errors.bad_request(
                    f"the name of the object ({body_name}) does not match the name on the URL ({name})"
                )
        strict = _field_validation(params)
        precondition = manifest["metadata"].get("resourceVersion") or None
        if precondition is not None:
            _rv_param(precondition)
        new = self._decode_default(res, manifest, strict)
        for _ in range(UPDATE_ATTEMPTS):
            found = self._read(res, namespace, name)
            if found is None:
                if res.allow_create_on_update and subresource is None:
                    new["metadata"].pop("resourceVersion", None)
                    return self._create(res, namespace, new, params)
                raise errors.not_found(res.plural, name, res.group)
            old, kv = found
            if precondition is not None and precondition != str(kv.mod_revision):
                raise errors.conflict(res.plural, name, errors.MODIFIED, res.group)
            merged = _prepare_for_update(res, subresource, new, old)
            if not res.tracks_generation:
                merged["metadata"].pop("generation", None)
            self._record_manager(res, old, merged, subresource, params)
            merged = schema.validated_update(res, merged, old)
            if _stored_equal(merged, old):
                return old  # nothing changed: no write, same resourceVersion
            if _should_delete(merged):
                deleted = self._remove(res, namespace, name, kv, merged)
                if deleted is not None:
                    return deleted
                continue
            revision = self._put_if_unchanged(kv, merged)
            if revision is not None:
                return _with_rv(merged, revision)
            if precondition is not None:
                raise errors.conflict(res.plural, name, errors.MODIFIED, res.group)
        raise errors.conflict(res.plural, name, errors.MODIFIED, res.group)

    def _patch(self, res: Resource, namespace, name, body, subresource, params) -> Manifest:
        content_type = params.get("contentType", patch.MERGE_PATCH)
        found = self._read(res, namespace, name)
        if found is None:
            raise errors.not_found(res.plural, name, res.group)
        current, _ = found
        try:
            if content_type == patch.MERGE_PATCH:
                if not isinstance(body, dict):
                    raise patch.PatchError("a merge patch must be a JSON object")
                patched = patch.merge_patch(current, body)
            elif content_type == patch.JSON_PATCH:
                patched = patch.json_patch(current, body)
            elif content_type == patch.STRATEGIC_MERGE_PATCH:
                patched = patch.strategic_merge_patch(current, body, res.kind)
            else:
                raise errors.unsupported_media_type(content_type)
        except patch.PatchError as error:
            raise errors.unprocessable(str(error), name, res.plural, res.group) from None
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        if patched.get("metadata", {}).get("resourceVersion") == current["metadata"].get(
            "resourceVersion"
        ) and "resourceVersion" not in json.dumps(body):
            patched["metadata"].pop("resourceVersion", None)  # no precondition asked for
        return self._update(res, namespace, name, patched, subresource, params)

    def _apply(self, res: Resource, namespace, name, body, subresource, params):
        """Server-side apply (apply.apply): create the object if missing, else merge the
        applied configuration into it; (code, object)."""
        manager = params.get("fieldManager")
        if not manager:
            schema.raise_invalid(
                res,
                "",
                [
                    schema.field_error(
                        "Required", "fieldManager", None, "is required for apply patch"
                    )
                ],
                kind="PatchOptions",
                group="meta.k8s.io",
            )
        manifest = self._admit_body(res, namespace, body)
        body_name = manifest["metadata"].get("name")
        if body_name not in (None, "", name):
            raise errors.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        manifest["metadata"]["name"] = name
        if manifest["metadata"].get("managedFields") is not None:
            raise errors.bad_request("metadata.managedFields must be nil")
        applied, warnings = schema.pruned(res, manifest, _field_validation(params))
        self._warnings.extend(warnings)
        found = self._read(res, namespace, name)
        if found is None and subresource is not None:
            raise errors.not_found(res.plural, name, res.group)
        live = found[0] if found is not None else None
        try:
            merged = apply.apply(
                live,
                applied,
                kind=res.kind,
                manager=str(manager),
                api_version=res.api_version,
                now=self.clock.timestamp(),
                force=_truthy(params.get("force")),
                scope=_owned_scope(res, subresource),
                subresource=subresource,
            )
        except apply.ApplyConflict as conflict:
            raise errors.apply_conflict(conflict.message, conflict.conflicts) from None
        rest = {k: v for k, v in params.items() if k not in ("fieldManager", "force")}
        if live is None:
            merged["metadata"].pop("resourceVersion", None)
            return 201, self._create(res, namespace, merged, rest)
        merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        return 200, self._update(res, namespace, name, merged, subresource, rest)

    def _scale(self, res: Resource, namespace, name, verb, body, params) -> Manifest:
        current = self._get(res, namespace, name)
        scale = _scale_of(current)
        if verb == "patch":
            content_type = params.get("contentType", patch.MERGE_PATCH)
            try:
                if content_type == patch.MERGE_PATCH and isinstance(body, dict):
                    scale = patch.merge_patch(scale, body)
                elif content_type == patch.JSON_PATCH:
                    scale = patch.json_patch(scale, body)
                elif content_type == patch.STRATEGIC_MERGE_PATCH:
                    scale = patch.strategic_merge_patch(scale, body, "Scale")
                else:
                    raise errors.unsupported_media_type(content_type)
            except patch.PatchError as error:
                raise errors.unprocessable(str(error), name, res.plural, res.group) from None
        elif not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a Scale object")
        else:
            scale = body
        replicas = (
            scale.get("spec", {}).get("replicas") if isinstance(scale.get("spec"), dict) else None
        )
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            schema.raise_invalid(
                res,
                name,
                [
                    schema.field_error(
                        "Invalid", "spec.replicas", replicas, "must be greater than or equal to 0"
                    )
                ],
                kind="Scale",
                group="autoscaling",
            )
        updated = copy_manifest(current)
        updated["spec"]["replicas"] = replicas
        rv = scale.get("metadata", {}).get("resourceVersion") if verb == "update" else None
        if rv:
            updated["metadata"]["resourceVersion"] = rv
        else:
            updated["metadata"].pop("resourceVersion", None)
        updated["kind"], updated["apiVersion"] = res.kind, res.api_version
        return _scale_of(self._update(res, namespace, name, updated, None, params))

    # ------------------------------------------------------------------ delete

    def _delete(self, res: Resource, namespace, name, options) -> Manifest:
        options = options or {}
        if not isinstance(options, dict):
            raise errors.bad_request("DeleteOptions must be a JSON object")
        grace = options.get("gracePeriodSeconds")
        if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
            raise errors.bad_request("gracePeriodSeconds must be an integer")
        policy = options.get("propagationPolicy")
        if policy not in (None, "Orphan", "Background", "Foreground"):
            schema.raise_invalid(
                res,
                name,
                [
                    schema.field_error(
                        "NotSupported",
                        "propagationPolicy",
                        policy,
                        "",
                        ["Foreground", "Background", "Orphan"],
                    )
                ],
                kind="DeleteOptions",
                group="",
            )
        admission.admit_delete(res, name)
        for _ in range(UPDATE_ATTEMPTS):
            found = self._read(res, namespace, name)
            if found is None:
                raise errors.not_found(res.plural, name, res.group)
            current, kv = found
            _check_preconditions(res, name, options.get("preconditions"), current)
            marked = self._mark_deleting(res, current, grace)
            if marked is None:
                deleted = self._remove(res, namespace, name, kv, current)
                if deleted is not None:
                    return deleted
                continue
            if _stored_equal(marked, current):
                return current
            revision = self._put_if_unchanged(kv, marked)
            if revision is not None:
                return _with_rv(marked, revision)
        raise errors.conflict(res.plural, name, errors.MODIFIED, res.group)

    def _delete_collection(self, res: Resource, namespace, options, params) -> Manifest:
        """Delete every object a list with the same selectors returns, each as a
        delete would (finalizers and grace periods hold); the answer lists what
        was deleted or marked for deletion."""
        listed = self._list(res, namespace, {k: v for k, v in params.items() if k != "limit"})
        deleted = []
        for item in listed["items"]:
            meta = item["metadata"]
            try:
                gone = self._delete(res, meta.get("namespace"), meta["name"], options)
            except StatusError as error:
                if error.code == 404:  # deleted meanwhile: nothing left to do
                    continue
                raise
            gone.pop("kind", None)
            gone.pop("apiVersion", None)
            deleted.append(gone)
        return {**listed, "items": deleted}

    def _mark_deleting(
        self, res: Resource, current: Manifest, grace: int | None
    ) -> Manifest | None:
        """The object as it waits to be deleted, or None to delete it now."""
        meta = current["metadata"]
        finalizers = meta.get("finalizers") or []
        pending_grace = 0
        if res.graceful_delete:
            pending_grace = _pod_grace(current, grace)
        namespace_finalizers = (
            current.get("spec", {}).get("finalizers") or [] if res.plural == "namespaces" else []
        )
        if not finalizers and not namespace_finalizers and pending_grace == 0:
            return None
        marked = copy_manifest(current)
        marked_meta = marked["metadata"]
        if meta.get("deletionTimestamp"):
            # Already being deleted: a shorter grace period may cut the wait short.
            old_grace = meta.get("deletionGracePeriodSeconds") or 0
            if pending_grace < old_grace:
                if pending_grace == 0 and not finalizers:
                    return None
                marked_meta["deletionGracePeriodSeconds"] = pending_grace
                marked_meta["deletionTimestamp"] = self.clock.timestamp(pending_grace)
                _bump_generation(marked_meta)
            return marked
        marked_meta["deletionTimestamp"] = self.clock.timestamp(pending_grace)
        marked_meta["deletionGracePeriodSeconds"] = pending_grace
        if pending_grace > 0:
            _bump_generation(marked_meta)  # a graceful deletion is a change of desired state
        if res.plural == "namespaces":
            marked.setdefault("status", {})["phase"] = "Terminating"
        return marked

    def _remove(self, res: Resource, namespace, name, kv: etcd.KeyValue, last: Manifest):
        """Delete the key if unchanged since ``kv``; the deleted object, or None if it moved."""
        revision = self._if_unchanged(kv, etcd.DeleteRangeRequest(kv.key))
        return None if revision is None else _with_rv(last, revision)

    def _put_if_unchanged(self, kv: etcd.KeyValue, manifest: Manifest) -> int | None:
        """Store ``manifest`` if the key is unchanged since ``kv``; the new revision, or None."""
        return self._if_unchanged(kv, etcd.PutRequest(kv.key, _encode_stored(manifest)))

    def _if_unchanged(self, kv: etcd.KeyValue, write: etcd.RequestOp) -> int | None:
        """Run ``write`` only if the key's mod_revision is still ``kv``'s (optimistic
        concurrency, as Kubernetes' GuaranteedUpdate does); the revision, or None."""
        unchanged = etcd.Compare(
            kv.key, etcd.CompareTarget.MOD, etcd.CompareResult.EQUAL, kv.mod_revision
        )
        answer = self.store.txn([unchanged], [write])
        return answer.header.revision if answer.succeeded else None

    # ------------------------------------------------------------------ binding

    def _bind(self, namespace, name, body):
        pods = lookup("pods")
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a Binding object")
        if not namespace:
            raise errors.bad_request("the pods resource is namespaced: a namespace is required")
        target = body.get("target")
        if not name:
            schema.raise_invalid(
                pods,
                "",
                [schema.field_error("Required", "metadata.name", None, "")],
                kind="Binding",
            )
        if not isinstance(target, dict) or not target.get("name"):
            schema.raise_invalid(
                pods,
                name,
                [schema.field_error("Required", "target.name", None, "")],
                kind="Binding",
            )
        if target.get("kind") not in (None, "", "Node"):
            schema.raise_invalid(
                pods,
                name,
                [
                    schema.field_error(
                        "NotSupported", "target.kind", target.get("kind"), "", ["Node"]
                    )
                ],
                kind="Binding",
            )
        node_name = target["name"]
        for _ in range(UPDATE_ATTEMPTS):
            found = self._read(pods, namespace, name)
            if found is None:
                raise errors.not_found("pods", name)
            pod, kv = found
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.conflict(
                    "pods/binding",
                    name,
                    f"pod {name} is being deleted, cannot be assigned to a host",
                )
            assigned = pod.get("spec", {}).get("nodeName")
            if assigned:
                raise errors.conflict(
                    "pods/binding", name, f'pod {name} is already assigned to node "{assigned}"'
                )
            uid = (
                body.get("metadata", {}).get("uid")
                if isinstance(body.get("metadata"), dict)
                else None
            )
            if uid and uid != pod["metadata"].get("uid"):
                raise errors.conflict(
                    "pods/binding",
                    name,
                    f"Precondition failed: UID in precondition: {uid}, UID in object meta: {pod['metadata'].get('uid')}",
                )
            bound = copy_manifest(pod)
            bound["spec"]["nodeName"] = node_name
            _set_condition(bound, "PodScheduled", "True", self.clock.timestamp())
            revision = self._put_if_unchanged(kv, bound)
            if revision is not None:
                return 201, errors.success(201), None
        raise errors.conflict("pods/binding", name, errors.MODIFIED)


# ---------------------------------------------------------------------- helpers


def _name_of(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
        return body["metadata"].get("name")
    return None


def _short(body: Any) -> str:
    text = json.dumps(body, sort_keys=True)
    return text if len(text) < 120 else text[:117] + "..."


def _labels(manifest: Manifest) -> dict[str, str]:
    return manifest.get("metadata", {}).get("labels") or {}


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _int_param(params: dict[str, Any], key: str) -> int:
    value = params.get(key)
    if value in (None, ""):
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise errors.bad_request(f"invalid {key} parameter {value!r}: must be an integer") from None
    if number < 0:
        raise errors.bad_request(f"invalid {key} parameter {value!r}: must be >= 0")
    return number


def _rv_param(value: Any) -> int:
    try:
        number = int(str(value))
        if number < 0:
            raise ValueError
    except ValueError:
        raise errors.bad_request(f'invalid resource version "{value}"') from None
    return number


def _field_validation(params: dict[str, Any]) -> str:
    value = params.get("fieldValidation") or "Warn"
    if value not in FIELD_VALIDATION:
        raise errors.bad_request(
            f'fieldValidation parameter unsupported: "{value}" (use Strict, Warn or Ignore)'
        )
    return value


def _encode_stored(manifest: Manifest) -> bytes:
    """Stored form: JSON without resourceVersion (the store's mod_revision is it)."""
    stored = dict(manifest)
    stored["metadata"] = {k: v for k, v in manifest["metadata"].items() if k != "resourceVersion"}
    return json.dumps(stored, separators=(",", ":")).encode()


def _decode_stored(kv: etcd.KeyValue) -> Manifest:
    manifest = json.loads(kv.value)
    manifest["metadata"]["resourceVersion"] = str(kv.mod_revision)
    return manifest


def _with_rv(manifest: Manifest, revision: int) -> Manifest:
    result = copy_manifest(manifest)
    result["metadata"]["resourceVersion"] = str(revision)
    return result


def _stored_equal(a: Manifest, b: Manifest) -> bool:
    """Whether two manifests store the same object (key order aside)."""
    return _canonical(a) == _canonical(b)


def _canonical(manifest: Manifest) -> str:
    stored = dict(manifest)
    stored["metadata"] = {k: v for k, v in manifest["metadata"].items() if k != "resourceVersion"}
    return json.dumps(stored, sort_keys=True, separators=(",", ":"))


def _delete_options(body: Any, params: dict[str, Any]) -> Any:
    """DeleteOptions from the body, with ``?gracePeriodSeconds=`` of the query as kubectl
    sends it (the body's value wins when both are given)."""
    grace = params.get("gracePeriodSeconds")
    if grace is None or (isinstance(body, dict) and "gracePeriodSeconds" in body):
        return body
    if isinstance(grace, str):
        try:
            grace = int(grace)
        except ValueError:
            raise errors.bad_request(
                f'gracePeriodSeconds: Invalid value: "{grace}": must be an integer'
            ) from None
    return {**(body if isinstance(body, dict) else {}), "gracePeriodSeconds": grace}


def _should_delete(manifest: Manifest) -> bool:
    """A deleting object whose last finalizer is gone and whose grace has run out."""
    meta = manifest["metadata"]
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if manifest.get("kind") == "Namespace" and manifest.get("spec", {}).get("finalizers"):
        return False
    return not meta.get("deletionGracePeriodSeconds")


def _pod_grace(pod: Manifest, requested: int | None) -> int:
    """The grace period a pod delete waits (pod strategy CheckGracefulDelete)."""
    if not pod.get("spec", {}).get("nodeName"):
        return 0  # never scheduled: nothing to stop
    if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
        return 0  # already terminal
    if requested is not None:
        return max(requested, 0)
    grace = pod.get("spec", {}).get("terminationGracePeriodSeconds")
    return 30 if grace is None else grace


def _prepare_for_update(res: Resource, subresource, new: Manifest, old: Manifest) -> Manifest:
    """What an update writes: the parts the client may change here, the rest from ``old``."""
    if subresource == "status":
        merged = copy_manifest(old)
        if new.get("status") is not None:
            merged["status"] = new["status"]
        else:
            merged.pop("status", None)
    elif subresource == "finalize":
        merged = copy_manifest(old)
        merged.setdefault("spec", {})["finalizers"] = (new.get("spec") or {}).get(
            "finalizers"
        ) or []
        if not merged["spec"]["finalizers"]:
            merged["spec"].pop("finalizers")
    else:
        merged = copy_manifest(new)
        if res.status_subresource:
            if "status" in old:
                merged["status"] = old["status"]
            else:
                merged.pop("status", None)
    meta, old_meta = merged["metadata"], old["metadata"]
    if subresource is not None and new["metadata"].get("managedFields") is not None:
        meta["managedFields"] = new["metadata"]["managedFields"]  # an apply to /status
    if meta.get("managedFields") is None and old_meta.get("managedFields"):
        meta["managedFields"] = old_meta["managedFields"]  # a client that omits them keeps them
    meta.setdefault("uid", old_meta.get("uid"))
    for field in (
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ):
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    meta.pop("resourceVersion", None)
    if _spec_of(merged) != _spec_of(old):
        meta["generation"] = (old_meta.get("generation") or 0) + 1
    return merged


def _owned_scope(res: Resource, subresource) -> Callable[[str], bool]:
    """Which top-level fields a write through ``subresource`` may own (reset fields:
    status through /status only, everything else through the main resource)."""
    if subresource == "status":
        return lambda name: name == "status"
    if res.status_subresource:
        return lambda name: name != "status"
    return lambda name: True


def _bump_generation(meta: Manifest) -> None:
    if meta.get("generation"):
        meta["generation"] += 1


def _spec_of(manifest: Manifest) -> Manifest:
    """Everything but metadata and status: a change here bumps metadata.generation."""
    return {k: v for k, v in manifest.items() if k not in ("metadata", "status")}


def _check_preconditions(res: Resource, name: str, preconditions: Any, current: Manifest) -> None:
    if not preconditions:
        return
    if not isinstance(preconditions, dict):
        raise errors.bad_request("preconditions must be a JSON object")
    meta = current["metadata"]
    uid = preconditions.get("uid")
    if uid is not None and uid != meta.get("uid"):
        raise errors.conflict(
            res.plural,
            name,
            f"Precondition failed: UID in precondition: {uid}, UID in object meta: {meta.get('uid')}",
            res.group,
        )
    rv = preconditions.get("resourceVersion")
    if rv is not None and rv != meta.get("resourceVersion"):
        raise errors.conflict(
            res.plural,
            name,
            f"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {meta.get('resourceVersion')}",
            res.group,
        )


def _set_condition(pod: Manifest, kind: str, value: str, now: str) -> None:
    conditions = pod.setdefault("status", {}).setdefault("conditions", [])
    for condition in conditions:
        if condition.get("type") == kind:
            if condition.get("status") != value:
                condition["status"] = value
                condition["lastTransitionTime"] = now
            return
    conditions.append(
        {"type": kind, "status": value, "lastProbeTime": None, "lastTransitionTime": now}
    )


def _scale_of(manifest: Manifest) -> Manifest:
    """The autoscaling/v1 Scale view of a Deployment or ReplicaSet."""
    meta = manifest["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        "spec": {"replicas": manifest.get("spec", {}).get("replicas", 0)},
        "status": {
            "replicas": manifest.get("status", {}).get("replicas", 0),
            "selector": schema.selector_string(manifest.get("spec", {}).get("selector")),
        },
    }


def _encode_continue(revision: int, next_key: bytes, prefix: bytes) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": revision, "start": next_key[len(prefix) :].decode()}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def _decode_continue(token: str, prefix: bytes) -> tuple[int, bytes]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data.get("v") != "meta.k8s.io/v1":
            raise ValueError
        revision, start = int(data["rv"]), str(data["start"])
        if revision <= 0 or "/.." in start or start.startswith("/"):
            raise ValueError
    except (ValueError, KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise errors.bad_request("continue key is not valid: the token cannot be decoded") from None
    return revision, prefix + start.encode()
