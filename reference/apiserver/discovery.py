"""The documents a Kubernetes client reads before it asks for objects: discovery and version.

Contract: ``document(path, backend)`` is the JSON answer of a non-resource
path, or None if the path is not one of them:
- ``/version``: the version.Info of a v1.35 server (``GIT_VERSION``);
- ``/api`` (APIVersions), ``/api/v1`` and ``/apis/GROUP/VERSION``
  (APIResourceList: each resource's verbs, kind, scope, short names and
  categories as kube-apiserver v1.35 lists them, and its subresources),
  ``/apis`` (APIGroupList) and ``/apis/GROUP`` (APIGroup), built from
  ``resources.RESOURCES`` (https://kubernetes.io/docs/reference/using-api/api-concepts/#discovery-api);
- ``/openapi/v3`` (the index of group-version documents) and
  ``/openapi/v3/api/v1``, ``/openapi/v3/apis/GROUP/VERSION``: a minimal
  OpenAPI v3 document with one PATCH operation per kind, carrying its
  ``x-kubernetes-group-version-kind`` and the ``fieldValidation`` query
  parameter, which is what kubectl reads to decide that the server validates
  fields itself (k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go).
  No schemas are served, so kubectl computes strategic merge patches from its
  compiled-in types. ``/openapi/v2`` (protobuf only upstream) is not served.
Aggregated discovery (apidiscovery.k8s.io/v2) is not served; clients fall back
to these legacy documents.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kubeprop.reference.apiserver.resources import RESOURCES, Resource

Manifest = dict[str, Any]

GIT_VERSION = "v1.35.0"
BINDINGS = "bindings"  # POST /api/v1/namespaces/NS/bindings, served beside pods
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
# Short names and categories as kube-apiserver v1.35 lists them (kubectl api-resources).
SHORT_NAMES = {
    "namespaces": ["ns"],
    "pods": ["po"],
    "nodes": ["no"],
    "services": ["svc"],
    "events": ["ev"],
    "replicasets": ["rs"],
    "deployments": ["deploy"],
}
CATEGORIES = {
    "pods": ["all"],
    "services": ["all"],
    "replicasets": ["all"],
    "deployments": ["all"],
}
SINGULAR = {"endpointslices": "endpointslice"}


def version_info() -> Manifest:
    return {
        "major": "1",
        "minor": "35",
        "emulationMajor": "1",
        "emulationMinor": "35",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "34",
        "gitVersion": GIT_VERSION,
        "gitCommit": "kubeprop",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "kubeprop",
        "compiler": "kubeprop",
        "platform": "linux/amd64",
    }


def _group_versions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for res in RESOURCES:
        versions = found.setdefault(res.group, [])
        if res.version not in versions:
            versions.append(res.version)
    return found


def _group(group: str, versions: list[str]) -> Manifest:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def _singular(res: Resource) -> str:
    return SINGULAR.get(res.plural, res.kind.lower())


def _resource_entries(res: Resource) -> list[Manifest]:
    entry: Manifest = {
        "name": res.plural,
        "singularName": _singular(res),
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": VERBS,
    }
    if res.plural in SHORT_NAMES:
        entry["shortNames"] = SHORT_NAMES[res.plural]
    if res.plural in CATEGORIES:
        entry["categories"] = CATEGORIES[res.plural]
    entries = [entry]
    base = {"singularName": "", "namespaced": res.namespaced}
    if res.status_subresource:
        entries.append(
            {
                **base,
                "name": f"{res.plural}/status",
                "kind": res.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    if res.scale_subresource:
        entries.append(
            {
                **base,
                "name": f"{res.plural}/scale",
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }
        )
    if res.plural == "pods":
        entries.append({**base, "name": "pods/binding", "kind": "Binding", "verbs": ["create"]})
    if res.plural == "namespaces":
        entries.append(
            {**base, "name": "namespaces/finalize", "kind": "Namespace", "verbs": ["update"]}
        )
    return entries


def resource_list(group: str, version: str) -> Manifest | None:
    served = [r for r in RESOURCES if r.group == group and r.version == version]
    if not served:
        return None
    entries: list[Manifest] = []
    if group == "":
        entries.append(
            {
                "name": BINDINGS,
                "singularName": "binding",
                "namespaced": True,
                "kind": "Binding",
                "verbs": ["create"],
            }
        )
    for res in served:
        entries.extend(_resource_entries(res))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": entries,
    }


def _openapi_path(group: str, version: str) -> str:
    return f"api/{version}" if group == "" else f"apis/{group}/{version}"


def openapi_v3(group: str, version: str) -> Manifest | None:
    """The group-version document: one PATCH operation per kind (see the contract)."""
    served = [r for r in RESOURCES if r.group == group and r.version == version]
    if not served:
        return None
    paths: dict[str, Manifest] = {}
    prefix = "/" + _openapi_path(group, version)
    for res in served:
        scope = "/namespaces/{namespace}" if res.namespaced else ""
        gvk = {"group": res.group, "version": res.version, "kind": res.kind}
        paths[f"{prefix}{scope}/{res.plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{res.kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [
                    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }


def _openapi_index() -> Manifest:
    paths = {}
    for group, versions in _group_versions().items():
        for version in versions:
            document = json.dumps(openapi_v3(group, version), sort_keys=True)
            digest = hashlib.sha512(document.encode()).hexdigest()[:64].upper()
            path = _openapi_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def document(path: str, backend: Any = None) -> Manifest | None:
    """The answer of a discovery, version or OpenAPI path; None if ``path`` is not one."""
    groups = _group_versions()
    parts = [part for part in path.split("/") if part]
    if parts == ["version"]:
        return version_info()
    if parts == ["api"]:
        return {
            "kind": "APIVersions",
            "versions": groups.get("", []),
            "serverAddressByClientCIDRs": [],
        }
    if len(parts) == 2 and parts[0] == "api":
        return resource_list("", parts[1])
    if parts == ["apis"]:
        listed = [_group(g, v) for g, v in groups.items() if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": listed}
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups and parts[1]:
        return {"kind": "APIGroup", "apiVersion": "v1", **_group(parts[1], groups[parts[1]])}
    if len(parts) == 3 and parts[0] == "apis" and parts[1]:
        return resource_list(parts[1], parts[2])
    if parts == ["openapi", "v3"]:
        return _openapi_index()
    if parts[:2] == ["openapi", "v3"]:
        rest = parts[2:]
        if len(rest) == 2 and rest[0] == "api":
            return openapi_v3("", rest[1])
        if len(rest) == 3 and rest[0] == "apis":
            return openapi_v3(rest[1], rest[2])
    return None
