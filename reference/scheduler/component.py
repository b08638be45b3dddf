"""kube-scheduler as a component: informers, the scheduling queue, the assume cache, binding and failure reporting.

Contract (spec/scheduler.md, section 5; upstream pkg/scheduler/schedule_one.go, eventhandlers.go,
backend/cache):
- ``start()`` watches nodes and pods. A pod without ``spec.nodeName``, not
  being deleted, whose ``spec.schedulerName`` is this scheduler's, is added to
  the ``SchedulingQueue`` (an update replaces it there; a delete, a binding
  seen by the informer or a deletionTimestamp takes it out).
- Whenever the queue has a pod ready, one scheduling cycle runs on the loop at
  the current instant (one pod per callback); timers wake the scheduler when a
  backoff ends and every 30 s to flush pods parked longer than 300 s.
- A cycle runs ``schedule_one`` over the scheduler's view: the nodes of the
  informer, the assigned pods of the informer, and the pods this scheduler
  bound that the informer does not show bound yet (the assume cache), so two
  pods are never both placed on a node that can hold one.
- A chosen node is bound through ``pods/binding``. Accepted: the pod stays
  assumed until the informer shows it bound, and a Normal event Scheduled
  "Successfully assigned <ns>/<name> to <node>" is recorded. Refused: the pod
  is forgotten from the assume cache and requeued with backoff, as a
  scheduler error.
- No node fits: a Warning event FailedScheduling with upstream's message
  (``0/N nodes are available: <histogram>. preemption: 0/N nodes are
  available: <histogram>.``), the PodScheduled condition False with reason
  Unschedulable and that message written through ``pods/status`` (only when it
  changed), and the pod parked among the unschedulable pods. An error (no
  nodes at all, a refused binding) gives reason SchedulerError and backoff.
- A node added, a node update that changes what scheduling reads
  (unschedulable, allocatable, labels, taints, conditions, annotations), and an
  assigned pod deleted move the parked pods back (``on_cluster_event``).
- Failed requests never raise out of a loop callback; ``stop()`` stops the
  informers and cancels every timer, after which nothing of it runs.
- Preemption (spec/scheduler.md, section 6.4): PostFilter runs after a cycle that
  found no node, over the same profile (DefaultPreemption). Its message follows the
  filter histogram. When it nominates a node, the victims are given the condition
  DisruptionTarget (reason PreemptionByScheduler) and deleted, each with a Normal event
  Preempted "Preempted by pod <uid> on node <node>", lower-priority pods nominated to that
  node lose their nomination, and the pod's ``status.nominatedNodeName`` is set (an empty
  nomination clears it). A later cycle tries the nominated node first, and every cycle's
  filters count the pods nominated to a node with a priority at least the pod's
  (RunFilterPluginsWithNominatedPods).
- Binding goes through the profile's Bind plugin (DefaultBinder, given the connection).
The behaviour a deliberately broken scheduler changes sits in small methods:
``wants``, ``run_cycle``, ``post_filter``, ``assume``, ``bind``, ``bound``,
``set_condition``, ``preempt``, ``nominate`` and ``on_cluster_event``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from kubeprop.reference.client import NORMAL, WARNING, Informers
from kubeprop.reference.client.informer import key_of
from kubeprop.reference.loop import EventLoop, Handle
from kubeprop.reference.scheduler import core
from kubeprop.reference.scheduler import queue as queueing
from kubeprop.reference.scheduler.framework import (
    VICTIMS_KEY,
    Code,
    CycleState,
    InvalidInput,
    NodeInfo,
    Profile,
    ScheduleResult,
    Snapshot,
    Status,
    run_filters,
    schedule_one,
)
from kubeprop.reference.scheduler.plugins import default_profile
from kubeprop.reference.scheduler.plugins.default_binder import DefaultBinder
from kubeprop.reference.scheduler.plugins.default_preemption import (
    DISRUPTION_TARGET,
    PREEMPTION_BY_SCHEDULER,
    DefaultPreemption,
)
from kubeprop.reference.scheduler.queue import QueuedPodInfo, SchedulingQueue, pod_key
from kubeprop.spec.api import dump, load
from kubeprop.spec.api.base import FrozenMap
from kubeprop.spec.api.core import Node, Pod, PodStatus
from kubeprop.spec.api.meta import ObjectMeta

Manifest = dict[str, Any]

COMPONENT = "default-scheduler"
# flushUnschedulablePodsLeftover runs every 30 s.
UNSCHEDULABLE_FLUSH_PERIOD = 30.0
# v1.PodReasonUnschedulable / v1.PodReasonSchedulerError.
REASON_UNSCHEDULABLE = "Unschedulable"
REASON_SCHEDULER_ERROR = "SchedulerError"
# The default binder's plugin name, as it appears in a refused binding's message.
DEFAULT_BINDER = "DefaultBinder"
# The DisruptionTarget condition's message on a victim: "<schedulerName>: ...".
PREEMPTING = "preempting to accommodate a higher priority pod"
# Events and conditions longer than this are truncated (upstream truncateMessage).
MESSAGE_LIMIT = 1024
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


@attrs.frozen
class Decision:
    """One scheduling cycle as the scheduler saw and ended it (what the suite checks)."""

    at: float  # simulated time of the cycle
    pod: Pod  # the pod scheduled, as popped
    snapshot: Snapshot  # the scheduler's view: informer cache plus assumed pods
    result: ScheduleResult
    bound: bool | None  # None: no node chosen; True: binding accepted; False: refused
    message: str = ""  # the FailedScheduling message, "" when bound


class Tracked(dict):
    """A dict that remembers the keys set or removed since the last ``take()`` (the
    scheduler's view reads what changed instead of rereading everything)."""

    def __init__(self) -> None:
        super().__init__()
        self.touched: set = set()

    def __setitem__(self, key, value) -> None:
        self.touched.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key) -> None:
        self.touched.add(key)
        super().__delitem__(key)

    def pop(self, key, *default):
        if key in self:
            self.touched.add(key)
        return super().pop(key, *default)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args, **kwargs) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        self.touched.update(self)
        super().clear()

    def popitem(self):
        key, value = super().popitem()
        self.touched.add(key)
        return key, value

    def take(self) -> set:
        """The keys touched since the last call."""
        touched, self.touched = self.touched, set()
        return touched


def _uid(pod: Pod) -> str:
    return (pod.metadata.uid if pod.metadata else None) or ""


def _assigned(pod: Pod) -> bool:
    return bool(pod.spec and pod.spec.node_name)


def _terminal(pod: Pod) -> bool:
    return bool(pod.status and pod.status.phase in ("Succeeded", "Failed"))


def _terminating(pod: Pod) -> bool:
    return bool(pod.metadata and pod.metadata.deletion_timestamp)


def _pod_updated(old: Manifest, new: Manifest) -> bool:
    """Whether more than the status and bookkeeping changed (upstream isPodUpdated)."""

    def strip(manifest: Manifest) -> Manifest:
        meta = {
            k: v
            for k, v in (manifest.get("metadata") or {}).items()
            if k not in ("resourceVersion", "generation", "managedFields", "finalizers")
        }
        return {**manifest, "metadata": meta, "status": None}

    return strip(old) != strip(new)


def _typed(manifest: Manifest) -> Any:
    """The typed object of a cached manifest, or None if it cannot be read.

    The API server's field-ownership bookkeeping (``metadata.managedFields``) is not
    part of the object model: kube-scheduler trims it from its informers' objects too
    (the informer transform of pkg/scheduler/scheduler.go)."""
    meta = manifest.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        manifest = {**manifest, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    try:
        return load(manifest)
    except Exception:  # noqa: BLE001 - a manifest the model cannot read is skipped
        return None


def truncate(message: str) -> str:
    if len(message) <= MESSAGE_LIMIT:
        return message
    return message[: MESSAGE_LIMIT - 3] + "..."


def histogram_message(node_count: int, reasons: Mapping[str, tuple[str, ...]]) -> str:
    """``0/N nodes are available: <sorted "count reason" list>.`` (FitError.Error)."""
    counts: dict[str, int] = {}
    for node_reasons in reasons.values():
        for reason in node_reasons:
            counts[reason] = counts.get(reason, 0) + 1
    parts = sorted(f"{count} {reason}" for reason, count in counts.items())
    return f"0/{node_count} nodes are available: {', '.join(parts)}."


def filter_nodes(
    profile: Profile, pod: Pod, snapshot: Snapshot
) -> tuple[CycleState, dict[str, Status]]:
    """PreFilter and Filter over every node, as a cycle runs them: the cycle state (what
    PostFilter reads) and every node the pod does not fit, with the status that rejected it."""
    state = CycleState(snapshot=snapshot, profile=profile)
    nodes = snapshot.node_infos
    for plugin in profile.at("pre_filter"):
        status = plugin.pre_filter(state, pod, nodes).with_plugin(plugin.name)
        if status.is_skip():
            state.skip_filter_plugins.add(plugin.name)
        elif not status.is_success():
            return state, {info.name: status for info in nodes}
    found = {}
    for info in nodes:
        status = run_filters(profile, state, pod, info)
        if not status.is_success():
            found[info.name] = status
    return state, found


def node_statuses(profile: Profile, pod: Pod, snapshot: Snapshot) -> dict[str, Status]:
    """Every node the pod does not fit, with the status of the filter that rejected it."""
    return filter_nodes(profile, pod, snapshot)[1]


def run_post_filter(
    profile: Profile, state: CycleState, pod: Pod, statuses: Mapping[str, Status]
) -> tuple[str | None, Status]:
    """RunPostFilterPlugins: the first plugin that succeeds nominates; otherwise the reasons
    of all joined, and the last nomination that is not "leave it" ("" clears it)."""
    nominated: str | None = None
    reasons: list[str] = []
    for plugin in profile.at("post_filter"):
        node, status = plugin.post_filter(state, pod, statuses)
        if status.is_success() or status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            return node, status.with_plugin(plugin.name)
        if not status.is_rejected():
            return None, status.with_plugin(plugin.name)
        if node is not None:
            nominated = node
        reasons.extend(status.reasons)
    return nominated, Status(Code.UNSCHEDULABLE, tuple(reasons))


def preemption_message(
    profile: Profile, pod: Pod, snapshot: Snapshot, statuses: Mapping[str, Status]
) -> str:
    """DefaultPreemption's PostFilter message ("" when it finds a candidate): the profile's
    PostFilter plugins, or DefaultPreemption with its defaults if the profile has none."""
    if not profile.at("post_filter"):
        profile = attrs.evolve(profile, plugins=(*profile.plugins, DefaultPreemption()))
    state = filter_nodes(profile, pod, snapshot)[0]
    return run_post_filter(profile, state, pod, statuses)[1].message()


@attrs.frozen
class WithNominatedPods:
    """A Filter plugin run as upstream's RunFilterPluginsWithNominatedPods runs the filters:
    on the node with the pods nominated to it (priority at least the pod's) added, and, if
    that passes, on the node alone. Upstream runs every filter with them, then every filter
    without; per plugin the same nodes pass, only the reported status can differ."""

    plugin: Any
    nominated: FrozenMap[str, tuple[Pod, ...]]  # node name -> pods nominated to it

    @property
    def name(self) -> str:
        return self.plugin.name

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        others = self.nominated.get(node_info.name)
        if others:
            with_others = node_info
            for other in others:
                with_others = with_others.add_pod(other)
            status = self.plugin.filter(state, pod, with_others)
            if not status.is_success():
                return status
        return self.plugin.filter(state, pod, node_info)


def with_nominated_pods(profile: Profile, nominated: Mapping[str, tuple[Pod, ...]]) -> Profile:
    """``profile`` whose Filter plugins count ``nominated`` (node -> pods) on their nodes."""
    if not nominated:
        return profile
    filters = profile.at("filter")
    wrapped = tuple(WithNominatedPods(plugin, FrozenMap(dict(nominated))) for plugin in filters)
    points = FrozenMap({**profile.points, "filter": tuple(p.name for p in filters)})
    return attrs.evolve(profile, plugins=(*profile.plugins, *wrapped), points=points)


# profile -> the same profile without PostFilter plugins (the component runs PostFilter
# itself, to read its message); one entry per profile seen, rebuilt when the profile changes.
_WITHOUT_POST_FILTER: dict[int, tuple[Profile, Profile]] = {}


def without_post_filter(profile: Profile) -> Profile:
    """``profile`` with no plugin enabled at PostFilter."""
    found = _WITHOUT_POST_FILTER.get(id(profile))
    if found is not None and found[0] is profile:
        return found[1]
    stripped = attrs.evolve(profile, points=FrozenMap({**profile.points, "post_filter": ()}))
    if len(_WITHOUT_POST_FILTER) > 64:
        _WITHOUT_POST_FILTER.clear()
    _WITHOUT_POST_FILTER[id(profile)] = (profile, stripped)
    return stripped


def scheduler_profile(scheduler_name: str = "default-scheduler") -> Profile:
    """The default profile, with DefaultPreemption (PostFilter) and DefaultBinder (Bind) added
    if the registry's default profile lacks them (kube-scheduler's default profile has both)."""
    profile = default_profile(scheduler_name)
    extra = []
    if not profile.at("post_filter"):
        extra.append(DefaultPreemption())
    if not profile.at("bind"):
        extra.append(DefaultBinder())
    return attrs.evolve(profile, plugins=(*profile.plugins, *extra)) if extra else profile


def _node_scheduling_view(node: Node) -> tuple:
    """What scheduling reads of a node (upstream nodeSchedulingPropertiesChange)."""
    manifest = dump(node)
    spec, status = manifest.get("spec") or {}, manifest.get("status") or {}
    meta = manifest.get("metadata") or {}
    conditions = [
        {k: v for k, v in c.items() if k != "lastHeartbeatTime"}
        for c in status.get("conditions") or []
    ]
    return (
        bool(spec.get("unschedulable")),
        status.get("allocatable"),
        meta.get("labels"),
        spec.get("taints"),
        conditions,
        meta.get("annotations"),
    )


@attrs.define(eq=False)
class Scheduler:
    """kube-scheduler: one profile, its queue, its cache, bound to the API server by a connection."""

    connection: Any = attrs.field(kw_only=True)  # answers request(...) like ApiServer
    loop: EventLoop = attrs.field(kw_only=True)
    recorder: Any = attrs.field(kw_only=True)  # an EventRecorder, component "default-scheduler"
    watch_latency: float = attrs.field(default=0.1, kw_only=True)
    profile: Profile = attrs.field(factory=scheduler_profile, kw_only=True)
    scheduler_name: str = attrs.field(default="default-scheduler", kw_only=True)
    seed: int = attrs.field(default=0, kw_only=True)
    pod_initial_backoff: float = attrs.field(
        default=queueing.POD_INITIAL_BACKOFF_SECONDS, kw_only=True
    )
    pod_max_backoff: float = attrs.field(default=queueing.POD_MAX_BACKOFF_SECONDS, kw_only=True)
    # Called with every Decision (the suite's window on the scheduler's view).
    observer: Callable[[Decision], object] | None = attrs.field(default=None, kw_only=True)

    # The pending pods this scheduler is responsible for (activeQ, backoffQ, parked).
    queue: SchedulingQueue = attrs.field(init=False)
    # select_host's tie-breaking randomness: random.Random(seed).
    rng: random.Random = attrs.field(init=False)
    # node name -> the node as the informer shows it.
    nodes: Tracked = attrs.field(init=False, factory=lambda: Tracked())
    # pod key -> an assigned, non-terminal pod as the informer shows it.
    assigned: Tracked = attrs.field(init=False, factory=lambda: Tracked())
    # pod key -> a pod this scheduler bound (spec.nodeName set) that the informer
    # does not show bound yet; counted on its node (SCHEDULER-NO-OVERCOMMIT).
    assumed: Tracked = attrs.field(init=False, factory=lambda: Tracked())
    # pod key -> (the pending pod, the node it is nominated to): status.nominatedNodeName as
    # the informer shows it or as this scheduler set it (upstream's PodNominator).
    nominated: dict[str, tuple[Pod, str]] = attrs.field(init=False, factory=dict)
    _informers: Informers | None = attrs.field(init=False, default=None)
    # the view as of the last snapshot, kept in step with what nodes, assigned and assumed
    # record as touched: the pod counted for each key (assigned over assumed) and its node,
    # each node's counted pods, the node names in order, their NodeInfos and positions
    _counted: dict[str, tuple[Pod, str]] = attrs.field(init=False, factory=dict)
    _members: dict[str, dict[str, Pod]] = attrs.field(init=False, factory=dict)
    _order: list[str] | None = attrs.field(init=False, default=None)
    _infos: list[NodeInfo] = attrs.field(init=False, factory=list)
    _positions: dict[str, int] = attrs.field(init=False, factory=dict)
    # the snapshot's derived lists (nodes holding pods with affinity), kept while no
    # rebuilt node gains or loses such pods
    _derived: dict[str, tuple[int, ...]] = attrs.field(init=False, factory=dict)
    # the nodes as columns for the scoring core, synced to each cycle's snapshot (a row is
    # rewritten only when its NodeInfo object changed), and where the next cycle starts
    # examining nodes (upstream's nextStartNodeIndex)
    _table: Any = attrs.field(init=False, default=None)
    _start: int = attrs.field(init=False, default=0)
    _next_cycle: Handle | None = attrs.field(init=False, default=None)  # the pending cycle
    _next_flush: Handle | None = attrs.field(init=False, default=None)  # the 30 s flush
    stopped: bool = attrs.field(init=False, default=False)  # after stop() nothing runs

    def __attrs_post_init__(self) -> None:
        self.queue = SchedulingQueue(
            pod_initial_backoff_seconds=self.pod_initial_backoff,
            pod_max_backoff_seconds=self.pod_max_backoff,
        )
        self.rng = random.Random(self.seed)
        self.profile = self._with_connection(self.profile)

    def _with_connection(self, profile: Profile) -> Profile:
        """The profile whose Bind plugins that take a connection are given this scheduler's."""
        for plugin in profile.at("bind"):
            if hasattr(plugin, "with_connection"):
                profile = profile.replace(plugin.with_connection(self.connection))
        return profile

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._informers is not None or self.stopped:
            return
        self._informers = Informers(self.connection, self.loop, poll_interval=self.watch_latency)
        nodes = self._informers.informer("nodes")
        nodes.add_handler(self._on_node_add, self._on_node_update, self._on_node_delete)
        pods = self._informers.informer("pods")
        pods.add_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)
        self._informers.start()
        self._next_flush = self.loop.call_later(UNSCHEDULABLE_FLUSH_PERIOD, self._flush)
        self._arm()

    def stop(self) -> None:
        self.stopped = True
        if self._informers is not None:
            self._informers.stop()
        for handle in (self._next_cycle, self._next_flush):
            if handle is not None:
                self.loop.cancel(handle)
        self._next_cycle = self._next_flush = None

    # -- the view ----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The nodes of the informer with its assigned pods and the assumed ones.

        Equal to ``Snapshot.of(nodes by name, pods by key)``, kept up to date the way the
        scheduler cache is: only the pods and nodes touched since the last snapshot are
        looked at, and only the NodeInfos of the nodes they are on are rebuilt, so a cycle
        costs what changed, not O(nodes + pods) work."""
        dirty: set[str] = set()
        for key in set(self.assigned.take()) | set(self.assumed.take()):
            pod = self.assigned.get(key)
            if pod is None:
                pod = self.assumed.get(key)
            was = self._counted.get(key)
            if was is not None and pod is was[0]:
                continue
            if was is not None:
                self._members.get(was[1], {}).pop(key, None)
                dirty.add(was[1])
                del self._counted[key]
            if pod is not None:
                name = (pod.spec.node_name if pod.spec else None) or ""
                self._members.setdefault(name, {})[key] = pod
                self._counted[key] = (pod, name)
                dirty.add(name)
        touched_nodes = self.nodes.take()
        if self._order is None or any(
            (name in self.nodes) != (name in self._positions) for name in touched_nodes
        ):
            self._order = sorted(self.nodes)
            self._positions = {name: i for i, name in enumerate(self._order)}
            self._infos = [self._node_info(name) for name in self._order]
            self._derived = {}
        else:
            for name in dirty | set(touched_nodes):
                where = self._positions.get(name)
                if where is not None:
                    old, new = self._infos[where], self._node_info(name)
                    if bool(old.pods_with_affinity) != bool(new.pods_with_affinity) or bool(
                        old.pods_with_required_anti_affinity
                    ) != bool(new.pods_with_required_anti_affinity):
                        self._derived = {}
                    self._infos[where] = new
        return Snapshot(tuple(self._infos), positions=self._positions, derived=self._derived)

    def _node_info(self, name: str) -> NodeInfo:
        members = self._members.get(name, {})
        return NodeInfo.of(self.nodes[name], (members[key] for key in sorted(members)))

    def wants(self, pod: Pod) -> bool:
        """Whether the pod belongs in the queue: unassigned, not being deleted, not
        terminal, and naming this scheduler."""
        return (
            not _assigned(pod)
            and not _terminating(pod)
            and not _terminal(pod)
            and self.responsible_for(pod)
        )

    def responsible_for(self, pod: Pod) -> bool:
        name = (pod.spec.scheduler_name if pod.spec else None) or "default-scheduler"
        return name == self.scheduler_name

    # -- overridable steps ---------------------------------------------------------------

    def run_cycle(self, pod: Pod, snapshot: Snapshot) -> ScheduleResult:
        """One cycle: the nominated node first (if it passes every filter it is taken
        unscored, as upstream's evaluateNominatedNode does), then every node; PostFilter
        when none fits. Filters count the pods nominated to each node."""
        pod = self.with_nomination(pod)
        profile = with_nominated_pods(self.profile, self.nominated_pods(pod))
        cycle = without_post_filter(profile)
        nominated = pod.status.nominated_node_name if pod.status else None
        info = snapshot.get(nominated) if nominated else None
        if info is not None:
            alone = attrs.evolve(snapshot, node_infos=(info,))
            result = schedule_one(cycle, pod, alone, self.rng)
            if result.node_name is not None:
                return result
        if self._table is None:
            self._table = core.NodeTable.of(snapshot.node_infos, core.KERNELS)
        result = schedule_one(
            cycle, pod, snapshot, self.rng, table=self._table, start=self._start, explain=False
        )
        if snapshot.node_infos:
            self._start = (self._start + result.visited) % len(snapshot.node_infos)
        if result.node_name is None and result.status.is_rejected():
            return self.post_filter(profile, pod, snapshot, result)
        return result

    def post_filter(
        self, profile: Profile, pod: Pod, snapshot: Snapshot, result: ScheduleResult
    ) -> ScheduleResult:
        """PostFilter over the failed cycle: its message is appended to the FitError (as
        upstream's PostFilterMsg), its nomination and victims recorded on the result
        (nominated_node_name None: leave the pod's nomination, "": clear it)."""
        if not profile.at("post_filter"):
            return result
        state, statuses = filter_nodes(profile, pod, snapshot)
        nominated, status = run_post_filter(profile, state, pod, statuses)
        message = result.status.message()
        if status.message():
            message = f"{message} {status.message()}"
        victims = tuple(state.data.get(VICTIMS_KEY, ())) if status.is_success() else ()
        return attrs.evolve(
            result,
            status=attrs.evolve(result.status, reasons=(message,)),
            nominated_node_name=nominated,
            victims=victims if nominated else (),
        )

    def with_nomination(self, pod: Pod) -> Pod:
        """The pod with the nomination this scheduler recorded, if its copy lacks it."""
        found = self.nominated.get(pod_key(pod))
        current = pod.status.nominated_node_name if pod.status else None
        if found is None or current == found[1]:
            return pod
        status = attrs.evolve(pod.status or PodStatus(), nominated_node_name=found[1])
        return attrs.evolve(pod, status=status)

    def nominated_pods(self, pod: Pod) -> dict[str, tuple[Pod, ...]]:
        """node -> the other pods nominated to it whose priority is at least the pod's."""
        found: dict[str, list[Pod]] = {}
        mine, priority = pod_key(pod), queueing.pod_priority(pod)
        for key in sorted(self.nominated):
            other, node_name = self.nominated[key]
            if key != mine and queueing.pod_priority(other) >= priority:
                found.setdefault(node_name, []).append(other)
        return {name: tuple(pods) for name, pods in found.items()}

    def assume(self, pod: Pod, node_name: str) -> None:
        """Count the pod on its node until the informer shows it bound (upstream AssumePod)."""
        spec = attrs.evolve(pod.spec, node_name=node_name)
        self.assumed[pod_key(pod)] = attrs.evolve(pod, spec=spec)

    def forget(self, pod: Pod) -> None:
        self.assumed.pop(pod_key(pod), None)

    def bind(self, pod: Pod, node_name: str) -> Status:
        """RunBindPlugins: the first Bind plugin that does not skip binds (DefaultBinder);
        a failure names the plugin, as upstream's 'running Bind plugin "X": ...'."""
        state = CycleState()
        plugins = self.profile.at("bind") or (DefaultBinder(connection=self.connection),)
        for plugin in plugins:
            status = plugin.bind(state, pod, node_name)
            if status.is_skip():
                continue
            if status.is_success():
                return status
            message = f'running Bind plugin "{plugin.name}": {status.message()}'
            return Status(Code.ERROR, (message,), plugin.name)
        return Status(Code.ERROR, ("no Bind plugin bound the pod",))

    def bound(self, info: QueuedPodInfo) -> None:
        """The binding was accepted: the pod leaves the queue."""
        self.queue.done(info.key)

    def set_condition(self, pod: Pod, reason: str, message: str) -> None:
        """PodScheduled False with ``reason`` and ``message``, unless already so."""
        manifest = dump(pod)
        conditions = list((manifest.get("status") or {}).get("conditions") or [])
        old = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        generation = (manifest.get("metadata") or {}).get("generation")
        wanted = ("False", reason, message, generation)
        if (
            old
            and (
                old.get("status"),
                old.get("reason"),
                old.get("message"),
                old.get("observedGeneration"),
            )
            == wanted
        ):
            return
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "reason": reason,
            "message": message,
            # PodObservedGenerationTracking (beta, on by default since v1.34).
            "observedGeneration": generation,
            "lastProbeTime": None,
            "lastTransitionTime": (
                old.get("lastTransitionTime")
                if old and old.get("status") == "False"
                else self.loop.clock.timestamp()
            ),
        }
        conditions = [c for c in conditions if c.get("type") != "PodScheduled"] + [condition]
        meta = pod.metadata or ObjectMeta()
        self.connection.request(
            "patch",
            "pods",
            namespace=meta.namespace,
            name=meta.name,
            subresource="status",
            body={"status": {"conditions": conditions}},
            params={"contentType": "application/merge-patch+json"},
        )

    def preempt(self, victim: Pod, preemptor: Pod, node_name: str) -> bool:
        """Evict one victim (upstream PreemptPod): the condition DisruptionTarget True with
        reason PreemptionByScheduler, then a delete with the pod's own grace period, then a
        Normal event Preempted on the victim. False if a request failed (a victim already
        gone counts as done)."""
        meta = victim.metadata or ObjectMeta()
        manifest = dump(victim)
        conditions = list((manifest.get("status") or {}).get("conditions") or [])
        scheduler = (preemptor.spec.scheduler_name if preemptor.spec else None) or COMPONENT
        wanted = {
            "type": DISRUPTION_TARGET,
            "status": "True",
            "reason": PREEMPTION_BY_SCHEDULER,
            "message": f"{scheduler}: {PREEMPTING}",
            "observedGeneration": meta.generation,
        }
        old = next((c for c in conditions if c.get("type") == DISRUPTION_TARGET), None)
        if old is None or any(old.get(k) != v for k, v in wanted.items()):
            condition = {**wanted, "lastProbeTime": None}
            condition["lastTransitionTime"] = (
                old.get("lastTransitionTime")
                if old and old.get("status") == "True"
                else self.loop.clock.timestamp()
            )
            kept = [c for c in conditions if c.get("type") != DISRUPTION_TARGET]
            answer = self.connection.request(
                "patch",
                "pods",
                namespace=meta.namespace,
                name=meta.name,
                subresource="status",
                body={"status": {"conditions": [*kept, condition]}},
                params={"contentType": "application/merge-patch+json"},
            )
            if answer.code == 404:
                return True
            if not answer.ok:
                return False
        answer = self.connection.request("delete", "pods", namespace=meta.namespace, name=meta.name)
        if answer.code == 404:
            return True
        if not answer.ok:
            return False
        uid = (preemptor.metadata.uid if preemptor.metadata else None) or ""
        self.recorder.event(
            self._reference(victim),
            NORMAL,
            "Preempted",
            f"Preempted by pod {uid} on node {node_name}",
        )
        return True

    def nominate(self, pod: Pod, node_name: str) -> None:
        """Record ``status.nominatedNodeName`` ("" clears it) in the nominator and, if it
        changed, in the API server. Upstream writes it in the same status patch as the
        PodScheduled condition; the model sends a second patch."""
        key = pod_key(pod)
        if node_name:
            self.nominated[key] = (pod, node_name)
        else:
            self.nominated.pop(key, None)
        current = (pod.status.nominated_node_name if pod.status else None) or ""
        if current == node_name:
            return
        meta = pod.metadata or ObjectMeta()
        self.connection.request(
            "patch",
            "pods",
            namespace=meta.namespace,
            name=meta.name,
            subresource="status",
            body={"status": {"nominatedNodeName": node_name or None}},
            params={"contentType": "application/merge-patch+json"},
        )

    def on_cluster_event(self, event: str) -> None:
        """A change that may make parked pods schedulable: retry them all."""
        self.queue.move_all_to_active_or_backoff(event, self.loop.now)

    # -- one cycle -------------------------------------------------------------------------

    def _cycle(self) -> None:
        self._next_cycle = None
        if self.stopped:
            return
        info = self.queue.pop(self.loop.now)
        if info is not None:
            self._schedule(info)
        self._arm()

    def _schedule(self, info: QueuedPodInfo) -> None:
        pod, now = info.pod, self.loop.now
        if _terminating(pod) or pod_key(pod) in self.assumed:
            self.queue.done(info.key)  # skipPodSchedule
            return
        snapshot = self.snapshot()
        try:
            result = self.run_cycle(pod, snapshot)
        except InvalidInput as problem:  # a pod or node the plugins cannot read
            result = ScheduleResult(node_name=None, status=Status(Code.ERROR, (str(problem),)))
        if result.node_name is None:
            message = self._unschedulable(info, snapshot, result)
            self._observe(Decision(now, pod, snapshot, result, None, message))
            return
        self.assume(pod, result.node_name)
        answer = self.bind(pod, result.node_name)
        if answer.is_success():
            self.nominated.pop(info.key, None)
            self.bound(info)
            meta = pod.metadata or ObjectMeta()
            self.recorder.event(
                self._reference(pod),
                NORMAL,
                "Scheduled",
                f"Successfully assigned {meta.namespace}/{meta.name} to {result.node_name}",
            )
            self._observe(Decision(now, pod, snapshot, result, True))
            return
        self.forget(pod)
        message = answer.message()
        self._failed(info, REASON_SCHEDULER_ERROR, message, frozenset())
        self._observe(Decision(now, pod, snapshot, result, False, message))

    def _unschedulable(
        self, info: QueuedPodInfo, snapshot: Snapshot, result: ScheduleResult
    ) -> str:
        pod = info.pod
        if not result.status.is_rejected():
            message = result.status.message() or "scheduling failed"
            self._failed(info, REASON_SCHEDULER_ERROR, message, frozenset())
            return message
        nominated = result.nominated_node_name
        message = result.status.message()
        if nominated and not self._preempt_all(pod, nominated, result.victims, snapshot):
            # A refused eviction: retried after backoff, as upstream's asynchronous
            # preemption re-activates the preemptor when an API call fails.
            self._failed(info, REASON_SCHEDULER_ERROR, message, frozenset())
            return message
        statuses = node_statuses(self.profile, pod, snapshot)
        plugins = frozenset(s.plugin for s in statuses.values() if s.plugin) or frozenset(
            {result.status.plugin or "Unknown"}
        )
        self._failed(info, REASON_UNSCHEDULABLE, message, plugins)
        if nominated is not None:
            self.nominate(pod, nominated)
        return message

    def _preempt_all(
        self, preemptor: Pod, node_name: str, victims: tuple[str, ...], snapshot: Snapshot
    ) -> bool:
        """prepareCandidate: evict every victim not already being deleted, then take the
        nomination from lower-priority pods nominated to the node. False if a request failed."""
        info = snapshot.get(node_name)
        on_node = {pod_key(p): p for p in (info.pods if info is not None else ())}
        for key in victims:
            victim = on_node.get(key)
            if victim is None or _terminating(victim):
                continue
            if not self.preempt(victim, preemptor, node_name):
                return False
        priority = queueing.pod_priority(preemptor)
        for key in sorted(self.nominated):
            other, where = self.nominated[key]
            if where == node_name and queueing.pod_priority(other) < priority:
                self.nominate(other, "")
        return True

    def _failed(
        self, info: QueuedPodInfo, reason: str, message: str, plugins: frozenset[str]
    ) -> None:
        """handleSchedulingFailure: requeue (if still pending), event, condition."""
        pod = info.pod
        if pod_key(pod) in self.queue.in_flight and pod_key(pod) not in self.assigned:
            self.queue.add_unschedulable(info, self.loop.now, plugins)
        else:
            self.queue.done(info.key)
        message = truncate(message)
        self.recorder.event(self._reference(pod), WARNING, "FailedScheduling", message)
        self.set_condition(pod, reason, message)

    def _observe(self, decision: Decision) -> None:
        if self.observer is not None:
            self.observer(decision)

    @staticmethod
    def _reference(pod: Pod) -> Manifest:
        meta = pod.metadata or ObjectMeta()
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": meta.name,
                "namespace": meta.namespace,
                "uid": meta.uid,
                "resourceVersion": meta.resource_version,
            },
        }

    # -- timers ----------------------------------------------------------------------------

    def _ready(self) -> bool:
        """Whether pop would return a pod now (activeQ, or a rejected pod in backoffQ)."""
        self.queue.flush_backoff_completed(self.loop.now)
        return bool(self.queue.active) or any(
            info.unschedulable_plugins for info in self.queue.backoff.values()
        )

    def _arm(self) -> None:
        """Schedule the next cycle: now if a pod is ready, else when the first backoff ends."""
        if self.stopped:
            return
        if self._ready():
            when = self.loop.now
        else:
            ends = [
                self.queue.backoff_expiry(info) + queueing.BACKOFF_ORDERING_WINDOW
                for info in self.queue.backoff.values()
            ]
            if not ends:
                return
            when = max(min(ends), self.loop.now)
        if self._next_cycle is not None:
            if self._next_cycle.when <= when:
                return
            self.loop.cancel(self._next_cycle)
        self._next_cycle = self.loop.call_at(when, self._cycle)

    def _flush(self) -> None:
        self._next_flush = None
        if self.stopped:
            return
        self.queue.flush(self.loop.now)
        self._next_flush = self.loop.call_later(UNSCHEDULABLE_FLUSH_PERIOD, self._flush)
        self._arm()

    # -- informer handlers -------------------------------------------------------------------

    def _on_node_add(self, manifest: Manifest) -> None:
        node = _typed(manifest)
        if node is None or node.metadata is None or not node.metadata.name:
            return
        self.nodes[node.metadata.name] = node
        self.on_cluster_event(queueing.NODE_ADD)
        self._arm()

    def _on_node_update(self, old: Manifest, new: Manifest) -> None:
        node = _typed(new)
        if node is None or node.metadata is None or not node.metadata.name:
            return
        before = self.nodes.get(node.metadata.name)
        self.nodes[node.metadata.name] = node
        if before is None:
            self.on_cluster_event(queueing.NODE_ADD)
        elif _node_scheduling_view(before) != _node_scheduling_view(node):
            self.on_cluster_event(queueing.NODE_UPDATE)
        self._arm()

    def _on_node_delete(self, manifest: Manifest) -> None:
        self.nodes.pop(str((manifest.get("metadata") or {}).get("name")), None)

    def _on_pod_add(self, manifest: Manifest) -> None:
        self._on_pod_update(None, manifest)

    def _on_pod_update(self, old: Manifest | None, new: Manifest) -> None:
        pod = _typed(new)
        if pod is None:
            return
        key = pod_key(pod)
        if _assigned(pod):
            self.assumed.pop(key, None)  # confirmed: the informer shows it bound
            if _terminal(pod):
                if self.assigned.pop(key, None) is not None:
                    self.on_cluster_event(queueing.POD_DELETE)
            else:
                self.assigned[key] = pod
        self._track_nomination(key, pod)
        if not self.wants(pod):
            self.queue.delete(pod)
        elif key in self.queue.unschedulable and old is not None and not _pod_updated(old, new):
            # Only the status changed (our own condition, say): it stays parked.
            self.queue.unschedulable[key] = attrs.evolve(self.queue.unschedulable[key], pod=pod)
        else:
            self.queue.add(pod, self.loop.now)
        self._arm()

    def _track_nomination(self, key: str, pod: Pod) -> None:
        """Keep the nominator in step with the informer: a pending pod of this scheduler
        nominated to a node is recorded; one assigned, terminating or not ours is dropped. A
        copy without a nomination keeps the one this scheduler has just set (upstream keeps
        it too: the informer may not show the status patch yet)."""
        node_name = pod.status.nominated_node_name if pod.status else None
        if not self.wants(pod):
            self.nominated.pop(key, None)
        elif node_name:
            self.nominated[key] = (pod, node_name)
        elif key in self.nominated:
            self.nominated[key] = (pod, self.nominated[key][1])

    def _on_pod_delete(self, manifest: Manifest) -> None:
        key = key_of(manifest)
        pod = _typed(manifest)
        if pod is None:
            namespace, _, name = key.partition("/")
            pod = Pod(metadata=ObjectMeta(name=name, namespace=namespace))
        self.queue.delete(pod)
        self.nominated.pop(key, None)
        was_assigned = self.assigned.pop(key, None) is not None
        was_assumed = self.assumed.pop(key, None) is not None
        if was_assigned or was_assumed or _assigned(pod):
            self.on_cluster_event(queueing.POD_DELETE)
        self._arm()
