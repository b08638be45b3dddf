"""Strategic merge patch: upstream's own table cases, then the served types end to end.

The table cases are k8s.io/apimachinery's strategicpatch tests (patch_test.go,
https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/apimachinery/pkg/util/strategicpatch/patch_test.go)
over their test type MergeItem, and the examples of
https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeprop.reference.apiserver import ApiServer
from kubeprop.reference.apiserver.patch import (
    ATOMIC_LIST,
    STRATEGIC_MERGE_PATCH,
    Field,
    PatchError,
    merge_patch,
    strategic_merge_patch,
)

# Upstream's MergeItem test type, field by field with its Go tags.
MERGE_ITEM = {
    "MergeItem": {
        "mergingList": Field("MergeItem", ("merge",), "name", "map", ("name",)),
        "nonMergingList": Field("MergeItem", list_type="atomic"),
        "mergingIntList": Field(strategy=("merge",), list_type="set"),
        "nonMergingIntList": ATOMIC_LIST,
        "mergeItemPtr": Field("MergeItem", ("merge",), "name"),
        "replacingItem": Field(strategy=("replace",)),
        "retainKeysMap": Field("RetainKeysMergeItem", ("retainKeys",)),
        "retainKeysMergingList": Field(
            "MergeItem", ("merge", "retainKeys"), "name", "map", ("name",)
        ),
    },
    "RetainKeysMergeItem": {
        "mergingIntList": Field(strategy=("merge",), list_type="set"),
        "mergingList": Field("MergeItem", ("merge",), "name", "map", ("name",)),
        "nonMergingList": Field("MergeItem", list_type="atomic"),
    },
}

CASES = yaml.safe_load(
    """
- description: unique scalars when merging lists
  original: {mergingIntList: [1, 2]}
  patch: {mergingIntList: [2, 3]}
  result: {mergingIntList: [1, 2, 3]}
- description: delete map from nested map
  original: {simpleMap: {key1: 1, key2: 1}}
  patch: {simpleMap: {$patch: delete}}
  result: {simpleMap: {}}
- description: delete all items from merging list
  original: {mergingList: [{name: 1}, {name: 2}]}
  patch: {mergingList: [{$patch: replace}]}
  result: {mergingList: []}
- description: merge empty merging lists
  original: {mergingList: []}
  patch: {mergingList: []}
  result: {mergingList: []}
- description: delete all keys from map
  original: {name: 1, value: 1}
  patch: {$patch: replace}
  result: {}
- description: add key and delete all keys from map
  original: {name: 1, value: 1}
  patch: {other: a, $patch: replace}
  result: {other: a}
- description: delete all duplicate entries in a merging list
  original: {mergingList: [{name: 1}, {name: 1}, {name: 2, value: a}, {name: 3}, {name: 3}]}
  patch: {mergingList: [{name: 1, $patch: delete}, {name: 3, $patch: delete}]}
  result: {mergingList: [{name: 2, value: a}]}
- description: retainKeys map can add a field when no retainKeys directive present
  original: {retainKeysMap: {name: foo}}
  patch: {retainKeysMap: {value: bar}}
  result: {retainKeysMap: {name: foo, value: bar}}
- description: retainKeys map can delete a field when no retainKeys directive present
  original: {retainKeysMap: {name: foo, value: a}}
  patch: {retainKeysMap: {value: null}}
  result: {retainKeysMap: {name: foo}}
- description: retainKeys map merge an empty map
  original: {retainKeysMap: {name: foo, value: a}}
  patch: {retainKeysMap: {}}
  result: {retainKeysMap: {name: foo, value: a}}
- description: retainKeys clears the fields it does not list
  original: {retainKeysMap: {name: foo, value: a, other: b}}
  patch: {retainKeysMap: {$retainKeys: [name, simpleMap], simpleMap: {k: v}}}
  result: {retainKeysMap: {name: foo, simpleMap: {k: v}}}
- description: retainKeys list can change a field when no retainKeys directive present
  original: {retainKeysMergingList: [{name: bar}, {name: foo, value: a}]}
  patch: {retainKeysMergingList: [{name: foo, value: b}]}
  result: {retainKeysMergingList: [{name: bar}, {name: foo, value: b}]}
- description: preserve the order from the patch in a merging list
  original: {mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]}
  patch: {mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, other: x}]}
  result:
    mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, value: b, other: x}]
- description: preserve the order from the patch in a merging list 2
  original: {mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]}
  patch: {mergingList: [{name: 3, value: c}, {name: 1, value: a}]}
  result: {mergingList: [{name: 2, value: b}, {name: 3, value: c}, {name: 1, value: a}]}
- description: preserve the order from the patch in a merging int list
  original: {mergingIntList: [1, 2, 3]}
  patch: {mergingIntList: [3, 1]}
  result: {mergingIntList: [2, 3, 1]}
- description: setElementOrder naming an item not in the list keeps the others in order
  original: {mergingList: [{name: 1}, {name: 3}]}
  patch:
    $setElementOrder/mergingList: [{name: 3}, {name: 2}, {name: 1}]
    mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]
  result: {mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]}
- description: setElementOrder alone reorders an int list
  original: {mergingIntList: [1, 3]}
  patch: {$setElementOrder/mergingIntList: [3, 2, 1]}
  result: {mergingIntList: [3, 1]}
- description: delete items in lists of scalars
  original: {mergingIntList: [1, 2, 3, 3, 4]}
  patch: {$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]}
  result: {mergingIntList: [1, 2, 4]}
- description: merge lists of maps in the order setElementOrder gives
  original: {mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}]}
  patch:
    $setElementOrder/mergingList: [{name: 4}, {name: 1}, {name: 2}, {name: 3}]
    mergingList: [{name: 4, value: 4}, {name: 3, value: 3}]
  result:
    mergingList:
      - {name: 4, value: 4}
      - {name: 1, other: a}
      - {name: 2, value: 2, other: b}
      - {name: 3, value: 3}
- description: a null deletes a field and a value adds one
  original: {name: 1, other: a}
  patch: {name: null, value: 1}
  result: {value: 1, other: a}
- description: a non-merging list of scalars is replaced
  original: {nonMergingIntList: [1, 2]}
  patch: {nonMergingIntList: [2, 3]}
  result: {nonMergingIntList: [2, 3]}
- description: a field with the replace strategy is replaced, not merged
  original: {replacingItem: {a: 1, b: 2}}
  patch: {replacingItem: {c: 3}}
  result: {replacingItem: {c: 3}}
- description: a new map in a merging list arrives without its directives
  original: {mergingList: [{name: 1}]}
  patch:
    $setElementOrder/mergingList: [{name: 1}, {name: 2}]
    mergingList: [{name: 2, simpleMap: {k: v, gone: null}}]
  result: {mergingList: [{name: 1}, {name: 2, simpleMap: {k: v}}]}
"""
)

ERRORS = yaml.safe_load(
    """
- description: the order of the patch list must match setElementOrder
  original: {mergingList: [{name: 1}, {name: 3}, {name: 2}]}
  patch:
    $setElementOrder/mergingList: [{name: 1}, {name: 2}, {name: 3}]
    mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]
  error: doesn't match
- description: a missing merge key is an error
  original: {mergingList: [{name: 1, value: a}]}
  patch: {mergingList: [{value: b}]}
  error: does not contain declared merge key
- description: an unknown patch type is an error
  original: {simpleMap: {a: 1}}
  patch: {simpleMap: {$patch: explode}}
  error: unknown patch type
- description: retainKeys must list every field the patch sets
  original: {retainKeysMap: {name: foo}}
  patch: {retainKeysMap: {$retainKeys: [name], value: b}}
  error: which $retainKeys does not list
- description: a merging list of scalars cannot take objects
  original: {mergingIntList: [1]}
  patch: {mergingIntList: [{a: 1}]}
  error: cannot merge
"""
)


@pytest.mark.parametrize("case", CASES, ids=[c["description"] for c in CASES])
def test_upstream_strategic_merge_patch_cases(case):
    original = copy.deepcopy(case["original"])
    result = strategic_merge_patch(original, case["patch"], "MergeItem", MERGE_ITEM)
    assert result == case["result"]
    assert original == case["original"], "the original must not change"


@pytest.mark.parametrize("case", ERRORS, ids=[c["description"] for c in ERRORS])
def test_upstream_strategic_merge_patch_errors(case):
    with pytest.raises(PatchError, match=case["error"].replace("$", r"\$")):
        strategic_merge_patch(case["original"], case["patch"], "MergeItem", MERGE_ITEM)


POD = {"spec": {"containers": [{"name": "nginx", "image": "nginx-1.0"}]}}


def test_adding_a_container_merges_by_name_as_the_design_document_shows():
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "nginx"}, {"name": "log-tailer"}],
            "containers": [{"name": "log-tailer", "image": "log-tailer-1.0"}],
        }
    }
    assert strategic_merge_patch(POD, patch, "Pod")["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx-1.0"},
        {"name": "log-tailer", "image": "log-tailer-1.0"},
    ]


def test_a_merge_patch_would_have_replaced_the_containers_but_the_strategic_one_does_not():
    patch = {"spec": {"containers": [{"name": "log-tailer", "image": "log-tailer-1.0"}]}}
    names = [c["name"] for c in strategic_merge_patch(POD, patch, "Pod")["spec"]["containers"]]
    assert sorted(names) == ["log-tailer", "nginx"]


def test_the_replace_directive_in_a_list_replaces_the_containers():
    patch = {"spec": {"containers": [{"name": "other", "image": "x"}, {"$patch": "replace"}]}}
    result = strategic_merge_patch(POD, patch, "Pod")
    assert result["spec"]["containers"] == [{"name": "other", "image": "x"}]


def test_the_delete_directive_removes_a_container_by_name():
    two = {"spec": {"containers": [*POD["spec"]["containers"], {"name": "log-tailer"}]}}
    patch = {"spec": {"containers": [{"name": "log-tailer", "$patch": "delete"}]}}
    assert strategic_merge_patch(two, patch, "Pod") == POD


def test_ports_merge_by_container_port_and_env_by_name():
    original = {
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "ports": [{"containerPort": 80}],
                    "env": [{"name": "A", "value": "1"}],
                }
            ]
        }
    }
    patch = {
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "ports": [{"containerPort": 80, "name": "http"}],
                    "env": [{"name": "B", "value": "2"}],
                }
            ]
        }
    }
    container = strategic_merge_patch(original, patch, "Pod")["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 80, "name": "http"}]
    assert sorted(e["name"] for e in container["env"]) == ["A", "B"]


def test_tolerations_are_replaced_because_upstream_gives_them_no_patch_strategy():
    original = {"spec": {"tolerations": [{"key": "a", "operator": "Exists"}]}}
    patch = {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}
    result = strategic_merge_patch(original, patch, "Pod")
    assert result["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_finalizers_are_a_set_and_owner_references_merge_by_uid():
    original = {
        "metadata": {
            "finalizers": ["a"],
            "ownerReferences": [{"uid": "1", "name": "x"}],
        }
    }
    patch = {
        "metadata": {
            "finalizers": ["a", "b"],
            "ownerReferences": [{"uid": "2", "name": "y"}],
        }
    }
    meta = strategic_merge_patch(original, patch, "Pod")["metadata"]
    assert sorted(meta["finalizers"]) == ["a", "b"]
    assert sorted(o["uid"] for o in meta["ownerReferences"]) == ["1", "2"]


def test_the_deployment_strategy_keeps_only_the_keys_the_patch_retains():
    original = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    result = strategic_merge_patch(original, patch, "Deployment")
    assert result["spec"]["strategy"] == {"type": "Recreate"}


# ---------------------------------------------------------------------- through the server

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "nginx", "image": "nginx:1.23", "ports": [{"containerPort": 80}]}
                ]
            },
        },
    },
}


@pytest.fixture
def server() -> ApiServer:
    return ApiServer()


def smp(server, resource, name, body, **params):
    return server.request(
        "patch",
        resource,
        namespace="default",
        name=name,
        body=body,
        params={"contentType": STRATEGIC_MERGE_PATCH, **params},
    )


def test_a_kubectl_three_way_patch_adds_a_sidecar_and_keeps_the_defaults(server):
    assert server.create("deployments", copy.deepcopy(DEPLOYMENT), "default").code == 201
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}, {"name": "log"}],
                    "containers": [{"name": "log", "image": "busybox"}],
                }
            }
        }
    }
    answer = smp(server, "deployments", "web", patch)
    assert answer.code == 200, answer.body
    containers = answer.body["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["nginx", "log"]
    assert containers[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert containers[1]["imagePullPolicy"] == "Always"  # defaulted: busybox is :latest
    assert answer.body["metadata"]["generation"] == 2


def test_a_strategic_patch_that_cannot_apply_is_422_and_changes_nothing(server):
    created = server.create("deployments", copy.deepcopy(DEPLOYMENT), "default").body
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "nameless"}]}}}}
    answer = smp(server, "deployments", "web", patch)
    assert (answer.code, answer.body["reason"]) == (422, "Invalid")
    assert "does not contain declared merge key: name" in answer.body["message"]
    after = server.get("deployments", "web", "default").body
    assert after["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_a_strategic_patch_of_the_scale_subresource_sets_replicas(server):
    server.create("deployments", copy.deepcopy(DEPLOYMENT), "default")
    answer = server.request(
        "patch",
        "deployments",
        namespace="default",
        name="web",
        subresource="scale",
        body={"spec": {"replicas": 4}},
        params={"contentType": STRATEGIC_MERGE_PATCH},
    )
    assert answer.code == 200 and answer.body["spec"]["replicas"] == 4
    assert server.get("deployments", "web", "default").body["spec"]["replicas"] == 4


def test_a_strategic_patch_of_pod_status_merges_conditions_by_type(server):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    server.create("pods", pod, "default")
    first = {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    second = {"status": {"conditions": [{"type": "Initialized", "status": "True"}]}}
    for body in (first, second):
        answer = server.request(
            "patch",
            "pods",
            namespace="default",
            name="p",
            subresource="status",
            body=body,
            params={"contentType": STRATEGIC_MERGE_PATCH},
        )
        assert answer.code == 200, answer.body
    types = sorted(c["type"] for c in answer.body["status"]["conditions"])
    assert types == ["Initialized", "Ready"]


# ---------------------------------------------------------------------- properties

_keys = st.sampled_from(["a", "b", "c", "name", "value"])
_scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.text("xy", max_size=2)
_documents = st.recursive(
    _scalars, lambda inner: st.dictionaries(_keys, inner, max_size=3), max_leaves=12
)


@settings(max_examples=200, deadline=None)
@given(
    original=st.dictionaries(_keys, _documents, max_size=4),
    patch=st.dictionaries(_keys, _documents, max_size=4),
)
def test_without_lists_or_directives_a_strategic_patch_is_a_json_merge_patch(original, patch):
    assert strategic_merge_patch(original, patch, "Untyped") == merge_patch(original, patch)


@settings(max_examples=100, deadline=None)
@given(
    names=st.lists(st.sampled_from("abcdef"), unique=True, max_size=5),
    added=st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=4),
)
def test_a_merging_list_keeps_every_element_and_follows_set_element_order(names, added):
    original = {"mergingList": [{"name": n, "value": "old"} for n in names]}
    order = names + [n for n in added if n not in names]
    patch = {
        "$setElementOrder/mergingList": [{"name": n} for n in order],
        "mergingList": [{"name": n, "value": "new"} for n in order if n in added],
    }
    result = strategic_merge_patch(original, patch, "MergeItem", MERGE_ITEM)["mergingList"]
    assert [item["name"] for item in result] == order
    assert all(item["value"] == ("new" if item["name"] in added else "old") for item in result)


_json = st.recursive(
    _scalars | st.sampled_from(["replace", "delete", "merge", "$patch"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "spec",
                    "containers",
                    "name",
                    "ports",
                    "containerPort",
                    "finalizers",
                    "$patch",
                    "$retainKeys",
                    "$setElementOrder/containers",
                    "$deleteFromPrimitiveList/finalizers",
                    "metadata",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(original=st.dictionaries(st.sampled_from(["spec", "metadata"]), _json), patch=_json)
def test_any_strategic_patch_either_applies_or_says_why(original, patch):
    """Bad patches are PatchErrors (422 from the server), never crashes."""
    try:
        result = strategic_merge_patch(original, patch, "Pod")
    except PatchError:
        return
    assert isinstance(result, dict)
