"""The scheduling framework: extension points, statuses, cycle state, node infos, profiles, schedule_one.

Contract (https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/):
- A plugin implements one or more extension points, each a Protocol below with
  its contract. A plugin keeps no per-pod state: whatever one step computes for
  a later step of the same cycle goes into the ``CycleState`` of that cycle.
- ``schedule_one(profile, pod, snapshot, rng)`` is one scheduling cycle, pure
  apart from the seeded ``rng``: PreFilter (once), Filter (every node, plugins in
  order, stopping at the first rejection), PostFilter when no node is feasible,
  then, for two or more feasible nodes, PreScore, Score, NormalizeScore, the
  weighted sum, and the node with the highest total (ties broken uniformly by
  ``rng``, as upstream's selectHost does with reservoir sampling). It never
  mutates the snapshot; ``Snapshot.assume`` gives the snapshot after binding.
- Node infos are values: ``NodeInfo.add_pod`` returns a new node info whose
  requested and non-zero requested resources include the pod.
- Bad input (a node without a name, a pod without a spec) never escapes as a
  traceback: it is rejected with ``InvalidInput`` naming the field path, or
  handled as Kubernetes handles it.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from kubeprop.reference.scheduler import resources
from kubeprop.reference.scheduler.helper import MAX_NODE_SCORE, MIN_NODE_SCORE
from kubeprop.spec.api.base import FrozenMap
from kubeprop.spec.api.core import Node, Pod

# Where a PostFilter plugin that nominates a node writes, in the cycle state, the
# namespace/name of the pods to evict for it (preemption's victims).
VICTIMS_KEY = "PostFilter/victims"


class InvalidInput(ValueError):
    """The scheduler was given an object it cannot read; the message names the field."""


# -- status -----------------------------------------------------------------------


class Code(enum.Enum):
    """The outcome of running a plugin (framework.Code)."""

    SUCCESS = "Success"
    ERROR = "Error"
    UNSCHEDULABLE = "Unschedulable"
    UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
    WAIT = "Wait"
    SKIP = "Skip"


@attrs.frozen
class Status:
    """What a plugin said: a code, the reasons (shown to users) and the plugin's name."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    plugin: str = ""

    def is_success(self) -> bool:
        return self.code is Code.SUCCESS

    def is_skip(self) -> bool:
        return self.code is Code.SKIP

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def message(self) -> str:
        return ", ".join(self.reasons)

    def with_plugin(self, plugin: str) -> Status:
        return self if self.plugin else attrs.evolve(self, plugin=plugin)


SUCCESS = Status()
SKIP = Status(Code.SKIP)


def unschedulable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons)


def unresolvable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons)


def error(*reasons: str) -> Status:
    return Status(Code.ERROR, reasons)


# -- cycle state ---------------------------------------------------------------------


@attrs.define
class CycleState:
    """Per-cycle scratch space shared by the plugins of one scheduling cycle."""

    # key -> what a plugin computed earlier in this cycle (PreFilter -> Filter,
    # PreScore -> Score); created empty for every cycle and dropped after it.
    data: dict[str, Any] = attrs.Factory(dict)
    # plugins whose PreFilter / PreScore returned Skip in this cycle.
    skip_filter_plugins: set[str] = attrs.Factory(set)
    skip_score_plugins: set[str] = attrs.Factory(set)
    # the whole snapshot of this cycle (every node, not only the feasible ones; the
    # namespaces' labels), as upstream's SnapshotSharedLister gives plugins.
    snapshot: Snapshot | None = None
    # the profile running this cycle (PostFilter re-runs its filters, as preemption does).
    profile: Profile | None = None

    def write(self, key: str, value: Any) -> None:
        self.data[key] = value

    def read(self, key: str) -> Any:
        """The value written under ``key``; KeyError names the key."""
        try:
            return self.data[key]
        except KeyError:
            raise KeyError(f"{key!r} not found in the cycle state") from None


# -- node info and snapshot ------------------------------------------------------------


def _frozen(values: Mapping[str, int]) -> FrozenMap[str, int]:
    return FrozenMap(values)


@attrs.frozen
class NodeInfo:
    """A node with the pods assigned to it and what those pods take from it."""

    node: Node
    pods: tuple[Pod, ...] = ()
    requested: FrozenMap[str, int] = FrozenMap()  # sum of effective requests
    non_zero_requested: FrozenMap[str, int] = FrozenMap()  # cpu/memory, 100m/200Mi defaults
    allocatable: FrozenMap[str, int] = FrozenMap()
    used_ports: tuple[tuple[str, str, int], ...] = ()  # (hostIP, protocol, hostPort)
    image_states: FrozenMap[str, int] = FrozenMap()  # image name -> size in bytes
    # the pods stating pod affinity or anti-affinity, and those with required anti-affinity
    # (upstream's PodsWithAffinity and PodsWithRequiredAntiAffinity)
    pods_with_affinity: tuple[Pod, ...] = ()
    pods_with_required_anti_affinity: tuple[Pod, ...] = ()

    @property
    def name(self) -> str:
        return self.node.metadata.name  # type: ignore[union-attr]

    @classmethod
    def of(cls, node: Node, pods: Iterable[Pod] = ()) -> NodeInfo:
        if node.metadata is None or not node.metadata.name:
            raise InvalidInput("Node.metadata.name: Required value")
        images = {}
        for image in node.status.images if node.status else ():
            for name in image.names:
                images[name] = image.size_bytes or 0
        pods = tuple(pods)
        requested: dict[str, int] = {}
        non_zero: dict[str, int] = {}
        for pod in pods:
            for name, value in resources.pod_requests(pod).items():
                requested[name] = requested.get(name, 0) + value
            for name, value in resources.non_zero_requests(pod).items():
                non_zero[name] = non_zero.get(name, 0) + value
        return cls(
            node=node,
            pods=pods,
            requested=_frozen(requested),
            non_zero_requested=_frozen(non_zero),
            allocatable=_frozen(resources.allocatable(node)),
            used_ports=resources.host_ports(pods) if pods else (),
            image_states=FrozenMap(images),
            pods_with_affinity=tuple(pod for pod in pods if has_pod_affinity(pod)),
            pods_with_required_anti_affinity=tuple(
                pod for pod in pods if has_required_anti_affinity(pod)
            ),
        )

    def add_pod(self, pod: Pod) -> NodeInfo:
        """This node info with ``pod`` counted on it."""
        requested = dict(self.requested)
        for name, value in resources.pod_requests(pod).items():
            requested[name] = requested.get(name, 0) + value
        non_zero = dict(self.non_zero_requested)
        for name, value in resources.non_zero_requests(pod).items():
            non_zero[name] = non_zero.get(name, 0) + value
        pods = (*self.pods, pod)
        with_affinity, with_anti = self.pods_with_affinity, self.pods_with_required_anti_affinity
        if has_pod_affinity(pod):
            with_affinity = (*with_affinity, pod)
        if has_required_anti_affinity(pod):
            with_anti = (*with_anti, pod)
        return attrs.evolve(
            self,
            pods=pods,
            requested=_frozen(requested),
            non_zero_requested=_frozen(non_zero),
            used_ports=resources.host_ports(pods),
            pods_with_affinity=with_affinity,
            pods_with_required_anti_affinity=with_anti,
        )


def _pod_affinity(pod: Pod) -> tuple[Any, Any]:
    affinity = pod.spec.affinity if pod.spec else None
    if affinity is None:
        return None, None
    return affinity.pod_affinity, affinity.pod_anti_affinity


def has_pod_affinity(pod: Pod) -> bool:
    """The pod states pod affinity or pod anti-affinity."""
    affinity, anti = _pod_affinity(pod)
    return affinity is not None or anti is not None


def has_required_anti_affinity(pod: Pod) -> bool:
    """The pod states required pod anti-affinity terms."""
    anti = _pod_affinity(pod)[1]
    return bool(anti is not None and anti.required_during_scheduling_ignored_during_execution)


@attrs.frozen
class Snapshot:
    """The cluster as one cycle sees it: node infos in a stable order (the order given)."""

    node_infos: tuple[NodeInfo, ...] = ()
    # namespace name -> its labels (namespaceSelector of pod affinity terms).
    namespaces: FrozenMap[str, FrozenMap[str, str]] = FrozenMap()
    # manifests (camelCase dicts) of the Services, ReplicationControllers, ReplicaSets and
    # StatefulSets, whose selectors give a pod's default topology spread constraints.
    workloads: tuple[Any, ...] = ()
    # node name -> position, worked out on first use and shared by the snapshots that
    # ``assume`` derives from this one (they keep the node order); not part of the value.
    _positions: dict[str, int] = attrs.field(factory=dict, eq=False, repr=False)
    # derived lists (positions of the nodes with affinity pods ...), worked out on first
    # use; shared by a snapshot ``assume`` derives when the pod bound does not change them.
    _derived: dict[str, tuple[int, ...]] = attrs.field(factory=dict, eq=False, repr=False)

    @classmethod
    def of(
        cls,
        nodes: Iterable[Node],
        pods: Iterable[Pod] = (),
        namespaces: Mapping[str, Mapping[str, str]] | None = None,
        workloads: Iterable[Any] = (),
    ) -> Snapshot:
        """Node infos of ``nodes``, with every pod whose spec.nodeName names one of them;
        ``namespaces`` maps each namespace to its labels."""
        infos = [NodeInfo.of(node) for node in nodes]
        names = [info.name for info in infos]
        if len(set(names)) != len(names):
            raise InvalidInput("Node.metadata.name: Duplicate value")
        index = {name: i for i, name in enumerate(names)}
        for pod in pods:
            where = index.get(pod.spec.node_name if pod.spec else None)  # type: ignore[arg-type]
            if where is not None:
                infos[where] = infos[where].add_pod(pod)
        labels = {name: FrozenMap(dict(value)) for name, value in (namespaces or {}).items()}
        return cls(tuple(infos), FrozenMap(labels), tuple(workloads))

    def position(self, name: str) -> int | None:
        """Where the node named ``name`` sits in ``node_infos`` (None: no such node)."""
        positions = self._positions
        if not positions and self.node_infos:
            positions.update((info.name, i) for i, info in enumerate(self.node_infos))
        return positions.get(name)

    def get(self, name: str) -> NodeInfo | None:
        where = self.position(name)
        return None if where is None else self.node_infos[where]

    def names(self) -> tuple[str, ...]:
        return tuple(info.name for info in self.node_infos)

    def assume(self, pod: Pod, node_name: str) -> Snapshot:
        """The snapshot after ``pod`` is bound to ``node_name`` (spec.nodeName set)."""
        spec = attrs.evolve(pod.spec, node_name=node_name) if pod.spec else None
        bound = attrs.evolve(pod, spec=spec)
        where = self.position(node_name)
        if where is None:
            return self
        infos = self.node_infos
        infos = (*infos[:where], infos[where].add_pod(bound), *infos[where + 1 :])
        derived = {} if has_pod_affinity(bound) else self._derived
        return Snapshot(infos, self.namespaces, self.workloads, self._positions, derived)

    def _having(self, key: str, holds: Callable[[NodeInfo], Any]) -> tuple[NodeInfo, ...]:
        positions = self._derived.get(key)
        if positions is None:
            positions = tuple(i for i, info in enumerate(self.node_infos) if holds(info))
            self._derived[key] = positions
        return tuple(self.node_infos[i] for i in positions)

    def having_pods_with_affinity(self) -> tuple[NodeInfo, ...]:
        """The node infos with a pod stating pod affinity or anti-affinity, in order."""
        return self._having("affinity", lambda info: info.pods_with_affinity)

    def having_pods_with_required_anti_affinity(self) -> tuple[NodeInfo, ...]:
        """The node infos with a pod stating required anti-affinity, in order."""
        return self._having("anti", lambda info: info.pods_with_required_anti_affinity)


# -- extension points ------------------------------------------------------------------------


class Handle:
    """What the framework offers plugins at construction (upstream framework.Handle).

    Empty for now: the plugins of this issue need nothing from it. Later issues
    add the client and the shared listers here.
    """


@runtime_checkable
class Plugin(Protocol):
    name: str


@runtime_checkable
class PreFilterPlugin(Plugin, Protocol):
    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        """Once per cycle, before any Filter. Success: go on. Skip: this plugin's
        Filter is not run in this cycle. Rejected: the pod fits no node, and every
        node is reported with this status. Error: the cycle aborts."""
        ...


@runtime_checkable
class FilterPlugin(Plugin, Protocol):
    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        """Whether the pod may run on this node: Success, or a rejection whose
        reasons say why (UnschedulableAndUnresolvable when evicting pods would not
        help). Pure: reads only its arguments and what PreFilter wrote."""
        ...


@runtime_checkable
class PostFilterPlugin(Plugin, Protocol):
    def post_filter(
        self, state: CycleState, pod: Pod, filtered: Mapping[str, Status]
    ) -> tuple[str | None, Status]:
        """Only when no node is feasible: may nominate a node (preemption).

        ``filtered`` maps every rejected node to the status (with its code) that
        rejected it; ``state.snapshot`` and ``state.profile`` give the cluster and
        the filters to re-run. A plugin nominating a node writes the namespace/name
        of the pods to evict under ``VICTIMS_KEY`` in ``state``."""
        ...


@runtime_checkable
class PreScorePlugin(Plugin, Protocol):
    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        """Once per cycle over the feasible nodes. Skip: this plugin's Score is not run."""
        ...


@runtime_checkable
class ScoreExtensions(Protocol):
    def normalize_score(
        self, state: CycleState, pod: Pod, scores: Mapping[str, int]
    ) -> tuple[dict[str, int], Status]:
        """The raw scores of every feasible node rescaled to [0, MAX_NODE_SCORE]."""
        ...


@runtime_checkable
class ScorePlugin(Plugin, Protocol):
    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        """A raw score for one feasible node; after NormalizeScore (if any) it
        must lie in [MIN_NODE_SCORE, MAX_NODE_SCORE]."""
        ...

    def score_extensions(self) -> ScoreExtensions | None: ...


@runtime_checkable
class ReservePlugin(Plugin, Protocol):
    def reserve(self, state: CycleState, pod: Pod, node_name: str) -> Status:
        """After a node is chosen, before binding: claim what the pod will use on it.
        A failure makes the framework call unreserve on every Reserve plugin."""
        ...

    def unreserve(self, state: CycleState, pod: Pod, node_name: str) -> None:
        """Undo reserve; must be idempotent and must not fail."""
        ...


@runtime_checkable
class BindPlugin(Plugin, Protocol):
    def bind(self, state: CycleState, pod: Pod, node_name: str) -> Status:
        """Bind the pod to the node (a Binding to the API server). Skip: the next Bind
        plugin decides; the first plugin that does not skip binds."""
        ...


EXTENSION_POINTS: dict[str, type] = {
    "pre_filter": PreFilterPlugin,
    "filter": FilterPlugin,
    "post_filter": PostFilterPlugin,
    "pre_score": PreScorePlugin,
    "score": ScorePlugin,
    "reserve": ReservePlugin,
    "bind": BindPlugin,
}


# -- registry and profile ----------------------------------------------------------------------

Factory = Callable[[Any, Handle], Plugin]


@attrs.frozen
class Registry:
    """Plugin name -> factory ``new(args, handle)``."""

    factories: FrozenMap[str, Factory] = FrozenMap()

    def new(self, name: str, args: Any = None, handle: Handle | None = None) -> Plugin:
        if name not in self.factories:
            known = ", ".join(sorted(self.factories))
            raise InvalidInput(f"plugin {name!r} is not registered (registered: {known})")
        return self.factories[name](args, handle or Handle())

    def merge(self, other: Mapping[str, Factory]) -> Registry:
        clash = sorted(set(self.factories) & set(other))
        if clash:
            raise InvalidInput(f"plugins registered twice: {', '.join(clash)}")
        return Registry(FrozenMap({**self.factories, **other}))


# (ids of a profile's plugins, point) -> (those plugins, the ones implementing point).
_AT: dict[tuple[tuple[int, ...], str], tuple[tuple[Plugin, ...], tuple[Plugin, ...]]] = {}


def _plugins_at(plugins: tuple[Plugin, ...], point: str) -> tuple[Plugin, ...]:
    """The plugins implementing ``point``, worked out once per plugin tuple (a Protocol
    isinstance check is slow); the plugins are kept so an id is never reused."""
    key = (tuple(map(id, plugins)), point)
    found = _AT.get(key)
    if found is None or any(a is not b for a, b in zip(found[0], plugins)):
        protocol = EXTENSION_POINTS[point]
        found = (plugins, tuple(p for p in plugins if isinstance(p, protocol)))
        if len(_AT) > 1024:
            _AT.clear()
        _AT[key] = found
    return found[1]


@attrs.frozen
class Profile:
    """One scheduler profile: the plugin instances enabled at each extension point, and weights.

    A plugin listed in ``plugins`` runs at every extension point it implements
    (as upstream's multiPoint does), in the listed order.
    """

    scheduler_name: str = "default-scheduler"
    plugins: tuple[Plugin, ...] = ()
    weights: FrozenMap[str, int] = FrozenMap()  # score plugin -> weight (default 1)
    # the share of nodes a cycle looks for feasible ones in (nodes_to_find): 0 (or None)
    # is upstream's adaptive default, 100 every node
    percentage_of_nodes_to_score: int | None = 0
    # extension point -> names of the plugins enabled there, in order, when the
    # configuration enables or disables plugins per extension point; a point not
    # listed runs every plugin of ``plugins`` implementing it (multiPoint).
    points: FrozenMap[str, tuple[str, ...]] = FrozenMap()

    @classmethod
    def build(
        cls,
        registry: Registry,
        enabled: Sequence[str | tuple[str, int]],
        *,
        args: Mapping[str, Any] | None = None,
        scheduler_name: str = "default-scheduler",
        handle: Handle | None = None,
    ) -> Profile:
        handle = handle or Handle()
        plugins, weights = [], {}
        for item in enabled:
            name, weight = (item, 1) if isinstance(item, str) else item
            if weight < 1:
                raise InvalidInput(f"plugins.score[{name}].weight: Invalid value: {weight}")
            plugins.append(registry.new(name, (args or {}).get(name), handle))
            weights[name] = weight
        return cls(scheduler_name, tuple(plugins), FrozenMap(weights))

    def at(self, point: str) -> tuple[Plugin, ...]:
        """The enabled plugins implementing extension point ``point``, in order."""
        found = _plugins_at(self.plugins, point)
        names = self.points.get(point)
        if names is None:
            return found
        by_name = {plugin.name: plugin for plugin in found}
        return tuple(by_name[name] for name in names if name in by_name)

    def weight(self, name: str) -> int:
        return self.weights.get(name, 1)

    def replace(self, plugin: Plugin) -> Profile:
        """This profile with the plugin of the same name swapped for ``plugin``."""
        return attrs.evolve(
            self, plugins=tuple(plugin if p.name == plugin.name else p for p in self.plugins)
        )


# -- one scheduling cycle ---------------------------------------------------------------------


@attrs.frozen
class ScheduleResult:
    """What one cycle decided, with everything needed to explain it."""

    node_name: str | None
    status: Status = SUCCESS
    filtered: FrozenMap[str, tuple[str, ...]] = FrozenMap()  # node -> reasons
    rejected_by: FrozenMap[str, str] = FrozenMap()  # node -> the plugin that rejected it
    feasible: tuple[str, ...] = ()
    raw_scores: FrozenMap[str, FrozenMap[str, int]] = FrozenMap()  # node -> plugin -> raw
    scores: FrozenMap[str, FrozenMap[str, int]] = FrozenMap()  # node -> plugin -> normalized
    totals: FrozenMap[str, int] = FrozenMap()  # node -> weighted sum
    nominated_node_name: str | None = None  # a PostFilter's nomination (preemption)
    victims: tuple[str, ...] = ()  # namespace/name of the pods preemption would evict
    visited: int = 0  # nodes examined to find the feasible ones (next start = start + visited)


def fit_error_message(node_count: int, filtered: Mapping[str, Sequence[str]]) -> str:
    """Upstream's FitError text: "0/3 nodes are available: 2 Insufficient cpu, ..."."""
    histogram: dict[str, int] = {}
    for reasons in filtered.values():
        for reason in reasons:
            histogram[reason] = histogram.get(reason, 0) + 1
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    return f"0/{node_count} nodes are available: {', '.join(parts)}."


def select_host(totals: Mapping[str, int], rng: random.Random) -> str:
    """The node with the highest total; ties broken uniformly by one seeded draw
    among the tied nodes, in order (upstream samples a reservoir: also uniform)."""
    best = max(totals.values())
    tied = [name for name, total in totals.items() if total == best]
    return tied[rng.randrange(len(tied))] if len(tied) > 1 else tied[0]


# numFeasibleNodesToFind: below this many nodes every node is examined.
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5


def nodes_to_find(percentage: int | None, node_count: int) -> int:
    """How many feasible nodes a cycle looks for (upstream numFeasibleNodesToFind):
    every node below 100 nodes or at 100 %; otherwise the percentage of the nodes
    (adaptive when 0 or None: 50 - nodes/125, at least 5 %), at least 100."""
    if node_count < MIN_FEASIBLE_NODES_TO_FIND or percentage == 100:
        return node_count
    if not percentage:
        percentage = max(50 - node_count // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    found = node_count * percentage // 100
    return max(found, MIN_FEASIBLE_NODES_TO_FIND)


def _fail(status: Status, **fields: Any) -> ScheduleResult:
    return ScheduleResult(node_name=None, status=status, **fields)


def run_filters(profile: Profile, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
    """Every enabled Filter in order; the first status that is not Success."""
    for plugin in profile.at("filter"):
        if plugin.name in state.skip_filter_plugins:
            continue
        status = plugin.filter(state, pod, node_info)
        if not status.is_success():
            return status.with_plugin(plugin.name)
    return SUCCESS


class _Default:
    """The default kernels: resolved when a cycle runs (``core.KERNELS``)."""


DEFAULT_KERNELS: Any = _Default()


def schedule_one(
    profile: Profile,
    pod: Pod,
    snapshot: Snapshot,
    rng: random.Random,
    *,
    select: Callable[[Mapping[str, int], random.Random], str] = select_host,
    validate_scores: bool = True,
    kernels: Any = DEFAULT_KERNELS,
    table: Any = None,
    start: int = 0,
    explain: bool = True,
) -> ScheduleResult:
    """One scheduling cycle for ``pod`` over ``snapshot``.

    Filters are examined from node ``start`` round the snapshot until the
    profile's share of feasible nodes is found (``nodes_to_find``); the result's
    ``visited`` says how many nodes that took (upstream's next start index is
    ``(start + visited) % nodes``).

    ``kernels`` runs the plugins that have a table version (``core.Accelerator``)
    over a ``core.NodeTable`` (``table``, synced to the snapshot; built when
    None) with that kernel module (default: ``core.KERNELS``); ``kernels=None``
    runs every plugin node by node. Both give the same result. ``explain=False``
    leaves out the per-node maps (filtered, feasible, scores, totals) of a
    successful cycle, which cost time at scale.

    ``select`` picks the node from the totals (upstream's selectHost);
    ``validate_scores`` makes the cycle fail with an Error when a plugin's
    normalised score leaves [0, 100], as upstream does. Both exist so that a
    deliberately broken scheduler can be built from this one (the mutants).
    """
    if pod.spec is None:
        return _fail(error("Pod.spec: Required value"))
    nodes = snapshot.node_infos
    if not nodes:
        return _fail(error("no nodes available to schedule pods"))
    state = CycleState(snapshot=snapshot, profile=profile)

    for plugin in profile.at("pre_filter"):
        status = plugin.pre_filter(state, pod, nodes).with_plugin(plugin.name)
        if status.is_skip():
            state.skip_filter_plugins.add(plugin.name)
        elif status.is_rejected():
            filtered = FrozenMap({info.name: status.reasons for info in nodes})
            message = fit_error_message(len(nodes), filtered)
            return _fail(
                attrs.evolve(status, reasons=(message,)),
                filtered=filtered,
                rejected_by=FrozenMap({info.name: plugin.name for info in nodes}),
            )
        elif not status.is_success():
            return _fail(status)

    cycle = _Cycle(profile, pod, snapshot, state, validate_scores, explain)
    if kernels is None:
        return cycle.per_node(select, rng, start)
    if kernels is DEFAULT_KERNELS:
        from kubeprop.reference.scheduler import core

        kernels = core.KERNELS
    return cycle.by_table(select, rng, start, kernels, table)


@attrs.define(eq=False)
class _Cycle:
    """The filter and score phases of one cycle, node by node or over a node table."""

    profile: Profile
    pod: Pod
    snapshot: Snapshot
    state: CycleState
    validate_scores: bool
    explain: bool
    # node -> the plugin that rejected it, once the filters have run
    rejected_by: dict[str, str] = attrs.Factory(dict)

    # -- node by node ------------------------------------------------------------------

    def per_node(self, select, rng, start: int) -> ScheduleResult:
        nodes = self.snapshot.node_infos
        limit = nodes_to_find(self.profile.percentage_of_nodes_to_score, len(nodes))
        filtered: dict[str, tuple[str, ...]] = {}
        statuses: dict[str, Status] = {}
        feasible: list[NodeInfo] = []
        visited = 0
        for j in range(len(nodes)):
            info = nodes[(start + j) % len(nodes)]
            visited += 1
            status = run_filters(self.profile, self.state, self.pod, info)
            if status.is_success():
                feasible.append(info)
                if len(feasible) >= limit:
                    break
            elif status.is_rejected():
                filtered[info.name] = status.reasons
                statuses[info.name] = status
            else:
                return _fail(status, filtered=FrozenMap(filtered))
        self.rejected_by = {name: status.plugin for name, status in statuses.items()}
        if not feasible:
            return self.post_filter(filtered, statuses, visited)
        names = tuple(info.name for info in feasible)
        if len(feasible) == 1 or not self.profile.at("score"):
            return self.trivial(names, filtered, visited, select, rng)
        failed = self.pre_score(feasible, filtered)
        if failed is not None:
            return failed
        scores: dict[str, list[int]] = {}
        raws: dict[str, list[int]] = {}
        for plugin in self.scorers():
            raw = {}
            for info in feasible:
                score, status = plugin.score(self.state, self.pod, info)
                if not status.is_success():
                    return _fail(status.with_plugin(plugin.name), filtered=FrozenMap(filtered))
                raw[info.name] = score
            final = self.normalize_map(plugin, raw)
            if isinstance(final, ScheduleResult):
                return final
            raws[plugin.name] = [raw[name] for name in names]
            scores[plugin.name] = [final[name] for name in names]
        return self.choose(names, raws, scores, filtered, visited, select, rng)

    # -- over a node table ---------------------------------------------------------------

    def by_table(self, select, rng, start: int, kernels, table) -> ScheduleResult:
        from kubeprop.reference.scheduler import core

        nodes = self.snapshot.node_infos
        if table is None or table.kernels is not kernels:
            table = core.NodeTable.of(nodes, kernels)
        else:
            table.sync(nodes)
        n = len(nodes)
        if not self.explain and select is select_host and core.FUSED is not None:
            fused = self.fused(core.FUSED, kernels, table, start, rng)
            if fused is not None:
                return fused
        codes = kernels.zeros(n)
        # plugin number -> (plugin, key -> status (a table version's), or None and the
        # statuses its per-node Filter gave, a row's key being the position there + 1)
        by_number: dict[int, tuple[Plugin, dict[int, Status] | None, list[Status]]] = {}
        shift = 1 << 40
        for number, plugin in enumerate(self.profile.at("filter"), start=1):
            if plugin.name in self.state.skip_filter_plugins:
                continue
            fast = core.accelerator(plugin)
            if fast is not None and fast.filter is not None:
                keys = fast.filter(plugin, self.state, self.pod, table)
                kernels.merge_keys(codes, keys, number * shift)
                by_number[number] = (plugin, {}, [])
                continue
            kept: list[Status] = []
            for row in range(n):
                if codes[row]:
                    continue
                status = plugin.filter(self.state, self.pod, nodes[row])
                if status.is_success():
                    continue
                if not status.is_rejected():
                    return _fail(status.with_plugin(plugin.name))
                kept.append(status.with_plugin(plugin.name))
                codes[row] = number * shift + len(kept)
            by_number[number] = (plugin, None, kept)
        limit = nodes_to_find(self.profile.percentage_of_nodes_to_score, n)
        rows, visited = kernels.feasible_rows(codes, start % n, limit)

        def status_of(row: int) -> Status:
            code = codes[row]
            plugin, by_key, kept = by_number[code // shift]
            key = code % shift
            if by_key is None:
                return kept[key - 1]
            found = by_key.get(key)
            if found is None:
                status = plugin.filter(self.state, self.pod, nodes[row])
                found = by_key[key] = status.with_plugin(plugin.name)
            return found

        needs_filtered = self.explain or len(rows) == 0
        filtered: dict[str, tuple[str, ...]] = {}
        statuses: dict[str, Status] = {}
        if needs_filtered:
            for j in range(visited):
                row = (start % n + j) % n
                if codes[row]:
                    status = status_of(row)
                    filtered[nodes[row].name] = status.reasons
                    statuses[nodes[row].name] = status
        self.rejected_by = {name: status.plugin for name, status in statuses.items()}
        if len(rows) == 0:
            return self.post_filter(filtered, statuses, visited)
        feasible = _Rows(nodes, rows)
        names = tuple(info.name for info in feasible) if self.explain or len(rows) == 1 else ()
        if len(rows) == 1 or not self.profile.at("score"):
            names = names or tuple(info.name for info in feasible)
            return self.trivial(names, filtered, visited, select, rng)
        failed = self.pre_score(feasible, filtered)
        if failed is not None:
            return failed
        totals = kernels.zeros(len(rows))
        scores: dict[str, Any] = {}
        raws: dict[str, Any] = {}
        for plugin in self.scorers():
            scored = self.table_scores(plugin, kernels, table, rows, feasible, filtered)
            if isinstance(scored, ScheduleResult):
                return scored
            raw, final = scored
            kernels.weighted_add(final, self.profile.weight(plugin.name), totals)
            if self.explain:
                raws[plugin.name] = raw
                scores[plugin.name] = final
        if not self.explain and select is select_host:
            top, count = kernels.best(totals)
            pick = rng.randrange(count) if count > 1 else 0
            chosen = nodes[rows[kernels.nth_with(totals, top, pick)]].name
            return ScheduleResult(node_name=chosen, visited=visited)
        names = names or tuple(info.name for info in feasible)
        return self.choose(names, raws, scores, filtered, visited, select, rng)

    def fused(self, fusion, kernels, table, start: int, rng) -> ScheduleResult | None:
        """The cycle through ``plugins.fused`` (one kernel pass for the default filters, one
        for the default scores); None when it does not apply or no node is feasible (the
        table path then explains the rejections)."""
        n = table.size
        filters = [
            plugin
            for plugin in self.profile.at("filter")
            if plugin.name not in self.state.skip_filter_plugins
        ]
        limit = nodes_to_find(self.profile.percentage_of_nodes_to_score, n)
        found = fusion.feasible(filters, self.state, self.pod, table, start, limit)
        if found is None or len(found[0]) == 0:
            return None
        rows, visited = found
        nodes = self.snapshot.node_infos
        if len(rows) == 1 or not self.profile.at("score"):
            return ScheduleResult(node_name=nodes[rows[0]].name, visited=visited)
        feasible = _Rows(nodes, rows)
        failed = self.pre_score(feasible, {})
        if failed is not None:
            return failed
        totals = kernels.zeros(len(rows))
        left = fusion.add_scores(
            self.scorers(), self.profile.weight, self.state, self.pod, table, rows, totals
        )
        for plugin in left:
            scored = self.table_scores(plugin, kernels, table, rows, feasible, {})
            if isinstance(scored, ScheduleResult):
                return scored
            kernels.weighted_add(scored[1], self.profile.weight(plugin.name), totals)
        top, count = kernels.best(totals)
        pick = rng.randrange(count) if count > 1 else 0
        return ScheduleResult(
            node_name=nodes[rows[kernels.nth_with(totals, top, pick)]].name, visited=visited
        )

    def table_scores(self, plugin, kernels, table, rows, feasible, filtered) -> Any:
        """One scorer's (raw, final) scores of the feasible rows (its table version when it
        has one, else node by node), or the failed result."""
        from kubeprop.reference.scheduler import core

        fast = core.accelerator(plugin)
        if fast is not None and fast.score is not None:
            raw = fast.score(plugin, self.state, self.pod, table, rows)
        else:
            raw = kernels.zeros(len(rows))
            for j, info in enumerate(feasible):
                score, status = plugin.score(self.state, self.pod, info)
                if not status.is_success():
                    return _fail(status.with_plugin(plugin.name), filtered=FrozenMap(filtered))
                raw[j] = score
        if fast is not None and fast.normalize is not None:
            final = fast.normalize(plugin, self.state, self.pod, table, raw)
        elif plugin.score_extensions() is not None:
            names = tuple(info.name for info in feasible)
            mapped = self.normalize_map(plugin, dict(zip(names, raw)))
            if isinstance(mapped, ScheduleResult):
                return mapped
            final = kernels.zeros(len(rows))
            for j, name in enumerate(names):
                final[j] = mapped[name]
        else:
            final = raw
        if self.validate_scores:
            bad = kernels.first_out_of_range(final, MIN_NODE_SCORE, MAX_NODE_SCORE)
            if bad >= 0:
                return self.out_of_range(plugin, final[bad], filtered)
        return raw, final

    # -- shared steps ----------------------------------------------------------------

    def scorers(self) -> list[Plugin]:
        return [
            plugin
            for plugin in self.profile.at("score")
            if plugin.name not in self.state.skip_score_plugins
        ]

    def post_filter(self, filtered, statuses, visited: int) -> ScheduleResult:
        nominated_node_name = None
        for plugin in self.profile.at("post_filter"):
            nominated, status = plugin.post_filter(self.state, self.pod, statuses)
            if status.is_success() and nominated:
                nominated_node_name = nominated
                break
        message = fit_error_message(len(self.snapshot.node_infos), filtered)
        victims = self.state.data.get(VICTIMS_KEY, ()) if nominated_node_name else ()
        return _fail(
            unschedulable(message),
            filtered=FrozenMap(filtered),
            rejected_by=FrozenMap(self.rejected_by),
            nominated_node_name=nominated_node_name,
            victims=tuple(victims),
            visited=visited,
        )

    def trivial(self, names, filtered, visited: int, select, rng) -> ScheduleResult:
        """One feasible node (chosen without scoring, as upstream does) or no scorer."""
        if len(names) == 1:
            return ScheduleResult(
                node_name=names[0],
                filtered=FrozenMap(filtered),
                rejected_by=FrozenMap(self.rejected_by),
                feasible=names,
                visited=visited,
            )
        totals = {name: 1 for name in names}
        return ScheduleResult(
            node_name=select(totals, rng),
            filtered=FrozenMap(filtered),
            rejected_by=FrozenMap(self.rejected_by),
            feasible=names,
            totals=FrozenMap(totals),
            visited=visited,
        )

    def pre_score(self, feasible, filtered) -> ScheduleResult | None:
        for plugin in self.profile.at("pre_score"):
            status = plugin.pre_score(self.state, self.pod, feasible).with_plugin(plugin.name)
            if status.is_skip():
                self.state.skip_score_plugins.add(plugin.name)
            elif not status.is_success():
                names = tuple(info.name for info in feasible)
                return _fail(status, filtered=FrozenMap(filtered), feasible=names)
        return None

    def normalize_map(self, plugin, raw: dict[str, int]) -> dict[str, int] | ScheduleResult:
        extensions = plugin.score_extensions()
        if extensions is None:
            return raw
        final, status = extensions.normalize_score(self.state, self.pod, raw)
        if not status.is_success():
            return _fail(status.with_plugin(plugin.name))
        return final

    def out_of_range(self, plugin, score: int, filtered) -> ScheduleResult:
        return _fail(
            error(
                f"plugin {plugin.name!r} returns an invalid score {score}, it should in "
                f"the range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing"
            ).with_plugin(plugin.name),
            filtered=FrozenMap(filtered),
        )

    def choose(self, names, raws, scores, filtered, visited: int, select, rng) -> ScheduleResult:
        totals = dict.fromkeys(names, 0)
        per_node: dict[str, dict[str, int]] = {name: {} for name in names}
        raw_per_node: dict[str, dict[str, int]] = {name: {} for name in names}
        for plugin_name, final in scores.items():
            weight = self.profile.weight(plugin_name)
            raw = raws[plugin_name]
            for j, name in enumerate(names):
                score = final[j]
                if self.validate_scores and not MIN_NODE_SCORE <= score <= MAX_NODE_SCORE:
                    plugin = next(p for p in self.scorers() if p.name == plugin_name)
                    return self.out_of_range(plugin, score, filtered)
                per_node[name][plugin_name] = score
                raw_per_node[name][plugin_name] = raw[j]
                totals[name] += score * weight
        return ScheduleResult(
            node_name=select(totals, rng),
            filtered=FrozenMap(filtered),
            rejected_by=FrozenMap(self.rejected_by),
            feasible=names,
            raw_scores=FrozenMap({n: FrozenMap(s) for n, s in raw_per_node.items()}),
            scores=FrozenMap({n: FrozenMap(s) for n, s in per_node.items()}),
            totals=FrozenMap(totals),
            visited=visited,
        )


class _Rows(Sequence):
    """The node infos of some rows of a snapshot, as a sequence (no copy)."""

    __slots__ = ("infos", "rows")

    def __init__(self, infos: Sequence[NodeInfo], rows: Sequence[int]):
        self.infos, self.rows = infos, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, j):  # type: ignore[override]
        if isinstance(j, slice):
            return [self.infos[self.rows[k]] for k in range(*j.indices(len(self.rows)))]
        return self.infos[self.rows[j]]

    def __iter__(self):
        infos = self.infos
        return (infos[row] for row in self.rows)


# -- one plugin on its own (table tests, explanations) ---------------------------------------


def filter_with(plugin: Plugin, pod: Pod, snapshot: Snapshot) -> dict[str, Status]:
    """One plugin's PreFilter (if any) then Filter on every node: node -> status."""
    state = CycleState(snapshot=snapshot)
    if isinstance(plugin, PreFilterPlugin):
        status = plugin.pre_filter(state, pod, snapshot.node_infos)
        if status.is_skip():
            return {info.name: SUCCESS for info in snapshot.node_infos}
        if not status.is_success():
            return {info.name: status for info in snapshot.node_infos}
    return {info.name: plugin.filter(state, pod, info) for info in snapshot.node_infos}


def score_with(plugin: Plugin, pod: Pod, snapshot: Snapshot) -> dict[str, int]:
    """One plugin's PreScore (if any), Score and NormalizeScore over every node of the
    snapshot: node -> final score (0 everywhere when PreScore says Skip)."""
    state = CycleState(snapshot=snapshot)
    nodes = snapshot.node_infos
    if isinstance(plugin, PreFilterPlugin):
        plugin.pre_filter(state, pod, nodes)
    if isinstance(plugin, PreScorePlugin) and plugin.pre_score(state, pod, nodes).is_skip():
        return {info.name: 0 for info in nodes}
    raw = {info.name: plugin.score(state, pod, info)[0] for info in nodes}
    extensions = plugin.score_extensions()
    return extensions.normalize_score(state, pod, raw)[0] if extensions else raw
