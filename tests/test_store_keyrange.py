"""The compiled key-range core and its pure twin agree, and both follow etcd's range rules."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.reference.store import _keyrange_pure, keyrange

try:
    from kubeprop.reference.store import _keyrange as compiled
except ImportError:
    compiled = None

needs_compiled = pytest.mark.skipif(
    compiled is None, reason="the Cython core is not built (python setup.py build_ext --inplace)"
)
TWINS = [
    pytest.param(_keyrange_pure, id="python"),
    pytest.param(compiled, id="cython", marks=needs_compiled),
]

small_keys = st.binary(max_size=3, min_size=1)
range_ends = st.none() | st.just(b"\0") | st.binary(max_size=3)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize(
    "key, range_end, expected",
    [
        (b"b", None, [b"b"]),
        (b"bb", None, []),
        (b"b", b"\0", [b"b", b"b/1", b"c"]),
        (b"b", b"c", [b"b", b"b/1"]),
        (b"b/", b"b0", [b"b/1"]),
        (b"c", b"b", []),
        (b"0", b"a", []),
    ],
)
def test_a_range_selects_one_key_a_half_open_interval_or_every_key_from(
    twin, key, range_end, expected
):
    sorted_keys = [b"a", b"b", b"b/1", b"c"]
    lo, hi = twin.keys_in_range(sorted_keys, key, range_end)
    assert sorted_keys[lo:hi] == expected
    assert [k for k in sorted_keys if twin.in_range(k, key, range_end)] == expected


@needs_compiled
@given(keys=st.sets(small_keys).map(sorted), key=small_keys, range_end=range_ends, probe=small_keys)
def test_the_compiled_core_and_the_pure_twin_agree(keys, key, range_end, probe):
    assert compiled.keys_in_range(keys, key, range_end) == _keyrange_pure.keys_in_range(
        keys, key, range_end
    )
    assert compiled.in_range(probe, key, range_end) == _keyrange_pure.in_range(
        probe, key, range_end
    )


@given(keys=st.sets(small_keys).map(sorted), key=small_keys, range_end=range_ends)
def test_the_bounds_are_exactly_the_keys_in_range(keys, key, range_end):
    lo, hi = keyrange.keys_in_range(keys, key, range_end)
    assert keys[lo:hi] == [k for k in keys if keyrange.in_range(k, key, range_end)]


def test_the_implementation_in_use_is_named():
    forced_pure = os.environ.get("KUBEPROP_NO_EXTENSIONS") == "1"
    expected = "python" if forced_pure or compiled is None else "cython"
    assert expected == keyrange.IMPLEMENTATION
