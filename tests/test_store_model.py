"""The store's sequential model never mutates its input and every store invariant is wired up."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from kubeprop.conformance.models import store as model
from kubeprop.conformance.strategies import store as strategies
from kubeprop.spec import etcd, invariants

SUITES = Path(__file__).resolve().parent.parent / "conformance" / "suites"

ops = st.one_of(
    st.builds(etcd.PutRequest, key=strategies.keys, value=strategies.values),
    strategies.ranges().map(lambda r: etcd.DeleteRangeRequest(*r, prev_kv=True)),
    st.builds(model.Compact, revision=st.integers(0, 6)),
    st.builds(model.LeaseGrant, ttl=strategies.lease_ttls),
    st.builds(model.Advance, seconds=strategies.advances),
    st.builds(
        model.Txn,
        compare=st.lists(strategies.compares(), max_size=2).map(tuple),
        success=strategies.txn_branches(),
    ),
)


@given(history=st.lists(ops, max_size=12))
def test_a_model_step_never_changes_the_state_it_was_given(history):
    state = model.init()
    for op in history:
        frozen = (
            state.snapshots,
            state.changes,
            dict(state.leases),
            state.compact_revision,
            state.clock,
        )
        _, after = model.step(state, op)
        assert (
            state.snapshots,
            state.changes,
            dict(state.leases),
            state.compact_revision,
            state.clock,
        ) == frozen
        assert after.revision >= state.revision
        state = after


def test_every_store_invariant_is_checked_by_a_suite():
    source = "\n".join(path.read_text() for path in SUITES.glob("test_store*.py"))
    for entry in invariants.catalogue("store"):
        assert re.search(r'check\(\s*"' + entry.id + '"', source), f"{entry.id} is never checked"


def test_every_store_invariant_is_stated_in_the_chapter():
    chapter = (Path(__file__).resolve().parent.parent / "spec" / "store.md").read_text()
    for entry in invariants.catalogue("store"):
        assert f"`{entry.id}`" in chapter, f"{entry.id} is not in spec/store.md"


def test_the_store_catalogue_is_complete():
    entries = invariants.catalogue("store")
    assert len(entries) >= 18
    assert all(entry.source.startswith("https://") for entry in entries)
