"""The API server contract (spec/apiserver.md) as a Hypothesis state machine.

The rules are client actions — create, get, list, update (with the current,
a stale or no resourceVersion), racing updates, status updates, patches,
deletes, finalizer removal, bindings, invalid objects, namespace deletion,
watches, compaction — and after each one the answers are checked against the
``APISERVER-*`` invariants. The machine keeps a model of what should be
stored (the last successful answer for each object) and of every change, so a
watch can be compared with exactly the changes it should have delivered.

``make_machine(factory)`` builds the machine for any server factory, so the
mutant suite runs the same rules against deliberately broken servers.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import attrs
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
from kubeprop.spec.invariants.apiserver import Exchange

Key = tuple[str, str, str]  # (resource, namespace, name)


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

    # ------------------------------------------------------------- plumbing

    def _revision(self) -> int:
        store = getattr(self.server, "store", None)
        return store.revision if store is not None else 0

    def call(
        self, verb, resource, *, namespace=None, name=None, subresource=None, body=None, params=None
    ) -> Exchange:
        before = self._revision()
        answer = self.server.request(
            verb,
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            body=copy.deepcopy(body),
            params=params,
        )
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
            store_revision_after=self._revision(),
        )
        self.exchanges.append(exchange)
        check("APISERVER-ERRORS-ARE-STATUS", exchange)
        check("APISERVER-FAILED-NO-CHANGE", exchange)
        return attrs.evolve(exchange, watch=answer.watch)

    def fetch(self, key: Key) -> dict | None:
        resource, namespace, name = key
        got = self.call("get", resource, namespace=namespace, name=name)
        return got.body if got.ok else None

    def record(
        self, key: Key, before: dict | None, after: dict | None, revision: int | None = None
    ) -> None:
        """The model's view of a change the server made (at ``revision``, by default
        the store's latest), with the checks every write gets."""
        if after is not None:
            check("APISERVER-SYSTEM-FIELDS", before, after, self.uids)
            self.uids.setdefault(after["metadata"]["uid"], "/".join(key))
            self.objects[key] = after
        else:
            self.objects.pop(key, None)
        if before is not None and key[0] == "pods":
            check("APISERVER-BIND-ONCE", before, after)
        self.changes.append((revision or self._revision(), key, before, after))
        app = ((after or {}).get("metadata", {}).get("labels") or {}).get("app")
        if app in gen.APPS:
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
        self.call(
            "create",
            "namespaces",
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
        )
        # Standing watches over each family in "default" from the start, so every
        # history has watches that see its whole sequence of changes.
        for resource in gen.FAMILIES:
            self.open_watch(resource=resource, namespace="default", selector="", start="now")

    @rule(drawn=gen.manifests())
    def create(self, drawn) -> None:
        resource, body = drawn
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
            self.record(key, before, after, revision)

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
        answer = self.call("create", resource, namespace="default", body=body)
        check("APISERVER-INVALID-REJECTED", answer, fields)

    @precondition(lambda self: "team-a" not in self.terminating)
    @rule()
    def delete_namespace(self) -> None:
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
        revision = self._revision()
        params: dict[str, Any] = {"labelSelector": selector}
        if start == "earlier" and self.changes:
            revision = self.changes[len(self.changes) // 2][0] - 1
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
        for revision, key, before, after in self.changes:
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
            "watch", "pods", namespace="default", params={"resourceVersion": str(start)}
        )
        if answer.ok:
            events = answer.watch.poll()
            answer.watch.stop()
            check("APISERVER-WATCH-EXPIRED", events, True)

    @rule()
    def poll_watches(self) -> None:
        for watch in self.watches:
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


def make_machine(factory) -> type[ApiServerMachine]:
    """The contract machine for servers built by ``factory``."""
    return type("ApiServerContract", (ApiServerMachine,), {"factory": staticmethod(factory)})


def test_the_api_server_keeps_its_contract(apiserver_factory) -> None:
    run_state_machine_as_test(make_machine(apiserver_factory))


def test_a_watch_from_a_compacted_resource_version_expires(apiserver_factory) -> None:
    server = apiserver_factory()
    body = gen.lease("old", "default", "web", "node-1")
    first = server.request("create", "leases", namespace="default", body=body)
    assert first.code == 201, first.body
    server.store.compact(server.store.revision)
    answer = server.request("watch", "leases", namespace="default", params={"resourceVersion": "1"})
    check("APISERVER-WATCH-EXPIRED", answer.watch.poll(), True)


def test_the_answers_to_malformed_requests_are_status_objects(apiserver_factory) -> None:
    server = apiserver_factory()
    malformed = [
        ("create", "pods", "default", None, "not an object", None),
        ("create", "pods", "default", None, {"kind": "Pod"}, None),
        (
            "create",
            "pods",
            "default",
            None,
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "x"}},
            None,
        ),
        (
            "create",
            "pods",
            "default",
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
            "default",
            None,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "x"},
                "spec": {"containerz": []},
            },
            {"fieldValidation": "Strict"},
        ),
        ("get", "pods", "default", "missing", None, None),
        ("get", "widgets", "default", "x", None, None),
        ("list", "pods", "default", None, None, {"labelSelector": "app in (("}),
        ("list", "pods", "default", None, None, {"fieldSelector": "spec.bogus=1"}),
        ("list", "pods", "default", None, None, {"limit": "-3"}),
        ("list", "pods", "default", None, None, {"continue": "!!!"}),
        ("patch", "pods", "default", "missing", {"metadata": {}}, None),
        ("delete", "namespaces", None, "default", None, None),
        (
            "update",
            "pods",
            "default",
            "x",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "x", "resourceVersion": "abc"},
            },
            None,
        ),
    ]
    for verb, resource, namespace, name, body, params in malformed:
        before = server.store.revision
        answer = server.request(
            verb, resource, namespace=namespace, name=name, body=body, params=params
        )
        exchange = Exchange(
            verb,
            resource,
            namespace,
            name,
            answer.code,
            answer.body,
            body,
            store_revision_before=before,
            store_revision_after=server.store.revision,
        )
        assert not answer.ok, (verb, resource, body, answer.body)
        check("APISERVER-ERRORS-ARE-STATUS", exchange)
        check("APISERVER-FAILED-NO-CHANGE", exchange)


def test_unknown_fields_are_dropped_with_a_warning_unless_validation_is_strict(
    apiserver_factory,
) -> None:
    server = apiserver_factory()
    body = json.loads(json.dumps(gen.lease("extra", "default", "web", "node-1")))
    body["spec"]["holderIdentityy"] = "typo"
    strict = server.request(
        "create", "leases", namespace="default", body=body, params={"fieldValidation": "Strict"}
    )
    assert strict.code == 400 and 'unknown field "spec.holderIdentityy"' in strict.body["message"]
    warned = server.request("create", "leases", namespace="default", body=body)
    assert warned.code == 201
    assert "holderIdentityy" not in json.dumps(warned.body)
    assert any('unknown field "spec.holderIdentityy"' in w for w in warned.warnings)
