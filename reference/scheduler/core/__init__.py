"""kubeprop.reference.scheduler.core: the scheduler's per-node arithmetic over node tables.

Contract:
- ``KERNELS`` is the kernel module in use: the compiled ``_kernels`` when it was
  built, else (or with ``KUBEPROP_NO_EXTENSIONS=1``) the pure twin
  ``_kernels_pure``; ``IMPLEMENTATION`` says which ("cython" or "python");
  ``PURE`` is always the pure twin and ``COMPILED`` the compiled one or None.
  Both twins give identical results on every input.
- ``NodeTable`` (see ``table``) holds the nodes as columns.
- A plugin class may register an ``Accelerator``: table versions of its Filter
  (which rows it rejects, as keys: 0 passes, equal keys mean equal statuses),
  Score (raw scores of the feasible rows) and NormalizeScore. The framework uses
  them only for plugins of exactly that class (a subclass overriding a method,
  as a mutant does, runs per node), and takes a rejected row's status from the
  plugin's own per-node Filter, so the table path can never explain a
  rejection differently from the plugin.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import attrs

from kubeprop.reference.scheduler.core import _kernels_pure
from kubeprop.reference.scheduler.core.incremental import Incremental
from kubeprop.reference.scheduler.core.table import NodeTable

PURE: Any = _kernels_pure
COMPILED: Any = None
if os.environ.get("KUBEPROP_NO_EXTENSIONS") != "1":
    try:
        from kubeprop.reference.scheduler.core import _kernels as COMPILED  # noqa: N812
    except ImportError:  # not built: the pure twin serves
        COMPILED = None

KERNELS: Any = COMPILED if COMPILED is not None else PURE
IMPLEMENTATION = "cython" if COMPILED is not None else "python"


@attrs.frozen
class Accelerator:
    """Table versions of one plugin class's extension points (each optional).

    filter(plugin, state, pod, table) -> int64 column of keys per row;
    score(plugin, state, pod, table, rows) -> int64 raw scores of ``rows``;
    normalize(plugin, state, pod, table, raw) -> int64 final scores.
    """

    filter: Callable[..., Any] | None = None
    score: Callable[..., Any] | None = None
    normalize: Callable[..., Any] | None = None


ACCELERATORS: dict[type, Accelerator] = {}
# The fused cycle of the default plugins (kubeprop.reference.scheduler.plugins.fused),
# set when the plugins are imported.
FUSED: Any = None


def register(plugin_class: type, **points: Callable[..., Any]) -> None:
    ACCELERATORS[plugin_class] = Accelerator(**points)


def accelerator(plugin: Any) -> Accelerator | None:
    """The accelerator of exactly this plugin's class, if any."""
    return ACCELERATORS.get(type(plugin))


__all__ = [
    "ACCELERATORS",
    "COMPILED",
    "FUSED",
    "IMPLEMENTATION",
    "KERNELS",
    "PURE",
    "Accelerator",
    "Incremental",
    "NodeTable",
    "accelerator",
    "register",
]
