"""Hypothesis strategies for API server histories: small, colliding manifests.

Names, namespaces and labels come from tiny alphabets so that creates collide,
selectors match some objects and not others, and updates race. Each builder
returns a plain manifest (camelCase dict), as a client would send it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NAMESPACES = ("default", "team-a")
NAMES = ("web", "db", "cache")
APPS = ("web", "db")
IMAGES = ("nginx:1.27", "nginx:1.28", "redis:7")
NODES = ("node-1", "node-2")
FINALIZER = "example.com/hold"
# The resources the machine drives: (resource, kind) of each family.
FAMILIES = ("pods", "leases", "deployments")

# "ghost" never exists: creates there must fail with NotFound.
namespaces = st.sampled_from((*NAMESPACES, *NAMESPACES, "ghost"))
names = st.sampled_from(NAMES)
apps = st.sampled_from(APPS)
images = st.sampled_from(IMAGES)
nodes = st.sampled_from(NODES)
families = st.sampled_from(FAMILIES)
label_selectors = st.sampled_from(("", "app=web", "app!=web", "app in (db)"))


def _metadata(name: str, namespace: str, app: str, finalizers: bool, generate: bool) -> dict:
    meta: dict[str, Any] = {"namespace": namespace, "labels": {"app": app}}
    if generate:
        meta["generateName"] = f"{name}-"
    else:
        meta["name"] = name
    if finalizers:
        meta["finalizers"] = [FINALIZER]
    return meta


def pod(name, namespace, app, image, *, node=None, finalizers=False, generate=False, grace=None):
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": image}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(name, namespace, app, finalizers, generate),
        "spec": spec,
    }


def lease(name, namespace, app, holder, *, finalizers=False, generate=False):
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": _metadata(name, namespace, app, finalizers, generate),
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 40},
    }


def deployment(name, namespace, app, image, *, replicas=1, finalizers=False, generate=False):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name, namespace, app, finalizers, generate),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


@st.composite
def manifests(draw, family: str | None = None) -> tuple[str, dict]:
    """(resource, manifest) of a valid object of one of the families."""
    family = family or draw(families)
    name, namespace, app = draw(names), draw(namespaces), draw(apps)
    finalizers = draw(st.booleans())
    generate = draw(st.integers(0, 5)) == 0
    if family == "pods":
        node = draw(st.one_of(st.none(), nodes))
        grace = draw(st.sampled_from((None, 0, 5)))
        body = pod(
            name,
            namespace,
            app,
            draw(images),
            node=node,
            finalizers=finalizers,
            generate=generate,
            grace=grace,
        )
    elif family == "leases":
        body = lease(name, namespace, app, draw(nodes), finalizers=finalizers, generate=generate)
    else:
        body = deployment(
            name,
            namespace,
            app,
            draw(images),
            replicas=draw(st.integers(0, 3)),
            finalizers=finalizers,
            generate=generate,
        )
    return family, body


# Invalid objects and the fields their 422 must name (every one of them).
INVALID: tuple[tuple[str, dict, tuple[str, ...]], ...] = (
    (
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "broken", "namespace": "default"},
            "spec": {"containers": [{"name": "main"}], "restartPolicy": "Sometimes"},
        },
        ("spec.containers[0].image", "spec.restartPolicy"),
    ),
    (
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "Bad_Name", "namespace": "default"},
            "spec": {
                "containers": [
                    {"name": "main", "image": "nginx"},
                    {"name": "main", "image": "nginx"},
                ]
            },
        },
        ("metadata.name", "spec.containers[1].name"),
    ),
    (
        "deployments",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "broken", "namespace": "default"},
            "spec": {
                "replicas": -1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "main", "image": "nginx"}]},
                },
            },
        },
        ("spec.replicas", "spec.template.metadata.labels"),
    ),
    (
        "leases",
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "-broken-", "namespace": "default"},
            "spec": {"leaseDurationSeconds": -5},
        },
        ("metadata.name", "spec.leaseDurationSeconds"),
    ),
)

invalid_cases = st.sampled_from(INVALID)


# Field managers: two appliers (server-side apply) and one updater (patches with a fieldManager).
APPLIERS = ("alice", "bob")
UPDATER = "ops"
appliers = st.sampled_from(APPLIERS)


@st.composite
def apply_configs(draw, kind: str) -> dict:
    """A partial configuration of a ``kind`` object for server-side apply: each of a label,
    an annotation and a field of the spec that may change (a Deployment's replicas, a
    Lease's holder; a pod's spec is immutable) set or left out, from two-value alphabets
    so that managers collide on them. Without apiVersion, kind and name, which the caller
    adds."""
    config: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    if draw(st.booleans()):
        metadata["labels"] = {"app": draw(apps)}
    if draw(st.booleans()):
        metadata["annotations"] = {"owner": draw(st.sampled_from(APPLIERS))}
    if metadata:
        config["metadata"] = metadata
    if kind == "Deployment" and draw(st.booleans()):
        config["spec"] = {"replicas": draw(st.integers(1, 2))}
    elif kind == "Lease" and draw(st.booleans()):
        config["spec"] = {"holderIdentity": draw(nodes)}
    return config


def field_selectors(resource: str) -> st.SearchStrategy[str]:
    """Field selectors a list of ``resource`` supports: by name everywhere, by node for pods."""
    choices = ["", "metadata.name=web"]
    if resource == "pods":
        choices += ["spec.nodeName=node-1", "spec.nodeName="]
    return st.sampled_from(choices)
