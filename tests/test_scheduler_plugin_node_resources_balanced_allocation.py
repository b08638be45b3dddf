"""NodeResourcesBalancedAllocation: upstream's scenarios with v1.35's (1 - std) * 100 formula.

The scenarios are those of balanced_allocation_test.go (nodes of milliCPU and
memory bytes, pods of two containers); the expected values follow v1.35's
formula, where std of two fractions is |f1 - f2| / 2, capped fractions at 1.
"""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.reference.scheduler import InvalidInput, Snapshot
from kubeprop.reference.scheduler.framework import CycleState, score_with
from kubeprop.reference.scheduler.plugins import node_resources_balanced_allocation as plugin
from kubeprop.reference.scheduler.plugins.node_resources_balanced_allocation import (
    balanced_resource_score,
)

BALANCED = plugin.new(None, None)


def node(name, milli_cpu, memory):
    return make_node(name, {"cpu": f"{milli_cpu}m", "memory": str(memory)})


CPU_ONLY = ({"cpu": "1000m", "memory": "0"}, {"cpu": "2000m", "memory": "0"})
CPU_AND_MEMORY = ({"cpu": "1000m", "memory": "2000"}, {"cpu": "2000m", "memory": "3000"})

CASES = {
    "nothing scheduled, resources requested, differently sized machines": (
        CPU_AND_MEMORY,
        [node("machine1", 4000, 10000), node("machine2", 6000, 10000)],
        [],
        {"machine1": 87, "machine2": 100},
    ),
    "resources requested, pods scheduled with resources": (
        CPU_AND_MEMORY,
        [node("machine1", 10000, 20000), node("machine2", 10000, 20000)],
        [("machine1", CPU_ONLY), ("machine2", CPU_AND_MEMORY)],
        {"machine1": 82, "machine2": 95},
    ),
    "resources requested, pods scheduled with resources, differently sized machines": (
        CPU_AND_MEMORY,
        [node("machine1", 10000, 20000), node("machine2", 10000, 50000)],
        [("machine1", CPU_ONLY), ("machine2", CPU_AND_MEMORY)],
        {"machine1": 82, "machine2": 80},
    ),
    "requested resources exceeding node capacity count as a full fraction": (
        CPU_ONLY,
        [node("machine1", 4000, 10000), node("machine2", 4000, 10000)],
        [("machine1", CPU_ONLY), ("machine2", CPU_AND_MEMORY)],
        {"machine1": 50, "machine2": 75},
    ),
    "zero node resources give zero std and the full score": (
        CPU_ONLY,
        [node("machine1", 0, 0), node("machine2", 0, 0)],
        [("machine1", CPU_ONLY), ("machine2", CPU_AND_MEMORY)],
        {"machine1": 100, "machine2": 100},
    ),
    "a best-effort pod is not scored (PreScore skips it)": (
        ({},),
        [node("machine1", 4000, 10000), node("machine2", 4000, 10000)],
        [("machine1", CPU_AND_MEMORY)],
        {"machine1": 0, "machine2": 0},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_score(name):
    requests, nodes, existing, expected = CASES[name]
    pods = [make_pod(f"e{i}", reqs, node_name=n) for i, (n, reqs) in enumerate(existing)]
    assert score_with(BALANCED, make_pod("p", requests), Snapshot.of(nodes, pods)) == expected


def test_a_best_effort_pod_makes_pre_score_skip():
    snapshot = Snapshot.of([node("a", 1000, 1000)])
    assert BALANCED.pre_score(CycleState(), make_pod("p", ({},)), snapshot.node_infos).is_skip()


@pytest.mark.parametrize(
    ("requested", "allocatable", "score"),
    [
        ((3000, 5000), (4000, 10000), 87),  # std 0.125
        ((1, 1, 1), (2, 4, 4), 88),  # three fractions: population std 0.1178...
        ((5,), (10,), 100),  # one fraction: std 0
        ((5, 0), (0, 10), 100),  # zero allocatable is left out
    ],
)
def test_the_standard_deviation_formula(requested, allocatable, score):
    assert balanced_resource_score(requested, allocatable) == score


def test_a_resource_without_a_name_is_rejected_with_the_field_path():
    with pytest.raises(InvalidInput, match=r"resources\[0\].name: Required value"):
        plugin.new({"resources": [{"weight": 1}]}, None)


# -- args (ValidateNodeResourcesBalancedAllocationArgs, SetDefaults_...Args) -------------------

BALANCED_ARGS_ERRORS = {
    "a weight other than 1 is invalid": (
        [{"name": "cpu", "weight": 2}, {"name": "memory", "weight": 1}],
        ["resources[0].weight: Invalid value: 2: must be 1"],
    ),
    "a resource named twice is a duplicate": (
        [{"name": "cpu", "weight": 1}, {"name": "cpu", "weight": 1}],
        ['resources[1].name: Duplicate value: "cpu"'],
    ),
    "an unknown field of a resource is rejected": (
        [{"name": "cpu", "weigth": 1}],
        ['unknown field "resources[0].weigth"'],
    ),
}


@pytest.mark.parametrize("name", list(BALANCED_ARGS_ERRORS))
def test_args_errors(name):
    items, messages = BALANCED_ARGS_ERRORS[name]
    with pytest.raises(InvalidInput) as caught:
        plugin.new({"resources": items}, None)
    assert [str(e) for e in caught.value.errors] == messages


def test_valid_args_name_the_scored_resources():
    args = {"resources": [{"name": "cpu", "weight": 1}, {"name": "example.com/gpu", "weight": 1}]}
    assert plugin.new(args, None).resources == ("cpu", "example.com/gpu")


def test_v1_defaulting_turns_a_missing_or_zero_weight_into_one():
    args = {"resources": [{"name": "cpu", "weight": 0}, {"name": "memory"}]}
    defaulted = plugin.default_args(args)
    assert defaulted == {
        "resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]
    }
    assert plugin.new(defaulted, None).resources == ("cpu", "memory")
    with pytest.raises(InvalidInput, match=r"resources\[0\].weight: Invalid value: 0: must be 1"):
        plugin.new(args, None)
