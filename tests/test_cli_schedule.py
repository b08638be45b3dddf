"""``kubeprop schedule``: reading manifests, placing pods one by one, explaining, failing well.

Every test runs ``kubeprop.cli.main`` in this process. Tests that check exact
scores run a profile of their own (TaintToleration weight 3, NodeResourcesFit
weight 1), put in place of the configuration, so that they do not change when
more plugins join the default profile.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import attrs
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeprop import cli, schedule
from kubeprop.conformance.strategies.scheduler import clusters
from kubeprop.reference.scheduler import resources
from kubeprop.reference.scheduler.framework import Profile, unresolvable
from kubeprop.reference.scheduler.plugins import REGISTRY
from kubeprop.spec.api import io
from kubeprop.spec.api.base import FrozenMap


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def node(name: str, cpu: str = "4", memory: str = "8Gi", extra: str = "") -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Node
        metadata: {{name: {name}}}
        status: {{allocatable: {{cpu: "{cpu}", memory: {memory}, pods: "110"}}}}{extra}
        ---
        """)


def pod(name: str, cpu: str = "1", memory: str = "1Gi", spec: str = "") -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}}}
        spec:
          containers:
          - name: c
            image: nginx
            resources: {{requests: {{cpu: "{cpu}", memory: {memory}}}}}{spec}
        ---
        """)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["schedule", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def two_plugins(monkeypatch):
    """Every run uses a profile of TaintToleration (weight 3) and NodeResourcesFit (weight 1)."""
    profile = Profile.build(REGISTRY, [("TaintToleration", 3), ("NodeResourcesFit", 1)])
    monkeypatch.setattr(schedule, "load_profiles", lambda path: {"default-scheduler": profile})
    return profile


THREE_NODES = (
    node("n1", "4", "10Gi", "\n        spec: {taints: [{key: spot, effect: PreferNoSchedule}]}")
    + node("n2", "6", "10Gi")
    + node("n3", "1", "10Gi")
)


# -- output -----------------------------------------------------------------------------------


def test_the_explanation_is_exactly_the_documented_json(capsys, tmp_path, two_plugins):
    path = write(tmp_path, "cluster.yaml", THREE_NODES + pod("p1", "3", "5Gi"))
    code, out, err = run(capsys, path, "--explain", "-o", "json")
    assert (code, err) == (0, "")
    # LeastAllocated: n1 ((4-3)/4*100 = 25 + (10-5)/10*100 = 50) / 2 = 37, n2 (50 + 50) / 2 = 50;
    # TaintToleration: n1 has one intolerable PreferNoSchedule taint, n2 none.
    assert json.loads(out) == {
        "results": [
            {
                "pod": "default/p1",
                "node": "n2",
                "filtered": {"n3": ["NodeResourcesFit: Insufficient cpu"]},
                "scores": {
                    "n1": {"TaintToleration": 0, "NodeResourcesFit": 37},
                    "n2": {"TaintToleration": 100, "NodeResourcesFit": 50},
                },
                "totals": {"n1": 37, "n2": 350},
            }
        ]
    }
    assert list(json.loads(out)["results"][0]) == ["pod", "node", "filtered", "scores", "totals"]


def test_totals_are_the_scores_weighted_by_the_profile(capsys, tmp_path, two_plugins):
    path = write(tmp_path, "cluster.yaml", THREE_NODES + pod("p1", "3", "5Gi"))
    result = json.loads(run(capsys, path, "--explain", "-o", "json")[1])["results"][0]
    for name, scores in result["scores"].items():
        weighted = sum(score * two_plugins.weight(p) for p, score in scores.items())
        assert result["totals"][name] == weighted


def test_an_unschedulable_pod_has_a_null_node_the_reasons_and_upstreams_message(
    capsys, tmp_path, two_plugins
):
    path = write(tmp_path, "cluster.yaml", THREE_NODES + pod("big", "8"))
    code, out, _ = run(capsys, path, "--explain", "-o", "json")
    assert code == 0
    assert json.loads(out)["results"] == [
        {
            "pod": "default/big",
            "node": None,
            "filtered": {n: ["NodeResourcesFit: Insufficient cpu"] for n in ("n1", "n2", "n3")},
            "scores": {},
            "totals": {},
            "message": "0/3 nodes are available: 3 Insufficient cpu.",
        }
    ]


def test_every_reason_of_the_rejecting_status_is_listed_with_its_plugin(
    capsys, tmp_path, two_plugins
):
    path = write(tmp_path, "cluster.yaml", node("n1", "1", "1Gi") + pod("p", "2", "2Gi"))
    result = json.loads(run(capsys, path, "--explain", "-o", "json")[1])["results"][0]
    assert result["filtered"] == {
        "n1": ["NodeResourcesFit: Insufficient cpu", "NodeResourcesFit: Insufficient memory"]
    }
    assert (
        result["message"] == "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."
    )


def test_with_a_single_feasible_node_nothing_is_scored(capsys, tmp_path, two_plugins):
    path = write(tmp_path, "cluster.yaml", THREE_NODES + pod("p", "5"))
    result = json.loads(run(capsys, path, "--explain", "-o", "json")[1])["results"][0]
    assert result["node"] == "n2"
    assert (result["scores"], result["totals"]) == ({}, {})
    assert set(result["filtered"]) == {"n1", "n3"}


def test_the_table_is_pod_node_reason(capsys, tmp_path, two_plugins):
    path = write(tmp_path, "cluster.yaml", THREE_NODES + pod("p1", "3", "5Gi") + pod("big", "8"))
    code, out, _ = run(capsys, path)
    assert code == 0
    assert out.splitlines() == [
        "POD           NODE     REASON",
        "default/p1    n2",
        "default/big   <none>   0/3 nodes are available: 3 Insufficient cpu.",
    ]


def test_json_without_explain_is_pod_and_node(capsys, tmp_path, two_plugins):
    path = write(tmp_path, "cluster.yaml", THREE_NODES + pod("p1", "3", "5Gi") + pod("big", "8"))
    code, out, _ = run(capsys, path, "-o", "json")
    assert code == 0
    assert json.loads(out) == {
        "results": [
            {"pod": "default/p1", "node": "n2"},
            {
                "pod": "default/big",
                "node": None,
                "message": "0/3 nodes are available: 3 Insufficient cpu.",
            },
        ]
    }


def test_the_explanation_as_text_lists_every_node(capsys, tmp_path, two_plugins):
    path = write(tmp_path, "cluster.yaml", THREE_NODES + pod("p1", "3", "5Gi"))
    code, out, _ = run(capsys, path, "--explain")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "pod default/p1 -> n2"
    assert any(line.split()[:2] == ["n2", "350"] for line in lines)
    assert any(line.split()[:2] == ["n3", "filtered"] for line in lines)


# -- scheduling order and state ----------------------------------------------------------------


def test_pods_are_placed_in_file_order_each_seeing_the_ones_before(capsys, tmp_path):
    nodes = write(tmp_path, "nodes.yaml", node("n1", "2") + node("n2", "2"))
    first = write(tmp_path, "first.yaml", pod("a", "2"))
    second = write(tmp_path, "second.yaml", pod("b", "2") + pod("c", "2"))
    code, out, _ = run(capsys, nodes, second, first, "-o", "json")
    assert code == 0
    results = json.loads(out)["results"]
    assert [r["pod"] for r in results] == ["default/b", "default/c", "default/a"]
    assert {results[0]["node"], results[1]["node"]} == {"n1", "n2"}
    assert results[2]["node"] is None


def test_existing_pods_count_on_their_node_and_are_not_scheduled(capsys, tmp_path):
    text = (
        node("n1", "2")
        + node("n2", "2")
        + pod("running", "2", spec="\n          nodeName: n1")
        + pod("new", "2")
    )
    code, out, _ = run(capsys, write(tmp_path, "c.yaml", text), "-o", "json")
    assert code == 0
    assert json.loads(out)["results"] == [{"pod": "default/new", "node": "n2"}]


def test_finished_pods_and_pods_of_unknown_nodes_are_not_counted(capsys, tmp_path):
    text = (
        node("n1", "2")
        + pod("done", "2", spec="\n          nodeName: n1\n        status: {phase: Succeeded}")
        + pod("elsewhere", "2", spec="\n          nodeName: gone")
        + pod("failed", "1", spec="\n        status: {phase: Failed}")
        + pod("new", "2")
    )
    code, out, err = run(capsys, write(tmp_path, "c.yaml", text), "-o", "json")
    assert code == 0
    assert json.loads(out)["results"] == [{"pod": "default/new", "node": "n1"}]
    assert "pod default/done has finished (Succeeded); it is left out" in err
    assert "node 'gone', which is not in the files" in err
    assert "pod default/failed has finished (Failed)" in err


def test_a_list_is_read_item_by_item(capsys, tmp_path):
    text = """\
        apiVersion: v1
        kind: List
        items:
        - {apiVersion: v1, kind: Node, metadata: {name: n1},
           status: {allocatable: {cpu: "1", memory: 1Gi, pods: "110"}}}
        - {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: team},
           spec: {containers: [{name: c, image: nginx}]}}
        """
    code, out, _ = run(capsys, write(tmp_path, "list.yaml", text), "-o", "json")
    assert code == 0
    assert json.loads(out)["results"] == [{"pod": "team/p", "node": "n1"}]


def test_the_same_seed_gives_the_same_placements_and_seeds_break_ties(capsys, tmp_path):
    text = "".join(node(f"n{i}") for i in range(4)) + pod("p")
    path = write(tmp_path, "c.yaml", text)
    chosen = set()
    for seed in range(12):
        first = run(capsys, path, "--seed", str(seed), "-o", "json")[1]
        assert run(capsys, path, "--seed", str(seed), "-o", "json")[1] == first
        chosen.add(json.loads(first)["results"][0]["node"])
    assert len(chosen) > 1


def test_a_pod_naming_an_unknown_scheduler_is_not_scheduled(capsys, tmp_path):
    text = node("n1") + pod("p", spec="\n          schedulerName: my-scheduler")
    code, out, _ = run(capsys, write(tmp_path, "c.yaml", text), "--explain", "-o", "json")
    assert code == 0
    [result] = json.loads(out)["results"]
    assert result["node"] is None
    assert result["message"] == 'profile not found for scheduler name "my-scheduler"'


def test_each_pod_runs_in_the_profile_its_scheduler_name_names(capsys, tmp_path, monkeypatch):
    only_fit = Profile.build(REGISTRY, ["NodeResourcesFit"], scheduler_name="fit-only")
    no_filters = attrs.evolve(
        Profile.build(REGISTRY, ["TaintToleration"]), points=FrozenMap({"filter": ()})
    )
    profiles = {"default-scheduler": no_filters, "fit-only": only_fit}
    monkeypatch.setattr(schedule, "load_profiles", lambda path: profiles)
    text = (
        node("n1", "1")
        + node("n2", "8")
        + pod("default-one", "4")
        + pod("fit-one", "4", spec="\n          schedulerName: fit-only")
    )
    out = run(capsys, write(tmp_path, "c.yaml", text), "--explain", "-o", "json")[1]
    default_one, fit_one = json.loads(out)["results"]
    assert default_one["filtered"] == {}  # no filter in that profile
    assert set(default_one["scores"]["n1"]) == {"TaintToleration"}
    assert fit_one["filtered"] == {"n1": ["NodeResourcesFit: Insufficient cpu"]}


def test_namespaces_and_workloads_reach_the_snapshot(tmp_path):
    text = """\
        apiVersion: v1
        kind: Namespace
        metadata: {name: team, labels: {tier: gold}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: team}
        spec: {selector: {app: web}, ports: [{port: 80}]}
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: db}
        spec: {selector: {matchLabels: {app: db}}}
        ---
        apiVersion: v1
        kind: ReplicationController
        metadata: {name: old}
        spec: {selector: {app: old}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p, namespace: other}
        spec: {containers: [{name: c, image: nginx}]}
        """
    inputs = schedule.read_files([write(tmp_path, "c.yaml", text)])
    snapshot = inputs.snapshot()
    assert snapshot.namespaces["team"] == {"tier": "gold", "kubernetes.io/metadata.name": "team"}
    assert snapshot.namespaces["other"] == {"kubernetes.io/metadata.name": "other"}
    kinds = [
        (w["kind"], w["metadata"]["namespace"], w["metadata"]["name"]) for w in inputs.workloads
    ]
    assert kinds == [
        ("Service", "team", "web"),
        ("StatefulSet", "default", "db"),
        ("ReplicationController", "default", "old"),
    ]


def test_other_kinds_are_ignored_with_a_note_naming_the_document(capsys, tmp_path):
    text = node("n1") + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
    code, out, err = run(capsys, write(tmp_path, "c.yaml", text))
    assert code == 0
    assert out == "POD   NODE   REASON\n"
    assert 'c.yaml: document 2: ignoring ConfigMap "settings"' in err
    assert err.startswith("note: ")


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        (
            node("n1") + "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n",
            'c.yaml: document 2: The Pod "p" is invalid: spec.containers: Required value',
        ),
        (
            pod("p", spec="\n          nodeSelectr: {a: b}"),
            'c.yaml: document 1: The Pod "p" is invalid: unknown field "spec.nodeSelectr"',
        ),
        (
            "metadata: {name: x}\n",
            "c.yaml: document 1: error validating data: [apiVersion not set, kind not set]",
        ),
        ("kind: Pod\nmetadata: {name: [\n", "error parsing"),
        (
            node("n1") + node("n1"),
            'c.yaml: document 2: nodes "n1" already exists (also in',
        ),
        (
            pod("p") + pod("p"),
            'c.yaml: document 2: pods "default/p" already exists (also in',
        ),
        (
            node("n1", "-1"),
            'The Node "n1" is invalid: status.allocatable[cpu]: Invalid value: "-1"',
        ),
        (
            "apiVersion: v2\nkind: Pod\nmetadata: {name: p}\n",
            'no kind "Pod" is registered for version "v2"',
        ),
        (
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {}\n",
            "The StatefulSet is invalid: metadata.name: Required value",
        ),
    ],
    ids=[
        "a pod without containers",
        "an unknown field",
        "a document without apiVersion and kind",
        "text that is not YAML",
        "two nodes of one name",
        "two pods of one name",
        "a negative quantity",
        "a kind of an unknown version",
        "a workload without a name",
    ],
)
def test_bad_input_is_one_kubectl_style_line_and_exit_code_1(capsys, tmp_path, text, message):
    code, out, err = run(capsys, write(tmp_path, "c.yaml", text))
    assert code == 1
    assert out == ""
    assert err.startswith("error: ")
    assert message in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_the_parse_error_names_the_file_line_and_column(capsys, tmp_path):
    code, _, err = run(capsys, write(tmp_path, "bad.yaml", "kind: Pod\nmetadata: {name: [\n"))
    assert code == 1
    assert "bad.yaml:3:1" in err


def test_a_missing_file_is_named(capsys, tmp_path):
    code, out, err = run(capsys, str(tmp_path / "nope.yaml"))
    assert (code, out) == (1, "")
    assert err == f'error: the path "{tmp_path / "nope.yaml"}" does not exist\n'


def test_a_missing_config_file_is_named(capsys, tmp_path):
    path = write(tmp_path, "c.yaml", node("n1"))
    code, _, err = run(capsys, path, "--config", str(tmp_path / "cfg.yaml"))
    assert code == 1
    assert err == f'error: the path "{tmp_path / "cfg.yaml"}" does not exist\n'


def test_usage_errors_exit_with_2(capsys, tmp_path):
    path = write(tmp_path, "c.yaml", node("n1"))
    assert cli.main(["schedule", path, "-o", "yaml"]) == 2
    assert "invalid choice: 'yaml'" in capsys.readouterr().err
    assert cli.main(["schedule"]) == 2
    assert cli.main(["schedule", path, "--seed", "-3"]) == 2


def test_no_nodes_at_all_leaves_every_pod_unscheduled(capsys, tmp_path):
    code, out, _ = run(capsys, write(tmp_path, "c.yaml", pod("p")), "-o", "json")
    assert code == 0
    assert json.loads(out)["results"] == [
        {"pod": "default/p", "node": None, "message": "no nodes available to schedule pods"}
    ]


# -- the guide's examples (docs/scheduling.md) ----------------------------------------------------

EXAMPLES = str(Path(__file__).resolve().parent.parent / "examples" / "scheduler") + "/"


def test_the_bin_packing_example_prints_what_the_guide_shows(capsys):
    code, out, _ = run(
        capsys,
        EXAMPLES + "nodes.yaml",
        EXAMPLES + "pods.yaml",
        "--config",
        EXAMPLES + "most-allocated.yaml",
    )
    assert code == 0
    assert out.splitlines() == [
        "POD             NODE     REASON",
        "default/web-1   node-a",
        "default/batch   node-c",
        "default/huge    <none>   0/3 nodes are available: 1 Insufficient memory, 3 Insufficient"
        " cpu.",
    ]


def test_the_weights_example_explains_what_the_guide_shows(capsys):
    code, out, _ = run(
        capsys,
        EXAMPLES + "nodes.yaml",
        EXAMPLES + "pods.yaml",
        "--config",
        EXAMPLES + "weights.yaml",
        "--explain",
        "-o",
        "json",
    )
    assert code == 0
    web, batch, huge = json.loads(out)["results"]
    assert web["totals"] == {"node-a": 352, "node-b": 90, "node-c": 362}
    assert "NodeAffinity" not in web["scores"]["node-a"]  # skipped in PreScore
    assert batch["scores"]["node-a"] == {
        "TaintToleration": 100,
        "NodeAffinity": 100,
        "NodeResourcesFit": 43,
    }
    assert batch["totals"] == {"node-a": 543, "node-b": 81}
    assert huge["node"] is None
    assert huge["filtered"]["node-c"] == [
        "NodeResourcesFit: Insufficient cpu",
        "NodeResourcesFit: Insufficient memory",
    ]


def test_a_bad_configuration_is_one_line_naming_the_field(capsys, tmp_path):
    config = write(
        tmp_path,
        "cfg.yaml",
        """\
        apiVersion: kubescheduler.config.k8s.io/v1
        kind: KubeSchedulerConfiguration
        profiles:
        - plugins: {score: {enabled: [{name: Nope}]}}
        """,
    )
    code, out, err = run(capsys, EXAMPLES + "nodes.yaml", "--config", config)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {config}: profiles[0].plugins.score.enabled[0].name: ")
    assert len(err.splitlines()) == 1


@attrs.frozen
class Gate:
    """A PreFilter plugin that turns every pod away."""

    name: str = "Gate"

    def pre_filter(self, state, pod, nodes):
        return unresolvable("gate closed")


def test_a_prefilter_rejection_is_reported_on_every_node_with_its_plugin(
    capsys, tmp_path, monkeypatch
):
    registry = REGISTRY.merge({"Gate": lambda args, handle: Gate()})
    profile = Profile.build(registry, ["Gate", "NodeResourcesFit"])
    monkeypatch.setattr(schedule, "load_profiles", lambda path: {"default-scheduler": profile})
    path = write(tmp_path, "c.yaml", node("n1") + node("n2") + pod("p"))
    [result] = json.loads(run(capsys, path, "--explain", "-o", "json")[1])["results"]
    assert result["filtered"] == {"n1": ["Gate: gate closed"], "n2": ["Gate: gate closed"]}
    assert result["message"] == "0/2 nodes are available: 2 gate closed."


def test_a_profile_without_score_plugins_gives_every_feasible_node_a_total_of_1(
    capsys, tmp_path, monkeypatch
):
    profile = Profile.build(REGISTRY, ["NodeResourcesFit"])
    no_scoring = attrs.evolve(profile, points=FrozenMap({"score": ()}))
    monkeypatch.setattr(schedule, "load_profiles", lambda path: {"default-scheduler": no_scoring})
    path = write(tmp_path, "c.yaml", node("n1") + node("n2") + pod("p"))
    [result] = json.loads(run(capsys, path, "--explain", "-o", "json")[1])["results"]
    assert result["scores"] == {"n1": {}, "n2": {}}
    assert result["totals"] == {"n1": 1, "n2": 1}


# -- a property over random clusters --------------------------------------------------------------


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cluster=clusters(max_nodes=4, max_pods=6), seed=st.integers(0, 3))
def test_every_decision_is_consistent_with_its_explanation_and_the_nodes_room(
    capsys, tmp_path, cluster, seed
):
    """Random nodes and pods through the command with the default profile: each pending pod
    gets one result, in order; the filtered and the scored nodes never overlap; the chosen
    node has the highest total; totals are the weighted scores; and no placement ever
    takes more than a node has left after the pods placed before it."""
    node_objects, pod_objects = cluster
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump_all([io.dump(o) for o in (*node_objects, *pod_objects)]))
    code, out, err = run(capsys, str(path), "--explain", "-o", "json", "--seed", str(seed))
    assert code == 0, err
    results = json.loads(out)["results"]
    pending = [p for p in pod_objects if not p.spec.node_name]
    assert [r["pod"] for r in results] == [f"default/{p.metadata.name}" for p in pending]

    profile = schedule.default_profiles()["default-scheduler"]
    names = {n.metadata.name for n in node_objects}
    allocatable = {n.metadata.name: resources.allocatable(n) for n in node_objects}
    used = {name: {} for name in names}
    for p in pod_objects:
        if p.spec.node_name:
            _add(used[p.spec.node_name], resources.pod_requests(p), pods=1)
    for p, result in zip(pending, results):
        assert set(result["filtered"]).isdisjoint(result["totals"])
        assert set(result["filtered"]) | set(result["totals"]) <= names
        for name, scores in result["scores"].items():
            weighted = sum(score * profile.weight(plugin) for plugin, score in scores.items())
            assert result["totals"][name] == weighted
        chosen = result["node"]
        if chosen is None:
            assert result["message"]
            continue
        assert chosen not in result["filtered"]
        if result["totals"]:
            assert result["totals"][chosen] == max(result["totals"].values())
        wanted = resources.pod_requests(p)
        room = allocatable[chosen]
        assert used[chosen].get("pods", 0) + 1 <= room.get("pods", 0)
        for resource, amount in wanted.items():
            if amount > 0:
                assert used[chosen].get(resource, 0) + amount <= room.get(resource, 0), resource
        _add(used[chosen], wanted, pods=1)


def _add(total: dict, requests: dict, pods: int) -> None:
    for resource, amount in requests.items():
        total[resource] = total.get(resource, 0) + amount
    total["pods"] = total.get("pods", 0) + pods
