"""PodTopologySpreadArgs: reading, defaulting and validating the plugin's pluginConfig args.

Contract (https://kubernetes.io/docs/reference/config-api/kube-scheduler-config.v1/#kubescheduler-config-k8s-io-v1-PodTopologySpreadArgs,
https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/#cluster-level-default-constraints,
upstream's pkg/scheduler/apis/config/validation/validation_pluginargs.go, release-1.35):
- ``parse(args)`` reads the camelCase mapping (``defaultingType``,
  ``defaultConstraints``; ``apiVersion`` and ``kind`` are allowed) or None.
  ``defaultingType`` defaults to ``System``, which gives the system defaults
  (hostname maxSkew 3, zone maxSkew 5, both ScheduleAnyway); ``List`` uses
  ``defaultConstraints`` (none: no default spreading).
- Then it validates as ``ValidatePodTopologySpreadArgs`` does and raises
  ``InvalidInput`` with the errors printed as apimachinery prints them (one
  error alone, several as ``[a, b]``): defaultingType must be System or List,
  and System with defaultConstraints is invalid; for each default constraint
  maxSkew must be positive, topologyKey a non-empty qualified name,
  whenUnsatisfiable DoNotSchedule or ScheduleAnyway, labelSelector absent
  (it is deduced for each pod), and no two constraints may share
  topologyKey and whenUnsatisfiable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import InvalidInput
from kubeprop.reference.scheduler.plugins.pod_topology_spread.common import (
    DO_NOT_SCHEDULE,
    LABEL_HOSTNAME,
    LABEL_TOPOLOGY_ZONE,
    SCHEDULE_ANYWAY,
)
from kubeprop.spec.api.core import TopologySpreadConstraint
from kubeprop.spec.api.errors import (
    FieldError,
    ManifestError,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
    unknown_field,
)
from kubeprop.spec.api.io import structure
from kubeprop.spec.api.names import validate_label_name

SYSTEM_DEFAULTING = "System"
LIST_DEFAULTING = "List"

# plugin.go's systemDefaultConstraints, in upstream's order.
SYSTEM_DEFAULT_CONSTRAINTS = (
    TopologySpreadConstraint(
        max_skew=3, topology_key=LABEL_HOSTNAME, when_unsatisfiable=SCHEDULE_ANYWAY
    ),
    TopologySpreadConstraint(
        max_skew=5, topology_key=LABEL_TOPOLOGY_ZONE, when_unsatisfiable=SCHEDULE_ANYWAY
    ),
)

_FIELDS = ("apiVersion", "kind", "defaultingType", "defaultConstraints")


@attrs.frozen
class PodTopologySpreadArgs:
    defaulting_type: str = SYSTEM_DEFAULTING
    default_constraints: tuple[TopologySpreadConstraint, ...] = ()

    def effective_constraints(self) -> tuple[TopologySpreadConstraint, ...]:
        """The default constraints the plugin applies: the system ones under System."""
        if self.defaulting_type == SYSTEM_DEFAULTING:
            return SYSTEM_DEFAULT_CONSTRAINTS
        return self.default_constraints


def _aggregate(errors: list[FieldError]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message alone, several in brackets."""
    messages = list(dict.fromkeys(str(e) for e in errors))
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


def _read(args: Mapping[str, Any]) -> PodTopologySpreadArgs:
    problems = [unknown_field(key) for key in args if key not in _FIELDS]
    constraints = []
    raw = args.get("defaultConstraints") or []
    if not isinstance(raw, list):
        problems.append(invalid("defaultConstraints", raw, "must be a list"))
        raw = []
    for i, item in enumerate(raw):
        try:
            constraints.append(
                structure(item, TopologySpreadConstraint, f"defaultConstraints[{i}]")
            )
        except ManifestError as err:
            problems.extend(err.errors)
    if problems:
        raise InvalidInput(_aggregate(problems))
    defaulting = args.get("defaultingType") or SYSTEM_DEFAULTING
    return PodTopologySpreadArgs(defaulting_type=defaulting, default_constraints=tuple(constraints))


def _validate_constraint(
    constraints: tuple[TopologySpreadConstraint, ...], i: int
) -> list[FieldError]:
    c, at = constraints[i], f"defaultConstraints[{i}]"
    errors = []
    if (c.max_skew or 0) <= 0:
        errors.append(invalid(f"{at}.maxSkew", c.max_skew or 0, "not in valid range (0, inf)"))
    if not c.topology_key:
        errors.append(required(f"{at}.topologyKey", "can not be empty"))
    else:
        errors.extend(validate_label_name(c.topology_key, f"{at}.topologyKey"))
    actions = (DO_NOT_SCHEDULE, SCHEDULE_ANYWAY)
    if not c.when_unsatisfiable:
        errors.append(required(f"{at}.whenUnsatisfiable", "can not be empty"))
    elif c.when_unsatisfiable not in actions:
        errors.append(not_supported(f"{at}.whenUnsatisfiable", c.when_unsatisfiable, actions))
    if c.label_selector is not None:
        errors.append(
            forbidden(
                f"{at}.labelSelector",
                "constraint must not define a selector, as they deduced for each pod",
            )
        )
    for other in constraints[:i]:
        if (other.topology_key, other.when_unsatisfiable) == (c.topology_key, c.when_unsatisfiable):
            errors.append(duplicate(at, f"{{{c.topology_key}, {c.when_unsatisfiable}}}"))
            break
    return errors


def validate(args: PodTopologySpreadArgs) -> list[FieldError]:
    """Every problem ValidatePodTopologySpreadArgs reports, in its order."""
    errors = []
    kind = args.defaulting_type
    if kind not in (SYSTEM_DEFAULTING, LIST_DEFAULTING):
        errors.append(not_supported("defaultingType", kind, (SYSTEM_DEFAULTING, LIST_DEFAULTING)))
    elif kind == SYSTEM_DEFAULTING and args.default_constraints:
        errors.append(invalid("defaultingType", kind, "when .defaultConstraints are not empty"))
    for i in range(len(args.default_constraints)):
        errors.extend(_validate_constraint(args.default_constraints, i))
    return errors


def parse(args: Any) -> PodTopologySpreadArgs:
    """The args of a pluginConfig entry, defaulted and validated; InvalidInput names the field."""
    if args is None:
        return PodTopologySpreadArgs()
    if not isinstance(args, Mapping):
        raise InvalidInput(
            f"want args to be of type PodTopologySpreadArgs, got {type(args).__name__}"
        )
    parsed = _read(args)
    errors = validate(parsed)
    if errors:
        raise InvalidInput(_aggregate(errors))
    return parsed
