"""The apps/v1 kinds: ReplicaSet and Deployment.

Contract (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/replica-set-v1/,
.../deployment-v1/): frozen values, snake_case Kubernetes field names, zero values as
defaults. ``max_surge`` / ``max_unavailable`` are int-or-string (``1`` or ``"25%"``).
"""

from __future__ import annotations

import attrs

from kubeprop.spec.api.base import seq
from kubeprop.spec.api.core import PodTemplateSpec
from kubeprop.spec.api.meta import Condition, ObjectMeta
from kubeprop.spec.api.selectors import LabelSelector


@attrs.frozen
class ReplicaSetSpec:
    replicas: int | None = None
    min_ready_seconds: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec | None = None


@attrs.frozen
class ReplicaSetStatus:
    replicas: int | None = None
    fully_labeled_replicas: int | None = None
    ready_replicas: int | None = None
    available_replicas: int | None = None
    terminating_replicas: int | None = None
    observed_generation: int | None = None
    conditions: tuple[Condition, ...] = seq()


@attrs.frozen
class ReplicaSet:
    metadata: ObjectMeta | None = None
    spec: ReplicaSetSpec | None = None
    status: ReplicaSetStatus | None = None


@attrs.frozen
class RollingUpdateDeployment:
    max_unavailable: int | str | None = None
    max_surge: int | str | None = None


@attrs.frozen
class DeploymentStrategy:
    type: str | None = None
    rolling_update: RollingUpdateDeployment | None = None


@attrs.frozen
class DeploymentSpec:
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec | None = None
    strategy: DeploymentStrategy | None = None
    min_ready_seconds: int | None = None
    revision_history_limit: int | None = None
    paused: bool | None = None
    progress_deadline_seconds: int | None = None


@attrs.frozen
class DeploymentStatus:
    observed_generation: int | None = None
    replicas: int | None = None
    updated_replicas: int | None = None
    ready_replicas: int | None = None
    available_replicas: int | None = None
    unavailable_replicas: int | None = None
    terminating_replicas: int | None = None
    conditions: tuple[Condition, ...] = seq()
    collision_count: int | None = None


@attrs.frozen
class Deployment:
    metadata: ObjectMeta | None = None
    spec: DeploymentSpec | None = None
    status: DeploymentStatus | None = None
