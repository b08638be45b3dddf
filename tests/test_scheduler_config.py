"""KubeSchedulerConfiguration: defaults, plugin merging, validation messages, upstream's documented examples.

Merging cases are transcribed from upstream's default_plugins_test.go (TestMergePlugins)
and framework_test.go (TestNewFrameworkMultiPointExpansion); the examples from
https://kubernetes.io/docs/reference/scheduling/config/,
https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/ and
https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/.
"""

from __future__ import annotations

import random

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeprop.conformance.strategies.scheduler import make_node, make_pod
from kubeprop.reference.scheduler import InvalidInput, Snapshot, config, plugins, schedule_one
from kubeprop.reference.scheduler.config import PluginRef, PluginSet, merge_plugin_set
from kubeprop.reference.scheduler.framework import SUCCESS, Registry
from kubeprop.reference.scheduler.plugins import node_affinity, node_resources_fit
from kubeprop.spec.api.base import FrozenMap

HEAD = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration"}


def load(**fields):
    return config.load({**HEAD, **fields})


def load_yaml(text):
    return config.load(yaml.safe_load(text))


def names(plugins_):
    return [p.name for p in plugins_]


def error_of(document):
    with pytest.raises(InvalidInput) as caught:
        config.load(document)
    return str(caught.value)


# -- defaults -----------------------------------------------------------------------------------


def test_an_empty_configuration_has_one_default_profile_with_the_default_plugins():
    loaded = load()
    (profile,) = loaded.profiles
    assert profile.scheduler_name == "default-scheduler"
    assert names(profile.plugins) == [name for name, _ in plugins.DEFAULT_PLUGINS]
    assert dict(profile.points) == {}
    default = plugins.default_profile()
    for point in ("pre_filter", "filter", "pre_score", "score", "post_filter", "bind"):
        assert names(profile.at(point)) == names(default.at(point)), point
    for plugin in profile.at("score"):
        assert profile.weight(plugin.name) == default.weight(plugin.name)


def test_upstream_defaults_for_the_scheduler_settings():
    loaded = load()
    assert loaded.percentage_of_nodes_to_score is None  # adaptive
    assert (loaded.parallelism, loaded.pod_initial_backoff_seconds) == (16, 1)
    assert loaded.pod_max_backoff_seconds == 10
    assert loaded.profiles[0].percentage_of_nodes_to_score == 0  # 0: adaptive, as upstream


def test_the_docs_minimal_configuration_loads():
    loaded = load_yaml(
        """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: /etc/srv/kubernetes/kube-scheduler/kubeconfig
"""
    )
    assert loaded.profile("default-scheduler").scheduler_name == "default-scheduler"


def test_a_profile_percentage_overrides_the_global_one_and_zero_means_adaptive():
    loaded = load(
        percentageOfNodesToScore=30,
        profiles=[{"schedulerName": "a"}, {"schedulerName": "b", "percentageOfNodesToScore": 70}],
    )
    assert loaded.percentage_of_nodes_to_score == 30
    assert [p.percentage_of_nodes_to_score for p in loaded.profiles] == [30, 70]
    assert load(percentageOfNodesToScore=0).percentage_of_nodes_to_score is None


def test_a_profile_is_found_by_scheduler_name_and_an_unknown_name_is_a_key_error():
    loaded = load(profiles=[{"schedulerName": "a"}, {"schedulerName": "b"}])
    assert loaded.profile("b").scheduler_name == "b"
    with pytest.raises(KeyError, match="no profile with schedulerName 'c'"):
        loaded.profile("c")


# -- the docs' examples (https://kubernetes.io/docs/reference/scheduling/config/) ---------------


def test_the_docs_multiple_profiles_example_gives_a_scheduler_without_scoring():
    loaded = load_yaml(
        """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: default-scheduler
  - schedulerName: no-scoring-scheduler
    plugins:
      preScore:
        disabled:
        - name: '*'
      score:
        disabled:
        - name: '*'
"""
    )
    default, no_scoring = loaded.profiles
    assert names(no_scoring.at("score")) == [] and names(no_scoring.at("pre_score")) == []
    assert names(no_scoring.at("filter")) == names(default.at("filter"))
    nodes = [
        make_node("a", {"cpu": "1", "memory": "1Gi"}),
        make_node("b", {"cpu": "4", "memory": "1Gi"}),
    ]
    pod = make_pod("p", ({"cpu": "500m"},))
    result = schedule_one(no_scoring, pod, Snapshot.of(nodes), random.Random(0))
    assert dict(result.totals) == {"a": 1, "b": 1}  # no score plugin: every node ties


def test_reweighting_a_default_score_plugin_runs_it_first_with_the_new_weight():
    # "They can be reordered with different weights like so": score.enabled re-declares a
    # default plugin, which then runs first at Score with its own weight.
    loaded = load_yaml(
        """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: multipoint-scheduler
    plugins:
      score:
        enabled:
        - name: NodeResourcesBalancedAllocation
          weight: 5
"""
    )
    profile = loaded.profile("multipoint-scheduler")
    scores = names(profile.at("score"))
    assert scores[0] == "NodeResourcesBalancedAllocation"
    assert sorted(scores) == sorted(names(plugins.default_profile().at("score")))
    assert profile.weight("NodeResourcesBalancedAllocation") == 5
    assert profile.weight("TaintToleration") == 3


def test_disabling_a_default_score_plugin_removes_it_from_score_only():
    loaded = load(profiles=[{"plugins": {"score": {"disabled": [{"name": "NodeResourcesFit"}]}}}])
    profile = loaded.profiles[0]
    assert "NodeResourcesFit" not in names(profile.at("score"))
    assert "NodeResourcesFit" in names(profile.at("filter"))
    # upstream's getScoreWeights still records the weight of a multiPoint score plugin
    assert profile.weight("NodeResourcesFit") == 1


def test_disabling_a_plugin_in_multi_point_removes_it_everywhere():
    loaded = load(profiles=[{"plugins": {"multiPoint": {"disabled": [{"name": "NodeAffinity"}]}}}])
    profile = loaded.profiles[0]
    assert "NodeAffinity" not in names(profile.plugins)
    assert "NodeAffinity" not in profile.weights
    assert "NodeAffinity" not in names(profile.at("filter"))


def test_disabling_every_default_and_reenabling_plugins_in_a_new_order():
    loaded = load(
        profiles=[
            {
                "plugins": {
                    "filter": {
                        "disabled": [{"name": "*"}],
                        "enabled": [{"name": "NodeResourcesFit"}, {"name": "NodeName"}],
                    }
                }
            }
        ]
    )
    assert names(loaded.profiles[0].at("filter")) == ["NodeResourcesFit", "NodeName"]


# -- the docs' plugin args examples ---------------------------------------------------------------


def test_the_docs_most_allocated_example_configures_node_resources_fit():
    loaded = load_yaml(
        """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - args:
      scoringStrategy:
        resources:
        - name: cpu
          weight: 1
        - name: memory
          weight: 1
        - name: intel.com/foo
          weight: 3
        - name: intel.com/bar
          weight: 3
        type: MostAllocated
    name: NodeResourcesFit
"""
    )
    (fit,) = [p for p in loaded.profiles[0].plugins if p.name == "NodeResourcesFit"]
    assert fit.scoring_strategy == "MostAllocated"
    assert fit.resources == (("cpu", 1), ("memory", 1), ("intel.com/foo", 3), ("intel.com/bar", 3))


RTCR_DOCS = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - args:
      scoringStrategy:
        resources:
        - name: intel.com/foo
          weight: 5
        - name: memory
          weight: 1
        - name: cpu
          weight: 3
        requestedToCapacityRatio:
          shape:
          - utilization: 0
            score: 0
          - utilization: 100
            score: 10
        type: RequestedToCapacityRatio
    name: NodeResourcesFit
"""


def test_the_docs_requested_to_capacity_ratio_example_scores_the_worked_example():
    profile = load_yaml(RTCR_DOCS).profiles[0]
    (fit,) = [p for p in profile.plugins if p.name == "NodeResourcesFit"]
    assert fit.shape == ((0, 0), (100, 10))
    nodes = [
        make_node("node1", {"intel.com/foo": "4", "memory": "1Gi", "cpu": "8"}),
        make_node("node2", {"intel.com/foo": "8", "memory": "1Gi", "cpu": "8"}),
    ]
    used = [
        make_pod("u1", ({"intel.com/foo": "1", "memory": "256Mi", "cpu": "1"},), node_name="node1"),
        make_pod("u2", ({"intel.com/foo": "2", "memory": "512Mi", "cpu": "6"},), node_name="node2"),
    ]
    pod = make_pod("p", ({"intel.com/foo": "2", "memory": "256Mi", "cpu": "2"},))
    result = schedule_one(profile, pod, Snapshot.of(nodes, used), random.Random(0))
    assert result.scores["node1"]["NodeResourcesFit"] == 60
    assert result.scores["node2"]["NodeResourcesFit"] == 69


def test_the_docs_added_affinity_example_restricts_only_its_profile():
    loaded = load_yaml(
        """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration

profiles:
  - schedulerName: default-scheduler
  - schedulerName: foo-scheduler
    pluginConfig:
      - name: NodeAffinity
        args:
          addedAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
              nodeSelectorTerms:
              - matchExpressions:
                - key: scheduler-profile
                  operator: In
                  values:
                  - foo
"""
    )
    nodes = [make_node("plain"), make_node("foo", labels={"scheduler-profile": "foo"})]
    snapshot = Snapshot.of(nodes)
    foo = schedule_one(loaded.profile("foo-scheduler"), make_pod(), snapshot, random.Random(0))
    assert foo.node_name == "foo"
    assert dict(foo.filtered) == {
        "plain": ("node(s) didn't match scheduler-enforced node affinity",)
    }
    default = schedule_one(
        loaded.profile("default-scheduler"), make_pod(), snapshot, random.Random(0)
    )
    assert set(default.feasible) == {"plain", "foo"}


def test_plugin_args_may_carry_their_own_type_meta():
    loaded = load(
        profiles=[
            {
                "pluginConfig": [
                    {
                        "name": "NodeResourcesFit",
                        "args": {
                            "apiVersion": "kubescheduler.config.k8s.io/v1",
                            "kind": "NodeResourcesFitArgs",
                            "scoringStrategy": {"type": "MostAllocated"},
                        },
                    }
                ]
            }
        ]
    )
    (fit,) = [p for p in loaded.profiles[0].plugins if p.name == "NodeResourcesFit"]
    assert fit.scoring_strategy == "MostAllocated"


def test_v1_defaulting_accepts_a_zero_resource_weight_as_one():
    strategy = {"type": "LeastAllocated", "resources": [{"name": "cpu", "weight": 0}]}
    loaded = load(
        profiles=[
            {"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": strategy}}]}
        ]
    )
    (fit,) = [p for p in loaded.profiles[0].plugins if p.name == "NodeResourcesFit"]
    assert fit.resources == (("cpu", 1),)


# -- mergePluginSet (default_plugins_test.go, TestMergePlugins) ------------------------------------


def pset(enabled=(), disabled=()):
    refs = tuple(PluginRef(*e) if isinstance(e, tuple) else PluginRef(e) for e in enabled)
    return PluginSet(refs, tuple(disabled))


MERGE_CASES = {
    "AppendCustomPlugin": (
        pset(["CustomPlugin"]),
        pset(["DefaultPlugin1", "DefaultPlugin2"]),
        pset(["DefaultPlugin1", "DefaultPlugin2", "CustomPlugin"]),
    ),
    "InsertAfterDefaultPlugins2": (
        pset(["CustomPlugin", "DefaultPlugin2"], ["DefaultPlugin2"]),
        pset(["DefaultPlugin1", "DefaultPlugin2"]),
        pset(["DefaultPlugin1", "CustomPlugin", "DefaultPlugin2"], ["DefaultPlugin2"]),
    ),
    "InsertBeforeAllPlugins": (
        pset(["CustomPlugin", "DefaultPlugin1", "DefaultPlugin2"], ["*"]),
        pset(["DefaultPlugin1", "DefaultPlugin2"]),
        pset(["CustomPlugin", "DefaultPlugin1", "DefaultPlugin2"], ["*"]),
    ),
    "ReorderDefaultPlugins": (
        pset(["DefaultPlugin2", "DefaultPlugin1"], ["*"]),
        pset(["DefaultPlugin1", "DefaultPlugin2"]),
        pset(["DefaultPlugin2", "DefaultPlugin1"], ["*"]),
    ),
    "ApplyNilCustomPlugin": (
        pset(),
        pset(["DefaultPlugin1", "DefaultPlugin2"]),
        pset(["DefaultPlugin1", "DefaultPlugin2"]),
    ),
    "CustomPluginOverrideDefaultPlugin": (
        pset([("Plugin1", 2), ("Plugin3", 3)]),
        pset(["Plugin1", "Plugin2", "Plugin3"]),
        pset([("Plugin1", 2), "Plugin2", ("Plugin3", 3)]),
    ),
    "OrderPreserveAfterOverride": (
        pset([("Plugin2", 2), ("Plugin1", 1)]),
        pset(["Plugin1", "Plugin2", "Plugin3"]),
        pset([("Plugin1", 1), ("Plugin2", 2), "Plugin3"]),
    ),
    "RepeatedCustomPlugin": (
        pset(["Plugin1", ("Plugin2", 2), "Plugin3", ("Plugin2", 4)]),
        pset(["Plugin1", "Plugin2", "Plugin3"]),
        pset(["Plugin1", ("Plugin2", 4), "Plugin3", ("Plugin2", 2)]),
    ),
    "Append custom MultiPoint plugin": (
        pset(["CustomPlugin"]),
        pset(["DefaultPlugin1", "DefaultPlugin2"]),
        pset(["DefaultPlugin1", "DefaultPlugin2", "CustomPlugin"]),
    ),
    "Append disabled Multipoint plugins": (
        pset(["CustomPlugin", "CustomPlugin2"], ["DefaultPlugin2"]),
        pset(["DefaultPlugin1", "DefaultPlugin2"]),
        pset(["DefaultPlugin1", "CustomPlugin", "CustomPlugin2"], ["DefaultPlugin2"]),
    ),
    "override default MultiPoint plugins with custom value": (
        pset([("DefaultPlugin", 5)]),
        pset(["DefaultPlugin"]),
        pset([("DefaultPlugin", 5)]),
    ),
    "disabled MultiPoint plugin in default set": (
        pset(["CustomPlugin"]),
        pset(["DefaultPlugin"], ["DefaultPlugin2"]),
        pset(["DefaultPlugin", "CustomPlugin"], ["DefaultPlugin2"]),
    ),
    "multipoint with only disabled gets merged": (
        pset([], ["DefaultPlugin"]),
        pset(["DefaultPlugin"]),
        pset([], ["DefaultPlugin"]),
    ),
}


@pytest.mark.parametrize("name", list(MERGE_CASES))
def test_merge_plugin_set(name):
    custom, default, expected = MERGE_CASES[name]
    assert merge_plugin_set(default, custom) == expected


# -- expandMultiPointPlugins (framework_test.go, TestNewFrameworkMultiPointExpansion) -----------


def fake_plugin(name, *points):
    """A plugin class named ``name`` implementing the framework points given."""
    methods = {}
    if "pre_filter" in points:
        methods["pre_filter"] = lambda self, state, pod, nodes: SUCCESS
    if "filter" in points:
        methods["filter"] = lambda self, state, pod, info: SUCCESS
    if "post_filter" in points:
        methods["post_filter"] = lambda self, state, pod, filtered: (None, SUCCESS)
    if "pre_score" in points:
        methods["pre_score"] = lambda self, state, pod, nodes: SUCCESS
    if "score" in points:
        methods["score"] = lambda self, state, pod, info: (0, SUCCESS)
        methods["score_extensions"] = lambda self: None
    if "reserve" in points:
        methods["reserve"] = lambda self, state, pod, node: SUCCESS
        methods["unreserve"] = lambda self, state, pod, node: None
    if "bind" in points:
        methods["bind"] = lambda self, state, pod, node: SUCCESS
    cls = type(name, (), {"name": name, **methods})
    return lambda args, handle: cls()


ALL = ("pre_filter", "filter", "post_filter", "pre_score", "score", "reserve", "bind")
TEST_REGISTRY = {
    "TestPlugin": fake_plugin("TestPlugin", *ALL),
    "ScorePlugin1": fake_plugin("ScorePlugin1", "pre_score", "score"),
    "ScorePlugin2": fake_plugin("ScorePlugin2", "score"),
    "ScoreWithNormalizePlugin1": fake_plugin("ScoreWithNormalizePlugin1", "score"),
    "QueueSortPlugin": fake_plugin("QueueSortPlugin"),
    "BindPlugin": fake_plugin("BindPlugin", "bind"),
    "FilterPlugin": fake_plugin("FilterPlugin", "filter"),
}


@pytest.fixture
def test_plugins(monkeypatch):
    """Only the fake plugins are registered, and there are no default plugins."""
    monkeypatch.setattr(plugins, "REGISTRY", Registry(FrozenMap(TEST_REGISTRY)))
    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", ())


def enabled(*items):
    return {
        "enabled": [
            {"name": i} if isinstance(i, str) else {"name": i[0], "weight": i[1]} for i in items
        ]
    }


EXPANSION_CASES = {
    "plugin expansion": (
        {"multiPoint": enabled(("TestPlugin", 5))},
        {point: ["TestPlugin"] for point in ALL},
        {"TestPlugin": 5},
    ),
    "disable MultiPoint plugin at some extension points": (
        {
            "multiPoint": enabled("TestPlugin"),
            "preScore": {"disabled": [{"name": "TestPlugin"}]},
            "score": {"disabled": [{"name": "TestPlugin"}]},
        },
        {**{point: ["TestPlugin"] for point in ALL}, "pre_score": [], "score": []},
        {"TestPlugin": 1},  # getScoreWeights reads multiPoint.enabled whatever is disabled
    ),
    "Multiple MultiPoint plugins": (
        {"multiPoint": enabled("TestPlugin", "ScorePlugin1")},
        {
            **{point: ["TestPlugin"] for point in ALL},
            "pre_score": ["TestPlugin", "ScorePlugin1"],
            "score": ["TestPlugin", "ScorePlugin1"],
        },
        {"TestPlugin": 1, "ScorePlugin1": 1},
    ),
    "disable MultiPoint extension": (
        {
            "multiPoint": enabled("TestPlugin", "ScorePlugin1"),
            "preScore": {"disabled": [{"name": "*"}]},
        },
        {
            **{point: ["TestPlugin"] for point in ALL},
            "pre_score": [],
            "score": ["TestPlugin", "ScorePlugin1"],
        },
        {"TestPlugin": 1, "ScorePlugin1": 1},
    ),
    "Reorder MultiPoint plugins (specified extension takes precedence)": (
        {
            "multiPoint": enabled("ScoreWithNormalizePlugin1", "TestPlugin", "ScorePlugin1"),
            "score": enabled("ScorePlugin1", "TestPlugin"),
        },
        {
            **{point: ["TestPlugin"] for point in ALL},
            "pre_score": ["TestPlugin", "ScorePlugin1"],
            "score": ["ScorePlugin1", "TestPlugin", "ScoreWithNormalizePlugin1"],
        },
        {"ScorePlugin1": 1, "TestPlugin": 1, "ScoreWithNormalizePlugin1": 1},
    ),
    "Reorder MultiPoint plugins (specified extension only takes precedence when it exists "
    "in MultiPoint)": (
        {
            "multiPoint": enabled("TestPlugin", "ScorePlugin1"),
            "score": enabled("ScoreWithNormalizePlugin1", "ScorePlugin1", "TestPlugin"),
        },
        {
            **{point: ["TestPlugin"] for point in ALL},
            "pre_score": ["TestPlugin", "ScorePlugin1"],
            "score": ["ScorePlugin1", "TestPlugin", "ScoreWithNormalizePlugin1"],
        },
        {"ScorePlugin1": 1, "TestPlugin": 1, "ScoreWithNormalizePlugin1": 1},
    ),
    "Override MultiPoint plugins weights": (
        {
            "multiPoint": enabled("TestPlugin", "ScorePlugin1"),
            "score": enabled(("ScorePlugin1", 5), ("TestPlugin", 3)),
        },
        {
            **{point: ["TestPlugin"] for point in ALL},
            "pre_score": ["TestPlugin", "ScorePlugin1"],
            "score": ["ScorePlugin1", "TestPlugin"],
        },
        {"ScorePlugin1": 5, "TestPlugin": 3},
    ),
    "disable and enable MultiPoint plugins with '*'": (
        {
            "multiPoint": {
                **enabled("QueueSortPlugin", "BindPlugin", "ScorePlugin1"),
                "disabled": [{"name": "*"}],
            }
        },
        {
            "pre_filter": [],
            "filter": [],
            "post_filter": [],
            "pre_score": ["ScorePlugin1"],
            "score": ["ScorePlugin1"],
            "reserve": [],
            "bind": ["BindPlugin"],
        },
        {"ScorePlugin1": 1},
    ),
    "disable and enable MultiPoint plugin by name": (
        {
            "multiPoint": {
                **enabled("BindPlugin", "QueueSortPlugin", "ScorePlugin1"),
                "disabled": [{"name": "ScorePlugin1"}],
            }
        },
        {
            "pre_filter": [],
            "filter": [],
            "post_filter": [],
            "pre_score": ["ScorePlugin1"],
            "score": ["ScorePlugin1"],
            "reserve": [],
            "bind": ["BindPlugin"],
        },
        {"ScorePlugin1": 1},
    ),
    "Override MultiPoint plugins weights and avoid a plugin being loaded multiple times": (
        {
            "multiPoint": enabled("TestPlugin", "ScorePlugin1"),
            "score": enabled(("ScorePlugin1", 5), ("ScorePlugin2", 5), ("TestPlugin", 3)),
        },
        {
            **{point: ["TestPlugin"] for point in ALL},
            "pre_score": ["TestPlugin", "ScorePlugin1"],
            "score": ["ScorePlugin1", "TestPlugin", "ScorePlugin2"],
        },
        {"ScorePlugin1": 5, "TestPlugin": 3, "ScorePlugin2": 5},
    ),
}


@pytest.mark.parametrize("name", list(EXPANSION_CASES))
def test_multi_point_expansion(name, test_plugins):
    plugin_sets, points, weights = EXPANSION_CASES[name]
    profile = load(profiles=[{"plugins": plugin_sets}]).profiles[0]
    for point, expected in points.items():
        assert names(profile.at(point)) == expected, point
    assert dict(profile.weights) == weights
    assert len(names(profile.plugins)) == len(set(names(profile.plugins)))  # each built once


def test_a_plugin_enabled_twice_in_multi_point_is_already_registered(test_plugins):
    message = error_of(
        {**HEAD, "profiles": [{"plugins": {"multiPoint": enabled("TestPlugin", "TestPlugin")}}]}
    )
    assert message == (
        "profiles[0]: creating profile for scheduler name default-scheduler: "
        'plugin "TestPlugin" already registered as "PreFilterPlugin"'
    )


def test_a_plugin_enabled_twice_at_one_point_is_already_registered(test_plugins):
    message = error_of(
        {**HEAD, "profiles": [{"plugins": {"filter": enabled("FilterPlugin", "FilterPlugin")}}]}
    )
    assert message.endswith('plugin "FilterPlugin" already registered as "FilterPlugin"')


def test_the_docs_multi_point_hierarchy_example(monkeypatch):
    # DefaultPlugin1: Score and Filter; DefaultPlugin2: Score; CustomPlugin1/2: Score and Filter.
    registry = {
        "DefaultQueueSort": fake_plugin("DefaultQueueSort"),
        "CustomQueueSort": fake_plugin("CustomQueueSort"),
        "DefaultPlugin1": fake_plugin("DefaultPlugin1", "score", "filter"),
        "DefaultPlugin2": fake_plugin("DefaultPlugin2", "score"),
        "CustomPlugin1": fake_plugin("CustomPlugin1", "score", "filter"),
        "CustomPlugin2": fake_plugin("CustomPlugin2", "score", "filter"),
    }
    monkeypatch.setattr(plugins, "REGISTRY", Registry(FrozenMap(registry)))
    monkeypatch.setattr(
        plugins,
        "DEFAULT_PLUGINS",
        (("DefaultQueueSort", 1), ("DefaultPlugin1", 1), ("DefaultPlugin2", 1)),
    )
    profile = load_yaml(
        """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: multipoint-scheduler
    plugins:
      multiPoint:
        enabled:
        - name: 'CustomQueueSort'
        - name: 'CustomPlugin1'
          weight: 3
        - name: 'CustomPlugin2'
        disabled:
        - name: 'DefaultQueueSort'
      filter:
        disabled:
        - name: 'DefaultPlugin1'
      score:
        enabled:
        - name: 'DefaultPlugin2'
"""
    ).profiles[0]
    assert "DefaultQueueSort" not in names(profile.plugins)
    assert "CustomQueueSort" in names(profile.plugins)
    assert names(profile.at("filter")) == ["CustomPlugin1", "CustomPlugin2"]
    # DefaultPlugin2, re-declared at score, runs first there
    assert names(profile.at("score")) == [
        "DefaultPlugin2",
        "DefaultPlugin1",
        "CustomPlugin1",
        "CustomPlugin2",
    ]
    assert dict(profile.weights) == {
        "DefaultPlugin2": 1,
        "DefaultPlugin1": 1,
        "CustomPlugin1": 3,
        "CustomPlugin2": 1,
    }


# -- errors ----------------------------------------------------------------------------------------

ERROR_CASES = {
    "a percentage above 100 is out of range": (
        {"percentageOfNodesToScore": 110},
        "percentageOfNodesToScore: Invalid value: 110: not in valid range [0-100]",
    ),
    "a negative profile percentage is out of range": (
        {"profiles": [{"percentageOfNodesToScore": -1}]},
        "profiles[0].percentageOfNodesToScore: Invalid value: -1: not in valid range [0-100]",
    ),
    "two profiles with one name are duplicates": (
        {"profiles": [{"schedulerName": "a"}, {"schedulerName": "a"}]},
        'profiles[1].schedulerName: Duplicate value: "profiles[0].schedulerName"',
    ),
    "the second of two profiles needs a name": (
        {"profiles": [{"schedulerName": "a"}, {}]},
        "profiles[1].schedulerName: Required value",
    ),
    "an empty scheduler name is required": (
        {"profiles": [{"schedulerName": ""}]},
        "profiles[0].schedulerName: Required value",
    ),
    "parallelism must be positive": (
        {"parallelism": 0},
        "parallelism: Invalid value: 0: should be an integer value greater than zero",
    ),
    "the initial backoff must be positive": (
        {"podInitialBackoffSeconds": 0},
        "podInitialBackoffSeconds: Invalid value: 0: must be greater than 0",
    ),
    "the maximum backoff must not be below the initial one": (
        {"podInitialBackoffSeconds": 5, "podMaxBackoffSeconds": 2},
        "podMaxBackoffSeconds: Invalid value: 2: must be greater than or equal to "
        "PodInitialBackoffSeconds",
    ),
    "leader election only takes leases": (
        {"leaderElection": {"leaderElect": True, "resourceLock": "endpoints"}},
        'leaderElection.resourceLock: Invalid value: "endpoints": resourceLock value must be "leases"',
    ),
    "an unknown top-level field is rejected": ({"profile": []}, 'unknown field "profile"'),
    "an unknown profile field is rejected": (
        {"profiles": [{"schedulerName": "a", "plugin": {}}]},
        'unknown field "profiles[0].plugin"',
    ),
    "an unknown extension point is rejected": (
        {"profiles": [{"plugins": {"scores": {}}}]},
        'unknown field "profiles[0].plugins.scores"',
    ),
    "a percentage of the wrong type is rejected": (
        {"percentageOfNodesToScore": "50"},
        'percentageOfNodesToScore: Invalid value: "50": percentageOfNodesToScore in body must be '
        "of type integer",
    ),
    "a weight of the wrong type is rejected": (
        {
            "profiles": [
                {"plugins": {"score": {"enabled": [{"name": "NodeAffinity", "weight": 1.5}]}}}
            ]
        },
        "profiles[0].plugins.score.enabled[0].weight: Invalid value: 1.5: "
        "profiles[0].plugins.score.enabled[0].weight in body must be of type integer",
    ),
    "profiles must be a list": (
        {"profiles": {"schedulerName": "a"}},
        'profiles: Invalid value: "object": profiles in body must be of type array',
    ),
    "a removed plugin is invalid in v1": (
        {"profiles": [{"plugins": {"filter": {"enabled": [{"name": "EBSLimits"}]}}}]},
        'profiles[0].plugins.filter.enabled[0]: Invalid value: "EBSLimits": was invalid in version '
        '"kubescheduler.config.k8s.io/v1" (KubeSchedulerConfiguration is version '
        '"kubescheduler.config.k8s.io/v1")',
    ),
    "plugin args configured twice are duplicates": (
        {"profiles": [{"pluginConfig": [{"name": "NodeAffinity"}, {"name": "NodeAffinity"}]}]},
        'profiles[0].pluginConfig[1]: Duplicate value: "NodeAffinity"',
    ),
    "queue sort must be the same in every profile": (
        {
            "profiles": [
                {"schedulerName": "a"},
                {"schedulerName": "b", "plugins": {"queueSort": {"disabled": [{"name": "*"}]}}},
            ]
        },
        'profiles[1].plugins.queueSort: Invalid value: "{enabled: [], disabled: [*]}": must be the '
        "same for all profiles",
    ),
    "node affinity args are validated under their pluginConfig path": (
        {
            "profiles": [
                {
                    "pluginConfig": [
                        {
                            "name": "NodeAffinity",
                            "args": {
                                "addedAffinity": {
                                    "preferredDuringSchedulingIgnoredDuringExecution": [
                                        {
                                            "weight": 1,
                                            "preference": {
                                                "matchFields": [
                                                    {"key": "metadata.name", "operator": "Exists"}
                                                ]
                                            },
                                        }
                                    ]
                                }
                            },
                        }
                    ]
                }
            ]
        },
        "profiles[0].pluginConfig[0].args.addedAffinity.preferredDuringSchedulingIgnoredDuringExecution"
        '[0].matchFields[0].operator: Unsupported value: "Exists": supported values: "In", "NotIn"',
    ),
    "balanced allocation args are validated under their pluginConfig path": (
        {
            "profiles": [
                {
                    "pluginConfig": [
                        {
                            "name": "NodeResourcesBalancedAllocation",
                            "args": {"resources": [{"name": "cpu", "weight": 2}]},
                        }
                    ]
                }
            ]
        },
        "profiles[0].pluginConfig[0].args.resources[0].weight: Invalid value: 2: must be 1",
    ),
    "node resources fit args fail when the plugin is initialized, as upstream": (
        {
            "profiles": [
                {
                    "pluginConfig": [
                        {
                            "name": "NodeResourcesFit",
                            "args": {"scoringStrategy": {"type": "Random"}},
                        }
                    ]
                }
            ]
        },
        "profiles[0].pluginConfig[0].args: creating profile for scheduler name default-scheduler: "
        'initializing plugin "NodeResourcesFit": scoringStrategy.type: Unsupported value: "Random": '
        'supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"',
    ),
    "a strategy without a type is rejected as upstream's v1 defaulting leaves it empty": (
        {
            "profiles": [
                {"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {}}}]}
            ]
        },
        "profiles[0].pluginConfig[0].args: creating profile for scheduler name default-scheduler: "
        'initializing plugin "NodeResourcesFit": scoringStrategy.type: Unsupported value: "": '
        'supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"',
    ),
    "a plugin enabled at a point it does not implement is rejected": (
        {
            "profiles": [
                {"plugins": {"filter": {"enabled": [{"name": "NodeResourcesBalancedAllocation"}]}}}
            ]
        },
        "profiles[0]: creating profile for scheduler name default-scheduler: plugin "
        '"NodeResourcesBalancedAllocation" does not extend FilterPlugin plugin',
    ),
    "extenders are not modelled": (
        {"extenders": [{"urlPrefix": "http://x"}]},
        "extenders: Forbidden: scheduler extenders are not modelled by kubeprop",
    ),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_invalid_configurations(name):
    fields, message = ERROR_CASES[name]
    assert error_of({**HEAD, **fields}) == message


def test_an_unknown_plugin_names_its_field_and_upstream_s_error():
    message = error_of(
        {**HEAD, "profiles": [{"plugins": {"score": {"enabled": [{"name": "Foo"}]}}}]}
    )
    assert message.startswith(
        'profiles[0].plugins.score.enabled[0].name: Not found: "Foo": ScorePlugin "Foo" does not exist'
    )


def test_an_unknown_multi_point_plugin_is_looked_up_at_pre_filter_first():
    message = error_of(
        {**HEAD, "profiles": [{"plugins": {"multiPoint": {"enabled": [{"name": "Foo"}]}}}]}
    )
    assert message.startswith(
        'profiles[0].plugins.multiPoint.enabled[0].name: Not found: "Foo": '
        'PreFilterPlugin "Foo" does not exist'
    )


def test_every_validation_problem_is_reported_at_once():
    message = error_of({**HEAD, "percentageOfNodesToScore": 101, "parallelism": -1})
    assert message == (
        "[parallelism: Invalid value: -1: should be an integer value greater than zero, "
        "percentageOfNodesToScore: Invalid value: 101: not in valid range [0-100]]"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"kind": "KubeSchedulerConfiguration"}, "apiVersion: Required value"),
        (
            {
                "apiVersion": "kubescheduler.config.k8s.io/v1beta3",
                "kind": "KubeSchedulerConfiguration",
            },
            'no kind "KubeSchedulerConfiguration" is registered for version '
            '"kubescheduler.config.k8s.io/v1beta3"',
        ),
        (
            {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "Policy"},
            'no kind "Policy" is registered for version "kubescheduler.config.k8s.io/v1"',
        ),
        ([], "a KubeSchedulerConfiguration must be an object, not array"),
    ],
)
def test_the_api_version_and_kind_must_be_kube_scheduler_configuration_v1(document, message):
    assert error_of(document) == message


# -- files ----------------------------------------------------------------------------------------


def test_load_file_reads_yaml_and_json(tmp_path):
    yaml_file = tmp_path / "config.yaml"
    yaml_file.write_text(RTCR_DOCS)
    assert config.load_file(yaml_file).profiles[0].scheduler_name == "default-scheduler"
    json_file = tmp_path / "config.json"
    json_file.write_text(
        '{"apiVersion": "kubescheduler.config.k8s.io/v1", '
        '"kind": "KubeSchedulerConfiguration", "parallelism": 4}'
    )
    assert config.load_file(json_file).parallelism == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: [", "config.yaml:1:"),
        (
            "a: 1\n---\nb: 2\n",
            "config.yaml: expected one KubeSchedulerConfiguration document, found 2",
        ),
        (b"\xff\xfe", "config.yaml:1:1: invalid UTF-8"),
    ],
)
def test_load_file_rejects_unreadable_text_naming_the_file(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[")):
        config.load_file(path)


def test_load_file_of_a_missing_file_is_invalid_input(tmp_path):
    with pytest.raises(InvalidInput, match="No such file or directory"):
        config.load_file(tmp_path / "missing.yaml")


# -- loading never raises anything but InvalidInput -----------------------------------------------

KEYS = (
    "apiVersion", "kind", "profiles", "schedulerName", "percentageOfNodesToScore", "plugins",
    "pluginConfig", "multiPoint", "score", "filter", "preScore", "queueSort", "enabled",
    "disabled", "name", "weight", "args", "scoringStrategy", "type", "resources",
    "requestedToCapacityRatio", "shape", "utilization", "ignoredResources", "addedAffinity",
    "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", "matchExpressions",
    "key", "operator", "values", "parallelism", "leaderElection", "extenders", "x",
)  # fmt: skip
NAMES = (
    *(name for name, _ in plugins.DEFAULT_PLUGINS),
    "*", "", "Foo", "EBSLimits", "RequestedToCapacityRatio", "MostAllocated", "In", "Gt",
)  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.sampled_from((0, 1, 5, 100, 101, -1)),
    st.floats(allow_nan=True),
    st.sampled_from(NAMES),
    st.text(max_size=5),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    ),
    max_leaves=20,
)
documents = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), values, max_size=4).map(lambda d: {**HEAD, **d}),
    st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
    values,
)
profiles = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "schedulerName": st.sampled_from(("a", "b", "")),
            "plugins": st.dictionaries(
                st.sampled_from(("multiPoint", "score", "filter", "preScore", "bind", "queueSort")),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "enabled": st.lists(
                            st.fixed_dictionaries(
                                {"name": st.sampled_from(NAMES)},
                                optional={"weight": st.integers(-2, 3)},
                            ),
                            max_size=3,
                        ),
                        "disabled": st.lists(
                            st.fixed_dictionaries({"name": st.sampled_from(NAMES)}), max_size=2
                        ),
                    },
                ),
                max_size=3,
            ),
            "pluginConfig": st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(NAMES)},
                    optional={"args": st.dictionaries(st.sampled_from(KEYS), values, max_size=3)},
                ),
                max_size=2,
            ),
        },
    ),
    max_size=3,
).map(lambda items: {**HEAD, "profiles": items})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(documents, profiles))
def test_loading_never_raises_anything_but_invalid_input(document):
    try:
        loaded = config.load(document)
    except InvalidInput as error:
        assert str(error)
    else:
        assert loaded.profiles
        for profile in loaded.profiles:
            assert profile.scheduler_name


def test_node_affinity_and_fit_modules_are_the_ones_the_loader_defaults():
    # the loader applies v1 defaulting for exactly these plugins' args
    assert config.default_args(node_resources_fit.NAME, {"scoringStrategy": {}}) == {
        "scoringStrategy": {"type": ""}
    }
    assert config.default_args(node_affinity.NAME, {"x": 1}) == {"x": 1}


POINT_WIRE = {
    "pre_filter": "preFilter",
    "filter": "filter",
    "post_filter": "postFilter",
    "pre_score": "preScore",
    "score": "score",
    "reserve": "reserve",
    "bind": "bind",
}
DEFAULT_NAMES = tuple(name for name, _ in plugins.DEFAULT_PLUGINS)
plugin_sets = st.fixed_dictionaries(
    {},
    optional={
        "enabled": st.lists(
            st.fixed_dictionaries(
                {"name": st.sampled_from(DEFAULT_NAMES)}, optional={"weight": st.integers(0, 4)}
            ),
            max_size=3,
            unique_by=lambda e: e["name"],
        ),
        "disabled": st.lists(
            st.fixed_dictionaries({"name": st.sampled_from((*DEFAULT_NAMES, "*"))}), max_size=2
        ),
    },
)
valid_plugins = st.dictionaries(
    st.sampled_from(("multiPoint", *POINT_WIRE.values())), plugin_sets, max_size=3
)


@settings(max_examples=100, deadline=None)
@given(valid_plugins)
def test_each_point_runs_implementing_plugins_once_honouring_disabled(plugin_config):
    try:
        profile = load(profiles=[{"plugins": plugin_config}]).profiles[0]
    except InvalidInput as error:
        # the only way to fail with registered names: enabling one where it does not belong
        assert "does not extend" in str(error)
        return
    multi = plugin_config.get("multiPoint", {})
    multi_off = {d["name"] for d in multi.get("disabled", ())}
    multi_on = {e["name"] for e in multi.get("enabled", ())}
    for point, wire in POINT_WIRE.items():
        at_point = names(profile.at(point))
        assert len(at_point) == len(set(at_point)), point
        explicit = {e["name"] for e in plugin_config.get(wire, {}).get("enabled", ())}
        off = {d["name"] for d in plugin_config.get(wire, {}).get("disabled", ())}
        for name in at_point:
            assert name in explicit or not ({name, "*"} & off), (point, name)
            assert name in explicit or name in multi_on or not ({name, "*"} & multi_off)
        for name in explicit:
            assert name in at_point, (point, name)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(("NodeResourcesFit", "NodeAffinity", "NodeResourcesBalancedAllocation")),
    st.one_of(values, st.dictionaries(st.sampled_from(KEYS), values, max_size=4)),
)
def test_the_plugins_reject_arbitrary_args_only_with_invalid_input(name, args):
    factory = plugins.REGISTRY.factories[name]
    try:
        plugin = factory(config.default_args(name, args), None)
    except InvalidInput as error:
        assert str(error)
    else:
        assert plugin.name == name
