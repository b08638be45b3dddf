"""NodeResourcesFit: upstream's fit cases and LeastAllocated scores, transcribed as facts.

Units as upstream's tests write them: "10m" cpu, memory in bytes, extended
resources as counts. A request list holds one dict per container.
"""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.reference.scheduler import Code, InvalidInput, Snapshot
from kubeprop.reference.scheduler.framework import filter_with, score_with
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
