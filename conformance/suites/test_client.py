"""The client machinery contract (spec/client.md) as a Hypothesis state machine.

Rules are writes to an API server (create, update, delete of a few leases),
faults (the server closes an informer's watch; the store is compacted, so a
watch resumed later may be answered 410 Expired; a watch expires: node
heartbeats move the revision on, the store is compacted and the watch is
closed, so the informer is answered 410 Expired and must list again),
simulated time, the outcomes a reconciler returns, and direct calls on a work
queue. Two informers (all leases; leases labelled app=web) watch the server
through a recorder of their exchanges; the first feeds a Controller through a
work queue.

After every step the safety and contract invariants ``CLIENT-*`` are checked on
what was observed from outside: the states every object had in the store
(from the answers of the writes), the handler notifications, the informers'
requests and watch events, and the calls made on the queues. At teardown the
informers are given simulated time to settle and their caches must equal a
fresh list (CLIENT-INFORMER-CONVERGES).

``make_machine(...)`` takes the informer, queue and controller factories, so
the mutant suite runs the same rules against deliberately broken ones.

Against a shared, live server (no ``store`` attribute, as ``--sut
kube+http://...``) each example works in a namespace of its own
(``fresh_namespace``), created at its start and deleted at its teardown; the
``compact`` and ``expire_watch`` faults are left out (an HTTP SUT offers no
store to compact), and the test of relisting after an expired watch, which
needs compaction, is skipped with that reason.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from kubeprop.conformance.report import check
from kubeprop.conformance.suites.test_apiserver_contract import (
    LIVE_OMISSIONS,
    delete_namespaces,
    fresh_namespace,
    is_live,
    run_machine,
)
from kubeprop.reference.client import Controller, Informer, Result, WorkQueue, split_key
from kubeprop.reference.client.informer import key_of, list_items, resource_version
from kubeprop.reference.loop import EventLoop
from kubeprop.spec.invariants.client import ReconcileStep

NAMESPACE = "default"
NAMES = ("a", "b", "c")
APPS = ("web", "db")
SELECTORS = ("", "app=web")
OUTCOMES = ("success", "error", "requeue", "requeue_after")
SETTLE_SECONDS = 1.0
# Where kubelets renew their node Leases (a write every 10 s per node): writes no informer
# here watches, which move the store's revision on all the same, as every write does.
# https://kubernetes.io/docs/concepts/architecture/leases/#node-heart-beats
HEARTBEAT_NAMESPACE, HEARTBEAT_NODE = "kube-node-lease", "node-1"
HEARTBEAT_EPOCH, HEARTBEAT_SECONDS = datetime(2026, 1, 1), 10
# Examples and steps against a live server: every request is a network round trip.
LIVE_EXAMPLES, LIVE_STEPS = 6, 25


class RecordingStream:
    """A watch stream whose polled events are written to the informer's exchanges."""

    def __init__(self, stream: Any, exchanges: list[tuple[Any, ...]]):
        self.stream = stream
        self.exchanges = exchanges

    @property
    def stopped(self) -> bool:
        return self.stream.stopped

    def poll(self) -> list[dict[str, Any]]:
        events = self.stream.poll()
        for event in events:
            code = (event.get("object") or {}).get("code", 0) if event["type"] == "ERROR" else 0
            self.exchanges.append(("event", event["type"], code))
        return events

    def stop(self) -> None:
        self.stream.stop()


class RecordingServer:
    """The API server as one informer sees it: every request and watch event recorded."""

    def __init__(self, server: Any):
        self.server = server
        self.exchanges: list[tuple[Any, ...]] = []  # ("list"|"watch", code), ("event", type, code)
        self.streams: list[RecordingStream] = []  # every watch opened, oldest first

    def request(self, verb: str, resource: str, **kwargs: Any) -> Any:
        answer = self.server.request(verb, resource, **kwargs)
        self.exchanges.append((verb, answer.code))
        if answer.watch is not None:
            stream = RecordingStream(answer.watch, self.exchanges)
            self.streams.append(stream)
            return attrs.evolve(answer, watch=stream)
        return answer


class RecordingQueue:
    """A work queue whose calls are recorded (CLIENT-WORKQUEUE-*, CLIENT-RECONCILE-OUTCOMES)."""

    def __init__(self, queue: Any, loop: EventLoop):
        self.queue = queue
        self.loop = loop
        self.calls: list[tuple[Any, ...]] = []  # get/done/rate_limited/forget, in call order
        self.step: list[tuple[Any, ...]] | None = None  # the calls of the reconcile in progress

    def _log(self, *call: Any) -> None:
        if self.step is not None:
            self.step.append(call)

    def add(self, key: Hashable) -> None:
        self.queue.add(key)

    def get(self) -> Hashable | None:
        key = self.queue.get()
        if key is not None:
            self.calls.append(("get", key))
        return key

    def done(self, key: Hashable) -> None:
        self._log("done")
        self.step = None
        self.calls.append(("done", key))
        self.queue.done(key)

    def add_after(self, key: Hashable, delay: float) -> None:
        self._log("add_after", delay)
        self.queue.add_after(key, delay)

    def add_rate_limited(self, key: Hashable) -> float:
        self._log("add_rate_limited")
        now = self.loop.now
        delay = self.queue.add_rate_limited(key)
        self.calls.append(("rate_limited", key, now, delay))
        return delay

    def forget(self, key: Hashable) -> None:
        self._log("forget")
        self.calls.append(("forget", key))
        self.queue.forget(key)

    def num_requeues(self, key: Hashable) -> int:
        return self.queue.num_requeues(key)

    def on_ready(self, listener: Callable[[], object]) -> None:
        self.queue.on_ready(listener)

    def snapshot(self) -> Any:
        return self.queue.snapshot()


def _lease(name: str, app: str, holder: str, namespace: str = NAMESPACE) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "spec": {"holderIdentity": holder},
    }


def _visible(selector: str, app: str | None) -> bool:
    """The machine's own reading of its two selectors."""
    return app is not None and (selector == "" or selector == f"app={app}")


def make_machine(
    server_factory: Callable[[], Any] | None = None,
    informer_factory: Callable[..., Any] = Informer,
    queue_factory: Callable[[EventLoop], Any] = WorkQueue,
    controller_factory: Callable[..., Any] = Controller,
) -> type[RuleBasedStateMachine]:
    def new_server() -> Any:
        if server_factory is not None:
            return server_factory()
        from kubeprop.reference.apiserver import ApiServer

        return ApiServer()

    class ClientMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = EventLoop()
            self.server = new_server()
            # The example's namespace: "default", or on a live server one of its own.
            self.live = is_live(self.server)
            self.namespace = fresh_namespace("client") if self.live else NAMESPACE
            if self.live:
                body = {"apiVersion": "v1", "kind": "Namespace"}
                body["metadata"] = {"name": self.namespace}
                created = self.server.request("create", "namespaces", body=body)
                assert created.ok, f"cannot create namespace {self.namespace}: {created.body}"
            # selector -> key -> the states visible through it, from the write answers.
            self.stored: dict[str, dict[str, list[str]]] = {s: {} for s in SELECTORS}
            self.apps: dict[str, str] = {}  # key -> the app label it has now (absent: deleted)
            self.recorders: dict[str, RecordingServer] = {}
            self.informers: dict[str, Any] = {}
            # selector -> key -> the states its handlers reported.
            self.observed: dict[str, dict[str, list[str]]] = {s: {} for s in SELECTORS}
            self.notifications: dict[str, list[tuple[str, str, str, str]]] = {}
            self.queue = RecordingQueue(queue_factory(self.loop), self.loop)
            self.raw = RecordingQueue(queue_factory(self.loop), self.loop)
            self.heartbeats = 0  # node Lease renewals made by expire_watch (its renewTime)
            self.held: list[str] = []  # keys got from the raw queue and not yet done
            self.plan: dict[str, tuple[str, float]] = {}  # key -> planned outcome
            self.steps: list[ReconcileStep] = []  # every reconcile, in order
            self.judged = 0  # how many of steps CLIENT-RECONCILE-OUTCOMES has checked
            self._step: tuple[str, str, float | None, list] | None = None
            for selector in SELECTORS:
                self._start_informer(selector)
            self.controller = controller_factory("leases", self.queue, self._reconcile, self.loop)
            self.lister = self.informers[""].lister()

        # ---------------------------------------------------------------- wiring

        def _start_informer(self, selector: str) -> None:
            recorder = RecordingServer(self.server)
            informer = informer_factory(
                recorder, "leases", self.loop, namespace=self.namespace, label_selector=selector
            )
            observed, notes = self.observed[selector], []

            def on_add(new: dict) -> None:
                key = key_of(new)
                observed.setdefault(key, []).append(resource_version(new))
                notes.append(("add", key, "", resource_version(new)))
                if selector == "":
                    self.queue.add(key)

            def on_update(old: dict, new: dict) -> None:
                key = key_of(new)
                observed.setdefault(key, []).append(resource_version(new))
                notes.append(("update", key, resource_version(old), resource_version(new)))
                if selector == "":
                    self.queue.add(key)

            def on_delete(last: dict) -> None:
                key = key_of(last)
                observed.setdefault(key, []).append("")
                notes.append(("delete", key, resource_version(last), ""))
                if selector == "":
                    self.queue.add(key)

            informer.add_handler(on_add, on_update, on_delete)
            informer.start()
            self.recorders[selector] = recorder
            self.informers[selector] = informer
            self.notifications[selector] = notes

        def _reconcile(self, key: str) -> Result:
            outcome, after = self.plan.get(key, ("success", 0.0))
            calls: list[tuple[Any, ...]] = []
            self.queue.step = calls
            self.steps.append(ReconcileStep(key, outcome, after, calls))  # calls filled in later
            namespace, name = split_key(key)
            self.lister.get(namespace, name)  # level-triggered: read the current state
            if outcome == "error":
                raise RuntimeError(f"reconcile of {key} failed on purpose")
            if outcome == "requeue":
                return Result(requeue=True)
            if outcome == "requeue_after":
                return Result(requeue_after=after)
            return Result()

        def _record(self, key: str, manifest: dict | None) -> None:
            app = ((manifest or {}).get("metadata", {}).get("labels") or {}).get("app")
            if manifest is None:
                self.apps.pop(key, None)
            else:
                self.apps[key] = app
            for selector in SELECTORS:
                state = resource_version(manifest) if _visible(selector, app) else ""
                self.stored[selector].setdefault(key, []).append(state)

        def _heartbeat(self) -> None:
            """A kubelet renews its node Lease: a write the informers here do not see."""
            self.heartbeats += 1
            renew = HEARTBEAT_EPOCH + timedelta(seconds=HEARTBEAT_SECONDS * self.heartbeats)
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": HEARTBEAT_NODE, "namespace": HEARTBEAT_NAMESPACE},
                "spec": {
                    "holderIdentity": HEARTBEAT_NODE,
                    "renewTime": renew.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                },
            }
            where = {"namespace": HEARTBEAT_NAMESPACE}
            current = self.server.request("get", "leases", name=HEARTBEAT_NODE, **where)
            if current.code == 200:
                body["metadata"] = current.body["metadata"]
                answer = self.server.request(
                    "update", "leases", name=HEARTBEAT_NODE, body=body, **where
                )
            else:
                answer = self.server.request("create", "leases", body=body, **where)
            assert answer.ok, f"the node Lease was not renewed: {answer.body}"

        # ---------------------------------------------------------------- writes

        @rule(
            name=st.sampled_from(NAMES),
            app=st.sampled_from(APPS),
            outcome=st.sampled_from(OUTCOMES),
        )
        def create(self, name: str, app: str, outcome: str = "success") -> None:
            """Create a lease; its reconciles will end with ``outcome``."""
            self.plan[f"{self.namespace}/{name}"] = (outcome, 0.05)
            answer = self.server.request(
                "create",
                "leases",
                namespace=self.namespace,
                body=_lease(name, app, "one", self.namespace),
            )
            if answer.code == 201:
                self._record(key_of(answer.body), answer.body)

        @rule(
            name=st.sampled_from(NAMES),
            app=st.sampled_from(APPS),
            holder=st.sampled_from(("one", "two")),
        )
        def update(self, name: str, app: str, holder: str) -> None:
            current = self.server.request("get", "leases", namespace=self.namespace, name=name)
            if current.code != 200:
                return
            body = current.body
            body["metadata"]["labels"] = {"app": app}
            body["spec"]["holderIdentity"] = holder
            answer = self.server.request(
                "update", "leases", namespace=self.namespace, name=name, body=body
            )
            if answer.code == 200 and resource_version(answer.body) != resource_version(body):
                self._record(key_of(answer.body), answer.body)

        @rule(name=st.sampled_from(NAMES))
        def delete(self, name: str) -> None:
            answer = self.server.request("delete", "leases", namespace=self.namespace, name=name)
            if answer.code == 200:
                self._record(f"{self.namespace}/{name}", None)

        # ---------------------------------------------------------------- faults and time

        @rule()
        def compact(self) -> None:
            if self.live:
                return  # LIVE_OMISSIONS["compaction"]
            store = self.server.store
            if store.revision > store.compact_revision:
                store.compact(store.revision)

        @precondition(lambda self: not self.live)  # LIVE_OMISSIONS["compaction"]
        @rule(selector=st.sampled_from(SELECTORS))
        def expire_watch(self, selector: str) -> None:
            """The informer's watch ends after the history it would resume from was compacted.

            Two node heartbeats move the revision past anything the informer has seen, the
            store keeps only the current revision, and the watch ends: resumed from the
            informer's last resourceVersion it is answered 410 Expired ("too old resource
            version"), so the informer must list again (CLIENT-INFORMER-RELIST). This is how
            a quiet informer meets 410 in a cluster: other writes advance the one global
            revision, etcd's history is compacted, and its watch times out."""
            self._heartbeat()
            self._heartbeat()
            store = self.server.store
            store.compact(store.revision)
            self.close_watch(selector)

        @rule(selector=st.sampled_from(SELECTORS))
        def close_watch(self, selector: str) -> None:
            """The API server ends a watch (as on its timeout); the informer must resume."""
            streams = self.recorders[selector].streams
            if streams:
                streams[-1].stop()

        @rule(seconds=st.sampled_from((0.05, 0.1, 0.3, 1.0)))
        def step(self, seconds: float) -> None:
            self.loop.run_for(seconds)

        @rule(
            name=st.sampled_from(NAMES),
            outcome=st.sampled_from(OUTCOMES),
            after=st.sampled_from((0.05, 0.5)),
        )
        def plan_reconcile(self, name: str, outcome: str, after: float) -> None:
            """From now on, reconciles of this lease end with ``outcome``."""
            self.plan[f"{self.namespace}/{name}"] = (outcome, after)

        # ---------------------------------------------------------------- the raw queue

        @rule(name=st.sampled_from(NAMES))
        def queue_add(self, name: str) -> None:
            self.raw.add(name)

        @rule()
        def queue_get(self) -> None:
            key = self.raw.get()
            if key is not None:
                self.held.append(key)

        @precondition(lambda self: self.held)
        @rule(index=st.integers(0, 5))
        def queue_done(self, index: int) -> None:
            self.raw.done(self.held.pop(index % len(self.held)))

        @rule(name=st.sampled_from(NAMES))
        def queue_add_rate_limited(self, name: str) -> None:
            self.raw.add_rate_limited(name)

        @rule(name=st.sampled_from(NAMES))
        def queue_forget(self, name: str) -> None:
            self.raw.forget(name)

        @rule(name=st.sampled_from(NAMES), delay=st.sampled_from((0.0, 0.05, 0.5)))
        def queue_add_after(self, name: str, delay: float) -> None:
            self.raw.add_after(name, delay)

        # ---------------------------------------------------------------- invariants

        @invariant()
        def informers_follow_the_store(self) -> None:
            for selector in SELECTORS:
                check(
                    "CLIENT-INFORMER-SUBSEQUENCE",
                    self.stored[selector],
                    self.observed[selector],
                )
                check("CLIENT-HANDLERS-ORDERED", self.notifications[selector])
                check("CLIENT-INFORMER-RELIST", self.recorders[selector].exchanges)

        @invariant()
        def queues_keep_their_promises(self) -> None:
            for queue in (self.queue, self.raw):
                state = queue.snapshot()
                check("CLIENT-WORKQUEUE-DEDUP", state.queue, state.dirty, state.processing)
                check("CLIENT-WORKQUEUE-EXCLUSIVE", queue.calls)
                check("CLIENT-WORKQUEUE-BACKOFF", queue.calls)
            # One worker: reconciles finish in the order they start. Each is checked once.
            finished = self.judged
            while finished < len(self.steps) and self.steps[finished].calls[-1:] == [("done",)]:
                finished += 1
            check("CLIENT-RECONCILE-OUTCOMES", self.steps[self.judged : finished])
            self.judged = finished

        def teardown(self) -> None:
            self.loop.run_for(SETTLE_SECONDS)
            self.informers_follow_the_store()
            self.queues_keep_their_promises()
            for selector in SELECTORS:
                params = {"labelSelector": selector} if selector else {}
                answer = self.server.request(
                    "list", "leases", namespace=self.namespace, params=params
                )
                cached = {key_of(item): item for item in self.informers[selector].lister().list()}
                check("CLIENT-INFORMER-CONVERGES", cached, list_items(answer.body))
            if self.live:
                for recorder in self.recorders.values():
                    for stream in recorder.streams:
                        stream.stop()
                delete_namespaces(self.server, [self.namespace])

    return ClientMachine


def test_informers_queues_and_controllers_keep_the_client_contract(apiserver_factory) -> None:
    run_machine(make_machine(apiserver_factory), apiserver_factory, LIVE_EXAMPLES, LIVE_STEPS)


def test_an_informer_relists_after_its_watch_expires(apiserver_factory) -> None:
    loop = EventLoop()
    server = apiserver_factory()
    if is_live(server):
        pytest.skip(f"needs compaction: {LIVE_OMISSIONS['compaction']}")
    recorder = RecordingServer(server)
    informer = Informer(recorder, "leases", loop, namespace=NAMESPACE)
    seen: list[tuple[str, str]] = []
    informer.add_handler(
        lambda new: seen.append(("add", key_of(new))),
        lambda old, new: seen.append(("update", key_of(new))),
        lambda last: seen.append(("delete", key_of(last))),
    )
    server.request("create", "leases", namespace=NAMESPACE, body=_lease("a", "web", "one"))
    informer.start()
    loop.run_for(0.5)
    recorder.streams[-1].stop()
    server.request("delete", "leases", namespace=NAMESPACE, name="a")
    server.request("create", "leases", namespace=NAMESPACE, body=_lease("b", "db", "one"))
    server.store.compact(server.store.revision)
    loop.run_for(0.5)
    assert ("event", "ERROR", 410) in recorder.exchanges
    check("CLIENT-INFORMER-RELIST", recorder.exchanges)
    answer = server.request("list", "leases", namespace=NAMESPACE)
    cached = {key_of(item): item for item in informer.lister().list()}
    check("CLIENT-INFORMER-CONVERGES", cached, list_items(answer.body))
    assert seen == [("add", "default/a"), ("delete", "default/a"), ("add", "default/b")]


@pytest.mark.parametrize("selector", SELECTORS)
def test_the_expire_watch_fault_makes_a_caught_up_informer_relist(
    apiserver_factory, selector: str
) -> None:
    if is_live(apiserver_factory()):
        pytest.skip(f"needs compaction: {LIVE_OMISSIONS['compaction']}")
    machine = make_machine(apiserver_factory)()
    machine.create("a", "web")
    machine.step(1.0)  # both informers have seen everything there is
    requests = len(machine.recorders[selector].exchanges)
    machine.expire_watch(selector)
    machine.step(1.0)
    exchanges = machine.recorders[selector].exchanges[requests:]
    expired = exchanges.index(("event", "ERROR", 410))
    requested = [exchange for exchange in exchanges[expired:] if exchange[0] != "event"]
    assert requested[:1] == [("list", 200)]
    assert not check("CLIENT-INFORMER-RELIST", machine.recorders[selector].exchanges).vacuous
    machine.teardown()
