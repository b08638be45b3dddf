"""The object-model suite: every OBJECTS-* invariant evaluated over generated input.

Properties run under the loaded Hypothesis profile (``--kubeprop-profile``).
The object model is the spec's own (kubeprop.spec.api); it does not depend on
the SUT, so these checks run for every ``--sut``.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kubeprop.conformance.report import check
from kubeprop.conformance.strategies import objects as gen
from kubeprop.spec.api import default, dump, load, validate
from kubeprop.spec.api.errors import ManifestError
from kubeprop.spec.api.io import load_documents, structure
from kubeprop.spec.api.quantity import Quantity
from kubeprop.spec.api.selectors import LabelSelector, NodeSelector, parse_label_selector

NAME_RULE = {"Namespace": "label", "Service": "dns1035"}


def _load_collect(manifest):
    try:
        return load(manifest), []
    except ManifestError as error:
        return None, error.errors


@given(gen.any_manifest())
def test_a_canonical_manifest_round_trips_through_load_and_dump(manifest):
    obj = load(manifest)
    dumped = dump(obj)
    check("OBJECTS-ROUNDTRIP", manifest, obj, dumped, load(dumped))


@given(gen.quantity_strings())
def test_a_quantity_string_parses_to_its_exact_value_and_prints_canonically(text):
    try:
        quantity = Quantity.parse(text)
    except ValueError:
        return  # the suffix/format rules reject it; quantity_exact's oracle is for accepted text
    check("OBJECTS-QUANTITY-EXACT", text, quantity)
    canonical = str(quantity)
    check("OBJECTS-QUANTITY-CANONICAL", quantity, canonical, Quantity.parse(canonical).amount)


@given(gen.invalid_manifests())
def test_every_problem_of_a_broken_manifest_is_reported_with_its_path(case):
    manifest, expected = case
    raised = None
    try:
        load(manifest)
        errors = []
    except ManifestError as error:
        raised, errors = error, error.errors
    check("OBJECTS-MALFORMED-INPUT-NO-CRASH", raised, ManifestError)
    messages = [str(e) for e in errors]
    check("OBJECTS-UNKNOWN-FIELD-REJECTED", expected["unknown"], None, messages)
    check("OBJECTS-ALL-ERRORS-REPORTED", expected["expected"], [e.field for e in errors])
    check("OBJECTS-ERROR-NAMES-FIELD", [(e.field, str(e)) for e in errors])


@given(gen.any_manifest(), st.data())
def test_validation_reports_every_broken_field_at_once(manifest, data):
    obj = default(load(manifest))
    # break the name and the labels at once: both must be reported
    bad = dict(manifest)
    bad["metadata"] = {**manifest["metadata"], "name": "Bad_Name", "labels": {"-bad": "x"}}
    errors = validate(default(load(bad)))
    check(
        "OBJECTS-ALL-ERRORS-REPORTED",
        ["metadata.name", "metadata.labels"],
        [e.field for e in errors],
    )
    check("OBJECTS-ERROR-NAMES-FIELD", [(e.field, str(e)) for e in errors + validate(obj)])


@given(gen.any_manifest())
def test_a_defaulted_manifest_is_valid_and_defaulting_is_idempotent(manifest):
    once = default(load(manifest))
    twice = default(once)
    check("OBJECTS-DEFAULTING-IDEMPOTENT", dump(once), dump(twice))
    check("OBJECTS-DEFAULTING-PRESERVES-SET-FIELDS", manifest, dump(once))
    check("OBJECTS-VALID-AFTER-DEFAULTING", manifest["kind"], [str(e) for e in validate(once)])


@given(gen.label_selectors(), gen.labels())
def test_a_label_selector_matches_exactly_the_label_sets_it_describes(selector, labels):
    typed = structure(selector, LabelSelector)
    check("OBJECTS-LABEL-SELECTOR-SEMANTICS", selector, labels, typed.matches(labels))


@given(gen.node_selectors(), gen.labels(), st.sampled_from(["node-a", "node-b"]))
def test_a_node_selector_ors_its_terms_and_ands_their_requirements(selector, labels, node_name):
    typed = structure(selector, NodeSelector)
    check(
        "OBJECTS-NODE-SELECTOR-SEMANTICS",
        selector,
        labels,
        node_name,
        typed.matches(labels, node_name),
    )


@given(
    st.sampled_from(sorted(gen.MANIFESTS)),
    st.one_of(
        gen.dns_labels,
        st.text("abcXYZ09-._", min_size=1, max_size=12),
        st.just("a" * 64),
        st.just("x." * 127),
    ),
    st.data(),
)
def test_a_name_is_accepted_exactly_when_it_fits_its_kinds_rule(kind, name, data):
    manifest = data.draw(gen.manifests(kind))
    manifest = {**manifest, "metadata": {**manifest["metadata"], "name": name}}
    errors = validate(default(load(manifest)))
    name_errors = [str(e) for e in errors if e.field == "metadata.name"]
    check("OBJECTS-NAME-SYNTAX", NAME_RULE.get(kind, "subdomain"), name, name_errors)


requirement_texts = st.one_of(
    st.builds(
        lambda k, v: f"{k}={v}", st.sampled_from(gen.LABEL_KEYS), st.sampled_from(gen.LABEL_VALUES)
    ),
    st.builds(
        lambda k, v: f"{k}!={v}", st.sampled_from(gen.LABEL_KEYS), st.sampled_from(gen.LABEL_VALUES)
    ),
    st.builds(
        lambda k, vs: f"{k} in ({','.join(vs)})",
        st.sampled_from(gen.LABEL_KEYS),
        st.lists(st.sampled_from(gen.LABEL_VALUES), min_size=1, max_size=3),
    ),
    st.builds(
        lambda k, vs: f"{k} notin ({','.join(vs)})",
        st.sampled_from(gen.LABEL_KEYS),
        st.lists(st.sampled_from(gen.LABEL_VALUES), min_size=1, max_size=3),
    ),
    st.sampled_from(gen.LABEL_KEYS),
    st.sampled_from(gen.LABEL_KEYS).map(lambda k: "!" + k),
)


@given(
    st.lists(requirement_texts, max_size=4).map(",".join),
    st.lists(gen.labels(), min_size=1, max_size=5),
)
def test_a_selector_string_and_its_printed_form_select_the_same_labels(text, label_sets):
    parsed = parse_label_selector(text)
    printed = str(parsed)
    reparsed = parse_label_selector(printed)
    samples = [(labels, parsed.matches(labels), reparsed.matches(labels)) for labels in label_sets]
    check("OBJECTS-SELECTOR-STRING-ROUNDTRIP", text, printed, samples)


@given(
    st.one_of(
        st.text(max_size=60),
        gen.any_manifest().map(lambda m: __import__("yaml").safe_dump(m)[:-3] + ": ["),
    )
)
def test_malformed_text_gives_a_manifest_error_never_a_traceback(text):
    raised = None
    try:
        load_documents(text, "input.yaml")
    except Exception as error:  # noqa: BLE001 - the invariant judges what was raised
        raised = error
    check("OBJECTS-MALFORMED-INPUT-NO-CRASH", raised, ManifestError)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(
                st.sampled_from(["apiVersion", "kind", "metadata", "spec", "name", "containers"]),
                c,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_any_json_value_gives_an_object_or_a_manifest_error(value):
    raised = None
    try:
        load(
            {"apiVersion": "v1", "kind": "Pod", "spec": value} if isinstance(value, dict) else value
        )
    except Exception as error:  # noqa: BLE001 - the invariant judges what was raised
        raised = error
    check("OBJECTS-MALFORMED-INPUT-NO-CRASH", raised, ManifestError)
