"""Node tables: the scheduler's view of the nodes as struct-of-arrays columns, kept in step with node infos.

Contract:
- ``NodeTable.of(node_infos)`` lays the node infos out by row (row i is
  ``node_infos[i]``): per resource the allocatable, requested and (cpu, memory)
  non-zero requested amounts, the pod count, the unschedulable flag, the taints
  as ids into ``taints`` (rows of ``taint_width`` ids padded with -1), each label
  key as a column of value ids (-1 where the node lacks the label) and which
  nodes hold which images.
- ``sync(node_infos)`` brings the table to the given node infos and returns it:
  rows whose NodeInfo object changed (``is not``) are rewritten in place; a
  different node list rebuilds the table. Everything in the table is derived
  from the node infos, so a synced table never disagrees with its snapshot;
  ``rows_changed`` counts rewritten rows (for tests and benchmarks).
- Ids only grow: a value id or taint id, once given, keeps its meaning for the
  table's life, so per-pod lookups (``allowed``) can be cached by id count.
- Every row written (by ``sync`` or by ``add_pod_columns``, the column-only bind)
  is appended to ``log`` (cleared now and then, ``log_epoch`` then grows); a
  rebuild bumps ``generation``: what a cache of per-row results reads to stay
  in step (``core.Incremental``).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from kubeprop.reference.scheduler import resources

# the column of row numbers standing for the node's name (matchFields metadata.name)
NAME_FIELD = "metadata.name"


def _column(n: int, fill: int = 0) -> array:
    return array("q", [fill]) * n


@attrs.define(eq=False)
class NodeTable:
    """Columns of the nodes of one scheduler's view; see the module contract."""

    kernels: Any  # the kernel module (compiled or pure twin) used by the plugins
    infos: list = attrs.Factory(list)  # row -> the NodeInfo it was built from
    index: dict[str, int] = attrs.Factory(dict)  # node name -> row
    # resource name -> column number; allocatable / requested amounts per column
    resource_columns: dict[str, int] = attrs.Factory(dict)
    allocatable: list[array] = attrs.Factory(list)
    requested: list[array] = attrs.Factory(list)
    non_zero_cpu: array = attrs.Factory(lambda: array("q"))  # non-zero requested cpu
    non_zero_memory: array = attrs.Factory(lambda: array("q"))
    pod_count: array = attrs.Factory(lambda: array("q"))
    unschedulable: bytearray = attrs.Factory(bytearray)
    # taint (key, value, effect) -> id; id -> Taint; rows of taint ids
    taint_ids: dict[tuple, int] = attrs.Factory(dict)
    taints: list = attrs.Factory(list)
    taint_width: int = 0
    taint_rows: array = attrs.Factory(lambda: array("q"))
    # label key -> (value -> id, id -> value, column of ids per row)
    label_values: dict[str, dict[str, int]] = attrs.Factory(dict)
    label_names: dict[str, list[str]] = attrs.Factory(dict)
    label_columns: dict[str, array] = attrs.Factory(dict)
    # image name -> row -> size in bytes
    image_rows: dict[str, dict[int, int]] = attrs.Factory(dict)
    # (requirement, value count) -> (allowed flags per value id, flag for a missing label)
    allowed_cache: dict[Any, tuple[bytearray, int]] = attrs.Factory(dict)
    rows_changed: int = 0
    # bumped when the table is rebuilt (rows may mean other nodes): a cache of per-row
    # results made before is void
    generation: int = 0
    # the rows written, in order (since the log was last cleared: then ``log_epoch``
    # grows), so a cache can read what changed since it last looked
    log: list[int] = attrs.Factory(list)
    log_epoch: int = 0

    @classmethod
    def of(cls, node_infos: Sequence[Any], kernels: Any) -> NodeTable:
        table = cls(kernels)
        table._rebuild(node_infos)
        return table

    @property
    def size(self) -> int:
        return len(self.infos)

    # -- keeping in step ---------------------------------------------------------------

    def sync(self, node_infos: Sequence[Any]) -> NodeTable:
        if len(node_infos) != len(self.infos):
            self._rebuild(node_infos)
            return self
        for row in self.kernels.changed_rows(self.infos, node_infos):
            info = node_infos[row]
            if self.index.get(info.name) != row:
                self._rebuild(node_infos)
                return self
            self._write_row(row, info)
        return self

    def _rebuild(self, node_infos: Sequence[Any]) -> None:
        n = len(node_infos)
        self.infos = [None] * n
        self.generation += 1
        self.index = {info.name: row for row, info in enumerate(node_infos)}
        self.resource_columns, self.allocatable, self.requested = {}, [], []
        self.non_zero_cpu, self.non_zero_memory = _column(n), _column(n)
        self.pod_count = _column(n)
        self.unschedulable = bytearray(n)
        self.taint_width, self.taint_rows = 0, array("q")
        self.label_columns = {}
        self.image_rows = {}
        self.allowed_cache = {}
        for name in (resources.CPU, resources.MEMORY, resources.EPHEMERAL_STORAGE, resources.PODS):
            self.resource_column(name)
        for row, info in enumerate(node_infos):
            self._write_row(row, info)

    def resource_column(self, name: str) -> int:
        """The column of resource ``name``, added (all zero) on first use."""
        column = self.resource_columns.get(name)
        if column is None:
            column = self.resource_columns[name] = len(self.allocatable)
            self.allocatable.append(_column(self.size))
            self.requested.append(_column(self.size))
        return column

    def _write_row(self, row: int, info: Any) -> None:
        old = self.infos[row]
        self.infos[row] = info
        self.rows_changed += 1
        self._logged(row)
        for name in (*info.allocatable, *info.requested):
            self.resource_column(name)
        for name, column in self.resource_columns.items():
            self.allocatable[column][row] = info.allocatable.get(name, 0)
            self.requested[column][row] = info.requested.get(name, 0)
        self.non_zero_cpu[row] = info.non_zero_requested.get(resources.CPU, 0)
        self.non_zero_memory[row] = info.non_zero_requested.get(resources.MEMORY, 0)
        self.pod_count[row] = len(info.pods)
        node = info.node
        spec = node.spec
        self.unschedulable[row] = 1 if spec is not None and spec.unschedulable else 0
        self._write_taints(row, spec.taints if spec is not None else ())
        self._write_labels(row, old, info)
        self._write_images(row, old, info)

    def _write_taints(self, row: int, taints: Sequence[Any]) -> None:
        ids = [self.taint_id(taint) for taint in taints]
        if len(ids) > self.taint_width:
            self._widen_taints(len(ids))
        base = row * self.taint_width
        for k in range(self.taint_width):
            self.taint_rows[base + k] = ids[k] if k < len(ids) else -1

    def _widen_taints(self, width: int) -> None:
        old, old_width = self.taint_rows, self.taint_width
        rows = _column(self.size * width, -1)
        for row in range(self.size):
            for k in range(old_width):
                rows[row * width + k] = old[row * old_width + k]
        self.taint_rows, self.taint_width = rows, width

    def taint_id(self, taint: Any) -> int:
        key = (taint.key or "", taint.value or "", taint.effect or "")
        found = self.taint_ids.get(key)
        if found is None:
            found = self.taint_ids[key] = len(self.taints)
            self.taints.append(taint)
        return found

    def _write_labels(self, row: int, old: Any, info: Any) -> None:
        if old is not None:
            for key in _labels(old):
                self.label_columns[key][row] = -1
        for key, value in _labels(info).items():
            self.label_columns.setdefault(key, _column(self.size, -1))[row] = self.value_id(
                key, value
            )

    def value_id(self, key: str, value: str) -> int:
        values = self.label_values.setdefault(key, {})
        found = values.get(value)
        if found is None:
            found = values[value] = len(values)
            self.label_names.setdefault(key, []).append(value)
        return found

    def _write_images(self, row: int, old: Any, info: Any) -> None:
        if old is not None:
            for image in old.image_states:
                self.image_rows.get(image, {}).pop(row, None)
        for image, size in info.image_states.items():
            self.image_rows.setdefault(image, {})[row] = size

    def add_pod_columns(
        self, row: int, requests: dict[str, int], non_zero: dict[str, int], sign: int = 1
    ) -> None:
        """Bind (sign 1) or unbind (-1) a pod with these effective and non-zero requests
        on ``row`` by adjusting its columns alone, without a NodeInfo: the core's own
        incremental update, for callers that keep only the table (``kubeprop bench``'s
        core measurement). A later ``sync`` rewrites the row from its NodeInfo."""
        for name, value in requests.items():
            self.requested[self.resource_column(name)][row] += sign * value
        self.non_zero_cpu[row] += sign * non_zero.get(resources.CPU, 0)
        self.non_zero_memory[row] += sign * non_zero.get(resources.MEMORY, 0)
        self.pod_count[row] += sign
        self._logged(row)

    def _logged(self, row: int) -> None:
        log = self.log
        if len(log) >= 4 * len(self.infos) + 64:
            log.clear()
            self.log_epoch += 1
        log.append(row)

    # -- per-pod lookups -----------------------------------------------------------------

    def label_column(self, key: str) -> array:
        """The value ids of label ``key`` per row (-1: no such label); for
        ``metadata.name``, the row numbers (a node's name is its own value)."""
        if key == NAME_FIELD:
            return array("q", range(self.size))
        column = self.label_columns.get(key)
        return column if column is not None else _column(self.size, -1)

    def allowed(self, key: str, matches: Callable[[dict[str, str]], bool], cache_key: Any):
        """(flags per value id of label ``key``: does ``matches({key: value})`` hold;
        whether ``matches({})`` holds, for nodes without the label)."""
        names = (
            [info.name for info in self.infos]
            if key == NAME_FIELD
            else self.label_names.get(key, [])
        )
        memo = (cache_key, key, len(names))
        found = self.allowed_cache.get(memo)
        if found is None:
            flags = bytearray(1 if matches({key: value}) else 0 for value in names)
            found = (flags, 1 if matches({}) else 0)
            if len(self.allowed_cache) > 4096:
                self.allowed_cache.clear()
            self.allowed_cache[memo] = found
        return found


def _labels(info: Any) -> dict[str, str]:
    metadata = info.node.metadata
    return (metadata.labels if metadata is not None else None) or {}
