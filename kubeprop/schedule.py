"""``kubeprop schedule``: place pods on nodes one by one as kube-scheduler v1.35 would, and say why.

Contract (docs/scheduling.md is the user's guide):
- ``read_files(paths)`` reads multi-document YAML or JSON (``kind: List`` items
  flattened) into ``Inputs``. Nodes, Pods and Namespaces are typed, defaulted
  and validated as the API server would (a pod's namespace defaults to
  ``default``); Services and ReplicaSets are typed and validated too and, with
  ReplicationControllers and StatefulSets, kept as camelCase manifests for the
  snapshot's ``workloads``. Any other kind is ignored with a note (so the
  output of ``kubectl get all -o yaml`` can be given as it is); a document
  without ``apiVersion`` or ``kind``, unparsable text, a missing file and an
  invalid object are a ``ScheduleError`` naming the file, the document and the
  field, kubectl-style.
- A pod with ``spec.nodeName`` is an existing pod, counted on its node before
  anything is scheduled; the other pods are scheduled one by one in file order,
  each placement assumed (``Snapshot.assume``) before the next pod. A pod that
  has finished (phase Succeeded or Failed) is left out with a note, as
  kube-scheduler's informers leave it out; so is a pod bound to a node that is
  not in the files.
- Each pod runs in the profile named by its ``spec.schedulerName``; a name no
  profile has leaves the pod unscheduled with upstream's error
  ``profile not found for scheduler name "<name>"``.
- ``schedule(inputs, profiles, seed)`` is deterministic: one ``random.Random(seed)``
  breaks the ties of every cycle in turn.
- ``explain_document`` is the ``--explain -o json`` document: per pod the node
  (or null), ``filtered`` (node -> ``"<Plugin>: <reason>"`` for each reason of
  the status that rejected it), ``scores`` (node -> plugin -> score after
  NormalizeScore, before the weight), ``totals`` (node -> weighted sum), and
  for an unscheduled pod the ``message`` (upstream's FitError text). With a
  single feasible node nothing is scored: ``scores`` and ``totals`` are empty.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import yaml

from kubeprop.reference.scheduler.framework import (
    InvalidInput,
    Profile,
    ScheduleResult,
    Snapshot,
    Status,
    error,
    schedule_one,
)
from kubeprop.spec.api import core, defaults, io, validation
from kubeprop.spec.api.errors import FieldError, ManifestError, required, type_invalid

DEFAULT_SCHEDULER = "default-scheduler"
DEFAULT_NAMESPACE = "default"
# The label the API server puts on every namespace (NamespaceDefaultLabelName, GA in 1.22).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# (apiVersion, kind) read into the cluster state, and the kinds kept as workload manifests.
TYPED_KINDS = {
    ("v1", "Node"),
    ("v1", "Pod"),
    ("v1", "Namespace"),
    ("v1", "Service"),
    ("apps/v1", "ReplicaSet"),
}
UNTYPED_KINDS = {("v1", "ReplicationController"), ("apps/v1", "StatefulSet")}
WORKLOAD_KINDS = {"Service", "ReplicaSet", "ReplicationController", "StatefulSet"}
READ_KINDS = {kind for _, kind in TYPED_KINDS | UNTYPED_KINDS}
FINISHED_PHASES = ("Succeeded", "Failed")
NONE = "<none>"


class ScheduleError(Exception):
    """The input cannot be scheduled as given; the message is one line naming where and what."""


@attrs.frozen
class Inputs:
    """The cluster state and the pods to place, as read from the files."""

    nodes: tuple[core.Node, ...] = ()
    existing: tuple[core.Pod, ...] = ()  # pods with spec.nodeName on a known node
    pending: tuple[core.Pod, ...] = ()  # pods to schedule, in file order
    namespaces: Mapping[str, Mapping[str, str]] = attrs.Factory(dict)  # name -> labels
    workloads: tuple[dict[str, Any], ...] = ()  # Service/RS/RC/StatefulSet manifests
    notes: tuple[str, ...] = ()  # what was ignored, for the user (stderr)

    def snapshot(self) -> Snapshot:
        return Snapshot.of(self.nodes, self.existing, self.namespaces, self.workloads)


@attrs.frozen
class Outcome:
    """What happened to one pod: the cycle's result and its explanation."""

    pod: str  # namespace/name
    node: str | None
    filtered: Mapping[str, tuple[str, ...]] = attrs.Factory(dict)  # node -> "Plugin: reason"
    scores: Mapping[str, Mapping[str, int]] = attrs.Factory(dict)  # node -> plugin -> score
    totals: Mapping[str, int] = attrs.Factory(dict)  # node -> weighted sum
    message: str = ""  # why the pod was not scheduled


# -- reading the files ----------------------------------------------------------------------


def _raw_documents(text: str) -> list[Any]:
    """The top-level documents of a text that io.load_documents has already accepted."""
    if text.lstrip().startswith(("{", "[")):
        doc = json.loads(text)
        return doc if isinstance(doc, list) else [doc]
    return list(yaml.safe_load_all(text))


def _places(doc: Any, where: str, out: list[str]) -> None:
    """Where each manifest that io.load_documents flattens out of ``doc`` came from."""
    if doc is None:
        return
    if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        for j, item in enumerate(doc["items"]):
            _places(item, f"{where} items[{j}]", out)
        return
    out.append(where)


def located_documents(text: str, path: str) -> list[tuple[str, dict[str, Any]]]:
    """(``"FILE: document N"``, manifest) for every manifest of a file's text."""
    manifests = io.load_documents(text, path)
    places: list[str] = []
    try:
        for i, doc in enumerate(_raw_documents(text)):
            _places(doc, f"{path}: document {i + 1}", places)
    except (yaml.YAMLError, ValueError):  # pragma: no cover - parsed once already
        places = []
    if len(places) != len(manifests):  # pragma: no cover - defensive
        places = [f"{path}: object {i + 1}" for i in range(len(manifests))]
    return list(zip(places, manifests))


def _name_of(manifest: Mapping[str, Any]) -> str | None:
    meta = manifest.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return name if isinstance(name, str) and name else None


def _errors_text(errors: Sequence[FieldError]) -> str:
    lines = [str(e) for e in errors]
    return lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"


def _invalid(
    where: str, kind: str, name: str | None, errors: Sequence[FieldError]
) -> ScheduleError:
    what = f'The {kind} "{name}" is invalid' if name else f"The {kind} is invalid"
    return ScheduleError(f"{where}: {what}: {_errors_text(errors)}")


def _with_namespace(obj: Any) -> Any:
    meta = obj.metadata or core.ObjectMeta()
    if not meta.namespace:
        meta = attrs.evolve(meta, namespace=DEFAULT_NAMESPACE)
    return attrs.evolve(obj, metadata=meta)


def _typed(where: str, manifest: dict[str, Any]) -> Any:
    """The defaulted, validated object of a manifest of TYPED_KINDS."""
    kind, name = manifest["kind"], _name_of(manifest)
    try:
        obj = io.load(manifest)
    except ManifestError as problem:
        raise _invalid(where, kind, name, problem.errors) from None
    if kind != "Node" and kind != "Namespace":
        obj = _with_namespace(obj)
    obj = defaults.default(obj)
    errors = validation.validate(obj)
    if not errors and not name:  # generateName alone: the command needs a name to report
        errors = [required("metadata.name")]
    if errors:
        raise _invalid(where, kind, name, errors)
    return obj


def _untyped(where: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """A ReplicationController or StatefulSet manifest (not modelled): name and namespace."""
    kind, name = manifest["kind"], _name_of(manifest)
    if not name:
        raise _invalid(where, kind, None, [required("metadata.name")])
    meta = dict(manifest["metadata"])
    namespace = meta.get("namespace") or DEFAULT_NAMESPACE
    if not isinstance(namespace, str):
        problem = type_invalid("metadata.namespace", namespace, "must be of type string")
        raise _invalid(where, kind, name, [problem])
    return {**manifest, "metadata": {**meta, "namespace": namespace}}


def _kind_of(where: str, manifest: Mapping[str, Any]) -> tuple[str, str]:
    missing = [f for f in ("apiVersion", "kind") if not manifest.get(f)]
    if missing:
        problems = ", ".join(f"{f} not set" for f in missing)
        raise ScheduleError(f"{where}: error validating data: [{problems}]")
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise ScheduleError(f"{where}: error validating data: apiVersion and kind must be strings")
    return api_version, kind


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ScheduleError(f'the path "{path}" does not exist') from None
    except IsADirectoryError:
        raise ScheduleError(f'the path "{path}" is a directory, not a file') from None
    except UnicodeDecodeError as problem:
        raise ScheduleError(f"{path}: invalid UTF-8: {problem.reason}") from None
    except OSError as problem:
        raise ScheduleError(f"cannot read {path}: {problem.strerror}") from None


def read_files(paths: Iterable[str]) -> Inputs:
    """Every object of the files, in order; ScheduleError for the first bad one."""
    nodes: list[tuple[str, core.Node]] = []
    pods: list[tuple[str, core.Pod]] = []
    namespaces: dict[str, dict[str, str]] = {}
    workloads: list[dict[str, Any]] = []
    notes: list[str] = []
    for path in paths:
        text = _read_text(path)
        try:
            documents = located_documents(text, path)
        except ManifestError as problem:
            raise ScheduleError(f"error parsing {path}: {problem}") from None
        for where, manifest in documents:
            api_version, kind = _kind_of(where, manifest)
            if kind not in READ_KINDS:
                name = _name_of(manifest)
                shown = f'{kind} "{name}"' if name else kind
                notes.append(
                    f"{where}: ignoring {shown}: "
                    "kubeprop schedule reads Nodes, Pods, Namespaces, Services, "
                    "ReplicaSets, ReplicationControllers and StatefulSets"
                )
                continue
            if (api_version, kind) in UNTYPED_KINDS:
                workloads.append(_untyped(where, manifest))
                continue
            obj = _typed(where, manifest)
            if kind == "Node":
                nodes.append((where, obj))
            elif kind == "Pod":
                pods.append((where, obj))
            elif kind == "Namespace":
                namespaces[obj.metadata.name] = dict(obj.metadata.labels)
            else:
                workloads.append(io.dump(obj))
    return _assemble(nodes, pods, namespaces, workloads, notes)


def _assemble(nodes, pods, namespaces, workloads, notes) -> Inputs:
    seen: dict[str, str] = {}
    for where, node in nodes:
        name = node.metadata.name
        if name in seen:
            raise ScheduleError(f'{where}: nodes "{name}" already exists (also in {seen[name]})')
        seen[name] = where
    keys: dict[str, str] = {}
    existing, pending = [], []
    for where, pod in pods:
        key = pod_key(pod)
        if key in keys:
            raise ScheduleError(f'{where}: pods "{key}" already exists (also in {keys[key]})')
        keys[key] = where
        if pod.status is not None and pod.status.phase in FINISHED_PHASES:
            notes.append(
                f"{where}: pod {key} has finished ({pod.status.phase}); "
                "it is left out, as kube-scheduler ignores finished pods"
            )
        elif not pod.spec.node_name:
            pending.append(pod)
        elif pod.spec.node_name not in seen:
            notes.append(
                f"{where}: pod {key} is bound to node {pod.spec.node_name!r}, "
                "which is not in the files; it is not counted"
            )
        else:
            existing.append(pod)
    labels: dict[str, dict[str, str]] = {}
    for namespace in [*namespaces, *(p.metadata.namespace for _, p in pods)] + [
        w["metadata"]["namespace"] for w in workloads
    ]:
        labels[namespace] = {
            **namespaces.get(namespace, {}),
            NAMESPACE_NAME_LABEL: namespace,
        }
    return Inputs(
        nodes=tuple(node for _, node in nodes),
        existing=tuple(existing),
        pending=tuple(pending),
        namespaces=labels,
        workloads=tuple(workloads),
        notes=tuple(notes),
    )


def pod_key(pod: core.Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


# -- profiles -----------------------------------------------------------------------------


def default_profiles() -> dict[str, Profile]:
    from kubeprop.reference.scheduler.plugins import default_profile

    return {DEFAULT_SCHEDULER: default_profile()}


def load_profiles(config_path: str | None) -> dict[str, Profile]:
    """scheduler name -> profile: kube-scheduler's default profile, or the config file's."""
    if config_path is None:
        return default_profiles()
    _read_text(config_path)  # a missing or unreadable file is reported like the others
    try:
        from kubeprop.reference.scheduler import config
    except ImportError:
        raise ScheduleError(
            "--config: this version of kubeprop cannot read KubeSchedulerConfiguration files yet"
        ) from None
    try:
        configuration = config.load_file(config_path)
    except (InvalidInput, ManifestError) as problem:
        raise ScheduleError(f"{config_path}: {problem}") from None
    profiles = configuration.profiles
    if isinstance(profiles, Mapping):
        profiles = profiles.values()
    return {profile.scheduler_name: profile for profile in profiles}


# -- scheduling ---------------------------------------------------------------------------


def _with_plugin(status: Status, reasons: Iterable[str]) -> tuple[str, ...]:
    return tuple(f"{status.plugin}: {r}" if status.plugin else r for r in reasons)


def filtered_by_plugin(result: ScheduleResult) -> dict[str, tuple[str, ...]]:
    """node -> "<Plugin>: <reason>" for the nodes the cycle rejected."""
    return {
        name: tuple(
            f"{result.rejected_by[name]}: {reason}" if result.rejected_by.get(name) else reason
            for reason in reasons
        )
        for name, reasons in result.filtered.items()
    }


def _scheduled(
    pod: core.Pod, profile: Profile, snapshot: Snapshot, rng, start: int
) -> tuple[Outcome, int]:
    """The pod's outcome, and how many nodes the cycle examined from ``start``."""
    result = schedule_one(profile, pod, snapshot, rng, start=start)
    filtered = filtered_by_plugin(result)
    if result.node_name is None:
        outcome = Outcome(pod_key(pod), None, filtered, message=result.status.message())
        return outcome, result.visited
    scores = {name: dict(result.scores.get(name, {})) for name in result.totals}
    outcome = Outcome(pod_key(pod), result.node_name, filtered, scores, dict(result.totals))
    return outcome, result.visited


def schedule(inputs: Inputs, profiles: Mapping[str, Profile], seed: int = 0) -> list[Outcome]:
    """Every pending pod, in order, each placement assumed before the next."""
    rng = random.Random(seed)
    try:
        snapshot = inputs.snapshot()
    except InvalidInput as problem:
        raise ScheduleError(str(problem)) from None
    outcomes = []
    start = 0  # where the next cycle starts examining nodes (upstream's nextStartNodeIndex)
    for pod in inputs.pending:
        scheduler_name = pod.spec.scheduler_name or DEFAULT_SCHEDULER
        profile = profiles.get(scheduler_name)
        if profile is None:
            message = f"profile not found for scheduler name {json.dumps(scheduler_name)}"
            outcomes.append(Outcome(pod_key(pod), None, message=message))
            continue
        try:
            outcome, visited = _scheduled(pod, profile, snapshot, rng, start)
        except InvalidInput as problem:
            outcome, visited = Outcome(pod_key(pod), None, message=error(str(problem)).message()), 0
        if snapshot.node_infos:
            start = (start + visited) % len(snapshot.node_infos)
        outcomes.append(outcome)
        if outcome.node is not None:
            snapshot = snapshot.assume(pod, outcome.node)
    return outcomes


# -- output -------------------------------------------------------------------------------


def explain_document(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    results = []
    for outcome in outcomes:
        entry: dict[str, Any] = {
            "pod": outcome.pod,
            "node": outcome.node,
            "filtered": {n: list(r) for n, r in outcome.filtered.items()},
            "scores": {n: dict(s) for n, s in outcome.scores.items()},
            "totals": dict(outcome.totals),
        }
        if outcome.node is None:
            entry["message"] = outcome.message
        results.append(entry)
    return {"results": results}


def results_document(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    results = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"pod": outcome.pod, "node": outcome.node}
        if outcome.node is None:
            entry["message"] = outcome.message
        results.append(entry)
    return {"results": results}


def _columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    lines = [
        "   ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]
    ]
    return "\n".join(lines) + "\n"


def results_table(outcomes: Sequence[Outcome]) -> str:
    """POD, NODE, REASON (why an unscheduled pod was not placed)."""
    rows = [(o.pod, o.node or NONE, o.message if o.node is None else "") for o in outcomes]
    return _columns(("POD", "NODE", "REASON"), rows)


def explain_table(outcomes: Sequence[Outcome]) -> str:
    """The explanation as text: per pod, each node's verdict, scores and total."""
    parts = []
    for o in outcomes:
        lines = [f"pod {o.pod} -> {o.node or NONE}" + (f": {o.message}" if o.message else "")]
        rows = []
        for node, total in o.totals.items():
            detail = ", ".join(f"{p} {s}" for p, s in o.scores.get(node, {}).items())
            rows.append((node, str(total), detail))
        for node, reasons in o.filtered.items():
            rows.append((node, "filtered", "; ".join(reasons)))
        if rows:
            table = _columns(
                ("  NODE", "TOTAL", "SCORES / REASONS"), [("  " + r[0], *r[1:]) for r in rows]
            )
            lines.append(table.rstrip("\n"))
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + ("\n" if parts else "")


def render(outcomes: Sequence[Outcome], *, output: str, explain: bool) -> str:
    if output == "json":
        document = explain_document(outcomes) if explain else results_document(outcomes)
        return json.dumps(document, indent=2) + "\n"
    return explain_table(outcomes) if explain else results_table(outcomes)
