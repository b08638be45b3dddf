"""The scheduler's core: the compiled kernels, their pure twin and the node-by-node plugins agree.

The property draws clusters, pods and profiles (scoring strategy and its shape,
resource weights, plugin weights, plugins left out, percentage of nodes to
score) and schedules the pods one by one three ways: over a node table with the
compiled kernels, over a node table with the pure twin, and node by node
through the plugins' own Filter and Score. Every cycle must give the same
feasible set, filter reasons, raw and normalised per-plugin scores, totals,
visited count and choice. Run it under the thorough profile with
``pytest tests/test_scheduler_core.py --kubeprop-profile thorough``.
"""

from __future__ import annotations

import random
from array import array

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.conformance.strategies import scheduler as strategies
from kubeprop.reference.scheduler import Profile, Snapshot, core, schedule_one
from kubeprop.reference.scheduler.plugins import DEFAULT_PLUGINS, REGISTRY
from kubeprop.spec.api.base import FrozenMap
from kubeprop.spec.api.core import (
    Affinity,
    ContainerImage,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    TopologySpreadConstraint,
)
from kubeprop.spec.api.selectors import LabelSelector

IMAGES = ("nginx:1.25", "redis", "registry.k8s.io/pause:3.10")
MB = 1024 * 1024


@st.composite
def clusters_with_images(draw, max_nodes: int = 7, max_pods: int = 8):
    """Clusters whose nodes hold some images (sizes 10 MB to 3 GB) and whose pods use them,
    some nodes with a hostname label, pods labelled app=a|b with spread constraints."""
    nodes, pods = draw(strategies.clusters(max_nodes=max_nodes, max_pods=max_pods))
    held = st.lists(
        st.tuples(st.sampled_from(IMAGES), st.sampled_from((10 * MB, 300 * MB, 3000 * MB))),
        max_size=2,
        unique_by=lambda item: item[0],
    )
    nodes = [
        attrs.evolve(
            node,
            status=attrs.evolve(
                node.status,
                images=tuple(
                    ContainerImage(names=(name,), size_bytes=size) for name, size in draw(held)
                ),
            ),
        )
        for node in nodes
    ]
    nodes = [
        attrs.evolve(
            node,
            metadata=attrs.evolve(
                node.metadata,
                labels={**node.metadata.labels, "kubernetes.io/hostname": node.metadata.name},
            ),
        )
        if draw(st.booleans())
        else node
        for node in nodes
    ]
    pods = [
        attrs.evolve(
            pod,
            metadata=attrs.evolve(pod.metadata, labels={"app": draw(st.sampled_from("ab"))}),
            spec=attrs.evolve(
                pod.spec,
                containers=tuple(
                    attrs.evolve(c, image=draw(st.sampled_from(IMAGES)))
                    for c in pod.spec.containers
                ),
                topology_spread_constraints=tuple(draw(st.lists(spread, max_size=2))),
                affinity=draw(pod_affinities) if draw(st.booleans()) else pod.spec.affinity,
            ),
        )
        for pod in pods
    ]
    return nodes, pods


affinity_terms = st.lists(
    st.builds(
        PodAffinityTerm,
        label_selector=st.sampled_from("ab").map(
            lambda app: LabelSelector(match_labels={"app": app})
        ),
        topology_key=st.sampled_from(("zone", "kubernetes.io/hostname")),
    ),
    max_size=2,
).map(tuple)
pod_affinities = st.builds(
    Affinity,
    pod_affinity=st.builds(
        PodAffinity, required_during_scheduling_ignored_during_execution=affinity_terms
    ),
    pod_anti_affinity=st.builds(
        PodAntiAffinity, required_during_scheduling_ignored_during_execution=affinity_terms
    ),
)

spread = st.builds(
    TopologySpreadConstraint,
    max_skew=st.integers(1, 2),
    topology_key=st.sampled_from(("zone", "kubernetes.io/hostname")),
    when_unsatisfiable=st.sampled_from(("DoNotSchedule", "ScheduleAnyway")),
    label_selector=st.sampled_from("ab").map(lambda app: LabelSelector(match_labels={"app": app})),
    min_domains=st.sampled_from((None, 3)),
)


TWINS = [core.PURE] + ([core.COMPILED] if core.COMPILED is not None else [])
TWIN_IDS = ["pure"] + (["compiled"] if core.COMPILED is not None else [])


@st.composite
def fit_args(draw) -> dict:
    kind = draw(st.sampled_from(("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")))
    names = draw(
        st.lists(
            st.sampled_from(("cpu", "memory", strategies.GPU)), min_size=1, max_size=3, unique=True
        )
    )
    strategy = {
        "type": kind,
        "resources": [{"name": name, "weight": draw(st.integers(1, 5))} for name in names],
    }
    if kind == "RequestedToCapacityRatio":
        points = sorted(draw(st.lists(st.integers(0, 100), min_size=1, max_size=4, unique=True)))
        shape = [{"utilization": u, "score": draw(st.integers(0, 10))} for u in points]
        strategy["requestedToCapacityRatio"] = {"shape": shape}
    return {"scoringStrategy": strategy}


@st.composite
def profiles(draw) -> Profile:
    enabled = []
    for name, weight in DEFAULT_PLUGINS:
        if name in ("NodeResourcesFit",) or draw(st.integers(0, 5)) > 0:
            enabled.append((name, draw(st.sampled_from((weight, weight, 1, 2, 7)))))
    args = {"NodeResourcesFit": draw(fit_args())}
    profile = Profile.build(REGISTRY, enabled, args=args)
    percentage = draw(st.sampled_from((None, 100, 100, 30, 1)))
    return attrs.evolve(profile, percentage_of_nodes_to_score=percentage)


def _outcome(result) -> tuple:
    return (
        result.node_name,
        result.status,
        dict(result.filtered),
        dict(result.rejected_by),
        tuple(result.feasible),
        {n: dict(s) for n, s in result.raw_scores.items()},
        {n: dict(s) for n, s in result.scores.items()},
        dict(result.totals),
        result.visited,
    )


def _schedule_all(profile, nodes, pods, kernels, seed, explain=True):
    """Every pod in order, each bound before the next: the outcomes, and the choices."""
    snapshot = Snapshot.of(nodes)
    rng = random.Random(seed)
    table = None if kernels is None else core.NodeTable.of(snapshot.node_infos, kernels)
    outcomes, start = [], 0
    for pod in pods:
        result = schedule_one(
            profile, pod, snapshot, rng, kernels=kernels, table=table, start=start, explain=explain
        )
        outcomes.append(_outcome(result) if explain else result.node_name)
        start = (start + result.visited) % len(snapshot.node_infos) if result.visited else start
        if result.node_name is not None:
            snapshot = snapshot.assume(pod, result.node_name)
    return outcomes


@given(
    cluster=clusters_with_images(max_nodes=7, max_pods=8),
    profile=profiles(),
    seed=st.integers(0, 3),
)
def test_the_twins_and_the_node_by_node_plugins_agree_on_every_cycle(cluster, profile, seed):
    nodes, pods = cluster
    expected = _schedule_all(profile, nodes, pods, None, seed)
    choices = [outcome[0] for outcome in expected]
    for kernels in TWINS:
        assert _schedule_all(profile, nodes, pods, kernels, seed) == expected, kernels.__name__
        # without explanations a cycle takes the fused path when its plugins allow
        fused = _schedule_all(profile, nodes, pods, kernels, seed, explain=False)
        assert fused == choices, kernels.__name__


@given(cluster=strategies.clusters(max_nodes=6, max_pods=6), seed=st.integers(0, 3))
def test_without_explanations_the_choices_are_the_same(cluster, seed):
    nodes, pods = cluster
    profile = Profile.build(REGISTRY, DEFAULT_PLUGINS)
    expected = [o[0] for o in _schedule_all(profile, nodes, pods, None, seed)]
    for kernels in TWINS:
        assert _schedule_all(profile, nodes, pods, kernels, seed, explain=False) == expected


def _many_nodes(count: int):
    sizes = ("1000m", "2000m", "4000m")
    return [
        strategies.make_node(
            f"n{i:03}",
            {"cpu": sizes[i % 3], "memory": "4Gi", "pods": "4"},
            labels={"zone": "ab"[i % 2]},
            taints=("dedicated=x:NoSchedule",) if i % 7 == 0 else (),
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("percentage", [None, 100, 10])
def test_large_clusters_visit_the_same_nodes_from_a_rotating_start(percentage):
    nodes = _many_nodes(260)
    pods = [strategies.make_pod(f"p{i}", ({"cpu": "700m", "memory": "1Gi"},)) for i in range(12)]
    profile = attrs.evolve(
        Profile.build(REGISTRY, DEFAULT_PLUGINS), percentage_of_nodes_to_score=percentage
    )
    expected = _schedule_all(profile, nodes, pods, None, 1)
    visited = {outcome[-1] for outcome in expected}
    assert visited == ({260} if percentage == 100 else visited)
    if percentage != 100:
        # adaptive at 260 nodes: 50 - 260 // 125 = 48 % -> 124 feasible; 10 % -> at least 100
        assert all(len(outcome[4]) == (124 if percentage is None else 100) for outcome in expected)
    for kernels in TWINS:
        assert _schedule_all(profile, nodes, pods, kernels, 1) == expected


# -- the kernels, one body per twin --------------------------------------------------------


@pytest.fixture(params=TWINS, ids=TWIN_IDS)
def kernels(request):
    return request.param


def q(*values: int) -> array:
    return array("q", values)


def test_normalize_truncates_toward_zero_and_reverses(kernels):
    out = kernels.zeros(3)
    kernels.normalize(q(1, 2, 3), 0, out)
    assert list(out) == [33, 66, 100]
    kernels.normalize(q(1, 2, 3), 1, out)
    assert list(out) == [67, 34, 0]
    kernels.normalize(q(0, 0, 0), 1, out)
    assert list(out) == [100, 100, 100]


def test_least_allocated_matches_upstreams_documented_example(kernels):
    # 3000m/5000Mi requested of 4000m/10000Mi: cpu (4000-3000)*100/4000 = 25,
    # memory (10000-5000)*100/10000 = 50, mean 37.
    out = kernels.zeros(1)
    kernels.resource_scores(
        q(0), 0, [0, 0], [q(4000), q(10000)], [q(3000), q(5000)], [1, 1], (), (), out
    )
    assert list(out) == [37]


def test_requested_to_capacity_ratio_rounds_half_away_from_zero(kernels):
    # shape (0, 0) -> (100, 100); cpu 50 % -> 50 (weight 1), memory 25 % -> 25 (weight 1):
    # (50 + 25) / 2 = 37.5, rounded to 38.
    out = kernels.zeros(1)
    kernels.resource_scores(
        q(0), 2, [0, 0], [q(100), q(100)], [q(50), q(25)], [1, 1], [0, 100], [0, 100], out
    )
    assert list(out) == [38]


def test_balanced_allocation_of_three_resources_is_one_minus_the_population_std(kernels):
    out = kernels.zeros(1)
    kernels.balanced_scores(q(0), [0, 0, 0], [q(10), q(10), q(10)], [q(2), q(5), q(8)], out)
    # fractions .2 .5 .8: std = sqrt(.06) = 0.2449..., (1 - std) * 100 = 75.5 -> 75
    assert list(out) == [75]


def test_feasible_rows_start_anywhere_and_stop_at_the_limit(kernels):
    rows, visited = kernels.feasible_rows(q(0, 5, 0, 0, 7, 0), 3, 2)
    assert (list(rows), visited) == ([3, 5], 3)
    rows, visited = kernels.feasible_rows(q(1, 1), 0, 5)
    assert (list(rows), visited) == ([], 2)


def test_the_first_flagged_taint_of_each_row_is_its_key(kernels):
    keys = kernels.zeros(3)
    table = q(0, 1, 1, -1, -1, -1)  # width 2: row 0 has taints 0 and 1, row 1 taint 1
    kernels.first_flagged(table, 2, bytearray([0, 1]), keys)
    assert list(keys) == [2, 2, 0]


def test_ties_are_counted_and_the_kth_found(kernels):
    totals = q(5, 9, 9, 1, 9)
    assert kernels.best(totals) == (9, 3)
    assert kernels.nth_with(totals, 9, 2) == 4


def test_a_table_follows_its_node_infos_row_by_row(kernels):
    snapshot = Snapshot.of(_many_nodes(5))
    table = core.NodeTable.of(snapshot.node_infos, kernels)
    before = table.rows_changed
    pod = strategies.make_pod("p", ({"cpu": "500m"},))
    after = snapshot.assume(pod, "n002")
    table.sync(after.node_infos)
    assert table.rows_changed == before + 1
    cpu = table.resource_columns["cpu"]
    assert table.requested[cpu][2] == 500
    assert table.pod_count[2] == 1
    assert FrozenMap(after.node_infos[2].requested)["cpu"] == 500


# -- the incremental fused cycle -------------------------------------------------------------


def _direct_choices(profile, nodes, template, kernels, count, seed, limit):
    """Pods of one template placed by re-scoring every row each time (fused kernels)."""
    from kubeprop.reference.scheduler import resources
    from kubeprop.reference.scheduler.plugins import fused

    snapshot = Snapshot.of(nodes)
    table = core.NodeTable.of(snapshot.node_infos, kernels)
    prepared = fused.prepare(profile, template, snapshot, table)
    if prepared is None:
        return None
    _, filter_args, score_args, _ = prepared
    requests, non_zero = resources.pod_requests(template), resources.non_zero_requests(template)
    rng, start, chosen = random.Random(seed), 0, []
    for _ in range(count):
        rows, visited = kernels.fused_filter(start, limit, *filter_args)
        if len(rows) == 0:
            chosen.append(None)
            break
        if len(rows) == 1:
            row = rows[0]
        else:
            totals = kernels.zeros(len(rows))
            kernels.fused_score(rows, *score_args, totals)
            top, tied = kernels.best(totals)
            row = rows[kernels.nth_with(totals, top, rng.randrange(tied) if tied > 1 else 0)]
        chosen.append((row, visited))
        table.add_pod_columns(row, requests, non_zero)
        start = (start + visited) % table.size
    return chosen


def _incremental_choices(profile, nodes, template, kernels, count, seed, limit):
    from kubeprop.reference.scheduler import resources
    from kubeprop.reference.scheduler.plugins import fused

    snapshot = Snapshot.of(nodes)
    table = core.NodeTable.of(snapshot.node_infos, kernels)
    _, filter_args, score_args, _ = fused.prepare(profile, template, snapshot, table)
    kept = core.Incremental.of(table, filter_args, score_args)
    requests, non_zero = resources.pod_requests(template), resources.non_zero_requests(template)
    rng, start, chosen = random.Random(seed), 0, []
    for _ in range(count):
        row, visited, found = kept.choose(start, limit, rng)
        if found == 0:
            chosen.append(None)
            break
        chosen.append((row, visited))
        table.add_pod_columns(row, requests, non_zero)
        start = (start + visited) % table.size
    return chosen


SOFT = strategies.taint("soft=x:PreferNoSchedule")


@given(
    cluster=strategies.clusters(max_nodes=7, max_pods=1),
    soft=st.lists(st.integers(0, 2), min_size=7, max_size=7),
    profile=profiles(),
    seed=st.integers(0, 3),
    limit=st.integers(1, 7),
)
def test_incremental_cycles_choose_as_rescoring_every_row_does(cluster, soft, profile, seed, limit):
    nodes, (template,) = cluster
    # up to two PreferNoSchedule taints per node, which the pod's tolerations rarely name
    nodes = [
        attrs.evolve(node, spec=attrs.evolve(node.spec, taints=(*node.spec.taints, *(SOFT,) * k)))
        for node, k in zip(nodes, soft)
    ]
    template = attrs.evolve(
        template, spec=attrs.evolve(template.spec, affinity=None, node_selector={})
    )
    scorers = {p.name for p in profile.at("score")}
    if "NodeResourcesFit" not in scorers:
        return
    profile = attrs.evolve(
        profile,
        points=FrozenMap(
            {**profile.points, "score": tuple(n for n in scorers if n != "ImageLocality")}
        ),
    )
    for kernels in TWINS:
        expected = _direct_choices(profile, nodes, template, kernels, 12, seed, limit)
        if expected is None:
            return
        assert _incremental_choices(profile, nodes, template, kernels, 12, seed, limit) == expected
