"""Validation of objects on create and update: every error at once, with field paths.

Contract (https://kubernetes.io/docs/reference/kubernetes-api/, messages from
apimachinery/pkg/util/validation and pkg/apis/core/validation):
- ``validate(obj)`` returns every problem of a new object as FieldErrors, in
  field order; ``validate_update(new, old)`` adds the rules of an update
  (immutable fields, what a pod update may change). Neither raises on any
  object of the model; an empty list means valid.
- Object names: DNS-1123 subdomain for most kinds, DNS-1123 label for
  Namespaces, DNS-1035 label for Services (as upstream); ``name`` is required
  unless ``generateName`` is set; namespaced kinds need ``metadata.namespace``
  only once stored, so ``validate`` does not require it (the API server fills
  it from the request), but checks its syntax when present.
- Labels, annotations and finalizer names follow the label/qualified-name syntax.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from kubeprop.spec.api import apps, core, discovery, kinds, meta, names
from kubeprop.spec.api.errors import (
    ErrorType,
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
)
from kubeprop.spec.api.selectors import (
    validate_label_selector,
    validate_node_selector,
)

RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Equal", "Exists")
SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
SESSION_AFFINITIES = ("ClientIP", "None")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")
DEPLOYMENT_STRATEGIES = ("Recreate", "RollingUpdate")
EVENT_TYPES = ("Normal", "Warning")

NONNEGATIVE = "must be greater than or equal to 0"
IMMUTABLE = "field is immutable"
POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def inclusive_range(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


# -- metadata ----------------------------------------------------------------------


def validate_object_meta(
    m: meta.ObjectMeta | None,
    path: str,
    *,
    namespaced: bool,
    name_rule: Callable[[str], list[str]] = names.is_dns1123_subdomain,
) -> list[FieldError]:
    m = m or meta.ObjectMeta()
    errors: list[FieldError] = []
    if m.generate_name:
        # the prefix is checked without its trailing "-", as MaskTrailingDash does
        prefix = (
            m.generate_name[:-1]
            if len(m.generate_name) > 1 and m.generate_name.endswith("-")
            else m.generate_name
        )
        errors += [invalid(f"{path}.generateName", m.generate_name, e) for e in name_rule(prefix)]
    if not m.name:
        if not m.generate_name:
            errors.append(required(f"{path}.name", "name or generateName is required"))
    else:
        errors += [invalid(f"{path}.name", m.name, e) for e in name_rule(m.name)]
    if namespaced:
        if m.namespace:
            errors += [
                invalid(f"{path}.namespace", m.namespace, e)
                for e in names.is_dns1123_label(m.namespace)
            ]
    elif m.namespace:
        errors.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    if m.generation is not None and m.generation < 0:
        errors.append(invalid(f"{path}.generation", m.generation, NONNEGATIVE))
    if m.deletion_grace_period_seconds is not None and m.deletion_grace_period_seconds < 0:
        errors.append(
            invalid(
                f"{path}.deletionGracePeriodSeconds", m.deletion_grace_period_seconds, NONNEGATIVE
            )
        )
    errors += names.validate_labels(m.labels, f"{path}.labels")
    errors += names.validate_annotations(m.annotations, f"{path}.annotations")
    seen: set[str] = set()
    for i, f in enumerate(m.finalizers):
        at = f"{path}.finalizers[{i}]"
        problems = names.is_qualified_name(f)
        errors += [invalid(at, f, e) for e in problems]
        if not problems and "/" not in f and f not in STANDARD_FINALIZERS:
            errors.append(
                invalid(
                    at, f, "name is neither a standard finalizer name nor is it fully qualified"
                )
            )
        if f in seen:
            errors.append(duplicate(at, f))
        seen.add(f)
    for i, ref in enumerate(m.owner_references):
        at = f"{path}.ownerReferences[{i}]"
        for wire, value in (
            ("apiVersion", ref.api_version),
            ("kind", ref.kind),
            ("name", ref.name),
            ("uid", ref.uid),
        ):
            if not value:
                errors.append(required(f"{at}.{wire}", f"{wire} must not be empty"))
    return errors


def validate_meta_update(
    new: meta.ObjectMeta | None, old: meta.ObjectMeta | None, path: str
) -> list[FieldError]:
    new, old = new or meta.ObjectMeta(), old or meta.ObjectMeta()
    errors = []
    for wire, attr in (
        ("name", "name"),
        ("namespace", "namespace"),
        ("uid", "uid"),
        ("creationTimestamp", "creation_timestamp"),
    ):
        if getattr(old, attr) and getattr(new, attr) != getattr(old, attr):
            errors.append(invalid(f"{path}.{wire}", getattr(new, attr), IMMUTABLE))
    return errors


# -- quantities and resources -------------------------------------------------------------


def validate_resources(r: core.ResourceRequirements | None, path: str) -> list[FieldError]:
    if r is None:
        return []
    errors: list[FieldError] = []
    for kind, values in (("limits", r.limits), ("requests", r.requests)):
        for name, q in values.items():
            errors += (
                names.validate_label_name(name, f"{path}.{kind}[{name}]") if "/" in name else []
            )
            if q.sign() < 0:
                errors.append(invalid(f"{path}.{kind}[{name}]", str(q), NONNEGATIVE))
    for name, request in r.requests.items():
        limit = r.limits.get(name)
        if limit is not None and request > limit:
            errors.append(
                invalid(
                    f"{path}.requests[{name}]",
                    str(request),
                    f"must be less than or equal to {name} limit of {limit}",
                )
            )
    return errors


# -- pods --------------------------------------------------------------------------


def _port_number(value: int | None, path: str) -> list[FieldError]:
    if not value:
        return [required(path)]
    if not 1 <= value <= 65535:
        return [invalid(path, value, inclusive_range(1, 65535))]
    return []


def validate_probe(p: core.Probe | None, path: str) -> list[FieldError]:
    if p is None:
        return []
    errors: list[FieldError] = []
    handlers = [
        n
        for n, v in (("exec", p.exec), ("httpGet", p.http_get), ("tcpSocket", p.tcp_socket))
        if v is not None
    ]
    if not handlers:
        errors.append(required(path, "must specify a handler type"))
    for extra in handlers[1:]:
        errors.append(forbidden(f"{path}.{extra}", "may not specify more than 1 handler type"))
    for wire, attr in (
        ("initialDelaySeconds", "initial_delay_seconds"),
        ("timeoutSeconds", "timeout_seconds"),
        ("periodSeconds", "period_seconds"),
        ("successThreshold", "success_threshold"),
        ("failureThreshold", "failure_threshold"),
    ):
        value = getattr(p, attr)
        if value is not None and value < 0:
            errors.append(invalid(f"{path}.{wire}", value, NONNEGATIVE))
    if p.exec is not None and not p.exec.command:
        errors.append(required(f"{path}.exec.command"))
    for wire, action in (("httpGet", p.http_get), ("tcpSocket", p.tcp_socket)):
        if action is not None:
            errors += _int_or_string_port(action.port, f"{path}.{wire}.port")
    return errors


def _int_or_string_port(port: int | str | None, path: str) -> list[FieldError]:
    if port is None or port == "" or port == 0:
        return [required(path)]
    if isinstance(port, int):
        return [] if 1 <= port <= 65535 else [invalid(path, port, inclusive_range(1, 65535))]
    return [invalid(path, port, e) for e in _port_name_errors(port)]


def _port_name_errors(name: str) -> list[str]:
    errs = []
    if len(name) > 15:
        errs.append("must be no more than 15 characters")
    if not all(c.islower() or c.isdigit() or c == "-" for c in name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    elif not any(c.isalpha() for c in name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name[:1] == "-" or name[-1:] == "-":
        errs.append("must not begin or end with a hyphen")
    return errs


def validate_container(c: core.Container, path: str, *, init: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    if not c.name:
        errors.append(required(f"{path}.name"))
    else:
        errors += [invalid(f"{path}.name", c.name, e) for e in names.is_dns1123_label(c.name)]
    if not c.image or not c.image.strip():
        errors.append(required(f"{path}.image"))
    if c.image_pull_policy is not None and c.image_pull_policy not in PULL_POLICIES:
        errors.append(not_supported(f"{path}.imagePullPolicy", c.image_pull_policy, PULL_POLICIES))
    if c.restart_policy is not None:
        if not init:
            errors.append(
                forbidden(f"{path}.restartPolicy", "may not be set for non-init containers")
            )
        elif c.restart_policy != "Always":
            errors.append(not_supported(f"{path}.restartPolicy", c.restart_policy, ("Always",)))
    seen_ports: set[str] = set()
    for i, p in enumerate(c.ports):
        at = f"{path}.ports[{i}]"
        if p.name:
            errors += [invalid(f"{at}.name", p.name, e) for e in _port_name_errors(p.name)]
            if p.name in seen_ports:
                errors.append(duplicate(f"{at}.name", p.name))
            seen_ports.add(p.name)
        errors += _port_number(p.container_port, f"{at}.containerPort")
        if p.host_port is not None and p.host_port != 0 and not 1 <= p.host_port <= 65535:
            errors.append(invalid(f"{at}.hostPort", p.host_port, inclusive_range(1, 65535)))
        if p.protocol is not None and p.protocol not in PROTOCOLS:
            errors.append(not_supported(f"{at}.protocol", p.protocol, PROTOCOLS))
    for i, e in enumerate(c.env):
        if not e.name:
            errors.append(required(f"{path}.env[{i}].name"))
    errors += validate_resources(c.resources, f"{path}.resources")
    if init and c.restart_policy != "Always":
        for wire, probe in (
            ("livenessProbe", c.liveness_probe),
            ("readinessProbe", c.readiness_probe),
            ("startupProbe", c.startup_probe),
        ):
            if probe is not None:
                errors.append(
                    forbidden(
                        f"{path}.{wire}",
                        "may not be set for init containers without restartPolicy=Always",
                    )
                )
    else:
        for wire, probe in (
            ("livenessProbe", c.liveness_probe),
            ("readinessProbe", c.readiness_probe),
            ("startupProbe", c.startup_probe),
        ):
            errors += validate_probe(probe, f"{path}.{wire}")
    if c.termination_message_policy is not None and c.termination_message_policy not in (
        "File",
        "FallbackToLogsOnError",
    ):
        errors.append(
            not_supported(
                f"{path}.terminationMessagePolicy",
                c.termination_message_policy,
                ("File", "FallbackToLogsOnError"),
            )
        )
    return errors


def validate_tolerations(tolerations: tuple[core.Toleration, ...], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, t in enumerate(tolerations):
        at = f"{path}[{i}]"
        if t.key:
            errors += names.validate_label_name(t.key, f"{at}.key")
        operator = t.operator or ""
        if not t.key and operator != "Exists":
            errors.append(
                invalid(
                    f"{at}.operator",
                    operator,
                    'operator must be Exists when `key` is empty, which means "match all values and all keys"',
                )
            )
        if t.toleration_seconds is not None and t.effect != "NoExecute":
            errors.append(
                invalid(
                    f"{at}.effect",
                    t.effect or "",
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if operator in ("Equal", ""):
            errors += names.validate_label_value(t.value or "", f"{at}.value")
        elif operator == "Exists":
            if t.value:
                errors.append(
                    invalid(
                        f"{at}.operator",
                        operator,
                        "value must be empty when `operator` is 'Exists'",
                    )
                )
        else:
            errors.append(not_supported(f"{at}.operator", operator, TOLERATION_OPERATORS))
        if t.effect and t.effect not in TAINT_EFFECTS:
            errors.append(not_supported(f"{at}.effect", t.effect, TAINT_EFFECTS))
    return errors


def _validate_affinity_terms(
    terms: tuple[core.PodAffinityTerm, ...], path: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, term in enumerate(terms):
        at = f"{path}[{i}]"
        if not term.topology_key:
            errors.append(required(f"{at}.topologyKey", "can not be empty"))
        else:
            errors += names.validate_label_name(term.topology_key, f"{at}.topologyKey")
        errors += validate_label_selector(term.label_selector, f"{at}.labelSelector")
        errors += validate_label_selector(term.namespace_selector, f"{at}.namespaceSelector")
        for j, ns in enumerate(term.namespaces):
            errors += [invalid(f"{at}.namespaces[{j}]", ns, e) for e in names.is_dns1123_label(ns)]
    return errors


def _validate_weighted(
    terms: tuple[core.WeightedPodAffinityTerm, ...], path: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, w in enumerate(terms):
        at = f"{path}[{i}]"
        if w.weight is None or not 1 <= w.weight <= 100:
            errors.append(invalid(f"{at}.weight", w.weight, inclusive_range(1, 100)))
        if w.pod_affinity_term is None:
            errors.append(required(f"{at}.podAffinityTerm"))
        else:
            errors += _validate_affinity_terms((w.pod_affinity_term,), f"{at}.podAffinityTerm")
            errors = [
                attrs.evolve(
                    e, field=e.field.replace(f"{at}.podAffinityTerm[0]", f"{at}.podAffinityTerm")
                )
                for e in errors
            ]
    return errors


def validate_affinity(a: core.Affinity | None, path: str) -> list[FieldError]:
    if a is None:
        return []
    errors: list[FieldError] = []
    req = "requiredDuringSchedulingIgnoredDuringExecution"
    pref = "preferredDuringSchedulingIgnoredDuringExecution"
    if a.node_affinity is not None:
        na = a.node_affinity
        errors += validate_node_selector(
            na.required_during_scheduling_ignored_during_execution, f"{path}.nodeAffinity.{req}"
        )
        for i, term in enumerate(na.preferred_during_scheduling_ignored_during_execution):
            at = f"{path}.nodeAffinity.{pref}[{i}]"
            if term.weight is None or not 1 <= term.weight <= 100:
                errors.append(invalid(f"{at}.weight", term.weight, inclusive_range(1, 100)))
            if term.preference is None:
                errors.append(required(f"{at}.preference"))
            else:
                from kubeprop.spec.api.selectors import validate_node_selector_requirement

                for j, r in enumerate(term.preference.match_expressions):
                    errors += validate_node_selector_requirement(
                        r, f"{at}.preference.matchExpressions[{j}]"
                    )
    for wire, pa in (("podAffinity", a.pod_affinity), ("podAntiAffinity", a.pod_anti_affinity)):
        if pa is not None:
            errors += _validate_affinity_terms(
                pa.required_during_scheduling_ignored_during_execution, f"{path}.{wire}.{req}"
            )
            errors += _validate_weighted(
                pa.preferred_during_scheduling_ignored_during_execution, f"{path}.{wire}.{pref}"
            )
    return errors


def validate_topology_spread(
    cs: tuple[core.TopologySpreadConstraint, ...], path: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple[str | None, str | None]] = set()
    for i, c in enumerate(cs):
        at = f"{path}[{i}]"
        if c.max_skew is None or c.max_skew <= 0:
            errors.append(invalid(f"{at}.maxSkew", c.max_skew, "must be greater than zero"))
        if not c.topology_key:
            errors.append(required(f"{at}.topologyKey", "can not be empty"))
        if c.when_unsatisfiable not in WHEN_UNSATISFIABLE:
            errors.append(
                not_supported(f"{at}.whenUnsatisfiable", c.when_unsatisfiable, WHEN_UNSATISFIABLE)
            )
        if (c.topology_key, c.when_unsatisfiable) in seen:
            errors.append(duplicate(f"{at}", f"{{{c.topology_key}, {c.when_unsatisfiable}}}"))
        seen.add((c.topology_key, c.when_unsatisfiable))
        if c.min_domains is not None:
            if c.min_domains <= 0:
                errors.append(invalid(f"{at}.minDomains", c.min_domains, "must be greater than 0"))
            elif c.when_unsatisfiable != "DoNotSchedule":
                errors.append(
                    invalid(
                        f"{at}.minDomains",
                        c.min_domains,
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
                    )
                )
        for wire, value in (
            ("nodeAffinityPolicy", c.node_affinity_policy),
            ("nodeTaintsPolicy", c.node_taints_policy),
        ):
            if value is not None and value not in ("Honor", "Ignore"):
                errors.append(not_supported(f"{at}.{wire}", value, ("Honor", "Ignore")))
        errors += validate_label_selector(c.label_selector, f"{at}.labelSelector")
    return errors


def validate_volumes(
    volumes: tuple[core.Volume, ...], path: str
) -> tuple[list[FieldError], set[str]]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, v in enumerate(volumes):
        at = f"{path}[{i}]"
        if not v.name:
            errors.append(required(f"{at}.name"))
        else:
            errors += [invalid(f"{at}.name", v.name, e) for e in names.is_dns1123_label(v.name)]
            if v.name in seen:
                errors.append(duplicate(f"{at}.name", v.name))
            seen.add(v.name)
        sources = [
            s
            for s in ("empty_dir", "persistent_volume_claim", "config_map", "secret", "host_path")
            if getattr(v, s) is not None
        ]
        if not sources:
            errors.append(required(at, "must specify a volume type"))
        elif len(sources) > 1:
            errors.append(forbidden(at, "may not specify more than 1 volume type"))
        if v.persistent_volume_claim is not None and not v.persistent_volume_claim.claim_name:
            errors.append(required(f"{at}.persistentVolumeClaim.claimName"))
        if v.host_path is not None and not v.host_path.path:
            errors.append(required(f"{at}.hostPath.path"))
        if v.secret is not None and not v.secret.secret_name:
            errors.append(required(f"{at}.secret.secretName"))
        if v.config_map is not None and not v.config_map.name:
            errors.append(required(f"{at}.configMap.name"))
        if (
            v.empty_dir is not None
            and v.empty_dir.size_limit is not None
            and v.empty_dir.size_limit.sign() < 0
        ):
            errors.append(
                invalid(f"{at}.emptyDir.sizeLimit", str(v.empty_dir.size_limit), NONNEGATIVE)
            )
    return errors, seen


def validate_pod_spec(spec: core.PodSpec | None, path: str) -> list[FieldError]:
    spec = spec or core.PodSpec()
    errors, _volumes = validate_volumes(spec.volumes, f"{path}.volumes")
    names_seen: set[str] = set()
    for wire, containers, init in (
        ("initContainers", spec.init_containers, True),
        ("containers", spec.containers, False),
    ):
        for i, c in enumerate(containers):
            at = f"{path}.{wire}[{i}]"
            errors += validate_container(c, at, init=init)
            if c.name:
                if c.name in names_seen:
                    errors.append(duplicate(f"{at}.name", c.name))
                names_seen.add(c.name)
    if not spec.containers:
        errors.append(required(f"{path}.containers"))
    if spec.restart_policy is None or spec.restart_policy == "":
        errors.append(required(f"{path}.restartPolicy"))
    elif spec.restart_policy not in RESTART_POLICIES:
        errors.append(not_supported(f"{path}.restartPolicy", spec.restart_policy, RESTART_POLICIES))
    if spec.dns_policy is not None and spec.dns_policy not in DNS_POLICIES:
        errors.append(not_supported(f"{path}.dnsPolicy", spec.dns_policy, DNS_POLICIES))
    if (
        spec.termination_grace_period_seconds is not None
        and spec.termination_grace_period_seconds < 0
    ):
        errors.append(
            invalid(
                f"{path}.terminationGracePeriodSeconds",
                spec.termination_grace_period_seconds,
                NONNEGATIVE,
            )
        )
    if spec.active_deadline_seconds is not None and spec.active_deadline_seconds <= 0:
        errors.append(
            invalid(
                f"{path}.activeDeadlineSeconds",
                spec.active_deadline_seconds,
                inclusive_range(1, 2**63 - 1),
            )
        )
    errors += names.validate_labels(spec.node_selector, f"{path}.nodeSelector")
    if spec.node_name:
        errors += [
            invalid(f"{path}.nodeName", spec.node_name, e)
            for e in names.is_dns1123_subdomain(spec.node_name)
        ]
    if spec.service_account_name:
        errors += [
            invalid(f"{path}.serviceAccountName", spec.service_account_name, e)
            for e in names.is_dns1123_subdomain(spec.service_account_name)
        ]
    if spec.priority_class_name:
        errors += [
            invalid(f"{path}.priorityClassName", spec.priority_class_name, e)
            for e in names.is_dns1123_subdomain(spec.priority_class_name)
        ]
    if spec.scheduler_name is not None:
        errors += [
            invalid(f"{path}.schedulerName", spec.scheduler_name, e)
            for e in names.is_dns1123_subdomain(spec.scheduler_name)
        ]
    if spec.preemption_policy is not None and spec.preemption_policy not in (
        "Never",
        "PreemptLowerPriority",
    ):
        errors.append(
            not_supported(
                f"{path}.preemptionPolicy",
                spec.preemption_policy,
                ("Never", "PreemptLowerPriority"),
            )
        )
    errors += validate_affinity(spec.affinity, f"{path}.affinity")
    errors += validate_tolerations(spec.tolerations, f"{path}.tolerations")
    errors += validate_topology_spread(
        spec.topology_spread_constraints, f"{path}.topologySpreadConstraints"
    )
    for name, q in spec.overhead.items():
        if q.sign() < 0:
            errors.append(invalid(f"{path}.overhead[{name}]", str(q), NONNEGATIVE))
    return errors


def validate_pod(pod: core.Pod) -> list[FieldError]:
    return validate_object_meta(pod.metadata, "metadata", namespaced=True) + validate_pod_spec(
        pod.spec, "spec"
    )


def validate_pod_update(new: core.Pod, old: core.Pod) -> list[FieldError]:
    errors = validate_pod(new) + validate_meta_update(new.metadata, old.metadata, "metadata")
    new_spec, old_spec = new.spec or core.PodSpec(), old.spec or core.PodSpec()

    # Blank out what may change, then the rest must be equal.
    def mutable_removed(spec: core.PodSpec, other: core.PodSpec) -> core.PodSpec:
        containers = tuple(attrs.evolve(c, image=None) for c in spec.containers)
        init = tuple(attrs.evolve(c, image=None) for c in spec.init_containers)
        grace = spec.termination_grace_period_seconds
        if (other.termination_grace_period_seconds or 0) < 0 and grace == 1:
            grace = other.termination_grace_period_seconds
        return attrs.evolve(
            spec,
            containers=containers,
            init_containers=init,
            active_deadline_seconds=None,
            tolerations=(),
            termination_grace_period_seconds=grace,
        )

    if mutable_removed(new_spec, old_spec) != mutable_removed(old_spec, new_spec):
        errors.append(forbidden("spec", POD_UPDATE_FORBIDDEN))
    else:
        missing = [t for t in old_spec.tolerations if t not in new_spec.tolerations]
        if missing:
            errors.append(
                forbidden(
                    "spec.tolerations",
                    "existing toleration can not be modified except its tolerationSeconds",
                )
            )
    if old_spec.active_deadline_seconds is not None:
        if new_spec.active_deadline_seconds is None:
            errors.append(
                invalid(
                    "spec.activeDeadlineSeconds",
                    None,
                    "must not update from a positive integer to nil value",
                )
            )
        elif new_spec.active_deadline_seconds > old_spec.active_deadline_seconds:
            errors.append(
                invalid(
                    "spec.activeDeadlineSeconds",
                    new_spec.active_deadline_seconds,
                    "must be less than or equal to previous value",
                )
            )
    return errors


# -- nodes, namespaces ------------------------------------------------------------------


def validate_taints(taints: tuple[core.Taint, ...], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple[str | None, str | None]] = set()
    for i, t in enumerate(taints):
        at = f"{path}[{i}]"
        errors += names.validate_label_name(t.key or "", f"{at}.key")
        if t.value:
            errors += names.validate_label_value(t.value, f"{at}.value")
        if not t.effect:
            errors.append(required(f"{at}.effect"))
        elif t.effect not in TAINT_EFFECTS:
            errors.append(not_supported(f"{at}.effect", t.effect, TAINT_EFFECTS))
        if (t.key, t.effect) in seen:
            errors.append(duplicate(at, f"{t.key}:{t.effect}"))
        seen.add((t.key, t.effect))
    return errors


def validate_node(node: core.Node) -> list[FieldError]:
    errors = validate_object_meta(node.metadata, "metadata", namespaced=False)
    spec = node.spec or core.NodeSpec()
    errors += validate_taints(spec.taints, "spec.taints")
    status = node.status or core.NodeStatus()
    for kind, values in (("capacity", status.capacity), ("allocatable", status.allocatable)):
        for name, q in values.items():
            if q.sign() < 0:
                errors.append(invalid(f"status.{kind}[{name}]", str(q), NONNEGATIVE))
    return errors


def validate_namespace(ns: core.Namespace) -> list[FieldError]:
    errors = validate_object_meta(
        ns.metadata, "metadata", namespaced=False, name_rule=names.is_dns1123_label
    )
    for i, f in enumerate((ns.spec or core.NamespaceSpec()).finalizers):
        errors += [invalid(f"spec.finalizers[{i}]", f, e) for e in names.is_qualified_name(f)]
    phase = (ns.status or core.NamespaceStatus()).phase
    if phase is not None and phase not in ("Active", "Terminating"):
        errors.append(not_supported("status.phase", phase, ("Active", "Terminating")))
    return errors


# -- workloads ----------------------------------------------------------------------


def _validate_selector_and_template(
    selector: Any, template: core.PodTemplateSpec | None, kind: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    if selector is None:
        errors.append(required("spec.selector"))
    else:
        errors += validate_label_selector(selector, "spec.selector")
        if selector.is_empty():
            errors.append(
                invalid("spec.selector", selector, f"empty selector is invalid for {kind}")
            )
    if template is None:
        errors.append(required("spec.template"))
        return errors
    labels = (template.metadata or meta.ObjectMeta()).labels
    if selector is not None and not selector.is_empty() and not selector.matches(labels):
        errors.append(
            invalid(
                "spec.template.metadata.labels",
                dict(labels),
                "`selector` does not match template `labels`",
            )
        )
    errors += names.validate_labels(labels, "spec.template.metadata.labels")
    spec_errors = validate_pod_spec(template.spec, "spec.template.spec")
    errors += spec_errors
    restart = (template.spec or core.PodSpec()).restart_policy
    if restart is not None and restart != "Always":
        errors.append(not_supported("spec.template.spec.restartPolicy", restart, ("Always",)))
    return errors


def _int_or_percent(
    value: int | str | None, path: str
) -> tuple[list[FieldError], int | None, bool]:
    """(errors, number, is_percent)."""
    if value is None:
        return [], None, False
    if isinstance(value, int):
        return ([invalid(path, value, NONNEGATIVE)] if value < 0 else []), value, False
    if value.endswith("%") and value[:-1].isdigit():
        return [], int(value[:-1]), True
    return (
        [
            invalid(
                path,
                value,
                "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            )
        ],
        None,
        True,
    )


def validate_replica_set(rs: apps.ReplicaSet) -> list[FieldError]:
    errors = validate_object_meta(rs.metadata, "metadata", namespaced=True)
    spec = rs.spec or apps.ReplicaSetSpec()
    if spec.replicas is not None and spec.replicas < 0:
        errors.append(invalid("spec.replicas", spec.replicas, NONNEGATIVE))
    if spec.min_ready_seconds is not None and spec.min_ready_seconds < 0:
        errors.append(invalid("spec.minReadySeconds", spec.min_ready_seconds, NONNEGATIVE))
    errors += _validate_selector_and_template(spec.selector, spec.template, "replicaset")
    return errors


def validate_deployment(d: apps.Deployment) -> list[FieldError]:
    errors = validate_object_meta(d.metadata, "metadata", namespaced=True)
    spec = d.spec or apps.DeploymentSpec()
    for wire, attr in (
        ("replicas", "replicas"),
        ("minReadySeconds", "min_ready_seconds"),
        ("revisionHistoryLimit", "revision_history_limit"),
    ):
        value = getattr(spec, attr)
        if value is not None and value < 0:
            errors.append(invalid(f"spec.{wire}", value, NONNEGATIVE))
    if spec.progress_deadline_seconds is not None:
        if spec.progress_deadline_seconds < 0:
            errors.append(
                invalid("spec.progressDeadlineSeconds", spec.progress_deadline_seconds, NONNEGATIVE)
            )
        elif spec.progress_deadline_seconds <= (spec.min_ready_seconds or 0):
            errors.append(
                invalid(
                    "spec.progressDeadlineSeconds",
                    spec.progress_deadline_seconds,
                    "must be greater than minReadySeconds",
                )
            )
    errors += _validate_selector_and_template(spec.selector, spec.template, "deployment")
    strategy = spec.strategy
    if strategy is not None:
        if strategy.type not in DEPLOYMENT_STRATEGIES:
            errors.append(not_supported("spec.strategy.type", strategy.type, DEPLOYMENT_STRATEGIES))
        ru = strategy.rolling_update
        if strategy.type == "Recreate" and ru is not None:
            errors.append(
                forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            )
        if ru is not None:
            e1, surge, surge_pct = _int_or_percent(
                ru.max_surge, "spec.strategy.rollingUpdate.maxSurge"
            )
            e2, unavailable, unav_pct = _int_or_percent(
                ru.max_unavailable, "spec.strategy.rollingUpdate.maxUnavailable"
            )
            errors += e1 + e2
            if unav_pct and unavailable is not None and unavailable > 100:
                errors.append(
                    invalid(
                        "spec.strategy.rollingUpdate.maxUnavailable",
                        ru.max_unavailable,
                        "must not be greater than 100%",
                    )
                )
            if not e1 and not e2 and (surge or 0) == 0 and (unavailable or 0) == 0:
                errors.append(
                    invalid(
                        "spec.strategy.rollingUpdate.maxUnavailable",
                        ru.max_unavailable,
                        "may not be 0 when `maxSurge` is 0",
                    )
                )
    return errors


def _validate_selector_update(new_selector: Any, old_selector: Any) -> list[FieldError]:
    if new_selector != old_selector:
        return [invalid("spec.selector", new_selector, IMMUTABLE)]
    return []


# -- services, endpoint slices, leases, events ------------------------------------------------------


def validate_service(svc: core.Service) -> list[FieldError]:
    errors = validate_object_meta(
        svc.metadata, "metadata", namespaced=True, name_rule=names.is_dns1035_label
    )
    spec = svc.spec or core.ServiceSpec()
    if spec.type is not None and spec.type not in SERVICE_TYPES:
        errors.append(not_supported("spec.type", spec.type, SERVICE_TYPES))
    if spec.type == "ExternalName":
        if not spec.external_name:
            errors.append(required("spec.externalName"))
    elif not spec.ports:
        errors.append(required("spec.ports"))
    if spec.session_affinity is not None and spec.session_affinity not in SESSION_AFFINITIES:
        errors.append(
            not_supported("spec.sessionAffinity", spec.session_affinity, SESSION_AFFINITIES)
        )
    for wire, value in (
        ("externalTrafficPolicy", spec.external_traffic_policy),
        ("internalTrafficPolicy", spec.internal_traffic_policy),
    ):
        if value is not None and value not in ("Cluster", "Local"):
            errors.append(not_supported(f"spec.{wire}", value, ("Cluster", "Local")))
    seen_names: set[str] = set()
    seen_ports: set[tuple[int | None, str | None]] = set()
    for i, p in enumerate(spec.ports):
        at = f"spec.ports[{i}]"
        if len(spec.ports) > 1 and not p.name:
            errors.append(required(f"{at}.name"))
        elif p.name:
            errors += [invalid(f"{at}.name", p.name, e) for e in names.is_dns1123_label(p.name)]
            if p.name in seen_names:
                errors.append(duplicate(f"{at}.name", p.name))
            seen_names.add(p.name)
        errors += _port_number(p.port, f"{at}.port")
        if p.protocol is not None and p.protocol not in PROTOCOLS:
            errors.append(not_supported(f"{at}.protocol", p.protocol, PROTOCOLS))
        if p.target_port is not None:
            errors += _int_or_string_port(p.target_port, f"{at}.targetPort")
        if p.node_port:
            if spec.type not in ("NodePort", "LoadBalancer"):
                errors.append(
                    forbidden(f"{at}.nodePort", "may not be used when `type` is 'ClusterIP'")
                )
            elif not 1 <= p.node_port <= 65535:
                errors.append(invalid(f"{at}.nodePort", p.node_port, inclusive_range(1, 65535)))
        key = (p.port, p.protocol or "TCP")
        if key in seen_ports:
            errors.append(duplicate(at, f"{p.port}/{p.protocol or 'TCP'}"))
        seen_ports.add(key)
    errors += names.validate_labels(spec.selector, "spec.selector")
    return errors


def validate_endpoint_slice(es: discovery.EndpointSlice) -> list[FieldError]:
    errors = validate_object_meta(es.metadata, "metadata", namespaced=True)
    if not es.address_type:
        errors.append(required("addressType"))
    elif es.address_type not in ADDRESS_TYPES:
        errors.append(not_supported("addressType", es.address_type, ADDRESS_TYPES))
    for i, e in enumerate(es.endpoints):
        at = f"endpoints[{i}]"
        if not e.addresses:
            errors.append(required(f"{at}.addresses", "must contain at least 1 address"))
        elif len(e.addresses) > 100:
            errors.append(
                FieldError(
                    ErrorType.TOO_MANY,
                    f"{at}.addresses",
                    len(e.addresses),
                    "must have at most 100 items",
                )
            )
        if e.node_name:
            errors += [
                invalid(f"{at}.nodeName", e.node_name, m)
                for m in names.is_dns1123_subdomain(e.node_name)
            ]
    seen: set[str] = set()
    for i, p in enumerate(es.ports):
        at = f"ports[{i}]"
        if p.name:
            errors += [invalid(f"{at}.name", p.name, m) for m in names.is_dns1123_label(p.name)]
        if (p.name or "") in seen:
            errors.append(duplicate(f"{at}.name", p.name or ""))
        seen.add(p.name or "")
        if p.port is not None and not 1 <= p.port <= 65535:
            errors.append(invalid(f"{at}.port", p.port, inclusive_range(1, 65535)))
        if p.protocol is not None and p.protocol not in PROTOCOLS:
            errors.append(not_supported(f"{at}.protocol", p.protocol, PROTOCOLS))
    return errors


def validate_lease(lease: discovery.Lease) -> list[FieldError]:
    errors = validate_object_meta(lease.metadata, "metadata", namespaced=True)
    spec = lease.spec or discovery.LeaseSpec()
    if spec.lease_duration_seconds is not None and spec.lease_duration_seconds <= 0:
        errors.append(
            invalid(
                "spec.leaseDurationSeconds", spec.lease_duration_seconds, "must be greater than 0"
            )
        )
    if spec.lease_transitions is not None and spec.lease_transitions < 0:
        errors.append(invalid("spec.leaseTransitions", spec.lease_transitions, NONNEGATIVE))
    return errors


def validate_event(ev: core.Event) -> list[FieldError]:
    errors = validate_object_meta(ev.metadata, "metadata", namespaced=True)
    if ev.involved_object is None:
        errors.append(required("involvedObject"))
    else:
        ns = (ev.metadata or meta.ObjectMeta()).namespace
        if ev.involved_object.namespace and ns and ev.involved_object.namespace != ns:
            errors.append(
                invalid(
                    "involvedObject.namespace",
                    ev.involved_object.namespace,
                    "does not match event.namespace",
                )
            )
    if ev.type is not None and ev.type not in EVENT_TYPES:
        errors.append(not_supported("type", ev.type, EVENT_TYPES))
    if ev.count is not None and ev.count < 0:
        errors.append(invalid("count", ev.count, NONNEGATIVE))
    return errors


def validate_binding(b: core.Binding) -> list[FieldError]:
    errors = validate_object_meta(b.metadata, "metadata", namespaced=True)
    target = b.target or meta.ObjectReference()
    if target.kind not in (None, "", "Node"):
        errors.append(not_supported("target.kind", target.kind, ("Node",)))
    if not target.name:
        errors.append(required("target.name"))
    return errors


_VALIDATORS: dict[type, Callable[[Any], list[FieldError]]] = {
    core.Pod: validate_pod,
    core.Node: validate_node,
    core.Namespace: validate_namespace,
    core.Service: validate_service,
    core.Event: validate_event,
    core.Binding: validate_binding,
    apps.ReplicaSet: validate_replica_set,
    apps.Deployment: validate_deployment,
    discovery.EndpointSlice: validate_endpoint_slice,
    discovery.Lease: validate_lease,
}


def validate(obj: Any) -> list[FieldError]:
    """Every problem of ``obj`` as a new object (empty when valid)."""
    validator = _VALIDATORS.get(type(obj))
    if validator is None:
        info = kinds.by_type(type(obj))
        return [
            not_supported(
                "kind",
                info.kind if info else type(obj).__name__,
                [k.kind for k in kinds.all_kinds()],
            )
        ]
    return validator(obj)


def validate_update(new: Any, old: Any) -> list[FieldError]:
    """Every problem of replacing ``old`` by ``new``."""
    if type(new) is not type(old):
        return [
            invalid(
                "kind",
                kinds.by_type(type(new)).kind if kinds.by_type(type(new)) else None,
                IMMUTABLE,
            )
        ]
    if isinstance(new, core.Pod):
        return validate_pod_update(new, old)
    errors = validate(new) + validate_meta_update(new.metadata, old.metadata, "metadata")
    if isinstance(new, (apps.ReplicaSet, apps.Deployment)):
        errors += _validate_selector_update(
            new.spec.selector if new.spec else None, old.spec.selector if old.spec else None
        )
    if isinstance(new, discovery.EndpointSlice) and new.address_type != old.address_type:
        errors.append(invalid("addressType", new.address_type, IMMUTABLE))
    if isinstance(new, core.Service):
        old_ip = (old.spec or core.ServiceSpec()).cluster_ip
        new_ip = (new.spec or core.ServiceSpec()).cluster_ip
        if old_ip and new_ip != old_ip:
            errors.append(invalid("spec.clusterIPs[0]", new_ip, "may not change once set"))
    return errors


def is_valid(obj: Any) -> bool:
    return not validate(obj)
