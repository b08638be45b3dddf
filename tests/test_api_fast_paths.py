"""The fast paths of the object model answer exactly what the generic ones did.

``copy_manifest`` against ``copy.deepcopy``; ``FrozenMap``'s own read methods
against a dict's; a watch without selectors against one with a selector that
matches everything.
"""

from __future__ import annotations

import copy
import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from kubeprop.reference.apiserver import ApiServer
from kubeprop.spec.api.base import FrozenMap
from kubeprop.spec.api.io import copy_manifest

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _containers(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _containers(item)
    elif isinstance(value, list):
        yield value
        for item in value:
            yield from _containers(item)


@settings(max_examples=60)
@given(JSON)
def test_a_copied_manifest_equals_a_deep_copy_and_shares_no_dict_or_list(value):
    copied = copy_manifest(value)
    assert copied == copy.deepcopy(value)
    originals = {id(c) for c in _containers(value)}
    assert not originals & {id(c) for c in _containers(copied)}


def test_values_that_are_not_json_are_deep_copied():
    value = {"a": (1, [2]), "b": {3}}
    copied = copy_manifest(value)
    assert copied == value
    assert copied["a"][1] is not value["a"][1]


@settings(max_examples=60)
@given(st.dictionaries(st.text(max_size=3), st.integers(), max_size=5), st.text(max_size=3))
def test_a_frozen_map_reads_like_the_dict_it_was_built_from(items, key):
    frozen = FrozenMap(items)
    assert frozen.get(key) == items.get(key)
    assert frozen.get(key, "absent") == items.get(key, "absent")
    assert (key in frozen) == (key in items)
    assert list(frozen.items()) == list(items.items())
    assert list(frozen.keys()) == list(items.keys())
    assert list(frozen.values()) == list(items.values())
    assert frozen == items and frozen == FrozenMap(frozen)
    for again in (copy.copy(frozen), copy.deepcopy(frozen), pickle.loads(pickle.dumps(frozen))):
        assert again == frozen and again.get(key) == items.get(key)
        assert hash(again) == hash(frozen)


def _events(server: ApiServer, **params) -> list[tuple[str, dict]]:
    answer = server.watch("pods", "default", resourceVersion="1", **params)
    return [(e["type"], e["object"]) for e in answer.watch.poll()]


def test_a_watch_without_selectors_sees_what_a_match_everything_selector_sees():
    server = ApiServer()
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    server.create("pods", pod, namespace="default")
    server.patch("pods", "web", {"metadata": {"labels": {"tier": "1"}}}, namespace="default")
    server.delete("pods", "web", namespace="default")
    plain = _events(server)
    selected = _events(server, labelSelector="app=web")
    assert [kind for kind, _ in plain] == ["ADDED", "MODIFIED", "DELETED"]
    assert plain == selected
    assert plain[0][1] is not selected[0][1]  # each stream's objects are its own
