"""Quantities: upstream's table tests (apimachinery resource/quantity_test.go) and properties."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.spec.api.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    ERR_FORMAT_WRONG,
    ERR_SUFFIX,
    Quantity,
)

# (input, exact value, format) from TestQuantityParse
PARSE = [
    ("0", 0, DECIMAL_SI),
    ("0Ki", 0, BINARY_SI),
    ("1", 1, DECIMAL_SI),
    ("1Ki", 1024, BINARY_SI),
    ("8Ki", 8 * 1024, BINARY_SI),
    ("7Mi", 7 * 1024**2, BINARY_SI),
    ("6Gi", 6 * 1024**3, BINARY_SI),
    ("5Ti", 5 * 1024**4, BINARY_SI),
    ("4Pi", 4 * 1024**5, BINARY_SI),
    ("3Ei", 3 * 1024**6, BINARY_SI),
    ("5n", Fraction(5, 10**9), DECIMAL_SI),
    ("4u", Fraction(4, 10**6), DECIMAL_SI),
    ("3m", Fraction(3, 1000), DECIMAL_SI),
    ("50k", 50000, DECIMAL_SI),
    ("1E", 10**18, DECIMAL_SI),
    ("1E-3", Fraction(1, 1000), DECIMAL_EXPONENT),
    ("1e3", 1000, DECIMAL_EXPONENT),
    ("1E18", 10**18, DECIMAL_EXPONENT),
    ("100.035k", 100035, DECIMAL_SI),
    ("0.0005k", Fraction(1, 2), DECIMAL_SI),
    ("0.5e-2", Fraction(5, 1000), DECIMAL_EXPONENT),
    ("1.3E+6", 1300000, DECIMAL_EXPONENT),
    ("1.01E", 101 * 10**16, DECIMAL_SI),
    ("3.001n", Fraction(4, 10**9), DECIMAL_SI),
    ("1.1E-9", Fraction(2, 10**9), DECIMAL_EXPONENT),
    ("0.0000000001", Fraction(1, 10**9), DECIMAL_SI),
    ("0.5e-9", Fraction(1, 10**9), DECIMAL_EXPONENT),
    ("0.00000012345", Fraction(124, 10**9), DECIMAL_SI),
    ("9Ei", 2**63 - 1, BINARY_SI),
    ("9223372036854775807Ki", 2**63 - 1, BINARY_SI),
    ("100.035Ki", Fraction(10243584, 100), BINARY_SI),
    ("0.5Mi", 512 * 1024, BINARY_SI),
    ("0.000000000001Ki", Fraction(2, 10**9), DECIMAL_SI),
    (".001", Fraction(1, 1000), DECIMAL_SI),
    ("1.", 1, DECIMAL_SI),
    ("1.G", 10**9, DECIMAL_SI),
    ("-1.5", Fraction(-3, 2), DECIMAL_SI),
    ("+1", 1, DECIMAL_SI),
]

# (input, canonical) from TestQuantityString / TestQuantityParseEmit and the brief
CANONICAL = [
    ("1.5", "1500m"),
    ("0.5Gi", "512Mi"),
    ("1.5Gi", "1536Mi"),
    ("1000", "1k"),
    ("2e3", "2e3"),
    ("1200000", "1200k"),
    ("0.1", "100m"),
    ("100Mi", "100Mi"),
    ("1024Mi", "1Gi"),
    ("1000M", "1G"),
    ("300Mi", "300Mi"),
    ("307200Ki", "300Mi"),
    ("1025024Mi", "1001Gi"),
    ("1024Gi", "1Ti"),
    ("1.08", "1080m"),
    ("1080000000n", "1080m"),
    ("0.001T", "1G"),
    ("1000u", "1m"),
    ("1000E", "1e21"),
    ("5000E", "5e21"),
    (".001e12", "1e9"),
    ("0.001e0", "1e-3"),
    ("1000e-12", "1e-9"),
    ("00", "0"),
    (".001Ki", "1024m"),
    (".000001Ki", "1024u"),
    (".000000001Ki", "1024n"),
    (".000000000001Ki", "2n"),
    ("0.5Ki", "512"),
    ("1.5Ki", "1536"),
    ("9Ei", "9223372036854775807"),
    ("-1Ki", "-1Ki"),
    ("-9.01", "-9010m"),
    ("1e0", "1"),
]

INVALID = [
    ("1.1.M", ERR_FORMAT_WRONG),
    ("1+1.0M", ERR_FORMAT_WRONG),
    ("0.1mi", ERR_SUFFIX),
    ("0.1am", ERR_FORMAT_WRONG),
    ("aoeu", ERR_FORMAT_WRONG),
    (".5i", ERR_SUFFIX),
    ("1i", ERR_SUFFIX),
    ("-3.01i", ERR_SUFFIX),
    ("-3.01e-", ERR_SUFFIX),
    (" 1", ERR_FORMAT_WRONG),
    ("1 ", ERR_FORMAT_WRONG),
    ("", ERR_FORMAT_WRONG),
]


@pytest.mark.parametrize(("text", "value", "fmt"), PARSE)
def test_a_quantity_string_parses_to_upstreams_exact_value_and_format(text, value, fmt):
    q = Quantity.parse(text)
    assert q.amount == value and isinstance(q.amount, Fraction)
    assert q.format is fmt


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_a_quantity_prints_upstreams_canonical_string(text, canonical):
    assert str(Quantity.parse(text)) == canonical
    assert str(Quantity.parse(canonical)) == canonical


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_an_invalid_quantity_string_raises_upstreams_message(text, message):
    with pytest.raises(ValueError) as error:
        Quantity.parse(text)
    assert str(error.value) == message


def test_the_format_error_quotes_upstreams_regular_expression():
    assert ERR_FORMAT_WRONG == (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


def test_value_and_milli_value_round_away_from_zero_like_go():
    assert Quantity.parse("9.01").value() == 10
    assert Quantity.parse("-9.01").value() == -10
    assert Quantity.parse("1n").milli_value() == 1
    assert Quantity.parse("100m").milli_value() == 100
    assert Quantity.parse("1Gi").value() == 2**30


def test_comparison_uses_the_value_not_the_spelling():
    assert Quantity.parse("1Gi") == Quantity.parse("1024Mi")
    assert Quantity.parse("10000T") > Quantity.parse("100Gi")
    assert Quantity.parse("50m") < Quantity.parse("100m")
    assert Quantity.parse("0").cmp(Quantity.parse("0")) == 0


@pytest.mark.parametrize("text", ["100m", "1Gi"])
def test_adding_or_subtracting_zero_keeps_the_suffix(text):
    zero, q = Quantity.parse("0"), Quantity.parse(text)
    assert str(q + zero) == text and str(zero + q) == text
    assert str(q - zero) == text and str(zero - q) == "-" + text


def test_ints_build_decimal_quantities_as_new_quantity_does():
    assert str(Quantity(1000)) == "1k"
    assert str(Quantity(1234000)) == "1234k"
    assert str(Quantity(1024, BINARY_SI)) == "1Ki"
    assert str(Quantity(1024 * 1024, BINARY_SI)) == "1Mi"
    assert str(Quantity(10**6, DECIMAL_EXPONENT)) == "1e6"


@given(st.integers(-(10**15), 10**15), st.sampled_from([DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT]))
def test_a_canonical_string_parses_back_to_the_same_value(nanos, fmt):
    q = Quantity(Fraction(nanos, 10**9), fmt)
    again = Quantity.parse(str(q))
    assert again == q
    # A BinarySI amount that is no multiple of 1024 prints without a suffix and so
    # reads back as DecimalSI ("125000" -> "125k"), as in Kubernetes; after that
    # one step the string is stable.
    assert str(Quantity.parse(str(again))) == str(again)


def test_a_binary_amount_without_a_binary_suffix_reads_back_as_decimal():
    printed = str(Quantity(125000, BINARY_SI))
    assert printed == "125000"
    assert str(Quantity.parse(printed)) == "125k"
