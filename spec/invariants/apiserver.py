"""Invariants of the API server (spec/apiserver.md).

Each predicate reads recorded requests and answers (``Exchange`` values: the
verb, the resource, what was sent, the answer's code and body) or observed
objects; none talks to a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from kubeprop.spec.api.meta import UNOWNED_METADATA
from kubeprop.spec.invariants import HOLDS, VACUOUS, Outcome, holds_if, invariant, violated

CONCEPTS = "https://kubernetes.io/docs/reference/using-api/api-concepts/"
RESOURCE_VERSIONS = CONCEPTS + "#resource-versions"
EFFICIENT_CHANGES = CONCEPTS + "#efficient-detection-of-changes"
CONCURRENCY = "https://kubernetes.io/docs/reference/using-api/api-concepts/#conflicts"
STATUS_REF = "https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/"
FINALIZERS = "https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/"
POD_TERMINATION = (
    "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination"
)
OBJECT_META = "https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/object-meta/"
NAMES = "https://kubernetes.io/docs/concepts/overview/working-with-objects/names/"
ADMISSION = "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#namespacelifecycle"
SUBRESOURCES = "https://kubernetes.io/docs/reference/using-api/api-concepts/#subresources"
BINDING = "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#create-binding-pod-v1-core"
SELECTORS = "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#api"
FIELD_SELECTORS = (
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/"
)
VALIDATION = "https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation"
SERVER_SIDE_APPLY = "https://kubernetes.io/docs/reference/using-api/server-side-apply/"
APPLY_CONFLICTS = SERVER_SIDE_APPLY + "#conflicts"
FIELD_MANAGEMENT = SERVER_SIDE_APPLY + "#field-management"

# The reasons Kubernetes puts on a Status, with the code each one goes with.
STATUS_REASONS: Mapping[str, int] = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "NotAcceptable": 406,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Gone": 410,
    "Expired": 410,
    "RequestEntityTooLarge": 413,
    "UnsupportedMediaType": 415,
    "Invalid": 422,
    "TooManyRequests": 429,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "Timeout": 504,
}


@attrs.frozen
class Exchange:
    """One request and its answer, as recorded by a checker."""

    verb: str
    resource: str
    namespace: str | None
    name: str | None
    code: int
    body: Any = None  # the answer's body (object, list or Status)
    sent: Any = None  # the request's body
    subresource: str | None = None
    store_revision_before: int = 0  # the store's revision before the request
    store_revision_after: int = 0  # ... and after it
    watch: Any = attrs.field(default=None, eq=False, repr=False)  # the stream of a watch
    params: Any = None  # the request's parameters (fieldManager, force, contentType, ...)

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


def _rv(manifest: Any) -> int | None:
    try:
        return int(manifest["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return None


WRITE_VERBS = ("create", "update", "patch", "delete")


@invariant(
    "APISERVER-RV-MONOTONIC",
    component="apiserver",
    kind="safety",
    statement="Every write that changes an object returns a resourceVersion greater than any returned before it.",
    source=RESOURCE_VERSIONS,
)
def rv_monotonic(exchanges: Sequence[Exchange]) -> Outcome:
    highest, problems, checked = 0, [], 0
    for exchange in exchanges:
        if not exchange.ok or exchange.verb not in WRITE_VERBS or exchange.subresource == "scale":
            continue
        if exchange.store_revision_after == exchange.store_revision_before:
            continue  # a no-op write (nothing changed) keeps the old resourceVersion
        rv = _rv(exchange.body)
        if rv is None:
            continue
        checked += 1
        if rv <= highest:
            problems.append(
                f"{exchange.verb} {exchange.resource}/{exchange.name} returned rv {rv} after {highest}"
            )
        highest = max(highest, rv)
    return holds_if(problems, checked=checked)


@invariant(
    "APISERVER-ERRORS-ARE-STATUS",
    component="apiserver",
    kind="contract",
    statement="Every error answer is a Status object whose code matches its reason, and bad input never yields an internal error.",
    source=STATUS_REF,
)
def errors_are_status(exchange: Exchange) -> Outcome:
    if exchange.ok:
        return VACUOUS
    body = exchange.body
    if not isinstance(body, dict) or body.get("kind") != "Status":
        return violated(
            f"{exchange.verb} {exchange.resource} answered {exchange.code} with {body!r}"
        )
    reason, code = body.get("reason"), body.get("code")
    if code != exchange.code or body.get("status") != "Failure":
        return violated(
            f"Status code {code} / status {body.get('status')} for an answer of {exchange.code}"
        )
    if STATUS_REASONS.get(reason) != code:
        return violated(f"reason {reason!r} does not go with code {code}")
    if code == 500:
        return violated(f"internal error: {body.get('message')}")
    if not body.get("message"):
        return violated(f"Status {reason} has no message")
    return HOLDS


@invariant(
    "APISERVER-FAILED-NO-CHANGE",
    component="apiserver",
    kind="safety",
    statement="A request that fails changes nothing in storage.",
    source=STATUS_REF,
)
def failed_no_change(exchange: Exchange) -> Outcome:
    if exchange.ok:
        return VACUOUS
    if exchange.store_revision_after != exchange.store_revision_before:
        return violated(
            f"failed {exchange.verb} {exchange.resource}/{exchange.name} ({exchange.code}) moved the store "
            f"from revision {exchange.store_revision_before} to {exchange.store_revision_after}"
        )
    return HOLDS


@invariant(
    "APISERVER-READ-YOUR-WRITES",
    component="apiserver",
    kind="contract",
    statement="A get after a successful write returns exactly the object that write returned, until the next write.",
    source=RESOURCE_VERSIONS,
)
def read_your_writes(written: Any, read: Any) -> Outcome:
    if written is None:
        return VACUOUS
    if written != read:
        return violated(f"wrote {written!r} but read {read!r}")
    return HOLDS


@invariant(
    "APISERVER-STALE-RV-CONFLICT",
    component="apiserver",
    kind="contract",
    statement="An update or patch carrying a resourceVersion other than the object's current one fails with 409 Conflict.",
    source=CONCURRENCY,
)
def stale_rv_conflict(exchange: Exchange, current_rv: str | None) -> Outcome:
    sent_rv = (
        (exchange.sent or {}).get("metadata", {}).get("resourceVersion")
        if isinstance(exchange.sent, dict)
        else None
    )
    if not sent_rv or current_rv is None or sent_rv == current_rv:
        return VACUOUS
    body = exchange.body or {}
    if exchange.code != 409 or body.get("reason") != "Conflict":
        return violated(
            f"{exchange.verb} of {exchange.resource}/{exchange.name} with stale rv {sent_rv} "
            f"(current {current_rv}) answered {exchange.code}"
        )
    return HOLDS


@invariant(
    "APISERVER-ONE-WINNER",
    component="apiserver",
    kind="safety",
    statement="Of several updates sent with the same resourceVersion, exactly one succeeds.",
    source=CONCURRENCY,
)
def one_winner(codes: Sequence[int]) -> Outcome:
    if len(codes) < 2:
        return VACUOUS
    winners = [c for c in codes if 200 <= c < 300]
    if len(winners) != 1:
        return violated(f"racing updates answered {list(codes)}: want exactly one success")
    return HOLDS


@invariant(
    "APISERVER-INVALID-REJECTED",
    component="apiserver",
    kind="contract",
    statement="An invalid object is rejected with 422 Invalid whose causes name every field error at once.",
    source=VALIDATION,
)
def invalid_rejected(exchange: Exchange, expected_fields: Iterable[str]) -> Outcome:
    expected = set(expected_fields)
    if not expected:
        return VACUOUS
    body = exchange.body or {}
    if exchange.code != 422 or body.get("reason") != "Invalid":
        return violated(
            f"invalid {exchange.resource} answered {exchange.code} {body.get('reason')}"
        )
    causes = {cause.get("field") for cause in body.get("details", {}).get("causes", [])}
    missing = expected - causes
    if missing:
        return violated(f"causes {sorted(causes)} miss {sorted(missing)}")
    return HOLDS


@invariant(
    "APISERVER-WATCH-EXACT",
    component="apiserver",
    kind="contract",
    statement="A watch from resourceVersion r delivers exactly the changes after r that match its selectors, in order, each once.",
    source=EFFICIENT_CHANGES,
)
def watch_exact(
    events: Sequence[Mapping[str, Any]], expected: Sequence[tuple[str, str, str]]
) -> Outcome:
    """``expected``: (type, name, resourceVersion) of each change, in order."""
    seen = [
        (
            e["type"],
            e["object"]["metadata"].get("name"),
            e["object"]["metadata"].get("resourceVersion"),
        )
        for e in events
        if e.get("type") in ("ADDED", "MODIFIED", "DELETED")
    ]
    if not seen and not expected:
        return VACUOUS
    if seen != list(expected):
        for index, (got, want) in enumerate(zip(seen, expected)):
            if got != want:
                return violated(f"event {index}: got {got}, want {want}")
        return violated(
            f"got {len(seen)} events, want {len(expected)} (got {seen[-3:]}, want {list(expected)[-3:]})"
        )
    return HOLDS


@invariant(
    "APISERVER-WATCH-ORDERED",
    component="apiserver",
    kind="safety",
    statement="After the synthetic events of a watch's initial state, the resourceVersions of its events strictly increase.",
    source=EFFICIENT_CHANGES,
)
def watch_ordered(events: Sequence[Mapping[str, Any]]) -> Outcome:
    versions = [
        _rv(e.get("object"))
        for e in events
        if e.get("type") in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK")
    ]
    versions = [v for v in versions if v is not None]
    if len(versions) < 2:
        return VACUOUS
    for before, after in zip(versions, versions[1:]):
        if after < before or (after == before):
            return violated(f"resourceVersion {after} came after {before}")
    return HOLDS


@invariant(
    "APISERVER-WATCH-EXPIRED",
    component="apiserver",
    kind="contract",
    statement="A watch from a resourceVersion older than the compacted history gets one ERROR event with a 410 Expired Status and nothing else.",
    source=EFFICIENT_CHANGES,
)
def watch_expired(events: Sequence[Mapping[str, Any]], compacted: bool) -> Outcome:
    if not compacted:
        return VACUOUS
    if len(events) != 1 or events[0].get("type") != "ERROR":
        return violated(
            f"a watch from a compacted resourceVersion delivered {[e.get('type') for e in events]}"
        )
    status = events[0].get("object") or {}
    if status.get("code") != 410 or status.get("reason") not in ("Expired", "Gone"):
        return violated(f"the ERROR event carries {status!r}, not a 410 Status")
    return HOLDS


@invariant(
    "APISERVER-LIST-MATCHES",
    component="apiserver",
    kind="contract",
    statement="A list returns exactly the objects that exist and match its label and field selectors, in name order, with a resourceVersion no older than any write before it.",
    source=SELECTORS,
)
def list_matches(
    listed: Mapping[str, Any], expected_names: Sequence[str], last_write_rv: int
) -> Outcome:
    items = listed.get("items", [])
    names = [(i["metadata"].get("namespace") or "", i["metadata"]["name"]) for i in items]
    keys = [f"{ns}/{name}" if ns else name for ns, name in names]
    if keys != list(expected_names):
        return violated(f"listed {keys}, expected {list(expected_names)}")
    rv = int(listed.get("metadata", {}).get("resourceVersion", "0"))
    if rv < last_write_rv:
        return violated(f"list resourceVersion {rv} is older than the last write {last_write_rv}")
    return HOLDS if keys else VACUOUS


@invariant(
    "APISERVER-FINALIZERS-BLOCK-DELETE",
    component="apiserver",
    kind="safety",
    statement="An object with finalizers is not removed by delete: it gets a deletionTimestamp and stays until its last finalizer is removed.",
    source=FINALIZERS,
)
def finalizers_block_delete(before: Any, after: Any) -> Outcome:
    """``before``: the object before a delete or update; ``after``: it afterwards (None if gone)."""
    if not before or not before["metadata"].get("finalizers"):
        return VACUOUS
    if after is None:
        return violated(
            f"{before['metadata']['name']} was removed with finalizers {before['metadata']['finalizers']}"
        )
    if not after["metadata"].get("deletionTimestamp") and before["metadata"].get(
        "deletionTimestamp"
    ):
        return violated("the deletionTimestamp of a deleting object was cleared")
    return HOLDS


@invariant(
    "APISERVER-DELETE-COMPLETES",
    component="apiserver",
    kind="contract",
    statement="An object being deleted is removed as soon as it has no finalizers and no grace period left.",
    source=FINALIZERS,
)
def delete_completes(after: Any, deleting: bool) -> Outcome:
    if not deleting:
        return VACUOUS
    if after is None:
        return HOLDS
    meta = after["metadata"]
    left = meta.get("finalizers") or (
        after.get("spec", {}).get("finalizers") if after.get("kind") == "Namespace" else None
    )
    if not left and not meta.get("deletionGracePeriodSeconds"):
        return violated(f"{meta['name']} is still stored with nothing left to wait for")
    return HOLDS


@invariant(
    "APISERVER-GRACEFUL-POD-DELETE",
    component="apiserver",
    kind="contract",
    statement="Deleting a pod bound to a node that has not terminated sets deletionTimestamp and deletionGracePeriodSeconds (by default its terminationGracePeriodSeconds) and keeps it until a delete with grace 0.",
    source=POD_TERMINATION,
)
def graceful_pod_delete(pod_before: Any, answer: Exchange, requested_grace: int | None) -> Outcome:
    spec = (pod_before or {}).get("spec", {})
    phase = (pod_before or {}).get("status", {}).get("phase")
    if not pod_before or not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return VACUOUS
    expected = (
        requested_grace
        if requested_grace is not None
        else spec.get("terminationGracePeriodSeconds", 30)
    )
    already = pod_before["metadata"].get("deletionGracePeriodSeconds")
    if already is not None:
        expected = min(expected, already)
    if expected == 0 and not pod_before["metadata"].get("finalizers"):
        return VACUOUS
    body = answer.body or {}
    meta = body.get("metadata", {})
    if not answer.ok or not meta.get("deletionTimestamp"):
        return violated(f"graceful delete answered {answer.code} without a deletionTimestamp")
    if meta.get("deletionGracePeriodSeconds") != expected:
        return violated(
            f"deletionGracePeriodSeconds {meta.get('deletionGracePeriodSeconds')}, expected {expected}"
        )
    return HOLDS


# The kinds whose strategies maintain metadata.generation (others leave it unset).
GENERATION_TRACKED = frozenset({"Pod", "ReplicaSet", "Deployment", "EndpointSlice"})


@invariant(
    "APISERVER-GENERATION",
    component="apiserver",
    kind="contract",
    statement="For kinds that track it, metadata.generation is 1 on create and grows by one exactly when the desired state (everything but metadata and status) changes or a graceful deletion starts or shortens.",
    source=OBJECT_META,
)
def generation(before: Any, after: Any) -> Outcome:
    if after is None:
        return VACUOUS
    got = after["metadata"].get("generation")
    if after.get("kind") not in GENERATION_TRACKED:
        return HOLDS if got is None else violated(f"a {after.get('kind')} has generation {got}")
    if before is None:
        return HOLDS if got == 1 else violated(f"a new object has generation {got}")

    def desired(manifest: Any) -> dict:
        return {k: v for k, v in manifest.items() if k not in ("metadata", "status")}

    old_meta, new_meta = before["metadata"], after["metadata"]
    graceful = old_meta.get("deletionTimestamp") != new_meta.get("deletionTimestamp") and (
        (new_meta.get("deletionGracePeriodSeconds") or 0) > 0
        or (old_meta.get("deletionGracePeriodSeconds") or 0) > 0
    )
    old = old_meta.get("generation")
    want = old + 1 if desired(before) != desired(after) or graceful else old
    if got != want:
        return violated(f"generation went from {old} to {got}, expected {want}")
    return HOLDS


@invariant(
    "APISERVER-STATUS-SUBRESOURCE",
    component="apiserver",
    kind="contract",
    statement="For a resource with a status subresource, an update of the main resource leaves status unchanged and an update of /status changes only status.",
    source=SUBRESOURCES,
)
def status_subresource(before: Any, after: Any, subresource: str | None) -> Outcome:
    if before is None or after is None:
        return VACUOUS
    if subresource == "status":
        changed = {
            k
            for k in set(before) | set(after)
            if k not in ("metadata", "status") and before.get(k) != after.get(k)
        }
        if changed:
            return violated(f"a status update changed {sorted(changed)}")
        for key in ("labels", "annotations", "finalizers", "generation"):
            if before["metadata"].get(key) != after["metadata"].get(key):
                return violated(f"a status update changed metadata.{key}")
        return HOLDS
    if before.get("status") != after.get("status"):
        return violated("an update of the main resource changed status")
    return HOLDS


@invariant(
    "APISERVER-NAMESPACE-LIFECYCLE",
    component="apiserver",
    kind="contract",
    statement="Creating an object in a namespace that does not exist fails with 404 NotFound, and in a terminating namespace with 403 Forbidden.",
    source=ADMISSION,
)
def namespace_lifecycle(exchange: Exchange, namespace_state: str) -> Outcome:
    """``namespace_state``: "active", "missing" or "terminating" when the create was sent."""
    if namespace_state == "active" or exchange.verb != "create":
        return VACUOUS
    want = 404 if namespace_state == "missing" else 403
    if exchange.code != want:
        return violated(
            f"create in a {namespace_state} namespace answered {exchange.code}, want {want}"
        )
    return HOLDS


@invariant(
    "APISERVER-SYSTEM-FIELDS",
    component="apiserver",
    kind="safety",
    statement="uid and creationTimestamp are set by the server on create, unique per object, and never change afterwards.",
    source=OBJECT_META,
)
def system_fields(before: Any, after: Any, uids_seen: Mapping[str, str]) -> Outcome:
    """``uids_seen``: uid -> the key of the object that first had it."""
    if after is None:
        return VACUOUS
    meta = after["metadata"]
    key = f"{meta.get('namespace') or ''}/{meta['name']}"
    if not meta.get("uid") or not meta.get("creationTimestamp"):
        return violated(f"{key} has no uid or creationTimestamp")
    owner = uids_seen.get(meta["uid"])
    if before is None and owner is not None:
        return violated(f"{key} got uid {meta['uid']} already given to {owner}")
    if before is not None:
        for field in ("uid", "creationTimestamp"):
            if before["metadata"].get(field) != meta.get(field):
                return violated(
                    f"{key}: {field} changed from {before['metadata'].get(field)} to {meta.get(field)}"
                )
    return HOLDS


@invariant(
    "APISERVER-GENERATE-NAME",
    component="apiserver",
    kind="contract",
    statement="A create with generateName and no name gets a new unique name: the prefix followed by five random characters.",
    source=NAMES,
)
def generate_name(sent: Any, answer: Exchange) -> Outcome:
    meta = (sent or {}).get("metadata", {}) if isinstance(sent, dict) else {}
    prefix = meta.get("generateName")
    if not prefix or meta.get("name") or not answer.ok:
        return VACUOUS
    name = answer.body["metadata"]["name"]
    kept = prefix[: 63 - 5]
    if not name.startswith(kept) or len(name) != len(kept) + 5:
        return violated(f"generateName {prefix!r} gave {name!r}")
    return HOLDS


@invariant(
    "APISERVER-ALREADY-EXISTS",
    component="apiserver",
    kind="contract",
    statement="Creating an object whose name is taken fails with 409 AlreadyExists and leaves the existing object unchanged.",
    source=CONCEPTS,
)
def already_exists(answer: Exchange, existed: bool) -> Outcome:
    if not existed:
        return VACUOUS
    if answer.code != 409 or (answer.body or {}).get("reason") != "AlreadyExists":
        name = answer.name or ((answer.sent or {}).get("metadata") or {}).get("name")
        return violated(f"create of the existing {answer.resource}/{name} answered {answer.code}")
    return HOLDS


@invariant(
    "APISERVER-BIND-ONCE",
    component="apiserver",
    kind="safety",
    statement="A pod is bound to a node at most once: binding a pod that has a nodeName fails with 409 Conflict and spec.nodeName never changes once set.",
    source=BINDING,
)
def bind_once(before: Any, after: Any) -> Outcome:
    if not before or not before.get("spec", {}).get("nodeName"):
        return VACUOUS
    if after is None:
        return VACUOUS
    if after.get("spec", {}).get("nodeName") != before["spec"]["nodeName"]:
        return violated(
            f"pod {before['metadata']['name']} moved from {before['spec']['nodeName']} to {after['spec'].get('nodeName')}"
        )
    return HOLDS


# ---------------------------------------------------------------------- server-side apply

# The Content-Type of a server-side apply patch.
APPLY_PATCH = "application/apply-patch+yaml"
# A field by the names from the object's root to it: ("metadata", "labels", "app").
FieldPath = tuple[str, ...]
# Fields nobody owns (upstream strips them from every managed-fields set).
UNOWNED_FIELDS = frozenset(
    {("apiVersion",), ("kind",), ("status",)} | {("metadata", name) for name in UNOWNED_METADATA}
)
_ABSENT = object()


def _printed(path: FieldPath) -> str:
    """A field as upstream's conflict causes name it: ``.spec.replicas``."""
    return "".join(f".{name}" for name in path)


def _leaves(manifest: Any, *, lists: bool) -> dict[FieldPath, Any] | None:
    """The owned fields a manifest sets, with their values: its scalars and empty maps,
    walking its maps (status and system fields left out). A list is a field of its own
    when ``lists``; otherwise a manifest holding one is not judged (None)."""
    found: dict[FieldPath, Any] = {}

    def walk(node: Mapping[str, Any], prefix: FieldPath) -> bool:
        for name, value in node.items():
            path = (*prefix, name)
            if path in UNOWNED_FIELDS or value is None:
                continue
            if isinstance(value, dict) and value:
                if not walk(value, path):
                    return False
            elif isinstance(value, list) and not lists:
                return False
            else:
                found[path] = value
        return True

    if not isinstance(manifest, dict) or not walk(manifest, ()):
        return None
    return found


def _value(manifest: Any, path: FieldPath) -> Any:
    node = manifest
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return _ABSENT
        node = node[name]
    return node


def _owned(entry: Mapping[str, Any]) -> set[FieldPath]:
    """The fields a managedFields entry owns (FieldsV1: ``f:<name>`` steps; a member is a
    node with no children or with a ``.`` child). Keys and values of list elements
    (``k:``, ``v:``) stay as they are written."""
    owned: set[FieldPath] = set()

    def walk(node: Any, prefix: FieldPath) -> None:
        if not isinstance(node, dict):
            return
        if prefix and (not node or "." in node):
            owned.add(prefix)
        for element, child in node.items():
            if element != ".":
                walk(child, (*prefix, element[2:] if element.startswith("f:") else element))

    walk(entry.get("fieldsV1") or {}, ())
    return owned


def _managed(manifest: Any) -> list[Mapping[str, Any]]:
    entries = ((manifest or {}).get("metadata") or {}).get("managedFields") or []
    return [entry for entry in entries if isinstance(entry, dict)]


def _is_entry_of(entry: Mapping[str, Any], manager: str, operation: str) -> bool:
    """Whether ``entry`` is ``manager``'s entry for ``operation`` on the main resource."""
    return (
        entry.get("manager") == manager
        and entry.get("operation") == operation
        and not entry.get("subresource")
    )


def _under(path: FieldPath, other: FieldPath) -> bool:
    """Whether one of the two fields contains the other (or they are the same)."""
    shorter = min(len(path), len(other))
    return path[:shorter] == other[:shorter]


def _apply_request(exchange: Exchange) -> tuple[str, bool] | None:
    """(fieldManager, force) of an apply of the main resource; None for anything else."""
    params = exchange.params or {}
    if exchange.verb != "patch" or exchange.subresource or params.get("contentType") != APPLY_PATCH:
        return None
    force = params.get("force")
    forced = force is True or str(force).lower() in ("true", "1")
    return str(params.get("fieldManager") or ""), forced


@invariant(
    "APISERVER-APPLY-CONFLICT",
    component="apiserver",
    kind="contract",
    statement="An apply that would change the value of a field another manager owns fails, unless forced, with 409 Conflict naming each such field and its manager, and changes nothing; forced, it succeeds and the applier alone owns those fields; an apply that changes no field another manager owns never conflicts.",
    source=APPLY_CONFLICTS,
)
def apply_conflict(before: Any, answer: Exchange, after: Any) -> Outcome:
    """``before``/``after``: the object as read before and after the apply (None: missing).
    Decided for configurations of maps and scalars (the fields the checker applies)."""
    request = _apply_request(answer)
    if request is None or not request[0]:
        return VACUOUS
    manager, force = request
    applied = _leaves(answer.sent, lists=False)
    if applied is None:
        return VACUOUS
    owners: dict[FieldPath, list[str]] = {}
    for entry in _managed(before):
        if not _is_entry_of(entry, manager, "Apply"):
            for path in _owned(entry) & set(applied):
                owners.setdefault(path, []).append(str(entry.get("manager")))
    conflicts = {
        path: names for path, names in owners.items() if _value(before, path) != applied[path]
    }
    body = answer.body if isinstance(answer.body, dict) else {}
    refused = answer.code == 409 and body.get("reason") == "Conflict"
    if not conflicts:
        if refused:
            return violated(
                f"an apply by {manager!r} that changes no field another manager owns was refused: "
                f"{body.get('message')}"
            )
        return HOLDS if answer.ok else VACUOUS
    named = ", ".join(f"{_printed(p)} (owned by {sorted(n)})" for p, n in sorted(conflicts.items()))
    if not force:
        if not refused:
            return violated(f"an apply by {manager!r} changing {named} answered {answer.code}")
        causes = (body.get("details") or {}).get("causes") or []
        for path, names in sorted(conflicts.items()):
            for name in names:
                if not any(
                    cause.get("field") == _printed(path)
                    and f'"{name}"' in str(cause.get("message"))
                    for cause in causes
                ):
                    return violated(
                        f"the conflict of {manager!r} over {_printed(path)} names no cause for {name!r}: {causes}"
                    )
        if after != before:
            return violated(f"an apply refused for conflicts over {named} changed the object")
        return HOLDS
    if not answer.ok or after is None:
        return violated(f"a forced apply by {manager!r} over {named} answered {answer.code}")
    for path in sorted(conflicts):
        if _value(after, path) != applied[path]:
            return violated(
                f"after a forced apply {_printed(path)} is {_value(after, path)!r}, not {applied[path]!r}"
            )
        holders = sorted(
            str(entry.get("manager"))
            + ("" if _is_entry_of(entry, manager, "Apply") else f" ({entry.get('operation')})")
            for entry in _managed(after)
            if path in _owned(entry)
        )
        if holders != [manager]:
            return violated(
                f"after {manager!r} forced {_printed(path)}, its owners are {holders}, not {manager!r} alone"
            )
    return HOLDS


@invariant(
    "APISERVER-APPLY-OWNERSHIP",
    component="apiserver",
    kind="contract",
    statement="After an apply, the applier's entry in managedFields owns exactly the fields of its configuration, which hold its values, and a field it applied before, no longer applies and no other manager owns is gone (or back at its default); after any other write with a fieldManager, that manager's Update entry owns every field it changed and no other entry does.",
    source=FIELD_MANAGEMENT,
)
def apply_ownership(
    before: Any, answer: Exchange, after: Any, defaults: Mapping[FieldPath, Any]
) -> Outcome:
    """``before``/``after``: the object before and after a successful write (None:
    missing); ``defaults``: the value a released field returns to, where it has one."""
    manager = str((answer.params or {}).get("fieldManager") or "")
    if not answer.ok or after is None or not manager or answer.subresource:
        return VACUOUS
    if answer.verb in ("delete", "deletecollection", "get", "list", "watch"):
        return VACUOUS
    request = _apply_request(answer)
    if request is None:
        return _update_ownership(before, after, manager)
    applied = _leaves(answer.sent, lists=False)
    if applied is None:
        return VACUOUS
    mine = [entry for entry in _managed(after) if _is_entry_of(entry, manager, "Apply")]
    if len(mine) > 1:
        return violated(f"{manager!r} has {len(mine)} Apply entries")
    owned = _owned(mine[0]) if mine else set()
    if owned != set(applied):
        return violated(
            f"{manager!r}'s Apply entry owns {sorted(map(_printed, owned))}, "
            f"its configuration sets {sorted(map(_printed, applied))}"
        )
    for path, value in sorted(applied.items()):
        if _value(after, path) != value:
            return violated(
                f"{manager!r} applied {_printed(path)}: {value!r}, the object holds "
                f"{_value(after, path)!r}"
            )
    previous: set[FieldPath] = set()
    others: set[FieldPath] = set()
    for entry in _managed(before):
        (previous if _is_entry_of(entry, manager, "Apply") else others).update(_owned(entry))
    for path in sorted(previous - set(applied)):
        if any(_under(path, other) for other in others | set(applied)):
            continue
        left = _value(after, path)
        if left is not _ABSENT and left != defaults.get(path, _ABSENT):
            return violated(
                f"{_printed(path)} was dropped from {manager!r}'s configuration and nobody else "
                f"owns it, yet it still holds {left!r}"
            )
    return HOLDS


def _update_ownership(before: Any, after: Any, manager: str) -> Outcome:
    old = _leaves(before, lists=True) or {} if before is not None else {}
    new = _leaves(after, lists=True) or {}
    changed = sorted(
        path
        for path in set(old) | set(new)
        if old.get(path, _ABSENT) != new.get(path, _ABSENT)
        and not isinstance(new.get(path, old.get(path)), list)  # list elements: not judged
    )
    if not changed:
        return VACUOUS
    for path in changed:
        holders = sorted(
            f"{entry.get('manager')} ({entry.get('operation')})"
            for entry in _managed(after)
            if path in _owned(entry)
        )
        if path not in new:
            if holders:
                return violated(
                    f"{_printed(path)}, removed by {manager!r}, is still owned by {holders}"
                )
        elif holders != [f"{manager} (Update)"]:
            return violated(
                f"{_printed(path)}, changed by {manager!r}, is owned by {holders}, "
                f"not by {manager!r}'s Update entry alone"
            )
    return HOLDS


@invariant(
    "APISERVER-APPLY-IDEMPOTENT",
    component="apiserver",
    kind="contract",
    statement="Applying again the configuration a manager applied last, to an object that still holds it, changes nothing: no write, the same resourceVersion and managedFields.",
    source=FIELD_MANAGEMENT,
)
def apply_idempotent(before: Any, answer: Exchange, after: Any) -> Outcome:
    request = _apply_request(answer)
    if request is None or not request[0] or before is None:
        return VACUOUS
    manager = request[0]
    applied = _leaves(answer.sent, lists=False)
    mine = [entry for entry in _managed(before) if _is_entry_of(entry, manager, "Apply")]
    if applied is None or len(mine) != 1 or _owned(mine[0]) != set(applied):
        return VACUOUS
    if any(_value(before, path) != value for path, value in applied.items()):
        return VACUOUS
    rv = before["metadata"].get("resourceVersion")
    got = (answer.body or {}).get("metadata", {}).get("resourceVersion") if answer.ok else None
    if not answer.ok or got != rv or after != before:
        return violated(
            f"{manager!r} applied again what the object already holds: answered {answer.code}, "
            f"resourceVersion {rv} -> {got}"
            + ("" if after == before else ", and the stored object changed")
        )
    return HOLDS
