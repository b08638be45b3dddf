"""The store's key-range core, compiled and pure, measured in one run.

The ratio of the two means is the number to read (``tox -e bench -- -k
keyrange``); nothing here asserts a time. The compiled side is skipped, with
the reason, when the extension is not built.
"""

from __future__ import annotations

import pytest

from kubeprop.reference.store import _keyrange_pure
from kubeprop.spec import etcd

try:
    from kubeprop.reference.store import _keyrange as _keyrange_compiled
except ImportError:  # a pure build
    _keyrange_compiled = None

KEYS = sorted(f"/registry/pods/ns-{i % 50:02d}/pod-{i:06d}".encode() for i in range(100_000))
PREFIXES = [f"/registry/pods/ns-{n:02d}/".encode() for n in range(50)]

TWINS = {
    "pure": _keyrange_pure,
    "cython": _keyrange_compiled,
}


@pytest.mark.parametrize("twin", sorted(TWINS))
def test_fifty_prefix_ranges_over_a_hundred_thousand_keys(benchmark, twin):
    module = TWINS[twin]
    if module is None:
        pytest.skip("the compiled key-range core is not built (pure build)")

    def ranges():
        return [module.keys_in_range(KEYS, p, etcd.prefix_end(p)) for p in PREFIXES]

    bounds = benchmark(ranges)
    assert sum(hi - lo for lo, hi in bounds) == len(KEYS)


@pytest.mark.parametrize("twin", sorted(TWINS))
def test_in_range_over_a_hundred_thousand_keys(benchmark, twin):
    module = TWINS[twin]
    if module is None:
        pytest.skip("the compiled key-range core is not built (pure build)")
    prefix = PREFIXES[7]
    end = etcd.prefix_end(prefix)

    def scan():
        return sum(1 for key in KEYS if module.in_range(key, prefix, end))

    assert benchmark(scan) == 2000
