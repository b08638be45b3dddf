"""NodeResourcesFit: upstream's fit cases and LeastAllocated scores, transcribed as facts.

Units as upstream's tests write them: "10m" cpu, memory in bytes, extended
resources as counts. A request list holds one dict per container.
"""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.reference.scheduler import Code, InvalidInput, Snapshot
from kubeprop.reference.scheduler.framework import CycleState, filter_with, score_with
from kubeprop.reference.scheduler.plugins import node_resources_fit
from kubeprop.reference.scheduler.resources import non_zero_requests, pod_requests

FIT = node_resources_fit.new(None, None)
EXTENDED = "example.com/foo"
NODE = {"cpu": "10m", "memory": "20", "pods": "32", EXTENDED: "5", "ephemeral-storage": "20"}


def r(cpu=None, memory=None, **others):
    out = {k.replace("_", "-"): v for k, v in others.items()}
    if cpu is not None:
        out["cpu"] = cpu
    if memory is not None:
        out["memory"] = memory
    return out


FIT_CASES = {
    "no resources requested always fits": (dict(), r("10m", "20"), ()),
    "too many resources fails": (
        dict(requests=(r("1m", "1"),)),
        r("10m", "20"),
        ("Insufficient cpu", "Insufficient memory"),
    ),
    "too many resources fails due to init container cpu": (
        dict(requests=(r("1m", "1"),), init_requests=(r("3m", "1"),)),
        r("8m", "19"),
        ("Insufficient cpu",),
    ),
    "too many resources fails due to highest init container cpu": (
        dict(requests=(r("1m", "1"),), init_requests=(r("3m", "1"), r("2m", "1"))),
        r("8m", "19"),
        ("Insufficient cpu",),
    ),
    "too many resources fails due to init container memory": (
        dict(requests=(r("1m", "1"),), init_requests=(r("1m", "3"),)),
        r("9m", "19"),
        ("Insufficient memory",),
    ),
    "init container fits because it's the max, not sum, of containers and init containers": (
        dict(requests=(r("1m", "1"),), init_requests=(r("1m", "1"),)),
        r("9m", "19"),
        (),
    ),
    "both resources fit": (dict(requests=(r("1m", "1"),)), r("5m", "5"), ()),
    "one resource memory fits": (
        dict(requests=(r("2m", "1"),)),
        r("9m", "5"),
        ("Insufficient cpu",),
    ),
    "one resource cpu fits": (
        dict(requests=(r("1m", "2"),)),
        r("5m", "19"),
        ("Insufficient memory",),
    ),
    "equal edge case": (dict(requests=(r("5m", "1"),)), r("5m", "19"), ()),
    "extended resource fits": (dict(requests=(r("1m", "1", **{EXTENDED: "1"}),)), r("0m", "0"), ()),
    "extended resource capacity enforced": (
        dict(requests=(r("1m", "1", **{EXTENDED: "10"}),)),
        r("0m", "0"),
        (f"Insufficient {EXTENDED}",),
    ),
    "extended resource allocatable enforced with existing usage": (
        dict(requests=(r("1m", "1", **{EXTENDED: "1"}),)),
        r("0m", "0", **{EXTENDED: "5"}),
        (f"Insufficient {EXTENDED}",),
    ),
    "skip checking extended resource request with quantity zero": (
        dict(requests=(r("1m", "1", **{"example.com/bar": "0"}),)),
        r("0m", "0"),
        (),
    ),
    "an extended resource the node does not have is insufficient": (
        dict(requests=(r("1m", "1", **{"example.com/bar": "1"}),)),
        r("0m", "0"),
        ("Insufficient example.com/bar",),
    ),
    "resources + pod overhead fits": (
        dict(requests=(r("1m", "1"),), overhead=r("3m", "13")),
        r("5m", "5"),
        (),
    ),
    "requests + overhead does not fit for memory": (
        dict(requests=(r("1m", "1"),), overhead=r("1m", "15")),
        r("5m", "5"),
        ("Insufficient memory",),
    ),
    "ephemeral-storage is checked like cpu and memory": (
        dict(requests=(r(ephemeral_storage="25"),)),
        r("0m", "0"),
        ("Insufficient ephemeral-storage",),
    ),
    "a sidecar's request counts with the app containers": (
        dict(requests=(r("4m", "1"),), sidecar_requests=(r("2m", "1"),)),
        r("5m", "5"),
        ("Insufficient cpu",),
    ),
}


@pytest.mark.parametrize("name", list(FIT_CASES))
def test_fit(name):
    pod_kwargs, existing, reasons = FIT_CASES[name]
    node = make_node("n", NODE)
    snapshot = Snapshot.of([node], [make_pod("existing", (existing,), node_name="n")])
    status = filter_with(FIT, make_pod("p", **pod_kwargs), snapshot)["n"]
    assert status.reasons == reasons
    assert status.is_success() == (not reasons)


def test_a_node_with_as_many_pods_as_it_allows_reports_too_many_pods():
    node = make_node("n", {**NODE, "pods": "1"})
    snapshot = Snapshot.of([node], [make_pod("existing", (r("1m", "1"),), node_name="n")])
    status = filter_with(FIT, make_pod("p", (r("20m", "1"),)), snapshot)["n"]
    assert status.reasons == ("Too many pods", "Insufficient cpu")


def test_a_request_larger_than_the_whole_node_is_unresolvable():
    snapshot = Snapshot.of([make_node("n", NODE)])
    assert filter_with(FIT, make_pod("p", (r("11m"),)), snapshot)["n"].code is (
        Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    )


def test_a_request_larger_than_what_is_left_is_unschedulable_but_resolvable():
    snapshot = Snapshot.of([make_node("n", NODE)], [make_pod("e", (r("6m"),), node_name="n")])
    assert filter_with(FIT, make_pod("p", (r("5m"),)), snapshot)["n"].code is Code.UNSCHEDULABLE


# -- LeastAllocated (least_allocated_test.go) -------------------------------------------------

TWO = (r("1000", "2000"), r("2000", "3000"))  # two containers: 3000 cores, 5000 bytes

SCORE_CASES = {
    "nothing scheduled, nothing requested": (
        (),
        {"node1": r("4000", "10000"), "node2": r("4000", "10000")},
        [],
        {"node1": 100, "node2": 100},
    ),
    "nothing scheduled, resources requested, differently sized nodes": (
        TWO,
        {"node1": r("4000", "10000"), "node2": r("6000", "10000")},
        [],
        {"node1": 37, "node2": 50},
    ),
    "no resources requested, pods scheduled": (
        (),
        {"node1": r("4000", "10000"), "node2": r("4000", "10000")},
        [("node1", ()), ("node1", ()), ("node2", ()), ("node2", ())],
        {"node1": 100, "node2": 100},
    ),
    "no resources requested, pods scheduled with resources": (
        (),
        {"node1": r("10000", "20000"), "node2": r("10000", "20000")},
        [
            ("node1", (r("3000", "0"),)),
            ("node1", (r("3000", "0"),)),
            ("node2", (r("3000", "0"),)),
            ("node2", (r("3000", "5000"),)),
        ],
        {"node1": 70, "node2": 57},
    ),
    "resources requested, pods scheduled with resources": (
        TWO,
        {"node1": r("10000", "20000"), "node2": r("10000", "20000")},
        [("node1", (r("3000", "0"),)), ("node2", (r("3000", "5000"),))],
        {"node1": 57, "node2": 45},
    ),
    "resources requested, pods scheduled with resources, differently sized nodes": (
        TWO,
        {"node1": r("10000", "20000"), "node2": r("10000", "50000")},
        [("node1", (r("3000", "0"),)), ("node2", (r("3000", "5000"),))],
        {"node1": 57, "node2": 60},
    ),
    "requested resources exceed node capacity": (
        (r("3000", "0"),),
        {"node1": r("4000", "10000"), "node2": r("4000", "10000")},
        [("node1", (r("3000", "0"),)), ("node2", (r("3000", "5000"),))],
        {"node1": 50, "node2": 25},
    ),
    "zero node resources, pods scheduled with resources": (
        (),
        {"node1": {}, "node2": {}},
        [("node1", (r("3000", "0"),)), ("node2", (r("3000", "5000"),))],
        {"node1": 0, "node2": 0},
    ),
}


def run_scores(plugin, requests, nodes, existing):
    node_list = [make_node(name, allocatable) for name, allocatable in nodes.items()]
    pods = [make_pod(f"e{i}", reqs, node_name=n) for i, (n, reqs) in enumerate(existing)]
    return score_with(plugin, make_pod("p", requests), Snapshot.of(node_list, pods))


@pytest.mark.parametrize("name", list(SCORE_CASES))
def test_least_allocated(name):
    assert run_scores(FIT, *SCORE_CASES[name][:3]) == SCORE_CASES[name][3]


def test_least_allocated_with_memory_weighted_twice_as_much_as_cpu():
    plugin = node_resources_fit.new(
        {
            "scoringStrategy": {
                "type": "LeastAllocated",
                "resources": [{"name": "memory", "weight": 2}, {"name": "cpu", "weight": 1}],
            }
        },
        None,
    )
    nodes = {"node1": r("4000", "10000"), "node2": r("6000", "10000")}
    assert run_scores(plugin, TWO, nodes, []) == {"node1": 41, "node2": 50}


def test_an_extended_resource_the_pod_does_not_request_is_left_out_of_the_score():
    plugin = node_resources_fit.new(
        {
            "scoringStrategy": {
                "resources": [
                    {"name": "cpu", "weight": 1},
                    {"name": "memory", "weight": 1},
                    {"name": EXTENDED, "weight": 1},
                ]
            }
        },
        None,
    )
    nodes = {"node1": r("6000", "10000"), "node2": r("6000", "10000", **{EXTENDED: "4"})}
    assert run_scores(plugin, TWO, nodes, []) == {"node1": 50, "node2": 50}


def test_a_container_without_requests_counts_100m_cpu_and_200Mi_memory_for_scoring():
    pod = make_pod("p", ({}, r(memory="0")))
    assert non_zero_requests(pod) == {"cpu": 200, "memory": 200 * 1024 * 1024}
    assert pod_requests(pod) == {"memory": 0}


def test_an_unknown_scoring_strategy_is_rejected_with_the_field_path():
    with pytest.raises(InvalidInput, match=r'scoringStrategy.type: Unsupported value: "Random"'):
        node_resources_fit.new({"scoringStrategy": {"type": "Random"}}, None)


def test_most_allocated_favours_the_fuller_node():
    plugin = node_resources_fit.new({"scoringStrategy": {"type": "MostAllocated"}}, None)
    nodes = {"node1": r("4000", "10000"), "node2": r("6000", "10000")}
    # node1: cpu 3000*100/4000 = 75, memory 50 -> 62; node2: 50, 50 -> 50
    assert run_scores(plugin, TWO, nodes, []) == {"node1": 62, "node2": 50}


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            [{"name": "memory", "weight": -1}, {"name": "cpu", "weight": 1}],
            r"scoringStrategy.resources\[0\].weight: Invalid value: -1",
        ),
        (
            [{"name": "memory", "weight": 1}, {"name": "cpu", "weight": 0}],
            r"scoringStrategy.resources\[1\].weight: Invalid value: 0",
        ),
        (
            [{"name": "memory", "weight": 1}, {"name": "cpu", "weight": 101}],
            r"scoringStrategy.resources\[1\].weight: Invalid value: 101",
        ),
        ([{"weight": 1}], r"scoringStrategy.resources\[0\].name: Required value"),
    ],
)
def test_resource_weights_outside_1_to_100_are_rejected_with_the_field_path(resources, message):
    with pytest.raises(InvalidInput, match=message):
        node_resources_fit.new({"scoringStrategy": {"resources": resources}}, None)


# -- RequestedToCapacityRatio (requested_to_capacity_ratio_test.go) ---------------------------

LEAST_SHAPE = [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]


def rtcr(shape, resources=None):
    strategy = {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": shape}}
    if resources is not None:
        strategy["resources"] = resources
    return node_resources_fit.new({"scoringStrategy": strategy}, None)


RTCR_CASES = {
    "nothing scheduled, nothing requested (default - least requested nodes have priority)": (
        (),
        {"node1": r("4000", "10000"), "node2": r("4000", "10000")},
        [("node1", ()), ("node1", ())],
        {"node1": 100, "node2": 100},
    ),
    "nothing scheduled, resources requested, differently sized nodes "
    "(default - least requested nodes have priority)": (
        TWO,
        {"node1": r("4000", "10000"), "node2": r("6000", "10000")},
        [("node1", ()), ("node1", ())],
        {"node1": 38, "node2": 50},
    ),
    "no resources requested, pods scheduled with resources "
    "(default - least requested nodes have priority)": (
        (),
        {"node1": r("4000", "10000"), "node2": r("6000", "10000")},
        [("node1", (r("3000", "5000"),)), ("node2", (r("3000", "5000"),))],
        {"node1": 38, "node2": 50},
    ),
}


@pytest.mark.parametrize("name", list(RTCR_CASES))
def test_requested_to_capacity_ratio_with_a_least_requested_shape(name):
    requests, nodes, existing, expected = RTCR_CASES[name]
    assert run_scores(rtcr(LEAST_SHAPE), requests, nodes, existing) == expected


BROKEN_LINEAR_CASES = {
    "a rising shape is flat outside its points and truncates between them": (
        ((10, 1), (90, 9)),
        {-10: 1, 0: 1, 9: 1, 10: 1, 15: 1, 19: 1, 20: 2, 89: 8, 90: 9, 99: 9, 100: 9, 110: 9},
    ),
    "a shape that rises then falls interpolates each segment": (
        ((0, 2), (40, 10), (100, 0)),
        {-10: 2, 0: 2, 20: 6, 30: 8, 40: 10, 70: 5, 100: 0, 110: 0},
    ),
    "a flat shape gives the same score everywhere": (
        ((0, 2), (40, 2), (100, 2)),
        {-10: 2, 0: 2, 20: 2, 30: 2, 40: 2, 70: 2, 100: 2, 110: 2},
    ),
}


@pytest.mark.parametrize("name", list(BROKEN_LINEAR_CASES))
def test_the_broken_linear_function(name):
    shape, assertions = BROKEN_LINEAR_CASES[name]
    for p, expected in assertions.items():
        assert node_resources_fit.broken_linear(shape, p) == expected, p


def test_a_falling_segment_truncates_toward_zero_as_go_divides():
    # 10 + (0 - 10) * (45 - 40) / 60 = 10 - 50/60: Go gives 10 - 0 = 10, Python's // would give 9.
    assert node_resources_fit.broken_linear(((0, 2), (40, 10), (100, 0)), 45) == 10


FOO, BAR = "intel.com/foo", "intel.com/bar"
BIN_PACKING = [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 1}]


def ext_node(name, extended):
    return make_node(name, {"cpu": "4000m", "memory": "10000Mi", **extended})


SINGLE_EXTENDED_CASES = {
    "nothing scheduled, nothing requested": ((), [], {"node1": 0, "node2": 0}),
    "resources requested, pods scheduled with less resources": (
        ({FOO: "2"},),
        [("node1", ())],
        {"node1": 2, "node2": 5},
    ),
    "resources requested, pods scheduled with resources, on node with existing pod running": (
        ({FOO: "2"},),
        [("node2", ({FOO: "2"},))],
        {"node1": 2, "node2": 10},
    ),
    "resources requested, pods scheduled with more resources": (
        ({FOO: "4"},),
        [("node1", ())],
        {"node1": 5, "node2": 10},
    ),
}


@pytest.mark.parametrize("name", list(SINGLE_EXTENDED_CASES))
def test_bin_packing_of_a_single_extended_resource(name):
    requests, existing, expected = SINGLE_EXTENDED_CASES[name]
    plugin = rtcr(BIN_PACKING, [{"name": FOO, "weight": 1}])
    nodes = [ext_node("node1", {FOO: "8"}), ext_node("node2", {FOO: "4"})]
    pods = [make_pod(f"e{i}", reqs, node_name=n) for i, (n, reqs) in enumerate(existing)]
    assert score_with(plugin, make_pod("p", requests), Snapshot.of(nodes, pods)) == expected


MULTIPLE_EXTENDED_CASES = {
    "nothing scheduled, nothing requested": ((), [], {"node1": 0, "node2": 0}),
    "resources requested, pods scheduled with less resources": (
        ({FOO: "2", BAR: "2"},),
        [("node1", ())],
        {"node1": 4, "node2": 3},
    ),
    "resources requested, pods scheduled with resources, on node with existing pod running": (
        ({FOO: "2", BAR: "2"},),
        [("node2", ({FOO: "4", BAR: "2"},))],
        {"node1": 4, "node2": 7},
    ),
    "resources requested, pods scheduled with more resources": (
        ({FOO: "4", BAR: "2"},),
        [("node1", ())],
        {"node1": 5, "node2": 5},
    ),
}


@pytest.mark.parametrize("name", list(MULTIPLE_EXTENDED_CASES))
def test_bin_packing_of_two_weighted_extended_resources(name):
    requests, existing, expected = MULTIPLE_EXTENDED_CASES[name]
    plugin = rtcr(BIN_PACKING, [{"name": FOO, "weight": 3}, {"name": BAR, "weight": 5}])
    nodes = [ext_node("node1", {FOO: "8", BAR: "4"}), ext_node("node2", {FOO: "4", BAR: "8"})]
    pods = [make_pod(f"e{i}", reqs, node_name=n) for i, (n, reqs) in enumerate(existing)]
    assert score_with(plugin, make_pod("p", requests), Snapshot.of(nodes, pods)) == expected


# -- the worked example of https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/

DOCS_WEIGHTS = [
    {"name": FOO, "weight": 5},
    {"name": "memory", "weight": 1},
    {"name": "cpu", "weight": 3},
]
DOCS_SHAPE = [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]


def docs_snapshot():
    nodes = [
        make_node("node1", {FOO: "4", "memory": "1Gi", "cpu": "8"}),
        make_node("node2", {FOO: "8", "memory": "1Gi", "cpu": "8"}),
    ]
    used = [
        make_pod("used1", ({FOO: "1", "memory": "256Mi", "cpu": "1"},), node_name="node1"),
        make_pod("used2", ({FOO: "2", "memory": "512Mi", "cpu": "6"},), node_name="node2"),
    ]
    return Snapshot.of(nodes, used)


DOCS_POD = make_pod("p", ({FOO: "2", "memory": "256Mi", "cpu": "2"},))


def test_the_docs_worked_example_per_resource_scores_on_the_zero_to_ten_scale():
    # node 1: foo (2+1)/4 = 75 -> 7, memory 512/1024 = 50 -> 5, cpu 3/8 = 37 (37.5 truncated) -> 3
    # node 2: foo (2+2)/8 = 50 -> 5, memory 768/1024 = 75 -> 7, cpu 8/8 = 100 -> 10
    shape = ((0, 0), (100, 10))
    for utilization, score in ((75, 7), (50, 5), (37, 3), (100, 10)):
        assert node_resources_fit.broken_linear(shape, utilization) == score
    node1 = [(3, 4, 5), (512, 1024, 1), (3, 8, 3)]
    node2 = [(4, 8, 5), (768, 1024, 1), (8, 8, 3)]
    # (7*5 + 5*1 + 3*3) / 9 = 5.44 -> 5; (5*5 + 7*1 + 10*3) / 9 = 6.89 -> 7 (rounded, as upstream)
    assert node_resources_fit.requested_to_capacity_ratio_score(shape, node1) == 5
    assert node_resources_fit.requested_to_capacity_ratio_score(shape, node2) == 7


def test_the_docs_worked_example_scored_by_the_plugin_on_the_zero_to_hundred_scale():
    # the shape's 0..10 scores are scaled by 10: node 1 (75*5 + 50 + 37*3) / 9 = 59.6 -> 60,
    # node 2 (50*5 + 75 + 100*3) / 9 = 69.4 -> 69.
    plugin = rtcr(DOCS_SHAPE, DOCS_WEIGHTS)
    assert score_with(plugin, DOCS_POD, docs_snapshot()) == {"node1": 60, "node2": 69}


def test_requested_to_capacity_ratio_prefers_the_fuller_node_with_the_docs_bin_packing_shape():
    plugin = rtcr(DOCS_SHAPE, DOCS_WEIGHTS)
    scores = score_with(plugin, DOCS_POD, docs_snapshot())
    assert max(scores, key=scores.get) == "node2"


def test_a_resource_scoring_zero_is_left_out_of_the_weighted_mean():
    # utilization 0 scores 0 with a bin-packing shape: only memory (50 -> 50) counts.
    shape = node_resources_fit.scaled_shape(((0, 0), (100, 10)))
    weighted = [(0, 8, 3), (512, 1024, 1)]
    assert node_resources_fit.requested_to_capacity_ratio_score(shape, weighted) == 50


# -- args validation (validation_pluginargs_test.go, ValidateNodeResourcesFitArgs) ---------------

FIT_ARGS_ERRORS = {
    "an empty shape is rejected: at least one point": (
        {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": []}},
        [
            "scoringStrategy.requestedToCapacityRatio.shape: Required value: "
            "at least one point must be specified"
        ],
    ),
    "shape utilizations must increase": (
        {
            "type": "RequestedToCapacityRatio",
            "requestedToCapacityRatio": {
                "shape": [{"utilization": 30, "score": 3}, {"utilization": 10, "score": 1}]
            },
        },
        [
            "scoringStrategy.requestedToCapacityRatio.shape[1].utilization: Invalid value: 10: "
            "values must be sorted in increasing order"
        ],
    ),
    "shape utilization and score out of range are both reported": (
        {
            "type": "RequestedToCapacityRatio",
            "requestedToCapacityRatio": {
                "shape": [{"utilization": -1, "score": 11}, {"utilization": 110, "score": 1}]
            },
        },
        [
            "scoringStrategy.requestedToCapacityRatio.shape[0].utilization: Invalid value: -1: "
            "not in valid range [0, 100]",
            "scoringStrategy.requestedToCapacityRatio.shape[0].score: Invalid value: 11: "
            "not in valid range [0, 10]",
            "scoringStrategy.requestedToCapacityRatio.shape[1].utilization: Invalid value: 110: "
            "not in valid range [0, 100]",
        ],
    ),
    "RequestedToCapacityRatio needs its parameters": (
        {"type": "RequestedToCapacityRatio"},
        [
            "scoringStrategy.requestedToCapacityRatio: Required value: "
            "must be specified when type is RequestedToCapacityRatio"
        ],
    ),
    "other strategies must not carry RequestedToCapacityRatio parameters": (
        {"type": "MostAllocated", "requestedToCapacityRatio": {"shape": LEAST_SHAPE}},
        [
            "scoringStrategy.requestedToCapacityRatio: Forbidden: "
            "must be nil when type is not RequestedToCapacityRatio"
        ],
    ),
    "an unsupported type lists the three strategies": (
        {"type": "Random"},
        [
            'scoringStrategy.type: Unsupported value: "Random": supported values: '
            '"LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"'
        ],
    ),
    "a weight out of (0, 100] is rejected with its resource name": (
        {"resources": [{"name": "cpu", "weight": 101}]},
        [
            "scoringStrategy.resources[0].weight: Invalid value: 101: "
            "resource weight of cpu not in valid range (0, 100]"
        ],
    ),
    "an unknown strategy field is rejected": (
        {"type": "LeastAllocated", "shape": []},
        ['unknown field "scoringStrategy.shape"'],
    ),
    "a shape that is not a list is rejected with its type": (
        {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": 3}},
        [
            "scoringStrategy.requestedToCapacityRatio.shape: Invalid value: 3: "
            "scoringStrategy.requestedToCapacityRatio.shape in body must be of type array"
        ],
    ),
}


@pytest.mark.parametrize("name", list(FIT_ARGS_ERRORS))
def test_scoring_strategy_args_errors(name):
    strategy, messages = FIT_ARGS_ERRORS[name]
    with pytest.raises(InvalidInput) as caught:
        node_resources_fit.new({"scoringStrategy": strategy}, None)
    assert [str(e) for e in caught.value.errors] == messages


IGNORED_ERRORS = {
    "an ignored resource must be a qualified name": (
        {"ignoredResources": ["foo/bar/baz"]},
        'ignoredResources[0]: Invalid value: "foo/bar/baz": a qualified name must consist of',
    ),
    "an ignored resource group cannot contain a slash": (
        {"ignoredResourceGroups": ["example.com/foo"]},
        'ignoredResourceGroups[0]: Invalid value: "example.com/foo": resource group name can\'t '
        "contain '/'",
    ),
    "an ignored resource group must be a qualified name": (
        {"ignoredResourceGroups": ["-bad"]},
        'ignoredResourceGroups[0]: Invalid value: "-bad": name part must consist of',
    ),
    "an unknown args field is rejected": (
        {"ignoredResource": ["a"]},
        'unknown field "ignoredResource"',
    ),
}


@pytest.mark.parametrize("name", list(IGNORED_ERRORS))
def test_ignored_resources_args_errors(name):
    args, message = IGNORED_ERRORS[name]
    with pytest.raises(InvalidInput) as caught:
        node_resources_fit.new(args, None)
    assert str(caught.value.errors[0]).startswith(message)


def test_every_args_problem_is_reported_at_once_as_an_aggregate():
    args = {"ignoredResourceGroups": ["a/b"], "scoringStrategy": {"type": "X"}}
    with pytest.raises(InvalidInput, match=r"^\[ignoredResourceGroups\[0\].*scoringStrategy.type"):
        node_resources_fit.new(args, None)


# -- ignoredResources / ignoredResourceGroups (fit_test.go) -----------------------------------------

IGNORED_CASES = {
    "skip checking ignored extended resource": (
        {"ignoredResources": ["example.com/bbb"]},
        {"example.com/bbb": "1"},
        (),
    ),
    "skip checking ignored extended resource via resource groups": (
        {"ignoredResourceGroups": ["example.com"]},
        {"example.com/bbb": "1", "example.com/ccc": "1"},
        (),
    ),
    "an extended resource outside the ignored group is still checked": (
        {"ignoredResourceGroups": ["example.com"]},
        {"example.org/bbb": "1"},
        ("Insufficient example.org/bbb",),
    ),
    "a kubernetes.io resource is never ignored": (
        {"ignoredResources": ["kubernetes.io/bbb"]},
        {"kubernetes.io/bbb": "1"},
        ("Insufficient kubernetes.io/bbb",),
    ),
}


@pytest.mark.parametrize("name", list(IGNORED_CASES))
def test_ignored_resources(name):
    args, extended, reasons = IGNORED_CASES[name]
    plugin = node_resources_fit.new(args, None)
    snapshot = Snapshot.of([make_node("n", NODE)])
    status = filter_with(plugin, make_pod("p", (r("1m", "1", **extended),)), snapshot)["n"]
    assert status.reasons == reasons


def test_v1_defaulting_makes_a_zero_weight_one_and_keeps_a_missing_type_missing():
    args = {"scoringStrategy": {"resources": [{"name": "cpu", "weight": 0}, {"name": "memory"}]}}
    defaulted = node_resources_fit.default_args(args)
    assert defaulted["scoringStrategy"]["resources"] == [
        {"name": "cpu", "weight": 1},
        {"name": "memory", "weight": 1},
    ]
    with pytest.raises(InvalidInput, match='scoringStrategy.type: Unsupported value: ""'):
        node_resources_fit.new(defaulted, None)


# -- TestFitScore (fit_test.go): the three strategies on one cluster ----------------------------

BIN_SHAPE = [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]
FIT_SCORE_NODES = {"node1": r("4000", "10000"), "node2": r("6000", "10000")}
FIT_SCORE_EXISTING = [("node1", (r("2000", "4000"),)), ("node2", (r("1000", "2000"),))]
FIT_SCORE_CASES = {
    "test case for ScoringStrategy RequestedToCapacityRatio case1": (
        {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": LEAST_SHAPE}},
        (r("3000", "5000"),),
        {"node1": 10, "node2": 32},
    ),
    "test case for ScoringStrategy RequestedToCapacityRatio case2": (
        {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": BIN_SHAPE}},
        (r("3000", "5000"),),
        {"node1": 95, "node2": 68},
    ),
    "test case for ScoringStrategy MostAllocated": (
        {"type": "MostAllocated"},
        (r("1000", "2000"),),
        {"node1": 67, "node2": 36},
    ),
    "test case for ScoringStrategy LeastAllocated": (
        {"type": "LeastAllocated"},
        (r("1000", "2000"),),
        {"node1": 32, "node2": 63},
    ),
}


@pytest.mark.parametrize("pre_score", [True, False], ids=["", "if PreScore is not called"])
@pytest.mark.parametrize("name", list(FIT_SCORE_CASES))
def test_fit_score(name, pre_score):
    strategy, requests, expected = FIT_SCORE_CASES[name]
    plugin = node_resources_fit.new({"scoringStrategy": strategy}, None)
    node_list = [make_node(n, allocatable) for n, allocatable in FIT_SCORE_NODES.items()]
    pods = [make_pod(f"e{i}", reqs, node_name=n) for i, (n, reqs) in enumerate(FIT_SCORE_EXISTING)]
    snapshot = Snapshot.of(node_list, pods)
    pod = make_pod("p", requests)
    state = CycleState(snapshot=snapshot)
    if pre_score:
        plugin.pre_score(state, pod, snapshot.node_infos)
    got = {info.name: plugin.score(state, pod, info)[0] for info in snapshot.node_infos}
    assert got == expected
