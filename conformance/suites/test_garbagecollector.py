"""The garbage collector suite: ownerReferences, background, orphan and foreground deletion.

Contract: ``make_machine(factory)`` builds a ``RuleBasedStateMachine`` class
running an ``ApiServer`` on an ``EventLoop`` with one garbage collector built
by ``factory(connection=..., loop=..., recorder=..., watch_latency=...)`` (the
reference ``GarbageCollector`` or a mutant). Rules create Deployments,
ReplicaSets and (unscheduled, so removed at once) Pods whose ownerReferences
name any subset of the objects created so far (live or gone, sometimes with
``blockOwnerDeletion``), recreate a gone owner under its old name (a new uid),
delete objects in the background, or with the ``orphan`` or
``foregroundDeletion`` finalizer set first (the API server does not yet turn a
delete's propagationPolicy into them), and let time pass. A ``Tap`` between
the components and the API server records the collector's deletes with the
owners stored at that instant, and every removal from the store with the
objects then blocking it. After every step the invariants of
spec/garbagecollector.md are evaluated through ``check``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
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
from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.client import Connection, EventRecorder
from kubeprop.reference.controllers.garbagecollector import BY_KIND, GarbageCollector
from kubeprop.reference.loop import EventLoop
from kubeprop.spec.invariants.garbagecollector import GcDelete, Removal

Manifest = dict[str, Any]

WATCH_LATENCY = 0.2
BOUND = 10 * WATCH_LATENCY + 1.0  # how long a cascade step may take
NAMESPACE = "default"
KINDS = {
    "deployments": ("apps/v1", "Deployment"),
    "replicasets": ("apps/v1", "ReplicaSet"),
    "pods": ("v1", "Pod"),
}
MODES = ("Background", "Orphan", "Foreground")
STEPS = (0.2, 1.0, 3.0, 10.0)


def manifest(resource: str, name: str, owners: list[Manifest]) -> Manifest:
    api_version, kind = KINDS[resource]
    meta: Manifest = {"name": name, "labels": {"app": "gc"}}
    if owners:
        meta["ownerReferences"] = owners
    body: Manifest = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    template = {
        "metadata": {"labels": {"app": "gc"}},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
    }
    if resource == "pods":
        body["spec"] = template["spec"]
    else:
        body["spec"] = {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "gc"}},
            "template": template,
        }
    return body


@attrs.define(eq=False)
class Tap:
    """Records the collector's deletes and every removal from the store, with instants."""

    server: ApiServer
    loop: EventLoop
    deletes: list[GcDelete] = attrs.field(factory=list)  # the collector's deletes
    removals: list[Removal] = attrs.field(factory=list)  # objects leaving the store
    removed_at: dict[str, float] = attrs.field(factory=dict)  # uid -> when it left the store

    def stored(self) -> list[Manifest]:
        objects = []
        for resource, (api_version, kind) in KINDS.items():
            for item in self.server.list(resource, NAMESPACE).body["items"]:
                objects.append({"apiVersion": api_version, "kind": kind, **item})
        return objects

    def read(self, resource: str, name: str | None) -> Manifest | None:
        answer = self.server.get(resource, name or "", NAMESPACE)
        return answer.body if answer.ok else None

    def owners_of(self, obj: Manifest) -> dict[str, Manifest | None]:
        owners = {}
        for ref in obj["metadata"].get("ownerReferences") or []:
            resource = BY_KIND.get((ref.get("apiVersion"), ref.get("kind")))
            found = self.read(resource.plural, ref.get("name")) if resource else None
            owners[ref.get("uid")] = found
        return owners

    def request(self, who, verb, resource, namespace, name, subresource, body, params):
        before = None
        if verb in ("delete", "update", "patch") and resource in KINDS and name:
            before = self.read(resource, name)
        if before is not None and verb == "delete" and who == "garbage-collector":
            self.deletes.append(GcDelete(self.loop.now, before, self.owners_of(before)))
        answer = self.server.request(
            verb,
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            body=body,
            params=params,
        )
        if before is not None and answer.ok:
            after = self.read(resource, name)
            uid = before["metadata"]["uid"]
            if after is None or after["metadata"].get("uid") != uid:
                blocking = tuple(
                    obj["metadata"]["uid"]
                    for obj in self.stored()
                    if any(
                        r.get("uid") == uid and r.get("blockOwnerDeletion") is True
                        for r in obj["metadata"].get("ownerReferences") or []
                    )
                )
                self.removals.append(Removal(self.loop.now, before, blocking))
                self.removed_at[uid] = self.loop.now
        return answer


@attrs.define(eq=False)
class Tapped:
    tap: Tap
    who: str

    def request(
        self, verb, resource, *, namespace=None, name=None, subresource=None, body=None, params=None
    ):
        return self.tap.request(
            self.who, verb, resource, namespace, name, subresource, body, params
        )


class GarbageCollectorMachine(RuleBasedStateMachine):
    """Owners, dependents, deletes and time against one garbage collector."""

    factory: Callable[..., Any] | None = None  # set by make_machine

    def __init__(self) -> None:
        super().__init__()
        self.loop = EventLoop()
        self.server = ApiServer(clock=self.loop.clock)
        self.tap = Tap(self.server, self.loop)
        self.user = Connection(Tapped(self.tap, "user"), "user")
        connection = Connection(Tapped(self.tap, "garbage-collector"), "garbage-collector")
        self.gc = self.factory(
            connection=connection,
            loop=self.loop,
            recorder=EventRecorder(connection, self.loop.clock, "garbage-collector"),
            watch_latency=WATCH_LATENCY,
        )
        self.created: list[tuple[str, str, str]] = []  # (resource, name, uid) of every object made
        self.count = 0  # names handed out
        self.deleted_by_user: set[str] = set()  # uids the user deleted
        self.orphaned: dict[str, tuple[float, tuple[str, ...]]] = {}  # owner -> (at, dependents)
        self.foreground: dict[str, float] = {}  # owner uid -> when deleted in the foreground
        self.checked_deletes = 0
        self.checked_removals = 0

    @initialize()
    def start(self) -> None:
        self.gc.start()

    def _ref(self, index: int, block: bool) -> Manifest:
        resource, name, uid = self.created[index % len(self.created)]
        api_version, kind = KINDS[resource]
        return {
            "apiVersion": api_version,
            "kind": kind,
            "name": name,
            "uid": uid,
            "blockOwnerDeletion": block,
        }

    def _create(self, resource: str, name: str, owners: list[Manifest]) -> None:
        answer = self.user.request(
            "create", resource, namespace=NAMESPACE, body=manifest(resource, name, owners)
        )
        if answer.ok:
            self.created.append((resource, name, answer.body["metadata"]["uid"]))

    @rule(
        resource=st.sampled_from(sorted(KINDS)),
        owners=st.lists(st.integers(0, 30), max_size=2, unique=True),
        block=st.booleans(),
        bogus=st.booleans(),
    )
    def create(self, resource: str, owners: list[int], block: bool, bogus: bool = False) -> None:
        """An object owned by some earlier ones (``bogus``: also by a uid never stored)."""
        refs = [self._ref(i, block) for i in owners] if self.created else []
        refs = list({ref["uid"]: ref for ref in refs}.values())
        if bogus:
            refs.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"ghost-{self.count}",
                    "uid": f"00000000-0000-4000-8000-{self.count:012d}",
                }
            )
        self.count += 1
        self._create(resource, f"{resource[:-1]}-{self.count}", refs)

    @precondition(lambda self: self.created)
    @rule(index=st.integers(0, 30))
    def recreate(self, index: int) -> None:
        """An object of a name whose object is gone comes back (with a new uid)."""
        resource, name, uid = self.created[index % len(self.created)]
        if uid in self.tap.removed_at and self.tap.read(resource, name) is None:
            self._create(resource, name, [])

    @precondition(lambda self: self.created)
    @rule(index=st.integers(0, 30), mode=st.sampled_from(MODES))
    def delete(self, index: int, mode: str) -> None:
        resource, name, uid = self.created[index % len(self.created)]
        current = self.tap.read(resource, name)
        if (
            current is None
            or current["metadata"]["uid"] != uid
            or current["metadata"].get("deletionTimestamp")
        ):
            return
        dependents = tuple(
            obj["metadata"]["uid"]
            for obj in self.tap.stored()
            if any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])
        )
        if mode != "Background":
            finalizer = "orphan" if mode == "Orphan" else "foregroundDeletion"
            current["metadata"]["finalizers"] = [finalizer]
            current["kind"], current["apiVersion"] = KINDS[resource][1], KINDS[resource][0]
            if not self.user.request(
                "update", resource, namespace=NAMESPACE, name=name, body=current
            ).ok:
                return
        body = {"propagationPolicy": mode, "preconditions": {"uid": uid}}
        if not self.user.request("delete", resource, namespace=NAMESPACE, name=name, body=body).ok:
            return
        self.deleted_by_user.add(uid)
        if mode == "Orphan":
            self.orphaned[uid] = (self.loop.now, dependents)
        elif mode == "Foreground":
            self.foreground[uid] = self.loop.now

    @rule(seconds=st.sampled_from(STEPS))
    def advance(self, seconds: float) -> None:
        self.loop.run_for(seconds)

    @invariant()
    def garbage_collector_invariants_hold(self) -> None:
        now = self.loop.now
        for delete in self.tap.deletes[self.checked_deletes :]:
            check("GC-NEVER-LIVE-OWNER", delete)
        self.checked_deletes = len(self.tap.deletes)
        objects = self.tap.stored()
        stored = {obj["metadata"]["uid"] for obj in objects}
        check("GC-DELETES-DEPENDENTS", objects, self.tap.removed_at, stored, now, BOUND)
        check("GC-ORPHANS-KEPT", self.orphaned, objects, self.deleted_by_user, now, BOUND)
        removals = self.tap.removals[self.checked_removals :]
        self.checked_removals = len(self.tap.removals)
        check("GC-FOREGROUND-WAITS", removals, self.foreground, stored, now, 4 * BOUND)


def make_machine(factory: Callable[..., Any]) -> type[GarbageCollectorMachine]:
    """The machine over garbage collectors built by ``factory``."""
    return type(
        f"GarbageCollectorMachineOf{getattr(factory, '__name__', 'SUT')}",
        (GarbageCollectorMachine,),
        {"factory": staticmethod(factory)},
    )


ReferenceGarbageCollectorMachine = make_machine(GarbageCollector)


def test_the_reference_garbage_collector_obeys_every_garbage_collector_invariant():
    run_state_machine_as_test(
        ReferenceGarbageCollectorMachine,
        settings=settings(max_examples=60, stateful_step_count=30, deadline=None),
    )
