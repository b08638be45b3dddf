"""Validation: upstream's rules and messages, every error at once."""

from __future__ import annotations

import attrs

from kubeprop.spec.api import default, load, validate, validate_update


def pod(**spec):
    return default(
        load(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web"},
                "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec},
            }
        )
    )


def messages(obj):
    return [str(e) for e in validate(obj)]


def test_a_defaulted_minimal_pod_is_valid():
    assert messages(pod()) == []


def test_a_bad_name_gets_the_rfc_1123_subdomain_message():
    bad = attrs.evolve(pod(), metadata=attrs.evolve(pod().metadata, name="Foo_"))
    assert messages(bad) == [
        'metadata.name: Invalid value: "Foo_": a lowercase RFC 1123 subdomain must consist of lower '
        "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    ]


def test_name_or_generate_name_is_required():
    nameless = attrs.evolve(pod(), metadata=attrs.evolve(pod().metadata, name=None))
    assert messages(nameless) == ["metadata.name: Required value: name or generateName is required"]
    generated = attrs.evolve(
        nameless, metadata=attrs.evolve(nameless.metadata, generate_name="web-")
    )
    assert messages(generated) == []


def test_every_container_problem_is_reported_at_once():
    bad = pod(
        containers=[
            {"name": "a", "image": ""},
            {"name": "a", "image": "x", "ports": [{"containerPort": 70000, "protocol": "HTTP"}]},
        ],
        restartPolicy="Sometimes",
    )
    assert messages(bad) == [
        "spec.containers[0].image: Required value",
        "spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.containers[1].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
        'spec.containers[1].name: Duplicate value: "a"',
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]


def test_a_request_above_its_limit_is_invalid():
    bad = pod(
        containers=[
            {
                "name": "c",
                "image": "x",
                "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
            }
        ]
    )
    assert messages(bad) == [
        'spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1'
    ]


def test_toleration_rules_follow_upstream():
    bad = pod(
        tolerations=[
            {"operator": "Equal", "value": "x"},
            {"key": "k", "operator": "Exists", "value": "v"},
            {"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5},
            {"key": "k", "operator": "Equal", "effect": "Sometimes"},
        ]
    )
    assert messages(bad) == [
        'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
        "spec.tolerations[1].operator: Invalid value: \"Exists\": value must be empty when `operator` is 'Exists'",
        "spec.tolerations[2].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
        'spec.tolerations[3].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    ]


def test_a_pod_update_may_change_the_image_but_not_the_node():
    old = pod()
    new_image = attrs.evolve(
        old,
        spec=attrs.evolve(
            old.spec, containers=(attrs.evolve(old.spec.containers[0], image="nginx:2"),)
        ),
    )
    assert validate_update(new_image, old) == []
    moved = attrs.evolve(old, spec=attrs.evolve(old.spec, node_name="node-b"))
    [error] = validate_update(moved, old)
    assert error.field == "spec" and str(error).startswith(
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"
    )


def deployment(selector, labels):
    return default(
        load(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "d"},
                "spec": {
                    "selector": selector,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "c", "image": "x"}]},
                    },
                },
            }
        )
    )


def test_a_deployment_selector_must_match_its_template_labels():
    assert messages(deployment({"matchLabels": {"app": "a"}}, {"app": "a"})) == []
    [error] = validate(deployment({"matchLabels": {"app": "a"}}, {"app": "b"}))
    assert error.field == "spec.template.metadata.labels"
    assert error.detail == "`selector` does not match template `labels`"


def test_a_deployment_selector_is_immutable():
    old = deployment({"matchLabels": {"app": "a"}}, {"app": "a", "v": "1"})
    new = deployment({"matchLabels": {"app": "a", "v": "1"}}, {"app": "a", "v": "1"})
    assert [e.detail for e in validate_update(new, old)] == ["field is immutable"]


def test_negative_replicas_are_invalid():
    d = deployment({"matchLabels": {"app": "a"}}, {"app": "a"})
    bad = attrs.evolve(d, spec=attrs.evolve(d.spec, replicas=-1))
    assert messages(bad) == ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]


def test_service_and_namespace_names_use_their_own_rules():
    svc = default(
        load(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "1abc"},
                "spec": {"ports": [{"port": 80}]},
            }
        )
    )
    assert [e.field for e in validate(svc)] == ["metadata.name"]
    ns = default(load({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}))
    assert [e.field for e in validate(ns)] == ["metadata.name"]


def test_node_taints_need_a_known_effect():
    node = load(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n"},
            "spec": {"taints": [{"key": "k", "effect": "Sometimes"}, {"key": "k"}]},
        }
    )
    assert messages(node) == [
        'spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
        "spec.taints[1].effect: Required value",
    ]


def test_field_errors_carry_the_status_cause_reason():
    errors = validate(pod(containers=[{"name": "c"}], restartPolicy="Sometimes"))
    assert [e.reason for e in errors] == ["FieldValueRequired", "FieldValueNotSupported"]
