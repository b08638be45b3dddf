"""A Deployment controller as a reconciler (protocol ``Reconciler``): Recreate and RollingUpdate.

Run it:  kubeprop conform --sut python:examples.plugins.deployment:DeploymentReconciler

A Deployment runs its pods through ReplicaSets, one per version of its pod
template. The ReplicaSet whose template is the Deployment's (ignoring the
``pod-template-hash`` label) is the *new* one; the others are *old*. Each call
of ``reconcile`` reads the current state and takes one round of steps:

1. claim ReplicaSets: adopt orphans the selector matches, release those it no
   longer matches;
2. scale: if the user lowered ``spec.replicas`` so that the ReplicaSets ask for
   more than ``replicas + maxSurge``, take the excess from the oldest first;
3. roll out, by the strategy:
   - Recreate: scale every old ReplicaSet to 0, wait until none of their pods
     runs, then create or scale the new one to ``spec.replicas``;
   - RollingUpdate: scale the new ReplicaSet up while all of them ask for at
     most ``replicas + maxSurge`` pods, and the old ones down while at least
     ``replicas - maxUnavailable`` pods stay available;
4. delete the old ReplicaSets beyond ``revisionHistoryLimit`` (empty ones only);
5. write the status: counts summed over the ReplicaSets' status, and the
   conditions Available and Progressing.

What this example leaves out of upstream's controller: pausing, rollback
requests, progressDeadlineSeconds (it never reports ProgressDeadlineExceeded),
and proportional scaling of every ReplicaSet during a rollout (it trims the
oldest first). The ReplicaSet controller (the reference one, or yours) makes
the pods. Docs: https://kubernetes.io/docs/concepts/workloads/controllers/deployment/
and https://github.com/kubernetes/kubernetes/blob/release-1.35/pkg/controller/deployment/
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
from typing import Any

Manifest = dict[str, Any]
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
WAIT_FOR_OLD_PODS = 1.0  # Recreate: look again this often until the old pods are gone


def meta(obj: Manifest) -> Manifest:
    return obj.get("metadata") or {}


def replicas_of(obj: Manifest) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_of(obj: Manifest | None, field: str) -> int:
    return int(((obj or {}).get("status") or {}).get(field) or 0)


def controller_ref(obj: Manifest) -> Manifest | None:
    return next((r for r in meta(obj).get("ownerReferences") or [] if r.get("controller")), None)


def selects(selector: Manifest | None, labels: Manifest | None) -> bool:
    """matchLabels and matchExpressions; an empty selector selects nothing."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return False
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, values = expression.get("key"), expression.get("values") or []
        holds = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(expression.get("operator"), False)
        if not holds:
            return False
    return True


def without_hash(template: Manifest | None) -> Manifest:
    template = copy.deepcopy(template or {})
    labels = (template.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(HASH_LABEL, None)
        if not labels:
            del template["metadata"]["labels"]
    return template


def template_hash(template: Manifest, collisions: int) -> str:
    """A label-safe digest of the pod template (and the collision count, if any)."""
    text = json.dumps([without_hash(template), collisions], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def resolve(value: object, total: int, round_up: bool) -> int:
    """An int-or-percent (maxSurge, maxUnavailable) as a count of pods."""
    if isinstance(value, int):
        return value
    percent = int(str(value).rstrip("%"))
    return -(-percent * total // 100) if round_up else percent * total // 100


def surge_and_unavailable(d: Manifest) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as counts; Recreate is (0, 0)."""
    strategy = (d.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    replicas = replicas_of(d)
    surge = resolve(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = resolve(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # a rollout must be able to move
    return surge, min(unavailable, replicas)


class DeploymentReconciler:
    """kubeprop.spec.contracts.Reconciler for apps/v1 Deployments."""

    kind = "controller"
    role = "deployment"
    resource = "deployments"
    owns = ("replicasets",)

    def reconcile(self, key: tuple[str | None, str], client) -> float | None:
        namespace, name = key
        d = client.get("deployments", namespace, name)
        if d is None or meta(d).get("deletionTimestamp"):
            return None
        self.claim(d, client.list("replicasets", namespace), client)
        new, old = self.replicasets(d, client)
        if self.trim_excess(d, new, old, client):
            new, old = self.replicasets(d, client)
        again = None
        if ((d.get("spec") or {}).get("strategy") or {}).get("type") == "Recreate":
            again = self.recreate(d, new, old, client)
        else:
            self.roll(d, new, old, client)
        new, old = self.replicasets(d, client)
        self.clean_up(d, old, client)
        self.update_status(d, new, old, client)
        return again

    def replicasets(self, d: Manifest, client) -> tuple[Manifest | None, list[Manifest]]:
        """The new ReplicaSet (None if there is none yet) and the old ones, oldest first."""
        owned = [rs for rs in client.list("replicasets", meta(d)["namespace"]) if self.mine(d, rs)]
        new = next((rs for rs in owned if self.same_template(d, rs)), None)
        old = sorted(
            (rs for rs in owned if rs is not new),
            key=lambda rs: (meta(rs).get("creationTimestamp") or "", meta(rs)["name"]),
        )
        return new, old

    # -- ownership -----------------------------------------------------------------------------

    @staticmethod
    def mine(d: Manifest, rs: Manifest) -> bool:
        return (controller_ref(rs) or {}).get("uid") == meta(d)["uid"] and not meta(rs).get(
            "deletionTimestamp"
        )

    @staticmethod
    def same_template(d: Manifest, rs: Manifest) -> bool:
        deployment_template = (d.get("spec") or {}).get("template")
        return without_hash((rs.get("spec") or {}).get("template")) == without_hash(
            deployment_template
        )

    def claim(self, d: Manifest, replicasets: list[Manifest], client) -> list[Manifest]:
        selector = (d.get("spec") or {}).get("selector")
        owned = []
        for rs in replicasets:
            if meta(rs).get("deletionTimestamp"):
                continue
            ref, matches = controller_ref(rs), selects(selector, meta(rs).get("labels"))
            if ref is not None and ref.get("uid") == meta(d)["uid"]:
                if matches:
                    owned.append(rs)
                else:
                    refs = [r for r in meta(rs).get("ownerReferences") or [] if r is not ref]
                    self._set_owners(rs, refs, client)
            elif ref is None and matches:
                reference = {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": meta(d)["name"],
                    "uid": meta(d)["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
                refs = [*(meta(rs).get("ownerReferences") or []), reference]
                owned.append(self._set_owners(rs, refs, client))
        return owned

    @staticmethod
    def _set_owners(rs: Manifest, refs: list[Manifest], client) -> Manifest:
        # With the resourceVersion read, the patch applies only to the version looked at.
        patch = {
            "metadata": {
                "ownerReferences": refs or None,
                "resourceVersion": meta(rs)["resourceVersion"],
            }
        }
        return client.patch("replicasets", meta(rs)["namespace"], meta(rs)["name"], patch)

    # -- scaling -------------------------------------------------------------------------------

    @staticmethod
    def scale(rs: Manifest, replicas: int, client, d: Manifest) -> Manifest:
        if replicas_of(rs) == replicas:
            return rs
        direction = "up" if replicas > replicas_of(rs) else "down"
        changed = client.patch(
            "replicasets",
            meta(rs)["namespace"],
            meta(rs)["name"],
            {"spec": {"replicas": replicas}},
        )
        client.event(
            d,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled {direction} replica set {meta(rs)['name']} from {replicas_of(rs)} to "
            f"{replicas}",
        )
        return changed

    def trim_excess(self, d: Manifest, new: Manifest | None, old: list[Manifest], client) -> bool:
        """After the user lowered spec.replicas: the new ReplicaSet down to it, and the total
        back within replicas + maxSurge, taken from the oldest first; True if it scaled any."""
        surge, _ = surge_and_unavailable(d)
        want, scaled = replicas_of(d), False
        if new is not None and replicas_of(new) > want:
            new, scaled = self.scale(new, want, client, d), True
        excess = sum(replicas_of(rs) for rs in [*old, *([new] if new else [])]) - (want + surge)
        for rs in old:
            cut = min(excess, replicas_of(rs))
            if cut > 0:
                self.scale(rs, replicas_of(rs) - cut, client, d)
                excess -= cut
                scaled = True
        return scaled

    def create_new(self, d: Manifest, replicas: int, old: list[Manifest], client) -> Manifest:
        """The ReplicaSet of the current template, named <deployment>-<hash>."""
        from kubeprop.spec.contracts import ApiError

        spec = d.get("spec") or {}
        collisions = status_of(d, "collisionCount")
        hash_value = template_hash(spec.get("template") or {}, collisions)
        template = copy.deepcopy(spec.get("template") or {})
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = hash_value
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = hash_value
        revision = 1 + max(
            (int((meta(rs).get("annotations") or {}).get(REVISION, 0)) for rs in old), default=0
        )
        body = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{meta(d)['name']}-{hash_value}",
                "namespace": meta(d)["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {REVISION: str(revision)},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": meta(d)["name"],
                        "uid": meta(d)["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {
                "replicas": replicas,
                "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                "selector": selector,
                "template": template,
            },
        }
        try:
            rs = client.create("replicasets", body, namespace=meta(d)["namespace"])
        except ApiError as error:
            if error.reason != "AlreadyExists":
                raise
            # Another ReplicaSet has this name (a hash collision): count it, try another name.
            status = {**(d.get("status") or {}), "collisionCount": collisions + 1}
            client.update_status("deployments", {**d, "status": status})
            raise
        client.event(
            d,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled up replica set {meta(rs)['name']} from 0 to {replicas}",
        )
        return rs

    def recreate(
        self, d: Manifest, new: Manifest | None, old: list[Manifest], client
    ) -> float | None:
        for rs in old:
            self.scale(rs, 0, client, d)
        olds = {meta(rs)["uid"] for rs in old}
        running = [
            pod
            for pod in client.list("pods", meta(d)["namespace"])
            if (controller_ref(pod) or {}).get("uid") in olds
            and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ]
        if running:
            return WAIT_FOR_OLD_PODS  # no new pod while an old one still runs
        if new is None:
            self.create_new(d, replicas_of(d), old, client)
        else:
            self.scale(new, replicas_of(d), client, d)
        return None

    def roll(self, d: Manifest, new: Manifest | None, old: list[Manifest], client) -> None:
        surge, unavailable = surge_and_unavailable(d)
        want = replicas_of(d)
        total = sum(replicas_of(rs) for rs in old) + (replicas_of(new) if new else 0)
        # The new ReplicaSet grows while all of them ask for at most want + maxSurge pods.
        if new is None:
            new = self.create_new(d, max(0, min(want, want + surge - total)), old, client)
        elif replicas_of(new) < want and total < want + surge:
            new = self.scale(new, min(want, replicas_of(new) + want + surge - total), client, d)
        old = [rs for rs in old if replicas_of(rs) > 0]
        if not old:
            return
        # The old ones shrink while at least want - maxUnavailable pods stay available. A
        # ReplicaSet counts no more available pods than it keeps (those above its replicas
        # are about to go), read from the pods themselves.
        available = self.available_pods(d, [*old, new], client)
        min_available = want - unavailable
        everything = sum(replicas_of(rs) for rs in [*old, new])
        new_unavailable = replicas_of(new) - available[meta(new)["uid"]]
        budget = everything - min_available - new_unavailable
        # First the pods that are not available anyway, oldest ReplicaSet first ...
        for i, rs in enumerate(old):
            cut = min(replicas_of(rs) - available[meta(rs)["uid"]], budget)
            if cut > 0:
                old[i] = self.scale(rs, replicas_of(rs) - cut, client, d)
                budget -= cut
        # ... then available ones, as long as enough stay available.
        allowed = sum(available.values()) - min_available
        for rs in old:
            cut = min(replicas_of(rs), available[meta(rs)["uid"]], allowed)
            if cut > 0:
                self.scale(rs, replicas_of(rs) - cut, client, d)
                allowed -= cut

    @staticmethod
    def available_pods(d: Manifest, replicasets: list[Manifest], client) -> dict[str, int]:
        """ReplicaSet uid -> min(its replicas, its pods ready for longer than minReadySeconds)."""
        min_ready = int((d.get("spec") or {}).get("minReadySeconds") or 0)
        now = client.now()
        counts = {meta(rs)["uid"]: 0 for rs in replicasets}
        for pod in client.list("pods", meta(d)["namespace"]):
            owner = (controller_ref(pod) or {}).get("uid")
            if owner not in counts or meta(pod).get("deletionTimestamp"):
                continue
            for condition in (pod.get("status") or {}).get("conditions") or []:
                if condition.get("type") == "Ready" and condition.get("status") == "True":
                    since = condition.get("lastTransitionTime")
                    ready_for = (
                        (
                            now - datetime.datetime.fromisoformat(since.replace("Z", "+00:00"))
                        ).total_seconds()
                        if since
                        else 0.0
                    )
                    if min_ready == 0 or ready_for > min_ready:
                        counts[owner] += 1
        return {
            meta(rs)["uid"]: min(counts[meta(rs)["uid"]], replicas_of(rs)) for rs in replicasets
        }

    # -- history and status --------------------------------------------------------------------

    @staticmethod
    def clean_up(d: Manifest, old: list[Manifest], client) -> None:
        limit = (d.get("spec") or {}).get("revisionHistoryLimit")
        limit = 10 if limit is None else int(limit)
        empty = [rs for rs in old if replicas_of(rs) == 0 and status_of(rs, "replicas") == 0]
        for rs in empty[: max(len(old) - limit, 0)]:  # oldest first
            client.delete(
                "replicasets", meta(rs)["namespace"], meta(rs)["name"], uid=meta(rs)["uid"]
            )

    @staticmethod
    def update_status(d: Manifest, new: Manifest | None, old: list[Manifest], client) -> None:
        everything = [*old, *([new] if new else [])]
        want = replicas_of(d)
        _, unavailable = surge_and_unavailable(d)
        available = sum(status_of(rs, "availableReplicas") for rs in everything)
        status = {
            **(d.get("status") or {}),
            "observedGeneration": meta(d).get("generation"),
            "replicas": sum(status_of(rs, "replicas") for rs in everything),
            "updatedReplicas": status_of(new, "replicas"),
            "readyReplicas": sum(status_of(rs, "readyReplicas") for rs in everything),
            "availableReplicas": available,
            "unavailableReplicas": max(0, sum(replicas_of(rs) for rs in everything) - available),
        }
        complete = (
            status["updatedReplicas"] == want
            and status["replicas"] == want
            and available == want
            and new is not None
            and replicas_of(new) == want
            and all(replicas_of(rs) == 0 for rs in old)
        )
        now = client.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        conditions = {c.get("type"): c for c in status.get("conditions") or []}

        def condition(kind: str, state: str, reason: str, message: str) -> None:
            before = conditions.get(kind) or {}
            changed = before.get("status") != state
            conditions[kind] = {
                "type": kind,
                "status": state,
                "lastUpdateTime": now
                if changed or before.get("reason") != reason
                else before.get("lastUpdateTime", now),
                "lastTransitionTime": now if changed else before.get("lastTransitionTime", now),
                "reason": reason,
                "message": message,
            }

        if available >= want - unavailable:
            condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        else:
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        name = meta(new)["name"] if new else meta(d)["name"]
        if complete:
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{name}" has successfully progressed.',
            )
        else:
            condition(
                "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.'
            )
        status["conditions"] = [conditions[k] for k in ("Available", "Progressing")] + [
            c for k, c in conditions.items() if k not in ("Available", "Progressing")
        ]
        if status != d.get("status"):
            client.update_status("deployments", {**d, "status": status})
