"""Incremental fused cycles: per-row results kept between pods of one template.

Contract: ``Incremental.of(table, filter_args, score_args)`` holds, for one pod
template (the arguments ``plugins.fused`` prepares for ``fused_filter`` and
``fused_score``), every row's feasibility, its weighted NodeResourcesFit and
BalancedAllocation score, its raw PreferNoSchedule taint count and raw
preferred-affinity sum. ``choose(start, limit, rng)`` first re-evaluates the
rows written since the last call (the table's change log), then picks the
node exactly as the fused cycle would for a pod of that template: the same
feasible rows from ``start``, the same totals, the same seeded tie-break, the
single feasible row without a draw. Between pods of one template only the bound
row changes, so a cycle costs one pass over the rows' totals instead of
recomputing every score. It is valid only while the table keeps its generation
and taint ids, and only for templates without required or preferred node
affinity (whose per-row flags were taken when it was made): ``applies`` says so.
``extra`` scorers (plugin, table score, weight: scores needing no normalisation,
such as ImageLocality's) are added to a re-evaluated row's partial score.
"""

from __future__ import annotations

from array import array
from typing import Any

import attrs


def applies(table: Any, filter_args: tuple, score_args: tuple) -> bool:
    """Whether an Incremental can serve these arguments (no node-affinity flags)."""
    return len(filter_args[6]) == 0 and len(score_args[16]) == 0


@attrs.define(eq=False)
class Incremental:
    table: Any
    filter_args: tuple
    score_args: tuple
    generation: int  # the table's generation it was made for
    taints: int  # the table's taint ids it was made for (the flags cover them)
    taint_rows: Any  # the table's taint id rows it was made for
    feasible: bytearray
    partial: Any
    taint_raw: Any
    aff_raw: Any
    extra: tuple = ()  # (plugin, score(plugin, state, pod, table, rows), weight)
    state: Any = None  # the cycle state and pod the extra scorers read
    pod: Any = None
    plan: Any = None  # the kernels' FusedPlan of filter_args and score_args
    # where in the table's change log it last read (epoch, position)
    read_to: tuple[int, int] = (-1, 0)
    # the rows whose raw taint count or affinity sum is not 0 (none: every row's
    # normalised part is the same, and one pass picks the node)
    marked: set = attrs.Factory(set)

    @classmethod
    def of(
        cls,
        table: Any,
        filter_args: tuple,
        score_args: tuple,
        extra: tuple = (),
        state: Any = None,
        pod: Any = None,
    ) -> Incremental:
        if not applies(table, filter_args, score_args):
            raise ValueError("templates with node affinity are not served incrementally")
        k, n = table.kernels, table.size
        return cls(
            table,
            filter_args,
            score_args,
            table.generation,
            len(table.taints),
            table.taint_rows,
            bytearray(n),
            k.zeros(n),
            k.zeros(n),
            k.zeros(n),
            tuple(extra),
            state,
            pod,
        )

    def _changed(self) -> list[int]:
        """The rows written since the last call (every row the first time, or when the
        table's log was cleared meanwhile), each once."""
        table = self.table
        epoch, position = self.read_to
        self.read_to = (table.log_epoch, len(table.log))
        if epoch != table.log_epoch:
            return list(range(table.size))
        return sorted(set(table.log[position:]))

    def valid(self) -> bool:
        table = self.table
        return (
            table.generation == self.generation
            and len(table.taints) == self.taints
            and table.taint_rows is self.taint_rows
        )

    def choose(self, start: int, limit: int, rng: Any) -> tuple[int, int, int]:
        """(the chosen row or -1, rows visited, feasible rows found)."""
        if not self.valid():
            raise ValueError("the table changed shape: make a new Incremental")
        k = self.table.kernels
        changed = self._changed()
        parts = (self.feasible, self.partial, self.taint_raw, self.aff_raw)
        if changed:
            if self.plan is None:
                self.plan = k.FusedPlan(self.filter_args, self.score_args)
            self.plan.eval(changed, *parts)
            rows = array("q", changed)
            for plugin, score, weight in self.extra:
                values = score(plugin, self.state, self.pod, self.table, rows)
                for j, row in enumerate(changed):
                    self.partial[row] += values[j] * weight
            for row in changed:
                if self.feasible[row] and (self.taint_raw[row] or self.aff_raw[row]):
                    self.marked.add(row)
                else:
                    self.marked.discard(row)
        if not self.marked:
            found, visited, first, top, tied = k.fused_pick_uniform(
                start, limit, self.feasible, self.partial
            )
            if found <= 1:
                return (first if found else -1), visited, found
            pick = rng.randrange(tied) if tied > 1 else 0
            row = k.fused_nth_uniform(start, visited, self.feasible, self.partial, top, pick)
            return self._checked(row), visited, found
        found, visited, first, top, tied, taint_max, aff_max = k.fused_pick(
            start, limit, self.score_args, *parts
        )
        if found <= 1:
            return (first if found else -1), visited, found
        pick = rng.randrange(tied) if tied > 1 else 0
        row = k.fused_nth(start, visited, self.score_args, *parts, taint_max, aff_max, top, pick)
        return self._checked(row), visited, found

    @staticmethod
    def _checked(row: int) -> int:
        if row < 0:  # the counts and the walk disagree: a broken kernel, never a choice
            raise RuntimeError("the tie walk found no row with the highest total")
        return row
