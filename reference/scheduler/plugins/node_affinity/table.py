"""NodeAffinity over a node table: label requirements evaluated per distinct label value.

Contract: a requirement is decided once per distinct value of its label key
(with the requirement's own ``matches``) and looked up per row; a term holds
where all its requirements do; the rejected rows and the summed weights of the
preferred terms are exactly the per-node plugin's.
"""

from __future__ import annotations

from kubeprop.reference.scheduler import core
from kubeprop.reference.scheduler.core.table import NAME_FIELD
from kubeprop.reference.scheduler.plugins.node_affinity import NodeAffinity, _node_affinity
from kubeprop.spec.api.selectors import NodeSelectorRequirement


def _ones(n: int) -> bytearray:
    return bytearray(b"\x01") * n


def _require(table, requirement, acc: bytearray, field: bool = False) -> None:
    """acc &= where ``requirement`` holds (a label requirement, or a field one)."""
    key = requirement.key or ""
    if field and key != NAME_FIELD:
        if not requirement.matches({}):
            acc[:] = bytes(len(acc))
        return
    allowed, absent = table.allowed(key, requirement.matches, requirement)
    table.kernels.and_lookup(table.label_column(key), allowed, absent, acc)


def term_rows(table, term) -> bytearray:
    """Where a NodeSelectorTerm holds (an empty term holds nowhere)."""
    acc = _ones(table.size)
    if not term.match_expressions and not term.match_fields:
        return bytearray(table.size)
    for requirement in term.match_expressions:
        _require(table, requirement, acc)
    for requirement in term.match_fields:
        _require(table, requirement, acc, field=True)
    return acc


def selector_rows(table, selector) -> bytearray:
    """Where a NodeSelector (terms ORed) holds."""
    acc = bytearray(table.size)
    for term in selector.node_selector_terms:
        table.kernels.or_into(term_rows(table, term), acc)
    return acc


def required_rows(table, pod) -> bytearray:
    """Where the pod's nodeSelector and required node affinity both hold."""
    acc = _ones(table.size)
    for key, value in (pod.spec.node_selector if pod.spec else {}).items():
        _require(table, NodeSelectorRequirement(key=key, operator="In", values=(value,)), acc)
    affinity = _node_affinity(pod)
    required = affinity.required_during_scheduling_ignored_during_execution if affinity else None
    if required is not None:
        table.kernels.and_into(selector_rows(table, required), acc)
    return acc


def filter_rows(plugin, state, pod, table):
    acc = required_rows(table, pod)
    keys = table.kernels.zeros(table.size)
    table.kernels.keys_where_unset(acc, 1, keys)
    return keys


def score_rows(plugin, state, pod, table, rows):
    out = table.kernels.zeros(len(rows))
    for term in state.read("PreScore" + plugin.name):
        table.kernels.add_where(rows, term_rows(table, term.preference), term.weight, out)
    return out


def normalize_rows(plugin, state, pod, table, raw):
    out = table.kernels.zeros(len(raw))
    table.kernels.normalize(raw, 0, out)
    return out


core.register(NodeAffinity, filter=filter_rows, score=score_rows, normalize=normalize_rows)
