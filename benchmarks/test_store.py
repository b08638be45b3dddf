"""Benchmarks of the reference store: puts per second, a prefix range, watch delivery.

Run with ``python -m pytest benchmarks/test_store.py``; pytest-benchmark reports
the timings (and ``keyrange.IMPLEMENTATION`` says which key-range core ran).
Nothing here asserts a time.
"""

from __future__ import annotations

import pytest

from kubeprop.reference.store import Store, keyrange
from kubeprop.spec import etcd

KEYS = [f"/registry/pods/default/pod-{i:05d}".encode() for i in range(2000)]


@pytest.fixture
def full_store() -> Store:
    store = Store()
    for key in KEYS:
        store.put(key, b"{}")
    return store


def test_puts(benchmark):
    def puts():
        store = Store()
        for key in KEYS[:500]:
            store.put(key, b"{}")
        return store

    benchmark.extra_info["keyrange"] = keyrange.IMPLEMENTATION
    store = benchmark(puts)
    assert store.revision == 501


def test_a_prefix_range_with_a_limit(benchmark, full_store):
    prefix = b"/registry/pods/default/pod-01"
    response = benchmark(full_store.range, prefix, etcd.prefix_end(prefix), limit=50)
    assert (len(response.kvs), response.count) == (50, 1000)


def test_a_range_at_a_past_revision(benchmark, full_store):
    prefix = b"/registry/pods/"
    response = benchmark(full_store.range, prefix, etcd.prefix_end(prefix), revision=1001)
    assert response.count == 1000


def test_watch_delivery_to_ten_watchers(benchmark):
    def deliver():
        store = Store()
        watchers = [store.watch(b"/registry/pods/", b"/registry/pods0") for _ in range(10)]
        for key in KEYS[:200]:
            store.put(key, b"{}")
        return sum(len(w.poll()) for w in watchers)

    assert benchmark(deliver) == 2000
