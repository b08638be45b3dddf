"""Manifest IO: load/dump, strict decoding errors, multi-document text."""

from __future__ import annotations

import pytest

from kubeprop.spec.api import Pod, dump, load, load_documents
from kubeprop.spec.api.errors import ManifestError
from kubeprop.spec.api.io import load_all
from kubeprop.spec.api.quantity import Quantity

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {
        "containers": [
            {
                "name": "c",
                "image": "nginx:1.27",
                "ports": [{"containerPort": 80, "hostIP": "0.0.0.0"}],
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
            }
        ],
        "nodeName": "node-a",
    },
    "status": {"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}]},
}


def errors_of(manifest):
    with pytest.raises(ManifestError) as raised:
        load(manifest)
    return [str(e) for e in raised.value.errors]


def test_a_pod_manifest_loads_into_typed_fields_and_dumps_back_exactly():
    pod = load(POD)
    assert isinstance(pod, Pod)
    assert pod.spec.containers[0].resources.requests["cpu"] == Quantity.parse("0.1")
    assert pod.status.pod_ip == "10.0.0.1"
    assert dump(pod) == POD


def test_quantities_are_written_in_canonical_form():
    manifest = {
        **POD,
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "x",
                    "resources": {"limits": {"cpu": "1.5", "memory": 1073741824}},
                }
            ]
        },
    }
    limits = dump(load(manifest))["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"cpu": "1500m", "memory": "1073741824"}


def test_an_unknown_field_is_named_by_its_full_path():
    bad = {**POD, "spec": {"containers": [{"name": "c", "imagee": "nginx"}]}}
    assert errors_of(bad) == ['unknown field "spec.containers[0].imagee"']


def test_a_wrong_type_names_the_field_and_the_expected_type():
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"replicas": "three"},
    }
    assert errors_of(bad) == [
        'spec.replicas: Invalid value: "three": spec.replicas in body must be of type integer'
    ]


def test_every_problem_is_reported_at_once():
    bad = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": 7, "labelz": {}},
        "spec": {
            "containers": [{"name": "c", "image": ["x"], "resources": {"limits": {"cpu": "1.1.1"}}}]
        },
    }
    assert errors_of(bad) == [
        "metadata.name: Invalid value: 7: metadata.name in body must be of type string",
        'unknown field "metadata.labelz"',
        "spec.containers[0].image: Invalid value: ['x']: spec.containers[0].image in body must be of type string",
        'spec.containers[0].resources.limits[cpu]: Invalid value: "1.1.1": quantities must match the '
        "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ]


def test_missing_api_version_and_kind_are_both_reported():
    assert errors_of({"metadata": {"name": "x"}}) == [
        "apiVersion: Required value",
        "kind: Required value",
    ]


def test_an_unknown_kind_is_not_registered_for_its_version():
    assert errors_of({"apiVersion": "v1", "kind": "Foo"}) == [
        'no kind "Foo" is registered for version "v1"'
    ]
    assert errors_of({"apiVersion": "v1", "kind": "Deployment"}) == [
        'no kind "Deployment" is registered for version "v1"'
    ]


def test_null_reads_as_absent():
    assert load(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "labels": None}}
    ) == load({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})


def test_multi_document_yaml_flattens_lists_and_keeps_timestamps_as_strings():
    text = """
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: a, creationTimestamp: 2026-01-01T00:00:00Z}
---
# an empty document is skipped
---
apiVersion: v1
kind: Node
metadata: {name: node-a}
"""
    docs = load_documents(text, "m.yaml")
    assert [d["kind"] for d in docs] == ["Namespace", "Node"]
    assert docs[0]["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z"
    assert [type(o).__name__ for o in load_all(text)] == ["Namespace", "Node"]


def test_json_text_is_read_too():
    assert load_documents(
        '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}'
    ) == [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("kind: Pod\nmetadata: {name: [\n", "m.yaml:3:1"),
        ("a: b\n  c: d\n", "m.yaml:2:4"),
        ('{"kind": }', "m.yaml:1:10"),
    ],
)
def test_malformed_text_names_file_line_and_column(text, where):
    with pytest.raises(ManifestError) as raised:
        load_documents(text, "m.yaml")
    assert str(raised.value).startswith(where + ": ")


def test_a_document_that_is_not_an_object_is_an_error_not_a_crash():
    with pytest.raises(ManifestError):
        load_documents("- 1\n- 2\n", "m.yaml")
    with pytest.raises(ManifestError):
        load("not a manifest")


def test_errors_of_all_documents_are_reported_together():
    text = "apiVersion: v1\nkind: Foo\n---\napiVersion: v1\nkind: Pod\nspec: {x: 1}\n"
    with pytest.raises(ManifestError) as raised:
        load_all(text, "m.yaml")
    assert [str(e) for e in raised.value.errors] == [
        'no kind "Foo" is registered for version "v1"',
        'unknown field "spec.x"',
    ]
