"""Selectors: set-based label selectors, node selectors, and the selector strings."""

from __future__ import annotations

import pytest

from kubeprop.spec.api.io import structure
from kubeprop.spec.api.selectors import (
    LabelSelector,
    NodeSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
    validate_label_selector,
)


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a in (x,y)", {"a": "y"}, True),
        ("a notin (x)", {}, True),
        ("a notin (x)", {"a": "x"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": "1"}, False),
        ("a>5", {"a": "10"}, True),
        ("a<5", {"a": "x"}, False),
        ("a=b,c!=d,e in (x,y),f notin (z),g,!h", {"a": "b", "e": "x", "g": "1"}, True),
        ("", {"anything": "x"}, True),
    ],
)
def test_a_selector_string_selects_as_kubernetes_does(text, labels, matches):
    assert parse_label_selector(text).matches(labels) is matches


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a in", "found end of string, expected: '('"),
        ("=b", "found '=', expected: identifier"),
        ("a b", "found 'b', expected: '=', '!=', '==', 'in', notin'"),
        ("a in ()", "for 'in', 'notin' operators, values set can't be empty"),
        ("a,", "found end of string, expected: identifier"),
    ],
)
def test_a_malformed_selector_string_says_what_was_found_and_expected(text, message):
    with pytest.raises(SelectorError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_label_selector(text)


def test_a_field_selector_string_supports_equals_double_equals_and_not_equals():
    sel = parse_field_selector("metadata.name==x,spec.nodeName!=y,status.phase=Running")
    assert sel.matches({"metadata.name": "x", "spec.nodeName": "z", "status.phase": "Running"})
    assert not sel.matches({"metadata.name": "x", "spec.nodeName": "y", "status.phase": "Running"})
    with pytest.raises(SelectorError):
        parse_field_selector("metadata.name")


def test_in_without_values_and_exists_with_values_are_invalid():
    sel = structure(
        {
            "matchExpressions": [
                {"key": "a", "operator": "In"},
                {"key": "b", "operator": "Exists", "values": ["x"]},
                {"key": "c", "operator": "Maybe"},
            ]
        },
        LabelSelector,
    )
    assert [str(e) for e in validate_label_selector(sel, "spec.selector")] == [
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
        "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        'spec.selector.matchExpressions[2].operator: Invalid value: "Maybe": not a valid selector operator',
    ]


def test_node_selector_terms_are_ored_and_an_empty_term_matches_nothing():
    sel = structure(
        {
            "nodeSelectorTerms": [
                {},
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
            ]
        },
        NodeSelector,
    )
    assert sel.matches({"zone": "a"}, "n2")
    assert sel.matches({}, "n1")
    assert not sel.matches({"zone": "b"}, "n2")
    assert not structure({"nodeSelectorTerms": [{}]}, NodeSelector).matches({}, "n")
