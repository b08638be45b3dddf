"""The Deployment controller: rolls a Deployment's pod template out through ReplicaSets.

Contract (spec/deployment.md; upstream pkg/controller/deployment/):
- Level-triggered, one reconcile per Deployment key. It claims the ReplicaSets
  its selector matches (adopt orphans, release those that stop matching) and
  finds the "new" one: the oldest whose template equals the Deployment's,
  ignoring the ``pod-template-hash`` label (`DEPLOYMENT-ONE-NEW-RS`). A missing
  new ReplicaSet is created as "<deployment>-<hash>" with that label in its
  template and selector and the annotations revision, desired-replicas and
  max-replicas.
- ``pod_template_hash`` follows upstream's shape: FNV-32a of the template (plus
  the collisionCount as 8 little-endian bytes), its decimal digits mapped onto
  the alphabet "bcdfghjklmnpqrstvwxz2456789". Upstream hashes a spew dump of
  the Go struct; kubeprop hashes canonical JSON of the template manifest, so
  the names differ from a real cluster's but have the same alphabet and length.
- RollingUpdate: the new ReplicaSet grows while the sum of all ReplicaSets'
  replicas stays within replicas + maxSurge (`DEPLOYMENT-MAX-SURGE`); old ones
  shrink (unhealthy replicas first) while the available pods stay at least
  replicas - maxUnavailable (`DEPLOYMENT-MIN-AVAILABLE`). maxSurge rounds a
  percentage up, maxUnavailable rounds down; both 0 resolve to maxUnavailable 1.
- Recreate: old ReplicaSets go to 0, and the new one is created/scaled only
  once no old pod runs (`DEPLOYMENT-RECREATE-NO-OVERLAP`).
- A change of replicas during a rollout is a scaling event: the replicas are
  spread over the active ReplicaSets in proportion to their size.
- Old ReplicaSets with no replicas beyond ``revisionHistoryLimit`` are
  deleted once the rollout is complete (`DEPLOYMENT-HISTORY-LIMIT`).
- Status (observedGeneration, replicas, updatedReplicas, readyReplicas,
  availableReplicas, unavailableReplicas) sums the ReplicaSets' status, with
  the Available and Progressing conditions of upstream (`DEPLOYMENT-STATUS`,
  `DEPLOYMENT-COMPLETES`); ProgressDeadlineExceeded after progressDeadlineSeconds
  without progress. Events: ScalingReplicaSet "Scaled up replica set x from 0 to 3".
- Not modelled: rollback (spec.rollbackTo, removed from apps/v1), the Paused
  condition reasons (a paused Deployment is only scaled), ReplicaFailure
  conditions, the alpha DeploymentPodReplacementPolicy / terminatingReplicas.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from typing import Any

import attrs

from kubeprop.reference.client import (
    NORMAL,
    WARNING,
    Controller,
    EventRecorder,
    Informer,
    Informers,
    Result,
    WorkQueue,
    key_of,
    split_key,
)
from kubeprop.reference.controllers import _pods
from kubeprop.reference.controllers._pods import MERGE_PATCH, Manifest, meta
from kubeprop.reference.loop import EventLoop

COMPONENT = "deployment-controller"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
# Annotations of the Deployment that are not copied onto its ReplicaSets.
SKIPPED_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
)
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
FNV32_OFFSET, FNV32_PRIME = 0x811C9DC5, 0x01000193
MAX_INT32 = 2**31 - 1

# Condition reasons and messages (pkg/controller/deployment/util/deployment_util.go).
NEW_RS_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
RS_UPDATED_REASON = "ReplicaSetUpdated"
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
MIN_AVAILABLE_REASON = "MinimumReplicasAvailable"
MIN_UNAVAILABLE_REASON = "MinimumReplicasUnavailable"


# ---------------------------------------------------------------------- pure arithmetic


def fnv32a(data: bytes) -> int:
    value = FNV32_OFFSET
    for byte in data:
        value = ((value ^ byte) * FNV32_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    """apimachinery rand.SafeEncodeString: each byte mapped onto the safe alphabet."""
    return "".join(SAFE_ALPHABET[ord(char) % len(SAFE_ALPHABET)] for char in text)


def pod_template_hash(template: Manifest, collision_count: int | None = None) -> str:
    """The pod-template-hash label value of a template (see the module docstring)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\0\0\0\0"
    return safe_encode(str(fnv32a(data)))


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, "N%" of ``total`` rounded."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        raise ValueError(f"invalid value for IntOrString: invalid value {text!r}")
    percent = int(text[:-1])
    return -(-percent * total // 100) if round_up else percent * total // 100


def resolve_fenceposts(
    max_surge: int | str | None, max_unavailable: int | str | None, desired: int
) -> tuple[int, int]:
    """(surge, unavailable) for ``desired`` replicas; both 0 makes unavailable 1."""
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def replicas_of(obj: Manifest | None) -> int:
    if obj is None:
        return 0
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_of(obj: Manifest | None, field: str) -> int:
    return int(((obj or {}).get("status") or {}).get(field) or 0)


def is_rolling_update(d: Manifest) -> bool:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate") == (
        "RollingUpdate"
    )


def _rolling(d: Manifest) -> Manifest:
    return ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}


def max_surge(d: Manifest) -> int:
    if not is_rolling_update(d):
        return 0
    ru = _rolling(d)
    return resolve_fenceposts(
        ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%"), replicas_of(d)
    )[0]


def max_unavailable(d: Manifest) -> int:
    if not is_rolling_update(d) or replicas_of(d) == 0:
        return 0
    ru = _rolling(d)
    unavailable = resolve_fenceposts(
        ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%"), replicas_of(d)
    )[1]
    return min(unavailable, replicas_of(d))


def template_without_hash(template: Manifest | None) -> Manifest:
    stripped = copy.deepcopy(template or {})
    labels = (stripped.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(HASH_LABEL, None)
        if not labels:
            stripped["metadata"].pop("labels")
    return stripped


def equal_ignore_hash(a: Manifest | None, b: Manifest | None) -> bool:
    return template_without_hash(a) == template_without_hash(b)


def revision_of(rs: Manifest) -> int:
    value = (meta(rs).get("annotations") or {}).get(REVISION)
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def annotation_int(rs: Manifest, name: str) -> int | None:
    value = (meta(rs).get("annotations") or {}).get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def by_creation(rss: list[Manifest]) -> list[Manifest]:
    """ReplicaSetsByCreationTimestamp: oldest first, then by name."""
    return sorted(rss, key=lambda rs: (_pods.created_at(rs), meta(rs).get("name")))


def active(rss: list[Manifest | None]) -> list[Manifest]:
    """FilterActiveReplicaSets: those with replicas > 0."""
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def new_rs_new_replicas(d: Manifest, all_rss: list[Manifest], new_rs: Manifest) -> int:
    """NewRSNewReplicas: the size the new ReplicaSet may grow to now."""
    if not is_rolling_update(d):
        return replicas_of(d)
    total = sum(replicas_of(rs) for rs in all_rss)
    limit = replicas_of(d) + max_surge(d)
    if total >= limit:
        return replicas_of(new_rs)
    return replicas_of(new_rs) + min(limit - total, replicas_of(d) - replicas_of(new_rs))


def replica_set_proportion(d: Manifest, rs: Manifest, to_add: int, added: int) -> int:
    """GetReplicaSetProportion: this ReplicaSet's share of a scaling event."""
    if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _replica_set_fraction(d, rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _replica_set_fraction(d: Manifest, rs: Manifest) -> int:
    if replicas_of(d) == 0:
        return -replicas_of(rs)
    deployment_replicas = replicas_of(d) + max_surge(d)
    annotated = annotation_int(rs, MAX_REPLICAS)
    if annotated is None:
        annotated = status_of(d, "replicas")
    if annotated == 0:
        return 0
    size = replicas_of(rs) * deployment_replicas / annotated
    rounded = int(math.floor(size + 0.5)) if size >= 0 else -int(math.floor(-size + 0.5))
    return rounded - replicas_of(rs)


def is_saturated(d: Manifest, rs: Manifest | None) -> bool:
    if rs is None:
        return False
    return (
        annotation_int(rs, DESIRED_REPLICAS) == replicas_of(d)
        and replicas_of(rs) == replicas_of(d)
        and status_of(rs, "availableReplicas") == replicas_of(d)
    )


def deployment_complete(d: Manifest, status: Manifest) -> bool:
    want = replicas_of(d)
    return (
        status.get("updatedReplicas", 0) == want
        and status.get("replicas", 0) == want
        and status.get("availableReplicas", 0) == want
        and (status.get("observedGeneration") or 0) >= (meta(d).get("generation") or 0)
    )


def condition_of(status: Manifest, kind: str) -> Manifest | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def set_condition(status: Manifest, condition: Manifest) -> None:
    """SetDeploymentCondition: same status and reason changes nothing; same status keeps
    lastTransitionTime."""
    current = condition_of(status, condition["type"])
    if (
        current is not None
        and current.get("status") == condition["status"]
        and current.get("reason") == condition["reason"]
    ):
        return
    if current is not None and current.get("status") == condition["status"]:
        condition = {**condition, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, condition["type"])
    status.setdefault("conditions", []).append(condition)


def remove_condition(status: Manifest, kind: str) -> None:
    kept = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def has_progress_deadline(d: Manifest) -> bool:
    deadline = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return deadline is not None and deadline != MAX_INT32


# ---------------------------------------------------------------------- the controller


class RequeueError(Exception):
    """A write failed (conflict, unreachable, ...): the reconcile is retried, rate limited."""


@attrs.define(eq=False)
class DeploymentController:
    """kube-controller-manager's deployment controller, on the simulated loop."""

    connection: Any  # a client Connection to the API server
    loop: EventLoop
    recorder: EventRecorder
    watch_latency: float = 0.1  # poll interval of the informers
    _informers: Informers | None = attrs.field(init=False, default=None)
    _deployments: Informer | None = attrs.field(init=False, default=None)  # every Deployment
    _replicasets: Informer | None = attrs.field(init=False, default=None)  # every ReplicaSet
    _pods: Informer | None = attrs.field(init=False, default=None)  # every pod
    _controller: Controller | None = attrs.field(init=False, default=None)  # the reconcile loop
    stopped: bool = attrs.field(init=False, default=False)  # stop() was called

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._informers = Informers(self.connection, self.loop, poll_interval=self.watch_latency)
        self._deployments = self._informers.informer("deployments")
        self._replicasets = self._informers.informer("replicasets")
        self._pods = self._informers.informer("pods")
        self._controller = Controller(COMPONENT, WorkQueue(self.loop), self.reconcile, self.loop)
        self._deployments.add_handler(
            self._enqueue, lambda old, new: self._enqueue(new), self._enqueue
        )
        self._replicasets.add_handler(
            self._rs_changed, lambda old, new: self._rs_updated(old, new), self._rs_changed
        )
        self._pods.add_handler(None, self._pod_updated, self._pod_deleted)
        self._informers.start()

    def stop(self) -> None:
        self.stopped = True
        if self._informers is not None:
            self._informers.stop()
        if self._controller is not None:
            self._controller.stop()

    # ------------------------------------------------------------------ handlers

    def _enqueue(self, d: Manifest) -> None:
        if self._controller is not None and not self.stopped:
            self._controller.queue.add(key_of(d))

    def _deployment_of(self, rs: Manifest) -> Manifest | None:
        ref = _pods.controller_of(rs)
        if ref is None or ref.get("kind") != "Deployment" or self._deployments is None:
            return None
        d = self._deployments.lister().get(meta(rs).get("namespace"), ref.get("name"))
        return d if d is not None and _pods.uid_of(d) == ref.get("uid") else None

    def _rs_changed(self, rs: Manifest) -> None:
        owner = self._deployment_of(rs)
        if owner is not None:
            self._enqueue(owner)
        elif _pods.controller_of(rs) is None and self._deployments is not None:
            for d in self._deployments.lister().list(meta(rs).get("namespace")):
                selector = (d.get("spec") or {}).get("selector")
                if _pods.selector_matches(selector, meta(rs).get("labels")):
                    self._enqueue(d)

    def _rs_updated(self, old: Manifest, new: Manifest) -> None:
        self._rs_changed(old)
        self._rs_changed(new)

    def _pod_deployment(self, pod: Manifest) -> Manifest | None:
        ref = _pods.controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet" or self._replicasets is None:
            return None
        rs = self._replicasets.lister().get(meta(pod).get("namespace"), ref.get("name"))
        return self._deployment_of(rs) if rs is not None else None

    def _pod_updated(self, old: Manifest, new: Manifest) -> None:
        if _pods.phase(new) in ("Succeeded", "Failed") and _pods.phase(old) != _pods.phase(new):
            self._pod_deleted(new)

    def _pod_deleted(self, pod: Manifest) -> None:
        d = self._pod_deployment(pod)
        if d is not None and not is_rolling_update(d):
            self._enqueue(d)  # Recreate waits for old pods to be gone

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, key: str) -> Result | None:
        if self.stopped or self._deployments is None:
            return None
        if not self._informers.has_synced():
            return Result(requeue_after=self.watch_latency)
        namespace, name = split_key(key)
        d = self._deployments.lister().get(namespace, name)
        if d is None:
            return None
        try:
            return self.sync_deployment(d)
        except (RequeueError, _pods.ClaimError):
            return Result(requeue=True)

    def sync_deployment(self, d: Manifest) -> Result | None:
        spec = d.get("spec") or {}
        selector = spec.get("selector") or {}
        if not (selector.get("matchLabels") or selector.get("matchExpressions")):
            message = "This deployment is selecting all pods. A non-empty selector is required."
            self.recorder.event(d, WARNING, "SelectingAll", message)
            return None
        rs_list = self.claim_replica_sets(d)
        if _pods.is_terminating(d):
            self._sync_status_only(d, rs_list)
            return None
        if spec.get("paused") or self._is_scaling_event(d, rs_list):
            return self._sync(d, rs_list)
        if is_rolling_update(d):
            return self.rollout_rolling(d, rs_list)
        return self.rollout_recreate(d, rs_list)

    def claim_replica_sets(self, d: Manifest) -> list[Manifest]:
        candidates = self._replicasets.lister().list(meta(d).get("namespace"))
        return _pods.claim(
            self.connection,
            "replicasets",
            d,
            (d.get("spec") or {}).get("selector"),
            candidates,
            functools.partial(self._fresh, d),
        )

    def _fresh(self, d: Manifest) -> bool:
        answer = self.connection.request(
            "get", "deployments", namespace=meta(d).get("namespace"), name=meta(d).get("name")
        )
        return (
            answer.ok
            and _pods.uid_of(answer.body) == _pods.uid_of(d)
            and not _pods.is_terminating(answer.body)
        )

    # ------------------------------------------------------------------ new and old ReplicaSets

    @staticmethod
    def find_new_replica_set(d: Manifest, rs_list: list[Manifest]) -> Manifest | None:
        """The oldest ReplicaSet whose template equals the Deployment's (ignoring the hash)."""
        template = (d.get("spec") or {}).get("template")
        for rs in by_creation(rs_list):
            if equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
                return rs
        return None

    def get_all_replica_sets(
        self, d: Manifest, rs_list: list[Manifest], create: bool
    ) -> tuple[Manifest | None, list[Manifest]]:
        """getAllReplicaSetsAndSyncRevision: (the new ReplicaSet, the old ones)."""
        found = self.find_new_replica_set(d, rs_list)
        olds = [rs for rs in rs_list if found is None or _pods.uid_of(rs) != _pods.uid_of(found)]
        return self._get_new_replica_set(d, found, olds, create), olds

    def _get_new_replica_set(
        self, d: Manifest, existing: Manifest | None, olds: list[Manifest], create: bool
    ) -> Manifest | None:
        new_revision = max((revision_of(rs) for rs in olds), default=0) + 1
        if existing is not None:
            return self._sync_existing_new(d, existing, new_revision)
        if not create:
            return None
        return self._create_new(d, olds, new_revision)

    def _sync_existing_new(self, d: Manifest, rs: Manifest, new_revision: int) -> Manifest:
        wanted = copy.deepcopy(rs)
        changed = self._set_new_rs_annotations(d, wanted, new_revision, exists=True)
        min_ready = (d.get("spec") or {}).get("minReadySeconds") or 0
        if changed or ((wanted.get("spec") or {}).get("minReadySeconds") or 0) != min_ready:
            wanted["spec"]["minReadySeconds"] = min_ready
            return self._update_rs(wanted)
        self._set_deployment_revision(d, str(revision_of(rs)))
        if has_progress_deadline(d) and condition_of(d.get("status") or {}, "Progressing") is None:
            status = copy.deepcopy(d.get("status") or {})
            message = f'Found new replica set "{meta(rs)["name"]}"'
            set_condition(
                status, self._condition("Progressing", "True", FOUND_NEW_RS_REASON, message)
            )
            self._update_status(d, status)
        return rs

    def _create_new(self, d: Manifest, olds: list[Manifest], new_revision: int) -> Manifest:
        spec = d.get("spec") or {}
        collision = (d.get("status") or {}).get("collisionCount")
        template = copy.deepcopy(spec.get("template") or {})
        pod_hash = pod_template_hash(spec.get("template") or {}, collision)
        template.setdefault("metadata", {})
        template["metadata"]["labels"] = {
            **(template["metadata"].get("labels") or {}),
            HASH_LABEL: pod_hash,
        }
        selector = copy.deepcopy(spec.get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
        name = f"{meta(d)['name']}-{pod_hash}"
        new_rs: Manifest = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": meta(d).get("namespace"),
                "ownerReferences": [_pods.controller_ref(d)],
                "labels": dict(template["metadata"]["labels"]),
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": spec.get("minReadySeconds") or 0,
                "selector": selector,
                "template": template,
            },
        }
        count = new_rs_new_replicas(d, olds + [new_rs], new_rs)
        new_rs["spec"]["replicas"] = count
        self._set_new_rs_annotations(d, new_rs, new_revision, exists=False)
        answer = self.connection.request(
            "create", "replicasets", namespace=meta(d).get("namespace"), body=new_rs
        )
        if answer.code == 409:
            return self._already_exists(d, name)
        if not answer.ok:
            message = f'Failed to create new replica set "{name}": {answer.body.get("message")}'
            self.recorder.event(d, WARNING, "ReplicaSetCreateError", message)
            raise RequeueError(message)
        created = answer.body
        if count > 0:
            self.recorder.event(
                d, NORMAL, "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {count}"
            )
        self._set_deployment_revision(d, str(new_revision))
        if has_progress_deadline(d):
            status = copy.deepcopy(d.get("status") or {})
            message = f'Created new replica set "{name}"'
            set_condition(status, self._condition("Progressing", "True", NEW_RS_REASON, message))
            self._update_status(d, status)
        return created

    def _already_exists(self, d: Manifest, name: str) -> Manifest:
        rs = self._replicasets.lister().get(meta(d).get("namespace"), name)
        if rs is None:
            raise RequeueError(f"replicaset {name} exists but is not in the cache yet")
        ref = _pods.controller_of(rs) or {}
        template = (d.get("spec") or {}).get("template")
        if ref.get("uid") == _pods.uid_of(d) and equal_ignore_hash(
            (rs.get("spec") or {}).get("template"), template
        ):
            return rs
        status = copy.deepcopy(d.get("status") or {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        self._update_status(d, status)
        raise RequeueError(f"hash collision on {name}")

    def _set_new_rs_annotations(
        self, d: Manifest, rs: Manifest, new_revision: int, exists: bool
    ) -> bool:
        """SetNewReplicaSetAnnotations (without the revision history): True if changed."""
        rs_meta = rs.setdefault("metadata", {})
        before = dict(rs_meta.get("annotations") or {})
        annotations = dict(before)
        for key, value in (meta(d).get("annotations") or {}).items():
            if key not in SKIPPED_ANNOTATIONS:
                annotations[key] = value
        if revision_of(rs) < new_revision:
            annotations[REVISION] = str(new_revision)
        if not exists:
            annotations[DESIRED_REPLICAS] = str(replicas_of(d))
            annotations[MAX_REPLICAS] = str(replicas_of(d) + max_surge(d))
        rs_meta["annotations"] = annotations
        return annotations != before

    def _set_deployment_revision(self, d: Manifest, revision: str) -> None:
        annotations = meta(d).get("annotations") or {}
        if annotations.get(REVISION) == revision:
            return
        answer = self.connection.request(
            "patch",
            "deployments",
            namespace=meta(d).get("namespace"),
            name=meta(d).get("name"),
            body={"metadata": {"annotations": {REVISION: revision}}},
            params=MERGE_PATCH,
        )
        if not answer.ok:
            raise RequeueError(f"cannot set the revision of {meta(d).get('name')}")
        d["metadata"]["annotations"] = {**annotations, REVISION: revision}
        d["metadata"]["resourceVersion"] = meta(answer.body).get("resourceVersion")

    # ------------------------------------------------------------------ writes

    def _update_rs(self, rs: Manifest) -> Manifest:
        answer = self.connection.request(
            "update",
            "replicasets",
            namespace=meta(rs).get("namespace"),
            name=meta(rs)["name"],
            body=rs,
        )
        if not answer.ok:
            raise RequeueError(f"cannot update replicaset {meta(rs)['name']}: {answer.code}")
        return answer.body

    def _update_status(self, d: Manifest, status: Manifest) -> None:
        body = {**d, "status": status}
        answer = self.connection.request(
            "update",
            "deployments",
            namespace=meta(d).get("namespace"),
            name=meta(d).get("name"),
            subresource="status",
            body=body,
        )
        if not answer.ok:
            raise RequeueError(f"cannot update the status of {meta(d).get('name')}: {answer.code}")
        d["status"] = status
        d["metadata"]["resourceVersion"] = meta(answer.body).get("resourceVersion")

    def _condition(self, kind: str, status: str, reason: str, message: str) -> Manifest:
        now = self.loop.clock.timestamp()
        return {
            "type": kind,
            "status": status,
            "lastUpdateTime": now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }

    def scale_replica_set(self, d: Manifest, rs: Manifest, size: int, operation: str) -> Manifest:
        """Set the ReplicaSet's replicas and replica annotations; an event if the size changed."""
        size_changed = replicas_of(rs) != size
        annotations = meta(rs).get("annotations") or {}
        wanted_annotations = {
            DESIRED_REPLICAS: str(replicas_of(d)),
            MAX_REPLICAS: str(replicas_of(d) + max_surge(d)),
        }
        annotations_changed = any(annotations.get(k) != v for k, v in wanted_annotations.items())
        if not size_changed and not annotations_changed:
            return rs
        wanted = copy.deepcopy(rs)
        old_size = replicas_of(rs)
        wanted["spec"]["replicas"] = size
        wanted["metadata"]["annotations"] = {**annotations, **wanted_annotations}
        updated = self._update_rs(wanted)
        if size_changed:
            name = meta(rs)["name"]
            message = f"Scaled {operation} replica set {name} from {old_size} to {size}"
            self.recorder.event(d, NORMAL, "ScalingReplicaSet", message)
        return updated

    def scale_and_record(self, d: Manifest, rs: Manifest, size: int) -> tuple[bool, Manifest]:
        if replicas_of(rs) == size:
            return False, rs
        operation = "up" if replicas_of(rs) < size else "down"
        return True, self.scale_replica_set(d, rs, size, operation)

    # ------------------------------------------------------------------ scaling events

    def _is_scaling_event(self, d: Manifest, rs_list: list[Manifest]) -> bool:
        new_rs, olds = self.get_all_replica_sets(d, rs_list, create=False)
        for rs in active(olds + [new_rs]):
            desired = annotation_int(rs, DESIRED_REPLICAS)
            if desired is not None and desired != replicas_of(d):
                return True
        return False

    def _sync(self, d: Manifest, rs_list: list[Manifest]) -> Result | None:
        new_rs, olds = self.get_all_replica_sets(d, rs_list, create=False)
        self.scale(d, new_rs, olds)
        self._sync_status(d, olds + [new_rs], new_rs)
        return None

    def scale(self, d: Manifest, new_rs: Manifest | None, olds: list[Manifest]) -> None:
        """The scale step of a scaling event (proportional scaling during a rollout)."""
        latest = self._active_or_latest(new_rs, olds)
        if latest is not None:
            if replicas_of(latest) != replicas_of(d):
                self._replace(new_rs, olds, self.scale_and_record(d, latest, replicas_of(d))[1])
            return
        if is_saturated(d, new_rs):
            for old in active(olds):
                self._replace(new_rs, olds, self.scale_and_record(d, old, 0)[1])
            return
        if not is_rolling_update(d):
            return
        for rs, size, operation in self.proportional_sizes(d, active(olds + [new_rs])):
            self._replace(new_rs, olds, self.scale_replica_set(d, rs, size, operation))

    @staticmethod
    def _replace(new_rs: Manifest | None, olds: list[Manifest], updated: Manifest) -> None:
        for index, rs in enumerate(olds):
            if _pods.uid_of(rs) == _pods.uid_of(updated):
                olds[index] = updated
        if new_rs is not None and _pods.uid_of(new_rs) == _pods.uid_of(updated):
            new_rs.clear()
            new_rs.update(updated)

    @staticmethod
    def _active_or_latest(new_rs: Manifest | None, olds: list[Manifest]) -> Manifest | None:
        if new_rs is None and not olds:
            return None
        newest_first = list(reversed(by_creation(olds)))
        running = active(newest_first + [new_rs])
        if not running:
            return new_rs if new_rs is not None else newest_first[0]
        if len(running) == 1:
            return running[0]
        return None

    def proportional_sizes(
        self, d: Manifest, rss: list[Manifest]
    ) -> list[tuple[Manifest, int, str]]:
        """(ReplicaSet, new size, "up"/"down"/"") for each active ReplicaSet (upstream scale())."""
        total = sum(replicas_of(rs) for rs in rss)
        allowed = replicas_of(d) + max_surge(d) if replicas_of(d) > 0 else 0
        to_add = allowed - total
        operation = ""
        # Larger first; ties: newer first when scaling up, older first when scaling down.
        oldest_first = by_creation(rss)
        order = {_pods.uid_of(rs): index for index, rs in enumerate(oldest_first)}
        if to_add > 0:
            rss = sorted(rss, key=lambda rs: (-replicas_of(rs), -order[_pods.uid_of(rs)]))
            operation = "up"
        elif to_add < 0:
            rss = sorted(rss, key=lambda rs: (-replicas_of(rs), order[_pods.uid_of(rs)]))
            operation = "down"
        added = 0
        sizes = []
        for rs in rss:
            if to_add != 0:
                share = replica_set_proportion(d, rs, to_add, added)
                sizes.append(replicas_of(rs) + share)
                added += share
            else:
                sizes.append(replicas_of(rs))
        if rss and to_add != 0:
            sizes[0] = max(sizes[0] + to_add - added, 0)
        return [(rs, size, operation) for rs, size in zip(rss, sizes)]

    # ------------------------------------------------------------------ rolling update

    def rollout_rolling(self, d: Manifest, rs_list: list[Manifest]) -> Result | None:
        new_rs, olds = self.get_all_replica_sets(d, rs_list, create=True)
        all_rss = olds + [new_rs]
        scaled_up, new_rs = self.reconcile_new_replica_set(d, all_rss, new_rs)
        all_rss = olds + [new_rs]
        if scaled_up:
            return self.sync_rollout_status(d, all_rss, new_rs)
        scaled_down = self.reconcile_old_replica_sets(d, all_rss, active(olds), new_rs)
        if scaled_down:
            return self.sync_rollout_status(d, olds + [new_rs], new_rs)
        if deployment_complete(d, d.get("status") or {}):
            self.cleanup_deployment(d, olds)
        return self.sync_rollout_status(d, all_rss, new_rs)

    def reconcile_new_replica_set(
        self, d: Manifest, all_rss: list[Manifest], new_rs: Manifest
    ) -> tuple[bool, Manifest]:
        if replicas_of(new_rs) == replicas_of(d):
            return False, new_rs
        if replicas_of(new_rs) > replicas_of(d):
            return self.scale_and_record(d, new_rs, replicas_of(d))
        return self.scale_and_record(d, new_rs, new_rs_new_replicas(d, all_rss, new_rs))

    def reconcile_old_replica_sets(
        self, d: Manifest, all_rss: list[Manifest], olds: list[Manifest], new_rs: Manifest
    ) -> bool:
        old_count = sum(replicas_of(rs) for rs in olds)
        if old_count == 0:
            return False
        all_count = sum(replicas_of(rs) for rs in all_rss)
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = replicas_of(new_rs) - status_of(new_rs, "availableReplicas")
        max_scaled_down = all_count - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        olds, cleaned = self.cleanup_unhealthy_replicas(d, olds, max_scaled_down)
        scaled = self.scale_down_old_replica_sets(d, olds + [new_rs], olds)
        return cleaned + scaled > 0

    def cleanup_unhealthy_replicas(
        self, d: Manifest, olds: list[Manifest], max_cleanup: int
    ) -> tuple[list[Manifest], int]:
        olds = by_creation(olds)
        total = 0
        for index, rs in enumerate(olds):
            if total >= max_cleanup:
                break
            unhealthy = replicas_of(rs) - status_of(rs, "availableReplicas")
            if replicas_of(rs) == 0 or unhealthy <= 0:
                continue
            count = min(max_cleanup - total, unhealthy)
            olds[index] = self.scale_and_record(d, rs, replicas_of(rs) - count)[1]
            total += count
        return olds, total

    def scale_down_old_replica_sets(
        self, d: Manifest, all_rss: list[Manifest], olds: list[Manifest]
    ) -> int:
        min_available = replicas_of(d) - max_unavailable(d)
        available = sum(status_of(rs, "availableReplicas") for rs in all_rss)
        if available <= min_available:
            return 0
        budget = available - min_available
        total = 0
        for rs in by_creation(olds):
            if total >= budget:
                break
            if replicas_of(rs) == 0:
                continue
            count = min(replicas_of(rs), budget - total)
            self.scale_and_record(d, rs, replicas_of(rs) - count)
            total += count
        return total

    # ------------------------------------------------------------------ recreate

    def rollout_recreate(self, d: Manifest, rs_list: list[Manifest]) -> Result | None:
        new_rs, olds = self.get_all_replica_sets(d, rs_list, create=False)
        all_rss = olds + ([new_rs] if new_rs is not None else [])
        scaled_down = False
        for index, rs in enumerate(olds):
            if replicas_of(rs) > 0:
                scaled, olds[index] = self.scale_and_record(d, rs, 0)
                scaled_down = scaled_down or scaled
        if scaled_down:
            return self.sync_rollout_status(d, all_rss, new_rs)
        if self.old_pods_running(new_rs, olds):
            return self.sync_rollout_status(d, all_rss, new_rs)
        if new_rs is None:
            new_rs, olds = self.get_all_replica_sets(d, rs_list, create=True)
            all_rss = olds + [new_rs]
        if replicas_of(new_rs) != replicas_of(d):
            new_rs = self.scale_and_record(d, new_rs, replicas_of(d))[1]
            all_rss = olds + [new_rs]
        if deployment_complete(d, d.get("status") or {}):
            self.cleanup_deployment(d, olds)
        return self.sync_rollout_status(d, all_rss, new_rs)

    def old_pods_running(self, new_rs: Manifest | None, olds: list[Manifest]) -> bool:
        """Any old ReplicaSet reporting replicas, or any non-terminal pod of an old one."""
        if sum(status_of(rs, "replicas") for rs in olds) > 0:
            return True
        old_uids = {_pods.uid_of(rs) for rs in olds}
        if not old_uids:
            return False
        for pod in self._pods.lister().list(meta(olds[0]).get("namespace")):
            owner = (_pods.controller_of(pod) or {}).get("uid")
            if owner in old_uids and _pods.phase(pod) not in ("Succeeded", "Failed"):
                return True
        return False

    # ------------------------------------------------------------------ history

    def cleanup_deployment(self, d: Manifest, olds: list[Manifest]) -> None:
        limit = (d.get("spec") or {}).get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in olds if not _pods.is_terminating(rs)]
        surplus = len(alive) - int(limit)
        if surplus <= 0:
            return
        for rs in sorted(alive, key=lambda rs: (revision_of(rs), _pods.created_at(rs)))[:surplus]:
            if (
                status_of(rs, "replicas") != 0
                or replicas_of(rs) != 0
                or (meta(rs).get("generation") or 0) > status_of(rs, "observedGeneration")
            ):
                continue
            self.connection.request(
                "delete", "replicasets", namespace=meta(rs).get("namespace"), name=meta(rs)["name"]
            )

    # ------------------------------------------------------------------ status

    def calculate_status(
        self, d: Manifest, all_rss: list[Manifest | None], new_rs: Manifest | None
    ) -> Manifest:
        rss = [rs for rs in all_rss if rs is not None]
        available = sum(status_of(rs, "availableReplicas") for rs in rss)
        total = sum(replicas_of(rs) for rs in rss)
        old = d.get("status") or {}
        status: Manifest = {
            "observedGeneration": meta(d).get("generation"),
            "replicas": sum(status_of(rs, "replicas") for rs in rss),
            "updatedReplicas": status_of(new_rs, "replicas"),
            "readyReplicas": sum(status_of(rs, "readyReplicas") for rs in rss),
            "availableReplicas": available,
            "unavailableReplicas": max(total - available, 0),
        }
        if old.get("collisionCount") is not None:
            status["collisionCount"] = old["collisionCount"]
        if old.get("conditions"):
            status["conditions"] = copy.deepcopy(old["conditions"])
        if available >= replicas_of(d) - max_unavailable(d):
            condition = self._condition(
                "Available", "True", MIN_AVAILABLE_REASON, "Deployment has minimum availability."
            )
        else:
            condition = self._condition(
                "Available",
                "False",
                MIN_UNAVAILABLE_REASON,
                "Deployment does not have minimum availability.",
            )
        set_condition(status, condition)
        return status

    def _sync_status(
        self, d: Manifest, all_rss: list[Manifest | None], new_rs: Manifest | None
    ) -> None:
        status = self.calculate_status(d, all_rss, new_rs)
        if status != (d.get("status") or {}):
            self._update_status(d, status)

    def _sync_status_only(self, d: Manifest, rs_list: list[Manifest]) -> None:
        new_rs, olds = self.get_all_replica_sets(d, rs_list, create=False)
        self._sync_status(d, olds + [new_rs], new_rs)

    def sync_rollout_status(
        self, d: Manifest, all_rss: list[Manifest | None], new_rs: Manifest | None
    ) -> Result | None:
        status = self.calculate_status(d, all_rss, new_rs)
        if not has_progress_deadline(d):
            remove_condition(status, "Progressing")
        old = d.get("status") or {}
        current = condition_of(old, "Progressing")
        complete_before = (
            status.get("replicas") == status.get("updatedReplicas")
            and current is not None
            and current.get("reason") == NEW_RS_AVAILABLE_REASON
        )
        if has_progress_deadline(d) and not complete_before:
            self._progress(d, old, status, new_rs, current)
        if status == old:
            return self._requeue_stuck(d, status)
        self._update_status(d, status)
        return None

    def _progress(
        self,
        d: Manifest,
        old: Manifest,
        status: Manifest,
        new_rs: Manifest | None,
        current: Manifest | None,
    ) -> None:
        subject = (
            f'ReplicaSet "{meta(new_rs)["name"]}"' if new_rs else f'Deployment "{meta(d)["name"]}"'
        )
        if deployment_complete(d, status):
            set_condition(
                status,
                self._condition(
                    "Progressing",
                    "True",
                    NEW_RS_AVAILABLE_REASON,
                    f"{subject} has successfully progressed.",
                ),
            )
        elif self.made_progress(old, status):
            condition = self._condition(
                "Progressing", "True", RS_UPDATED_REASON, f"{subject} is progressing."
            )
            if current is not None:
                if current.get("status") == "True":
                    condition["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, "Progressing")
            set_condition(status, condition)
        elif self.timed_out(d, status):
            set_condition(
                status,
                self._condition(
                    "Progressing",
                    "False",
                    TIMED_OUT_REASON,
                    f"{subject} has timed out progressing.",
                ),
            )

    @staticmethod
    def made_progress(old: Manifest, new: Manifest) -> bool:
        """util.DeploymentProgressing: more updated/ready/available, or fewer old replicas."""
        old_olds = int(old.get("replicas") or 0) - int(old.get("updatedReplicas") or 0)
        new_olds = int(new.get("replicas") or 0) - int(new.get("updatedReplicas") or 0)
        return (
            int(new.get("updatedReplicas") or 0) > int(old.get("updatedReplicas") or 0)
            or old_olds > new_olds
            or int(new.get("readyReplicas") or 0) > int(old.get("readyReplicas") or 0)
            or int(new.get("availableReplicas") or 0) > int(old.get("availableReplicas") or 0)
        )

    def timed_out(self, d: Manifest, status: Manifest) -> bool:
        condition = condition_of(status, "Progressing")
        if condition is None or condition.get("reason") == NEW_RS_AVAILABLE_REASON:
            return False
        if condition.get("reason") == TIMED_OUT_REASON:
            return True
        deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0)
        since = _pods.parse_timestamp(condition["lastUpdateTime"])
        return since + deadline < self.loop.now

    def _requeue_stuck(self, d: Manifest, status: Manifest) -> Result | None:
        current = condition_of(d.get("status") or {}, "Progressing")
        if not has_progress_deadline(d) or current is None:
            return None
        if deployment_complete(d, status) or current.get("reason") == TIMED_OUT_REASON:
            return None
        deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0)
        after = _pods.parse_timestamp(current["lastUpdateTime"]) + deadline - self.loop.now
        if after < 1:
            return Result(requeue=True)
        return Result(requeue_after=after + 1)
