"""The API server contract (spec/apiserver.md) as a Hypothesis state machine.

The rules are client actions — create, get, list, update (with the current,
a stale or no resourceVersion), racing updates, status updates, patches,
server-side applies by two field managers (with and without force) and
patches by a third, deletes, finalizer removal, bindings, invalid objects,
namespace deletion, watches, compaction — and after each one the answers are
checked against the ``APISERVER-*`` invariants. The machine keeps a model of what should be
stored (the last successful answer for each object) and of every change, so a
watch can be compared with exactly the changes it should have delivered.

``make_machine(factory)`` builds the machine for any server factory, so the
mutant suite runs the same rules against deliberately broken servers.

Contract for a shared, live server (one with no ``store`` attribute, as
``--sut kube+http://...``): each example runs in namespaces of its own
(``kp-<hex>-default`` and ``kp-<hex>-team-a`` stand for ``default`` and
``team-a``, ``kp-<hex>-ghost`` is never created), created at the start and
deleted at teardown, so examples never see each other or the cluster's own
objects. Revisions come from ``revision_of(server)`` (a list's
resourceVersion); because other writers move that revision, "the store did not
change" means "the objects in the example's namespaces did not change", read
back after every write and every failed request. What such a server lacks is
left out, and the module says why (``LIVE_OMISSIONS``): compaction (no store
to compact), bindings and bound pods (a live scheduler and kubelets act on
them), Deployments (a live deployment controller writes their status and
ReplicaSets), finalizers on pods (pod garbage collection force-deletes
terminating unscheduled pods) and namespace deletion (a live namespace
controller empties it behind the model's back). Pods are created unscheduled
with ``schedulerName: LIVE_SCHEDULER``, which no scheduler serves; a drawn
Deployment becomes a Lease of the same name. The reference server runs exactly
the rules and checks it always did.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kubeprop.conformance.report import check
from kubeprop.conformance.strategies import apiserver as gen
from kubeprop.spec.invariants.apiserver import APPLY_PATCH, Exchange

Key = tuple[str, str, str]  # (resource, namespace, name)

# What a live server (no readable store) does not get, and why.
LIVE_OMISSIONS = {
    "compaction": "an HTTP SUT offers no store to compact",
    "binding": "a live scheduler, kubelets and pod GC act on bound pods",
    "deployments": "a live deployment controller writes Deployments and makes ReplicaSets",
    "pod finalizers": "pod GC force-deletes terminating pods that were never scheduled",
    "namespace deletion": "a live namespace controller empties a terminating namespace",
}
# The schedulerName of pods created on a live server: no scheduler serves it.
LIVE_SCHEDULER = "kubeprop-conformance-unscheduled"
# Examples and steps against a live server: every request is a network round trip.
LIVE_EXAMPLES, LIVE_STEPS = 10, 30
# The verbs that change nothing.
READS = ("get", "list", "watch")
# Real seconds a watch on a live server may take to deliver what the model expects.
LIVE_WATCH_WAIT = 3.0
# Fields an apply may release that the server then defaults again (a Deployment's replicas).
DEFAULTS = {("spec", "replicas"): 1}


def revision_of(server: Any) -> int:
    """The newest revision of ``server``: its store's, or (without a readable store)
    the resourceVersion of a list, which is the newest the server has served."""
    store = getattr(server, "store", None)
    if store is not None:
        return store.revision
    answer = server.request("list", "namespaces", params={"limit": 1})
    return int(answer.body["metadata"]["resourceVersion"]) if answer.ok else 0


def is_live(server: Any) -> bool:
    """A server without a readable store: shared, with other writers, in real time."""
    return getattr(server, "store", None) is None


def fresh_namespace(suffix: str) -> str:
    """A namespace name no other example or test uses (conformance, not the model:
    uuid is fine)."""
    return f"kp-{uuid.uuid4().hex[:10]}-{suffix}"


def contents(server: Any, namespaces: list[str], resources: tuple[str, ...]) -> frozenset:
    """(resource, namespace, name, resourceVersion) of everything stored there."""
    found = set()
    for namespace in namespaces:
        for resource in resources:
            answer = server.request("list", resource, namespace=namespace)
            for item in answer.body.get("items", []) if answer.ok else []:
                meta = item["metadata"]
                found.add((resource, namespace, meta["name"], meta.get("resourceVersion")))
    return frozenset(found)


def _labels_match(selector: str, labels: dict[str, str]) -> bool:
    """The few selectors the machine uses, decided independently of the server."""
    app = labels.get("app")
    return {
        "": True,
        "app=web": app == "web",
        "app=db": app == "db",
        "app=sneaky": app == "sneaky",
        "app!=web": app != "web",
        "app in (db)": app == "db",
    }[selector]


def _fields_match(selector: str, manifest: dict) -> bool:
    """The few field selectors the machine uses, decided independently of the server."""
    if not selector:
        return True
    field, value = selector.split("=")
    if field == "metadata.name":
        return manifest["metadata"]["name"] == value
    return manifest.get("spec", {}).get("nodeName", "") == value  # spec.nodeName


class ApiServerMachine(RuleBasedStateMachine):
    factory: Any = None  # builds the server under test; set by make_machine

    def __init__(self) -> None:
        super().__init__()
        self.server = type(self).factory()
        self.objects: dict[Key, dict] = {}  # what should be stored, by key
        self.exchanges: list[Exchange] = []  # every request and answer
        # Every change to a stored object: (revision, key, before, after).
        self.changes: list[tuple[int, Key, dict | None, dict | None]] = []
        self.watches: list[dict] = []  # open watches and what they have delivered
        self.uids: dict[str, str] = {}  # uid -> the object that first had it
        self.terminating: set[str] = set()  # namespaces being deleted
        self.compacted_at = 0  # the highest revision compacted so far
        # A live server (no store): the example's own namespaces stand for the drawn ones.
        self.live = is_live(self.server)
        self.ns = {n: n for n in (*gen.NAMESPACES, "ghost")}
        if self.live:
            self.ns = {n: fresh_namespace(n) for n in self.ns}
            self.live_revision = revision_of(self.server)  # the last revision observed
        # Live: index in changes -> the revision a deletion came after (its own is unknown).
        self.deleted_after: dict[int, int] = {}
        # (object, field manager) -> the configuration that manager applied to it last.
        self.applied: dict[tuple[Key, str], dict] = {}

    # ------------------------------------------------------------- plumbing

    def _revision(self) -> int:
        return revision_of(self.server)

    def _model_contents(self) -> frozenset:
        return frozenset(
            (k[0], k[1], k[2], o["metadata"]["resourceVersion"]) for k, o in self.objects.items()
        )

    def _live_revisions(self, verb: str, code: int, expected: frozenset) -> tuple[int, int]:
        """Live: (before, after) that are equal exactly when the example's objects are as
        the model had them before the request (others write elsewhere, moving the
        revision); read back after every write. A read changes nothing the model could
        tell (and a get that fails after a delete comes before the model records it)."""
        before = after = self.live_revision
        if verb in READS:
            return before, after
        namespaces = [self.ns[n] for n in gen.NAMESPACES]
        if contents(self.server, namespaces, gen.FAMILIES) != expected:
            after = self.live_revision = max(self._revision(), before + 1)
        return before, after

    def call(
        self, verb, resource, *, namespace=None, name=None, subresource=None, body=None, params=None
    ) -> Exchange:
        expected = self._model_contents() if self.live else frozenset()
        before = 0 if self.live else self._revision()
        answer = self.server.request(
            verb,
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            body=copy.deepcopy(body),
            params=params,
        )
        if self.live:
            before, after = self._live_revisions(verb, answer.code, expected)
        else:
            after = self._revision()
        exchange = Exchange(
            verb=verb,
            resource=resource,
            namespace=namespace,
            name=name,
            code=answer.code,
            body=answer.body,
            sent=body,
            subresource=subresource,
            store_revision_before=before,
            store_revision_after=after,
            params=params,
        )
        self.exchanges.append(exchange)
        check("APISERVER-ERRORS-ARE-STATUS", exchange)
        if not (self.live and verb in READS):  # live reads are not read back (_live_revisions)
            check("APISERVER-FAILED-NO-CHANGE", exchange)
        return attrs.evolve(exchange, watch=answer.watch)

    def fetch(self, key: Key) -> dict | None:
        resource, namespace, name = key
        got = self.call("get", resource, namespace=namespace, name=name)
        return got.body if got.ok else None

    def record(
        self,
        key: Key,
        before: dict | None,
        after: dict | None,
        revision: int | None = None,
        *,
        listing: bool = True,
    ) -> None:
        """The model's view of a change the server made (at ``revision``, by default
        the store's latest), with the checks every write gets; ``listing``: list the
        object's app at once (not while a deletecollection is recorded one by one)."""
        if after is not None:
            check("APISERVER-SYSTEM-FIELDS", before, after, self.uids)
            self.uids.setdefault(after["metadata"]["uid"], "/".join(key))
            self.objects[key] = after
        else:
            self.objects.pop(key, None)
        if before is not None and key[0] == "pods":
            check("APISERVER-BIND-ONCE", before, after)
        if self.live and revision is None:
            if after is not None:
                revision = int(after["metadata"]["resourceVersion"])
            else:  # a deletion: after the object's last write, by the revision read now
                self.deleted_after[len(self.changes)] = int(before["metadata"]["resourceVersion"])
                revision = self.live_revision = max(self._revision(), self.live_revision)
        self.changes.append((revision or self._revision(), key, before, after))
        app = ((after or {}).get("metadata", {}).get("labels") or {}).get("app")
        if app in gen.APPS and listing:
            self.list_like(key[0], key[1], f"app={app}", "")

    def list_like(
        self, resource: str, namespace: str, selector: str, fields: str, limit: int = 0
    ) -> None:
        """List with selectors (in pages of ``limit`` if set) and compare with the model."""
        params: dict[str, Any] = {"labelSelector": selector, "fieldSelector": fields}
        if limit:
            params["limit"] = limit
        answer = self.call("list", resource, namespace=namespace, params=params)
        listed = answer.body
        while answer.ok and answer.body["metadata"].get("continue"):
            params["continue"] = answer.body["metadata"]["continue"]
            answer = self.call("list", resource, namespace=namespace, params=params)
            listed = {**listed, "items": listed["items"] + answer.body.get("items", [])}
        expected = [
            f"{k[1]}/{k[2]}"
            for k in self.keys(resource)
            if k[1] == namespace
            and _labels_match(selector, self.objects[k]["metadata"].get("labels", {}))
            and _fields_match(fields, self.objects[k])
        ]
        check("APISERVER-LIST-MATCHES", listed, expected, self._last_write_rv())

    def keys(self, resource: str | None = None) -> list[Key]:
        return sorted(k for k in self.objects if resource in (None, k[0]))

    # ------------------------------------------------------------- rules

    @initialize()
    def start(self) -> None:
        for namespace in ("default", "team-a") if self.live else ("team-a",):
            answer = self.call(
                "create",
                "namespaces",
                body={
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": self.ns[namespace]},
                },
            )
            if self.live:
                assert answer.ok, f"cannot create namespace {self.ns[namespace]}: {answer.body}"
        # Standing watches over each family in "default" from the start, so every
        # history has watches that see its whole sequence of changes.
        for resource in gen.FAMILIES:
            self.open_watch(resource=resource, namespace="default", selector="", start="now")

    def _live_manifest(self, resource: str, body: dict) -> tuple[str, dict]:
        """Live: the drawn object as one no controller acts on (see LIVE_OMISSIONS)."""
        body = copy.deepcopy(body)
        meta = body["metadata"]
        meta["namespace"] = self.ns[meta["namespace"]]
        if resource == "deployments":
            app = meta["labels"]["app"]
            return "leases", {**gen.lease("x", "x", app, "node-1"), "metadata": meta}
        if resource == "pods":
            meta.pop("finalizers", None)
            body["spec"].pop("nodeName", None)
            body["spec"]["schedulerName"] = LIVE_SCHEDULER
        return resource, body

    @rule(drawn=gen.manifests())
    def create(self, drawn) -> None:
        resource, body = self._live_manifest(*drawn) if self.live else drawn
        namespace = body["metadata"]["namespace"]
        name = body["metadata"].get("name")
        key = (resource, namespace, name)
        existed = key in self.objects
        state = "terminating" if namespace in self.terminating else "active"
        if ("namespaces", "", namespace) not in self.namespaces_present():
            state = "missing"
        answer = self.call("create", resource, namespace=namespace, body=body)
        check("APISERVER-NAMESPACE-LIFECYCLE", answer, state)
        if state != "active":
            return
        check("APISERVER-GENERATE-NAME", body, answer)
        check("NODELIFECYCLE-DEFAULT-TOLERATIONS", answer)
        if name is not None:
            check("APISERVER-ALREADY-EXISTS", answer, existed)
        if answer.ok:
            created = answer.body
            key = (resource, namespace, created["metadata"]["name"])
            check("APISERVER-GENERATION", None, created)
            check("APISERVER-READ-YOUR-WRITES", created, self.fetch(key))
            self.record(key, None, created)

    def namespaces_present(self) -> set[Key]:
        listed = self.call("list", "namespaces")
        return {("namespaces", "", item["metadata"]["name"]) for item in listed.body["items"]}

    @precondition(lambda self: self.objects)
    @rule(
        data=st.data(),
        change=st.sampled_from(("label", "spec")),
        version=st.sampled_from(("current", "stale", "none")),
    )
    def update(self, data, change, version) -> None:
        key = data.draw(st.sampled_from(self.keys()))
        before = self.objects[key]
        body = self._changed(before, change, data)
        current_rv = before["metadata"]["resourceVersion"]
        if version == "stale":
            body["metadata"]["resourceVersion"] = str(max(int(current_rv) - 1, 1))
        elif version == "none":
            body["metadata"].pop("resourceVersion")
        answer = self.call("update", key[0], namespace=key[1], name=key[2], body=body)
        check("APISERVER-STALE-RV-CONFLICT", answer, current_rv)
        self._after_write(key, before, answer, subresource=None)

    def _changed(self, before: dict, change: str, data) -> dict:
        body = copy.deepcopy(before)
        if change == "label":
            body["metadata"].setdefault("labels", {})["app"] = data.draw(gen.apps)
        elif body["kind"] == "Pod":
            body["spec"]["containers"][0]["image"] = data.draw(gen.images)
        elif body["kind"] == "Lease":
            body["spec"]["holderIdentity"] = data.draw(gen.nodes)
        else:
            body["spec"]["replicas"] = data.draw(st.integers(0, 3))
        return body

    def _after_write(
        self,
        key: Key,
        before: dict,
        answer: Exchange,
        subresource: str | None,
        *,
        releases: bool = False,
    ) -> None:
        """Check and record a write; ``releases``: the write removed the finalizers itself."""
        if not answer.ok:
            return
        after = self.fetch(key)
        if after is not None:
            check("APISERVER-READ-YOUR-WRITES", answer.body, after)
        if answer.store_revision_after == answer.store_revision_before:
            check("APISERVER-READ-YOUR-WRITES", before, after)  # a no-op write changes nothing
            return
        if not releases:
            check("APISERVER-FINALIZERS-BLOCK-DELETE", before, after)
        if after is not None:
            check("APISERVER-GENERATION", before, after)
            if key[0] in ("pods", "deployments"):
                check("APISERVER-STATUS-SUBRESOURCE", before, after, subresource)
        else:
            check("APISERVER-DELETE-COMPLETES", after, True)
        self.record(key, before, after)

    @precondition(lambda self: self.objects)
    @rule(data=st.data(), racers=st.integers(2, 3))
    def racing_updates(self, data, racers) -> None:
        key = data.draw(st.sampled_from(self.keys()))
        before = self.objects[key]
        codes = []
        for _ in range(racers):
            body = self._changed(before, "spec", data)
            # A distinct annotation per racer: no update is a no-op.
            body["metadata"].setdefault("annotations", {})["race"] = str(len(self.exchanges))
            answer = self.call("update", key[0], namespace=key[1], name=key[2], body=body)
            codes.append(answer.code)
            if answer.ok:
                self._after_write(key, before, answer, subresource=None)
        check("APISERVER-ONE-WINNER", codes)

    @precondition(lambda self: self.keys("pods") or self.keys("deployments"))
    @rule(data=st.data())
    def update_status(self, data) -> None:
        key = data.draw(st.sampled_from(self.keys("pods") + self.keys("deployments")))
        before = self.objects[key]
        body = copy.deepcopy(before)
        if key[0] == "pods":
            body["status"] = {
                "phase": data.draw(st.sampled_from(("Pending", "Running", "Succeeded")))
            }
        else:
            body["status"] = {"replicas": data.draw(st.integers(0, 3)), "observedGeneration": 1}
        body["spec"] = copy.deepcopy(body["spec"])
        body["metadata"]["labels"] = {"app": "sneaky"}  # ignored by a status update
        answer = self.call(
            "update", key[0], namespace=key[1], name=key[2], subresource="status", body=body
        )
        self._after_write(key, before, answer, subresource="status")

    @precondition(lambda self: self.objects)
    @rule(data=st.data(), kind=st.sampled_from(("merge", "json")))
    def patch(self, data, kind) -> None:
        key = data.draw(st.sampled_from(self.keys()))
        before = self.objects[key]
        app = data.draw(gen.apps)
        if kind == "merge":
            body: Any = {"metadata": {"labels": {"app": app}}}
            content_type = "application/merge-patch+json"
        else:
            body = [{"op": "add", "path": "/metadata/labels", "value": {"app": app}}]
            content_type = "application/json-patch+json"
        answer = self.call(
            "patch",
            key[0],
            namespace=key[1],
            name=key[2],
            body=body,
            params={"contentType": content_type},
        )
        self._after_write(key, before, answer, subresource=None)

    def _managed_key(self, data) -> Key:
        """An object, mostly one that field managers have written, so that they meet."""
        managed = [k for k in self.keys() if self.objects[k]["metadata"].get("managedFields")]
        anywhere = st.sampled_from(self.keys())
        return data.draw(st.one_of(st.sampled_from(managed), anywhere) if managed else anywhere)

    def _apply(self, key: Key, manager: str, config: dict, force: bool) -> None:
        """Apply ``config`` to the object at ``key`` as ``manager`` and check the answer."""
        before = self.objects[key]
        body = {"apiVersion": before["apiVersion"], "kind": before["kind"], **config}
        body["metadata"] = {**config.get("metadata", {}), "name": key[2]}
        params = {"contentType": APPLY_PATCH, "fieldManager": manager}
        if force:
            params["force"] = "true"
        answer = self.call("patch", key[0], namespace=key[1], name=key[2], body=body, params=params)
        after = self.fetch(key)
        check("APISERVER-APPLY-CONFLICT", before, answer, after)
        check("APISERVER-APPLY-OWNERSHIP", before, answer, after, DEFAULTS)
        check("APISERVER-APPLY-IDEMPOTENT", before, answer, after)
        if answer.ok:
            self.applied[(key, manager)] = config
        self._after_write(key, before, answer, subresource=None)

    @precondition(lambda self: self.objects)
    @rule(data=st.data(), manager=gen.appliers, force=st.booleans())
    def apply(self, data, manager, force) -> None:
        """Server-side apply of a new partial configuration by one of two appliers."""
        key = self._managed_key(data)
        self._apply(key, manager, data.draw(gen.apply_configs(self.objects[key]["kind"])), force)

    @precondition(lambda self: any(key in self.objects for key, _ in self.applied))
    @rule(
        data=st.data(),
        edit=st.sampled_from(("same", "drop", "redraw")),
        force=st.booleans(),
    )
    def apply_again(self, data, edit, force) -> None:
        """A manager applies its last configuration again (as a manifest is re-applied),
        as it was, with a field dropped from it, or with its fields drawn again."""
        key, manager = data.draw(
            st.sampled_from(sorted(k for k in self.applied if k[0] in self.objects))
        )
        config = copy.deepcopy(self.applied[(key, manager)])
        if edit == "drop":
            fields = [
                (part, name) for part in ("metadata", "spec") for name in config.get(part, {})
            ]
            if fields:
                part, name = data.draw(st.sampled_from(fields))
                del config[part][name]
                if not config[part]:
                    del config[part]
        elif edit == "redraw":
            config = data.draw(gen.apply_configs(self.objects[key]["kind"]))
        self._apply(key, manager, config, force)

    @precondition(lambda self: self.objects)
    @rule(data=st.data())
    def patch_as_manager(self, data) -> None:
        """A merge patch with a fieldManager (an Update, as controllers write): it never
        conflicts, and takes what it changes from the appliers."""
        key = self._managed_key(data)
        before = self.objects[key]
        body = data.draw(gen.apply_configs(before["kind"]).filter(bool))
        params = {"contentType": "application/merge-patch+json", "fieldManager": gen.UPDATER}
        answer = self.call("patch", key[0], namespace=key[1], name=key[2], body=body, params=params)
        after = self.fetch(key)
        check("APISERVER-APPLY-OWNERSHIP", before, answer, after, DEFAULTS)
        self._after_write(key, before, answer, subresource=None)

    @precondition(lambda self: self.objects)
    @rule(data=st.data(), grace=st.sampled_from((None, 0, 3)))
    def delete(self, data, grace) -> None:
        key = data.draw(st.sampled_from(self.keys()))
        before = self.objects[key]
        options = {"gracePeriodSeconds": grace} if grace is not None else None
        answer = self.call("delete", key[0], namespace=key[1], name=key[2], body=options)
        if key[0] == "pods":
            check("APISERVER-GRACEFUL-POD-DELETE", before, answer, grace)
        self._after_write(key, before, answer, subresource=None)

    @precondition(lambda self: self.objects)
    @rule(data=st.data(), selector=gen.label_selectors, grace=st.sampled_from((None, 0)))
    def delete_collection(self, data, selector, grace) -> None:
        resource, namespace = data.draw(
            st.sampled_from(sorted({(k[0], k[1]) for k in self.objects}))
        )
        matched = [
            k
            for k in self.keys(resource)
            if k[1] == namespace
            and _labels_match(selector, self.objects[k]["metadata"].get("labels", {}))
        ]
        options = {"gracePeriodSeconds": grace} if grace is not None else None
        answer = self.call(
            "deletecollection",
            resource,
            namespace=namespace,
            body=options,
            params={"labelSelector": selector},
        )
        if not answer.ok:
            return
        # It deletes exactly what a list with its selectors shows.
        expected = [f"{k[1]}/{k[2]}" for k in matched]
        check("APISERVER-LIST-MATCHES", answer.body, expected, self._last_write_rv())
        answered = {item["metadata"]["name"]: item for item in answer.body["items"]}
        # Each object is treated as a delete of it alone would be, in name order.
        for key in matched:
            before, after = self.objects[key], self.fetch(key)
            if after == before:
                continue
            item = answered.get(key[2], {})
            check("APISERVER-FINALIZERS-BLOCK-DELETE", before, after)
            if after is not None:
                check("APISERVER-GENERATION", before, after)
                written = {"apiVersion": after["apiVersion"], "kind": after["kind"], **item}
                check("APISERVER-READ-YOUR-WRITES", written, after)
            revision = int(item.get("metadata", {}).get("resourceVersion", 0)) or None
            if self.live and after is None:
                revision = None  # its deletion revision is not in the answer (record)
            self.record(key, before, after, revision, listing=False)
        # Listed once the model holds every change (mid-way it would miss the later ones).
        for app in sorted(
            {
                (self.objects[k]["metadata"].get("labels") or {}).get("app")
                for k in matched
                if k in self.objects
            }
            & set(gen.APPS)
        ):
            self.list_like(resource, namespace, f"app={app}", "")

    @precondition(lambda self: any(o["metadata"].get("finalizers") for o in self.objects.values()))
    @rule(data=st.data())
    def remove_finalizers(self, data) -> None:
        keys = [k for k in self.keys() if self.objects[k]["metadata"].get("finalizers")]
        key = data.draw(st.sampled_from(keys))
        before = self.objects[key]
        body = copy.deepcopy(before)
        body["metadata"]["finalizers"] = []
        answer = self.call("update", key[0], namespace=key[1], name=key[2], body=body)
        self._after_write(key, before, answer, subresource=None, releases=True)
        after = self.objects.get(key)
        deleting = bool(before["metadata"].get("deletionTimestamp")) and not before["metadata"].get(
            "deletionGracePeriodSeconds"
        )
        check("APISERVER-DELETE-COMPLETES", after, deleting)

    @precondition(lambda self: self.keys("pods"))
    @rule(data=st.data(), node=gen.nodes)
    def bind(self, data, node) -> None:
        key = data.draw(st.sampled_from(self.keys("pods")))
        if self.live:
            return  # LIVE_OMISSIONS["binding"]
        before = self.objects[key]
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": key[2]},
            "target": {"kind": "Node", "name": node},
        }
        answer = self.call(
            "create", "pods", namespace=key[1], name=key[2], subresource="binding", body=binding
        )
        if before["spec"].get("nodeName") or before["metadata"].get("deletionTimestamp"):
            if answer.code != 409:
                check(
                    "APISERVER-BIND-ONCE",
                    before,
                    {**before, "spec": {**before["spec"], "nodeName": node}},
                )
            return
        if answer.ok:
            after = self.fetch(key)
            self.record(key, before, after)

    @rule(case=gen.invalid_cases)
    def create_invalid(self, case) -> None:
        resource, body, fields = case
        body = copy.deepcopy(body)
        body["metadata"]["namespace"] = self.ns["default"]
        answer = self.call("create", resource, namespace=self.ns["default"], body=body)
        check("APISERVER-INVALID-REJECTED", answer, fields)

    @precondition(lambda self: self.ns["team-a"] not in self.terminating)
    @rule()
    def delete_namespace(self) -> None:
        if self.live:
            return  # LIVE_OMISSIONS["namespace deletion"]
        answer = self.call("delete", "namespaces", name="team-a")
        if answer.ok:
            self.terminating.add("team-a")
            if answer.body["metadata"].get("deletionTimestamp") is None:
                check(
                    "APISERVER-FINALIZERS-BLOCK-DELETE",
                    {"metadata": {"name": "team-a", "finalizers": ["kubernetes"]}},
                    None,
                )

    @rule(data=st.data(), selector=gen.label_selectors)
    def list_objects(self, data, selector) -> None:
        # Mostly where objects are, so the answer is worth comparing; sometimes anywhere.
        stored = sorted({(k[0], k[1]) for k in self.objects})
        anywhere = st.tuples(gen.families, gen.namespaces)
        resource, namespace = data.draw(
            st.one_of(st.sampled_from(stored), anywhere) if stored else anywhere
        )
        if self.live and namespace in self.ns:
            namespace = self.ns[namespace]
        fields = data.draw(gen.field_selectors(resource))
        self.list_like(
            resource, namespace, selector, fields, limit=data.draw(st.sampled_from((0, 1, 2)))
        )

    def _last_write_rv(self) -> int:
        return self.changes[-1][0] if self.changes else 0

    @rule(
        resource=gen.families,
        namespace=gen.namespaces,
        selector=gen.label_selectors,
        start=st.sampled_from(("now", "earlier", "none")),
    )
    def open_watch(self, resource, namespace, selector, start) -> None:
        namespace = self.ns.get(namespace, namespace)
        revision = self._revision()
        params: dict[str, Any] = {"labelSelector": selector}
        middle = len(self.changes) // 2
        if start == "earlier" and self.live and middle in self.deleted_after:
            start = "now"  # a deletion's own revision is unknown on a live server
        if start == "earlier" and self.changes:
            revision = self.changes[middle][0] - 1
        if start != "none":
            params["resourceVersion"] = str(revision)
        answer = self.call("watch", resource, namespace=namespace, params=params)
        if not answer.ok:
            return
        initial = []
        if start == "none":
            initial = [
                ("ADDED", k[2], self.objects[k]["metadata"]["resourceVersion"])
                for k in self.keys(resource)
                if k[1] == namespace
                and _labels_match(selector, self.objects[k]["metadata"].get("labels", {}))
            ]
        self.watches.append(
            {
                "stream": answer.watch,
                "resource": resource,
                "namespace": namespace,
                "selector": selector,
                "from": revision,
                "initial": initial,
                "events": [],
                # A watch from r reads the history from r + 1 on: gone if compacted.
                "compacted": start == "earlier" and revision + 1 < self.compacted_at,
            }
        )

    def _expected_events(self, watch: dict) -> list[tuple[str, str, str]]:
        expected = list(watch["initial"])
        seen = [
            (
                e["type"],
                e["object"]["metadata"].get("name"),
                e["object"]["metadata"].get("resourceVersion"),
            )
            for e in watch["events"]
            if e.get("type") in ("ADDED", "MODIFIED", "DELETED")
        ]
        for index, (revision, key, before, after) in enumerate(self.changes):
            if (
                revision <= watch["from"]
                or key[0] != watch["resource"]
                or key[1] != watch["namespace"]
            ):
                continue
            was = before is not None and _labels_match(
                watch["selector"], before["metadata"].get("labels", {})
            )
            now = after is not None and _labels_match(
                watch["selector"], after["metadata"].get("labels", {})
            )
            if was and now:
                expected.append(("MODIFIED", key[2], str(revision)))
            elif now:
                expected.append(("ADDED", key[2], str(revision)))
            elif was and index in self.deleted_after:
                # Live: deleted after the object's last write, no later than ``revision``.
                floor = self.deleted_after[index]
                got = seen[len(expected)] if len(expected) < len(seen) else None
                if got and got[:2] == ("DELETED", key[2]) and floor < int(got[2]) <= revision:
                    expected.append(got)
                else:
                    expected.append(("DELETED", key[2], f"in ({floor}, {revision}]"))
            elif was:
                expected.append(("DELETED", key[2], str(revision)))
        return expected

    @precondition(lambda self: self._revision() > 1)
    @rule()
    def compact(self) -> None:
        store = getattr(self.server, "store", None)
        if store is None:
            return
        revision = self._revision()
        if revision > self.compacted_at:
            self.poll_watches()  # what was delivered before compaction stays delivered
            store.compact(revision)
            self.compacted_at = revision

    @precondition(lambda self: self.compacted_at > 2)
    @rule()
    def watch_from_compacted(self) -> None:
        """A watch that starts below the compacted revision must expire."""
        start = self.compacted_at - 2
        answer = self.call(
            "watch", "pods", namespace=self.ns["default"], params={"resourceVersion": str(start)}
        )
        if answer.ok:
            events = answer.watch.poll()
            answer.watch.stop()
            check("APISERVER-WATCH-EXPIRED", events, True)

    @rule()
    def poll_watches(self) -> None:
        for watch in self.watches:
            watch["events"].extend(watch["stream"].poll())
            if self.live and not watch["compacted"]:
                # Real time: what is still on its way gets a bounded while to arrive.
                deadline = time.monotonic() + LIVE_WATCH_WAIT
                while len(watch["events"]) < len(self._expected_events(watch)):
                    if time.monotonic() > deadline or watch["stream"].stopped:
                        break
                    watch["events"].extend(watch["stream"].poll())
            # Synthetic ADDED events of the initial state come in name order, not by rv.
            check("APISERVER-WATCH-ORDERED", watch["events"][len(watch["initial"]) :])
            if watch["compacted"]:
                check("APISERVER-WATCH-EXPIRED", watch["events"], True)
            else:
                check("APISERVER-WATCH-EXACT", watch["events"], self._expected_events(watch))

    @invariant()
    def resource_versions_only_grow(self) -> None:
        check("APISERVER-RV-MONOTONIC", self.exchanges)

    def teardown(self) -> None:
        for watch in self.watches:
            watch["stream"].stop()
        if self.live:
            delete_namespaces(self.server, [self.ns[n] for n in gen.NAMESPACES])


def delete_namespaces(server: Any, namespaces: list[str]) -> None:
    """Live: delete what an example made (objects with finalizers stay until released)."""
    for namespace in namespaces:
        for resource in gen.FAMILIES:
            server.request(
                "deletecollection", resource, namespace=namespace, body={"gracePeriodSeconds": 0}
            )
        server.request("delete", "namespaces", name=namespace)


def make_machine(factory) -> type[ApiServerMachine]:
    """The contract machine for servers built by ``factory``."""
    return type("ApiServerContract", (ApiServerMachine,), {"factory": staticmethod(factory)})


def run_machine(
    machine: type, factory, live_examples: int = LIVE_EXAMPLES, live_steps: int = LIVE_STEPS
) -> None:
    """Run ``machine`` on servers built by ``factory``; on a live server, ``live_examples``
    histories of ``live_steps`` steps at most (every request is a network round trip)."""
    if is_live(factory()):
        live = settings(
            settings.default, max_examples=live_examples, stateful_step_count=live_steps
        )
        run_state_machine_as_test(machine, settings=live)
    else:
        run_state_machine_as_test(machine)


def test_the_api_server_keeps_its_contract(apiserver_factory) -> None:
    run_machine(make_machine(apiserver_factory), apiserver_factory)


def test_a_watch_from_a_compacted_resource_version_expires(apiserver_factory) -> None:
    server = apiserver_factory()
    if is_live(server):
        pytest.skip(f"needs compaction: {LIVE_OMISSIONS['compaction']}")
    body = gen.lease("old", "default", "web", "node-1")
    first = server.request("create", "leases", namespace="default", body=body)
    assert first.code == 201, first.body
    server.store.compact(server.store.revision)
    answer = server.request("watch", "leases", namespace="default", params={"resourceVersion": "1"})
    check("APISERVER-WATCH-EXPIRED", answer.watch.poll(), True)


def test_the_answers_to_malformed_requests_are_status_objects(apiserver_factory) -> None:
    server = apiserver_factory()
    live = is_live(server)
    namespace = _namespace_for(server, "malformed") if live else "default"
    malformed = [
        ("create", "pods", namespace, None, "not an object", None),
        ("create", "pods", namespace, None, {"kind": "Pod"}, None),
        (
            "create",
            "pods",
            namespace,
            None,
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "x"}},
            None,
        ),
        (
            "create",
            "pods",
            namespace,
            None,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "x"},
                "spec": {"containers": "nope"},
            },
            None,
        ),
        (
            "create",
            "pods",
            namespace,
            None,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "x"},
                "spec": {"containerz": []},
            },
            {"fieldValidation": "Strict"},
        ),
        ("get", "pods", namespace, "missing", None, None),
        ("get", "widgets", namespace, "x", None, None),
        ("list", "pods", namespace, None, None, {"labelSelector": "app in (("}),
        ("list", "pods", namespace, None, None, {"fieldSelector": "spec.bogus=1"}),
        ("list", "pods", namespace, None, None, {"limit": "-3"}),
        ("list", "pods", namespace, None, None, {"continue": "!!!"}),
        ("patch", "pods", namespace, "missing", {"metadata": {}}, None),
        ("delete", "namespaces", None, "default", None, None),
        (
            "update",
            "pods",
            namespace,
            "x",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "x", "resourceVersion": "abc"},
            },
            None,
        ),
    ]
    try:
        for verb, resource, where, name, body, params in malformed:
            before = revision_of(server)
            answer = server.request(
                verb, resource, namespace=where, name=name, body=body, params=params
            )
            after = revision_of(server)
            if live:  # others write elsewhere: what counts is the test's own namespace
                changed = bool(contents(server, [namespace], gen.FAMILIES))
                after = max(after, before + 1) if changed else before
            exchange = Exchange(
                verb,
                resource,
                where,
                name,
                answer.code,
                answer.body,
                body,
                store_revision_before=before,
                store_revision_after=after,
            )
            assert not answer.ok, (verb, resource, body, answer.body)
            check("APISERVER-ERRORS-ARE-STATUS", exchange)
            check("APISERVER-FAILED-NO-CHANGE", exchange)
    finally:
        if live:
            delete_namespaces(server, [namespace])


def _namespace_for(server: Any, suffix: str) -> str:
    """Live: a fresh namespace of this test's own (the caller deletes it)."""
    namespace = fresh_namespace(suffix)
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    answer = server.request("create", "namespaces", body=body)
    assert answer.ok, f"cannot create namespace {namespace}: {answer.body}"
    return namespace


def test_unknown_fields_are_dropped_with_a_warning_unless_validation_is_strict(
    apiserver_factory,
) -> None:
    server = apiserver_factory()
    live = is_live(server)
    namespace = _namespace_for(server, "fields") if live else "default"
    body = json.loads(json.dumps(gen.lease("extra", namespace, "web", "node-1")))
    body["spec"]["holderIdentityy"] = "typo"
    try:
        strict = server.request(
            "create", "leases", namespace=namespace, body=body, params={"fieldValidation": "Strict"}
        )
        assert strict.code == 400, strict.body
        assert 'unknown field "spec.holderIdentityy"' in strict.body["message"]
        warned = server.request("create", "leases", namespace=namespace, body=body)
        assert warned.code == 201
        assert "holderIdentityy" not in json.dumps(warned.body)
        assert any('unknown field "spec.holderIdentityy"' in w for w in warned.warnings)
    finally:
        if live:
            delete_namespaces(server, [namespace])
