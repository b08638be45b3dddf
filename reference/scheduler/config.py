"""KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): a configuration file into scheduler profiles.

Contract (https://kubernetes.io/docs/reference/scheduling/config/,
https://kubernetes.io/docs/reference/config-api/kube-scheduler-config.v1/, upstream's
pkg/scheduler/apis/config/v1/default_plugins.go, defaults.go, validation/validation.go and
pkg/scheduler/framework/runtime/framework.go at release-1.35):
- ``load(document)`` reads one decoded document, ``load_file(path)`` a YAML or JSON file, into a
  frozen ``Configuration``. Anything wrong raises ``InvalidInput`` (never another exception)
  in three stages, as kube-scheduler fails: decoding (wrong apiVersion/kind, unknown fields,
  values of the wrong type, every problem at once), validation (field paths as upstream's
  validation prints them, every problem at once), then building each profile (the first
  problem: an unknown plugin, a plugin that does not implement the point it is enabled at, a
  plugin registered twice, a plugin whose args its ``new(args, handle)`` rejects).
- Defaults as upstream's: one profile named ``default-scheduler`` when none is given (a
  single profile without a name gets that name), parallelism 16, backoff 1 s / 10 s,
  percentageOfNodesToScore unset (adaptive).
- Plugins are merged with the default plugins as upstream merges them: the defaults
  (``plugins.DEFAULT_PLUGINS``, read at call time) are the multiPoint set; at every point a
  custom ``disabled`` removes defaults (``*`` all of them) and a custom ``enabled`` plugin
  that is already a default replaces it in place (its weight too), the others are appended.
  The multiPoint plugins are then expanded to every point they implement, except where
  disabled there; at a point, plugins also enabled explicitly there come first (in that
  point's order), then the multiPoint ones, then the other explicit ones. A Score weight
  comes from ``score.enabled`` before ``multiPoint.enabled``; 0 or unset is 1.
- ``pluginConfig`` args are passed, after upstream's v1 defaulting for the plugins that
  have it, to the plugin's ``new(args, handle)``; each plugin is built once per profile.
- ``Configuration.profile(name)`` is the profile of a schedulerName. A Profile's
  ``percentage_of_nodes_to_score`` is the effective value (its own, else the global one),
  0 meaning adaptive as upstream encodes it; ``points`` is set only for the points whose
  plugins differ from the multiPoint expansion of ``plugins``.
- ``field_errors`` and the ``read_*`` helpers are shared with the plugins' args parsing:
  every problem is collected as a FieldError and raised once, printed as upstream's
  aggregate prints them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from kubeprop.reference.scheduler.framework import (
    EXTENSION_POINTS,
    Handle,
    InvalidInput,
    Plugin,
    Profile,
)
from kubeprop.spec.api.base import FrozenMap
from kubeprop.spec.api.errors import (
    ErrorType,
    FieldError,
    ManifestError,
    duplicate,
    invalid,
    not_registered,
    required,
    type_invalid,
    unknown_field,
)

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"
DEFAULT_SCHEDULER_NAME = "default-scheduler"
MAX_TOTAL_SCORE = 2**63 - 1  # framework.MaxTotalScore (math.MaxInt64)
INT32 = (-(2**31), 2**31 - 1)
_I64 = (-(2**63), 2**63 - 1)

# The extension points of v1 Plugins, in the order upstream's getExtensionPoints walks
# them, with the framework point each maps to here (None: not modelled by the framework)
# and the Go type named in upstream's messages.
POINTS: tuple[tuple[str, str | None, str], ...] = (
    ("preFilter", "pre_filter", "PreFilterPlugin"),
    ("filter", "filter", "FilterPlugin"),
    ("postFilter", "post_filter", "PostFilterPlugin"),
    ("reserve", "reserve", "ReservePlugin"),
    ("preScore", "pre_score", "PreScorePlugin"),
    ("score", "score", "ScorePlugin"),
    ("preBind", None, "PreBindPlugin"),
    ("bind", "bind", "BindPlugin"),
    ("postBind", None, "PostBindPlugin"),
    ("permit", None, "PermitPlugin"),
    ("preEnqueue", None, "PreEnqueuePlugin"),
    ("queueSort", None, "QueueSortPlugin"),
)
MULTI_POINT = "multiPoint"
_POINT_NAMES = tuple(point for point, _, _ in POINTS)
# validation.go's stagesToPluginSet: every point but multiPoint.
_STAGES = (
    "preEnqueue",
    "queueSort",
    "preFilter",
    "filter",
    "postFilter",
    "preScore",
    "score",
    "reserve",
    "permit",
    "preBind",
    "bind",
    "postBind",
)

# Plugins removed in (or before) kubescheduler.config.k8s.io/v1 (invalidPluginsByVersion).
INVALID_PLUGINS = ("AzureDiskLimits", "CinderLimits", "EBSLimits", "GCEPDLimits")
# Plugins whose args validation.go validates (under profiles[i].pluginConfig[j].args);
# NodeResourcesFit is not among them upstream (its args are checked when the plugin is built).
VALIDATED_ARGS = (
    "DefaultPreemption",
    "InterPodAffinity",
    "NodeAffinity",
    "NodeResourcesBalancedAllocation",
    "PodTopologySpread",
    "VolumeBinding",
    "DynamicResources",
)

_TOP_FIELDS = (
    "apiVersion",
    "kind",
    "parallelism",
    "leaderElection",
    "clientConnection",
    "enableProfiling",
    "enableContentionProfiling",
    "percentageOfNodesToScore",
    "podInitialBackoffSeconds",
    "podMaxBackoffSeconds",
    "profiles",
    "extenders",
    "delayCacheUntilActive",
)
_PROFILE_FIELDS = ("schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig")
_LEADER_ELECTION_FIELDS = (
    "leaderElect",
    "leaseDuration",
    "renewDeadline",
    "retryPeriod",
    "resourceLock",
    "resourceName",
    "resourceNamespace",
)
_CLIENT_CONNECTION_FIELDS = ("kubeconfig", "acceptContentTypes", "contentType", "qps", "burst")


# -- field errors (shared with the plugins' args validation) ---------------------------


def aggregate_message(errors: Sequence[FieldError]) -> str:
    """The errors as upstream's utilerrors.Aggregate prints them (one, or "[a, b]")."""
    lines = list(dict.fromkeys(str(e) for e in errors))
    return lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"


def field_errors(errors: Sequence[FieldError]) -> InvalidInput:
    """An InvalidInput listing every error; ``.errors`` keeps them for re-pathing."""
    exc = InvalidInput(aggregate_message(errors))
    exc.errors = list(errors)  # type: ignore[attr-defined]
    return exc


def child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _json_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "null" if value is None else type(value).__name__


def wrong_type(path: str, value: Any, expected: str) -> FieldError:
    shown = value if isinstance(value, (str, int, float, bool)) or value is None else None
    if shown is None and value is not None:
        shown = _json_type_name(value)
    return type_invalid(path, shown, f"{path or 'body'} in body must be of type {expected}")


def read_object(
    value: Any, path: str, fields: Iterable[str], errors: list[FieldError]
) -> Mapping[str, Any] | None:
    """``value`` as an object whose keys are all in ``fields`` (strict decoding); None
    (after recording the error) when it is not an object. ``null`` reads as absent."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(wrong_type(path, value, "object"))
        return None
    known = set(fields)
    for key in value:
        if not isinstance(key, str) or key not in known:
            errors.append(unknown_field(child(path, str(key))))
    return value


def read_list(value: Any, path: str, errors: list[FieldError]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        errors.append(wrong_type(path, value, "array"))
        return []
    return list(value)


def read_int(
    value: Any, path: str, errors: list[FieldError], bounds: tuple[int, int] = INT32
) -> int | None:
    """An integer (Go's int32 by default); None when absent or wrong."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(wrong_type(path, value, "integer"))
        return None
    if not bounds[0] <= value <= bounds[1]:
        errors.append(type_invalid(path, value, f"{path} in body must fit a {_bits(bounds)}"))
        return None
    return value


def _bits(bounds: tuple[int, int]) -> str:
    return "32-bit integer" if bounds == INT32 else "64-bit integer"


def read_str(value: Any, path: str, errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(wrong_type(path, value, "string"))
        return None
    return value


def read_bool(value: Any, path: str, errors: list[FieldError]) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        errors.append(wrong_type(path, value, "boolean"))
        return None
    return value


# -- the decoded document --------------------------------------------------------------


@attrs.frozen
class PluginRef:
    """One entry of a PluginSet: a plugin name and its weight (None when unset)."""

    name: str
    weight: int | None = None
    # where the document enables it, e.g. "profiles[0].plugins.score.enabled[1]" ("": a default)
    at: str = attrs.field(default="", eq=False, repr=False)


@attrs.frozen
class PluginSet:
    enabled: tuple[PluginRef, ...] = ()
    disabled: tuple[str, ...] = ()


@attrs.frozen
class PluginConfig:
    name: str
    args: Any = None


@attrs.frozen
class ProfileDocument:
    """A KubeSchedulerProfile as decoded (before defaulting and merging)."""

    scheduler_name: str | None = None
    percentage_of_nodes_to_score: int | None = None
    plugins: FrozenMap[str, PluginSet] = FrozenMap()  # point (wire name) -> set
    plugin_config: tuple[PluginConfig, ...] = ()


@attrs.frozen
class Configuration:
    """A loaded KubeSchedulerConfiguration: one Profile per schedulerName, plus the settings
    the scheduler reads."""

    profiles: tuple[Profile, ...] = ()
    # None: adaptive (upstream's 0, "5%--50% based on the size of the cluster").
    percentage_of_nodes_to_score: int | None = None
    parallelism: int = 16
    pod_initial_backoff_seconds: int = 1
    pod_max_backoff_seconds: int = 10

    def profile(self, scheduler_name: str) -> Profile:
        """The profile whose schedulerName is ``scheduler_name``; KeyError names the known ones."""
        for profile in self.profiles:
            if profile.scheduler_name == scheduler_name:
                return profile
        known = ", ".join(p.scheduler_name for p in self.profiles)
        raise KeyError(f"no profile with schedulerName {scheduler_name!r} (profiles: {known})")


# -- decoding ----------------------------------------------------------------------------


def _decode_plugin_set(value: Any, path: str, errors: list[FieldError]) -> PluginSet:
    data = read_object(value, path, ("enabled", "disabled"), errors)
    if data is None:
        return PluginSet()
    enabled, disabled = [], []
    for i, item in enumerate(read_list(data.get("enabled"), f"{path}.enabled", errors)):
        at = f"{path}.enabled[{i}]"
        entry = read_object(item, at, ("name", "weight"), errors)
        if entry is None:
            continue
        name = read_str(entry.get("name"), f"{at}.name", errors)
        weight = read_int(entry.get("weight"), f"{at}.weight", errors)
        enabled.append(PluginRef(name or "", weight, at))
    for i, item in enumerate(read_list(data.get("disabled"), f"{path}.disabled", errors)):
        at = f"{path}.disabled[{i}]"
        entry = read_object(item, at, ("name", "weight"), errors)
        if entry is None:
            continue
        read_int(entry.get("weight"), f"{at}.weight", errors)
        disabled.append(read_str(entry.get("name"), f"{at}.name", errors) or "")
    return PluginSet(tuple(enabled), tuple(disabled))


def _decode_profile(value: Any, path: str, errors: list[FieldError]) -> ProfileDocument:
    data = read_object(value, path, _PROFILE_FIELDS, errors)
    if data is None:
        return ProfileDocument()
    plugins = {}
    sets = read_object(data.get("plugins"), f"{path}.plugins", (*_POINT_NAMES, MULTI_POINT), errors)
    for point in (MULTI_POINT, *_POINT_NAMES):
        if sets is not None and sets.get(point) is not None:
            plugins[point] = _decode_plugin_set(sets[point], f"{path}.plugins.{point}", errors)
    configs = []
    items = read_list(data.get("pluginConfig"), f"{path}.pluginConfig", errors)
    for j, item in enumerate(items):
        at = f"{path}.pluginConfig[{j}]"
        entry = read_object(item, at, ("name", "args"), errors)
        if entry is None:
            continue
        name = read_str(entry.get("name"), f"{at}.name", errors) or ""
        args = entry.get("args")
        if args is not None and not isinstance(args, Mapping):
            errors.append(wrong_type(f"{at}.args", args, "object"))
            args = None
        configs.append(PluginConfig(name, _strip_type_meta(args)))
    return ProfileDocument(
        scheduler_name=read_str(data.get("schedulerName"), f"{path}.schedulerName", errors),
        percentage_of_nodes_to_score=read_int(
            data.get("percentageOfNodesToScore"), f"{path}.percentageOfNodesToScore", errors
        ),
        plugins=FrozenMap(plugins),
        plugin_config=tuple(configs),
    )


def _strip_type_meta(args: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Plugin args may carry their own apiVersion/kind (TypeMeta); the plugin reads the rest."""
    if args is None:
        return None
    return {k: v for k, v in args.items() if k not in ("apiVersion", "kind")}


@attrs.frozen
class _Document:
    parallelism: int | None
    percentage_of_nodes_to_score: int | None
    pod_initial_backoff_seconds: int | None
    pod_max_backoff_seconds: int | None
    leader_elect: bool | None
    resource_lock: str | None
    extenders: tuple[Any, ...]
    profiles: tuple[ProfileDocument, ...]


def _decode(document: Any) -> _Document:
    """The document's fields, or InvalidInput listing every decoding problem."""
    if not isinstance(document, Mapping):
        kind = _json_type_name(document)
        raise InvalidInput(f"a {KIND} must be an object, not {kind}")
    api_version, kind = document.get("apiVersion"), document.get("kind")
    head = []
    if not api_version:
        head.append(required("apiVersion"))
    if not kind:
        head.append(required("kind"))
    if head:
        raise field_errors(head)
    if api_version != API_VERSION or kind != KIND:
        raise field_errors([not_registered(str(kind), str(api_version))])
    errors: list[FieldError] = []
    read_object(document, "", _TOP_FIELDS, errors)
    election = read_object(
        document.get("leaderElection"), "leaderElection", _LEADER_ELECTION_FIELDS, errors
    )
    read_object(
        document.get("clientConnection"), "clientConnection", _CLIENT_CONNECTION_FIELDS, errors
    )
    for name in ("enableProfiling", "enableContentionProfiling", "delayCacheUntilActive"):
        read_bool(document.get(name), name, errors)
    election = election or {}
    doc = _Document(
        parallelism=read_int(document.get("parallelism"), "parallelism", errors),
        percentage_of_nodes_to_score=read_int(
            document.get("percentageOfNodesToScore"), "percentageOfNodesToScore", errors
        ),
        pod_initial_backoff_seconds=read_int(
            document.get("podInitialBackoffSeconds"), "podInitialBackoffSeconds", errors, _I64
        ),
        pod_max_backoff_seconds=read_int(
            document.get("podMaxBackoffSeconds"), "podMaxBackoffSeconds", errors, _I64
        ),
        leader_elect=read_bool(election.get("leaderElect"), "leaderElection.leaderElect", errors),
        resource_lock=read_str(election.get("resourceLock"), "leaderElection.resourceLock", errors),
        extenders=tuple(read_list(document.get("extenders"), "extenders", errors)),
        profiles=tuple(
            _decode_profile(item, f"profiles[{i}]", errors)
            for i, item in enumerate(read_list(document.get("profiles"), "profiles", errors))
        ),
    )
    if errors:
        raise field_errors(errors)
    return doc


# -- defaulting and validation (defaults.go, validation.go) -----------------------------------


def _default_profiles(profiles: tuple[ProfileDocument, ...]) -> tuple[ProfileDocument, ...]:
    if not profiles:
        profiles = (ProfileDocument(),)
    if len(profiles) == 1 and profiles[0].scheduler_name is None:
        profiles = (attrs.evolve(profiles[0], scheduler_name=DEFAULT_SCHEDULER_NAME),)
    return profiles


def _validate_percentage(value: int | None, path: str) -> list[FieldError]:
    if value is not None and not 0 <= value <= 100:
        return [invalid(path, value, "not in valid range [0-100]")]
    return []


def _invalid_plugin(path: str, name: str) -> FieldError:
    return invalid(
        path,
        name,
        f'was invalid in version "{API_VERSION}" (KubeSchedulerConfiguration is version '
        f'"{API_VERSION}")',
    )


def _validate_profile(
    profile: ProfileDocument, path: str, registry: Mapping[str, Callable]
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not profile.scheduler_name:
        errors.append(required(f"{path}.schedulerName"))
    errors += _validate_percentage(
        profile.percentage_of_nodes_to_score, f"{path}.percentageOfNodesToScore"
    )
    for stage in _STAGES:
        plugin_set = profile.plugins.get(stage)
        for i, ref in enumerate(plugin_set.enabled if plugin_set else ()):
            if ref.name in INVALID_PLUGINS:
                errors.append(_invalid_plugin(f"{path}.plugins.{stage}.enabled[{i}]", ref.name))
    seen: set[str] = set()
    for j, config in enumerate(profile.plugin_config):
        at = f"{path}.pluginConfig[{j}]"
        if config.name in seen:
            errors.append(duplicate(at, config.name))
        seen.add(config.name)
        if config.name in INVALID_PLUGINS:
            errors.append(_invalid_plugin(at, config.name))
        elif config.name in VALIDATED_ARGS and config.name in registry:
            errors += _args_errors(config, f"{at}.args", registry[config.name])
    return errors


def _args_errors(config: PluginConfig, path: str, factory: Callable) -> list[FieldError]:
    """What the plugin's own validation says of its args, re-pathed under ``path``."""
    try:
        factory(default_args(config.name, config.args), Handle())
    except Exception as error:  # noqa: BLE001 - any rejection of the args is reported
        return repath(error, path)
    return []


_PATH_START = re.compile(r"^[A-Za-z_][\w.\[\]/-]*: ")


def repath(error: Exception, path: str) -> list[FieldError]:
    """The field errors of a plugin's rejection, each under ``path``."""
    inner = getattr(error, "errors", None)
    if inner and all(isinstance(e, FieldError) for e in inner):
        return [attrs.evolve(e, field=child(path, e.field) if e.field else path) for e in inner]
    message = str(error) or type(error).__name__
    text = f"{path}.{message}" if _PATH_START.match(message) else f"{path}: {message}"
    return [_verbatim(text)]


def _verbatim(text: str) -> FieldError:
    """A field error printed exactly as ``text`` (a plugin's message re-pathed as a whole)."""
    return FieldError(ErrorType.MALFORMED, "", None, text)


def _validate_queue_sort(profiles: tuple[ProfileDocument, ...]) -> list[FieldError]:
    """validateCommonQueueSort: every profile has the same queueSort set and args."""
    errors: list[FieldError] = []
    canon = profiles[0].plugins.get("queueSort", PluginSet())
    if len(canon.enabled) > 1:
        errors.append(
            invalid(
                "profiles[0].plugins.queueSort.Enabled",
                len(canon.enabled),
                "only one queue sort plugin can be enabled",
            )
        )
    name = canon.enabled[0].name if canon.enabled else ""
    canon_args = next((c.args for c in profiles[0].plugin_config if c.name == name), None)
    for i, profile in enumerate(profiles[1:], start=1):
        current = profile.plugins.get("queueSort", PluginSet())
        if current != canon:
            errors.append(
                invalid(
                    f"profiles[{i}].plugins.queueSort",
                    _show_set(current),
                    "must be the same for all profiles",
                )
            )
        for config in profile.plugin_config:
            if name and config.name == name and config.args != canon_args:
                errors.append(
                    invalid(
                        f"profiles[{i}].pluginConfig.args",
                        config.args,
                        "queueSort must be the same for all profiles",
                    )
                )
    return errors


def _show_set(plugin_set: PluginSet) -> str:
    enabled = ", ".join(ref.name for ref in plugin_set.enabled)
    disabled = ", ".join(plugin_set.disabled)
    return f"{{enabled: [{enabled}], disabled: [{disabled}]}}"


def _validate(doc: _Document, registry: Mapping[str, Callable]) -> list[FieldError]:
    errors: list[FieldError] = []
    if doc.leader_elect is not False and doc.resource_lock not in (None, "leases"):
        errors.append(
            invalid(
                "leaderElection.resourceLock",
                doc.resource_lock,
                'resourceLock value must be "leases"',
            )
        )
    parallelism = 16 if doc.parallelism is None else doc.parallelism
    if parallelism <= 0:
        errors.append(
            invalid("parallelism", parallelism, "should be an integer value greater than zero")
        )
    existing: dict[str, int] = {}
    for i, profile in enumerate(doc.profiles):
        path = f"profiles[{i}]"
        errors += _validate_profile(profile, path, registry)
        name = profile.scheduler_name or ""
        if name in existing:
            errors.append(
                duplicate(f"{path}.schedulerName", f"profiles[{existing[name]}].schedulerName")
            )
        existing[name] = i
    errors += _validate_queue_sort(doc.profiles)
    errors += _validate_percentage(doc.percentage_of_nodes_to_score, "percentageOfNodesToScore")
    initial = 1 if doc.pod_initial_backoff_seconds is None else doc.pod_initial_backoff_seconds
    maximum = 10 if doc.pod_max_backoff_seconds is None else doc.pod_max_backoff_seconds
    if initial <= 0:
        errors.append(invalid("podInitialBackoffSeconds", initial, "must be greater than 0"))
    if maximum < initial:
        errors.append(
            invalid(
                "podMaxBackoffSeconds",
                maximum,
                "must be greater than or equal to PodInitialBackoffSeconds",
            )
        )
    if doc.extenders:
        errors.append(
            FieldError(
                ErrorType.FORBIDDEN,
                "extenders",
                None,
                "scheduler extenders are not modelled by kubeprop",
            )
        )
    return errors


# -- plugin args defaulting (v1 SetDefaults_*Args) --------------------------------------------


def default_args(name: str, args: Any) -> Any:
    """``args`` after upstream's v1 defaulting for plugin ``name`` (unchanged if it has none)."""
    from kubeprop.reference.scheduler.plugins import (
        node_resources_balanced_allocation,
        node_resources_fit,
    )

    defaulting = {
        node_resources_fit.NAME: node_resources_fit.default_args,
        node_resources_balanced_allocation.NAME: node_resources_balanced_allocation.default_args,
    }.get(name)
    return defaulting(args) if defaulting is not None and isinstance(args, Mapping) else args


# -- merging and building profiles (default_plugins.go, framework.go) --------------------------


def merge_plugin_set(default: PluginSet, custom: PluginSet) -> PluginSet:
    """mergePluginSet: the custom set applied to the default set of one point."""
    disabled = set(custom.disabled) | set(default.disabled)
    replacing = {ref.name: i for i, ref in enumerate(custom.enabled)}
    replaced: set[int] = set()
    enabled: list[PluginRef] = []
    if "*" not in disabled:
        for ref in default.enabled:
            if ref.name in disabled:
                continue
            if ref.name in replacing:
                replaced.add(replacing[ref.name])
                ref = custom.enabled[replacing[ref.name]]
            enabled.append(ref)
    enabled += [ref for i, ref in enumerate(custom.enabled) if i not in replaced]
    return PluginSet(tuple(enabled), (*custom.disabled, *default.disabled))


def _default_plugins() -> PluginSet:
    from kubeprop.reference.scheduler import plugins

    return PluginSet(tuple(PluginRef(name, weight) for name, weight in plugins.DEFAULT_PLUGINS))


def merged_plugins(profile: ProfileDocument) -> dict[str, PluginSet]:
    """Every point's plugin set after merging with the defaults (multiPoint holds them)."""
    merged = {
        MULTI_POINT: merge_plugin_set(
            _default_plugins(), profile.plugins.get(MULTI_POINT, PluginSet())
        )
    }
    for point in _POINT_NAMES:
        merged[point] = merge_plugin_set(PluginSet(), profile.plugins.get(point, PluginSet()))
    return merged


class _BuildError(Exception):
    """The first problem found while building one profile's framework."""


def _implements(plugin: Plugin, point: str | None) -> bool:
    return point is not None and isinstance(plugin, EXTENSION_POINTS[point])


def _explicit_list(
    wire: str,
    framework_point: str,
    go_type: str,
    sets: Mapping[str, PluginSet],
    built: Mapping[str, Plugin],
) -> list[str]:
    """updatePluginList: the plugins enabled at one point, each implementing it, once."""
    explicit: list[str] = []
    for ref in sets[wire].enabled:
        if not _implements(built[ref.name], framework_point):
            raise _BuildError(f'plugin "{ref.name}" does not extend {go_type} plugin')
        if ref.name in explicit:
            raise _BuildError(f'plugin "{ref.name}" already registered as "{go_type}"')
        explicit.append(ref.name)
    return explicit


def _expand(
    explicit: list[str],
    wire: str,
    framework_point: str,
    go_type: str,
    sets: Mapping[str, PluginSet],
    built: Mapping[str, Plugin],
) -> list[str]:
    """expandMultiPointPlugins for one point: the multiPoint plugins merged into ``explicit``."""
    disabled = set(sets[wire].disabled)
    if "*" in disabled:
        return explicit
    overrides: list[str] = []
    multi: list[str] = []
    for ref in sets[MULTI_POINT].enabled:
        if not _implements(built[ref.name], framework_point) or ref.name in disabled:
            continue
        if ref.name in explicit:
            overrides.append(ref.name)
        elif ref.name in multi:
            raise _BuildError(f'plugin "{ref.name}" already registered as "{go_type}"')
        else:
            multi.append(ref.name)
    first = [name for name in explicit if name in overrides]
    rest = [name for name in explicit if name not in overrides]
    return first + multi + rest


def _score_weights(sets: Mapping[str, PluginSet], built: Mapping[str, Plugin]) -> dict[str, int]:
    """getScoreWeights: score.enabled first, then multiPoint.enabled; 0 or unset is 1."""
    weights: dict[str, int] = {}
    total = 0
    for ref in (*sets["score"].enabled, *sets[MULTI_POINT].enabled):
        if not _implements(built[ref.name], "score") or ref.name in weights:
            continue
        weight = ref.weight or 1
        if weight * 100 > MAX_TOTAL_SCORE - total:
            raise _BuildError("total score of Score plugins could overflow")
        total += weight * 100
        weights[ref.name] = weight
    return weights


def _needed(sets: Mapping[str, PluginSet]) -> list[tuple[str, str]]:
    """(plugin, where it is first enabled): multiPoint first, then each point in order."""
    needed: dict[str, str] = {}
    for wire in (MULTI_POINT, *_POINT_NAMES):
        for ref in sets[wire].enabled:
            needed.setdefault(ref.name, ref.at or "DEFAULT_PLUGINS")
    return list(needed.items())


def _build_plugins(
    sets: Mapping[str, PluginSet],
    profile: ProfileDocument,
    index: int,
    registry: Mapping[str, Callable],
    prefix: str,
) -> dict[str, Plugin]:
    """Every plugin the profile enables, built once with its (defaulted) args, in order."""
    configs = {c.name: (j, c.args) for j, c in enumerate(profile.plugin_config)}
    handle = Handle()
    built: dict[str, Plugin] = {}
    for plugin_name, where in _needed(sets):
        factory = registry.get(plugin_name)
        if factory is None:
            known = ", ".join(sorted(registry))
            raise InvalidInput(
                f'{where}.name: Not found: "{plugin_name}": {_first_type(sets, plugin_name)} '
                f'"{plugin_name}" does not exist (registered: {known})'
            )
        j, args = configs.get(plugin_name, (None, None))
        at = f"profiles[{index}]" + (f".pluginConfig[{j}].args" if j is not None else "")
        try:
            built[plugin_name] = factory(default_args(plugin_name, args), handle)
        except Exception as error:  # noqa: BLE001 - a plugin rejecting its args
            message = f'{at}: {prefix}: initializing plugin "{plugin_name}": {error}'
            raise InvalidInput(message) from None
    return built


def _plugin_lists(
    sets: Mapping[str, PluginSet], built: Mapping[str, Plugin]
) -> dict[str, list[str]]:
    """Framework point -> the ordered names running there (every point's explicit list
    first, as upstream's updatePluginList, then the multiPoint expansion)."""
    modelled = [(wire, point, go_type) for wire, point, go_type in POINTS if point is not None]
    explicit = {
        point: _explicit_list(wire, point, go_type, sets, built)
        for wire, point, go_type in modelled
    }
    return {
        point: _expand(explicit[point], wire, point, go_type, sets, built)
        for wire, point, go_type in modelled
    }


def _build_profile(
    profile: ProfileDocument,
    index: int,
    registry: Mapping[str, Callable],
    global_percentage: int | None,
) -> Profile:
    name = profile.scheduler_name or DEFAULT_SCHEDULER_NAME
    prefix = f"creating profile for scheduler name {name}"
    sets = merged_plugins(profile)
    built = _build_plugins(sets, profile, index, registry, prefix)
    try:
        lists = _plugin_lists(sets, built)
        weights = _score_weights(sets, built)
    except _BuildError as error:
        raise InvalidInput(f"profiles[{index}]: {prefix}: {error}") from None
    plugins = tuple(built.values())
    points = {}
    for point, names in lists.items():
        if names != [p.name for p in plugins if _implements(p, point)]:
            points[point] = tuple(names)
    percentage = profile.percentage_of_nodes_to_score
    if percentage is None:
        percentage = global_percentage or 0  # 0: adaptive, as upstream encodes it
    return Profile(
        scheduler_name=name,
        plugins=plugins,
        weights=FrozenMap(weights),
        percentage_of_nodes_to_score=percentage,
        points=FrozenMap(points),
    )


def _first_type(sets: Mapping[str, PluginSet], name: str) -> str:
    for wire, _, go_type in POINTS:
        if any(ref.name == name for ref in sets[wire].enabled):
            return go_type
    return POINTS[0][2]  # a multiPoint plugin is looked up at PreFilter first


# -- entry points -------------------------------------------------------------------------------


def load(document: Mapping[str, Any]) -> Configuration:
    """The Configuration of a decoded KubeSchedulerConfiguration document."""
    from kubeprop.reference.scheduler import plugins

    registry = dict(plugins.REGISTRY.factories)
    doc = _decode(document)
    doc = attrs.evolve(doc, profiles=_default_profiles(doc.profiles))
    errors = _validate(doc, registry)
    if errors:
        raise field_errors(errors)
    percentage = doc.percentage_of_nodes_to_score or None
    profiles = tuple(
        _build_profile(profile, i, registry, percentage) for i, profile in enumerate(doc.profiles)
    )
    return Configuration(
        profiles=profiles,
        percentage_of_nodes_to_score=percentage,
        parallelism=16 if doc.parallelism is None else doc.parallelism,
        pod_initial_backoff_seconds=doc.pod_initial_backoff_seconds or 1,
        pod_max_backoff_seconds=10
        if doc.pod_max_backoff_seconds is None
        else doc.pod_max_backoff_seconds,
    )


def load_text(text: str | bytes, filename: str = "<input>") -> Configuration:
    """The Configuration of a YAML or JSON text holding one document."""
    from kubeprop.spec.api.io import load_documents

    try:
        documents = load_documents(text, filename)
    except ManifestError as error:
        raise InvalidInput(str(error)) from None
    if len(documents) != 1:
        raise InvalidInput(f"{filename}: expected one {KIND} document, found {len(documents)}")
    return load(documents[0])


def load_file(path: str | Path) -> Configuration:
    """The Configuration of a KubeSchedulerConfiguration file (kube-scheduler --config)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InvalidInput(f"{path}: {error.strerror or error}") from None
    return load_text(data, str(path))
