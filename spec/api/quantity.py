"""Resource quantities (``100m``, ``1Gi``, ``2e3``): exact values with Kubernetes' canonical form.

Contract (apimachinery ``resource.Quantity``, https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/):
- A quantity is an exact rational (``fractions.Fraction``, never a float) and a
  format: DecimalSI (suffixes n u m "" k M G T P E), BinarySI (Ki Mi Gi Ti Pi Ei)
  or DecimalExponent (``e<n>``/``E<n>``), taken from the suffix it was written with.
- Parsing rounds the magnitude UP to a multiple of 1n (so a tiny request is never
  zero); a BinarySI magnitude above 2^63-1 is capped there; a BinarySI value
  strictly between 0 and 1 becomes DecimalSI.
- ``str()`` is the canonical form: "0" for zero; BinarySI when the value is an
  integer with magnitude >= 1024, the largest power-of-1024 suffix that keeps an
  integer mantissa; otherwise the mantissa of ``m * 10^e`` with ``e`` a multiple of
  3, with the DecimalSI suffix of ``e`` (exponent notation past ``E``) or ``e<n>``
  for DecimalExponent.
- Equality, ordering and hashing use the value only (``1Gi == 1024Mi``), as
  ``Quantity.Cmp``. ``+``/``-`` keep the left operand's format unless it is zero.
  ``value()`` and ``milli_value()`` round away from zero like Go's Value/MilliValue.
- A string that is not a quantity raises ``ValueError`` with upstream's message.
- Exponents beyond +-10000 are refused (``unable to parse numeric part of
  quantity``); upstream would accept them into an unbounded big number.
"""

from __future__ import annotations

import enum
import math
from fractions import Fraction
from typing import Any

import attrs


class Format(enum.Enum):
    DECIMAL_SI = "DecimalSI"
    BINARY_SI = "BinarySI"
    DECIMAL_EXPONENT = "DecimalExponent"


DECIMAL_SI = Format.DECIMAL_SI
BINARY_SI = Format.BINARY_SI
DECIMAL_EXPONENT = Format.DECIMAL_EXPONENT

SPLIT_RE = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
ERR_FORMAT_WRONG = f"quantities must match the regular expression '{SPLIT_RE}'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

NANO = Fraction(1, 10**9)
MAX_ALLOWED = 2**63 - 1  # BinarySI parse cap (math.MaxInt64)
MAX_EXPONENT = 10000

DECIMAL_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {e: s for s, e in DECIMAL_SUFFIXES.items()}
_BINARY_BY_POWER = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_SUFFIX_CHARS = set("eEinumkKMGTP")
_DIGITS = set("0123456789")


def _split(text: str) -> tuple[bool, str, str, str]:
    """(positive, numerator digits, denominator digits, suffix) as parseQuantityString."""
    positive = True
    pos, end = 0, len(text)
    if pos < end and text[0] in "+-":
        positive = text[0] == "+"
        pos += 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise ValueError(ERR_FORMAT_WRONG)
    return positive, num, denom, text[suffix_start:end]


def _interpret(suffix: str) -> tuple[int, int, Format]:
    """(base, exponent, format) of a suffix, as the suffixer's interpret."""
    if suffix in DECIMAL_SUFFIXES:
        return 10, DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in BINARY_SUFFIXES:
        return 2, BINARY_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[0] in "+-" else digits
        if body and all(c in _DIGITS for c in body):
            exponent = int(digits)
            if not -(2**31) <= exponent < 2**31:
                raise ValueError(ERR_SUFFIX)
            return 10, exponent, DECIMAL_EXPONENT
    raise ValueError(ERR_SUFFIX)


def _round_up_nano(value: Fraction) -> Fraction:
    """Round the magnitude up to a multiple of 1n (inf.RoundUp at scale 9)."""
    if (value / NANO).denominator == 1:
        return value
    magnitude = math.ceil(abs(value) / NANO) * NANO
    return magnitude if value > 0 else -magnitude


def _away_from_zero(value: Fraction) -> int:
    magnitude = math.ceil(abs(value))
    return magnitude if value >= 0 else -magnitude


def _to_fraction(value: Any) -> Fraction:
    if isinstance(value, bool):
        raise TypeError("a quantity is not a boolean")
    if isinstance(value, (int, Fraction)):
        return _round_up_nano(Fraction(value))
    raise TypeError(f"a quantity value must be an int or a Fraction, not {type(value).__name__}")


# quantity string -> the Quantity it parses to
_PARSED: dict[str, Quantity] = {}


@attrs.frozen(eq=False, order=False, repr=False)
class Quantity:
    """An exact resource quantity with the format it was written in."""

    amount: Fraction = attrs.field(converter=_to_fraction)  # the exact value
    format: Format = DECIMAL_SI

    @classmethod
    def parse(cls, text: str) -> Quantity:
        """Parse a Kubernetes quantity string; ValueError with upstream's message.
        Remembered per string (a Quantity never changes)."""
        if not isinstance(text, str) or not text:
            raise ValueError(ERR_FORMAT_WRONG)
        found = _PARSED.get(text)
        if found is None or type(found) is not cls:
            found = cls._parse(text)
            if len(_PARSED) >= 4096:
                _PARSED.clear()
            _PARSED[text] = found
        return found

    @classmethod
    def _parse(cls, text: str) -> Quantity:
        positive, num, denom, suffix = _split(text)
        base, exponent, fmt = _interpret(suffix)
        if abs(exponent) > MAX_EXPONENT:
            raise ValueError(ERR_NUMERIC)
        magnitude = Fraction(int(num + denom), 10 ** len(denom))
        if base == 10:
            magnitude *= Fraction(10) ** exponent
        else:
            magnitude *= 2**exponent
        magnitude = _round_up_nano(magnitude)
        if fmt is BINARY_SI and magnitude > MAX_ALLOWED:
            magnitude = Fraction(MAX_ALLOWED)
        if fmt is BINARY_SI and 0 < magnitude < 1:
            fmt = DECIMAL_SI
        return cls(magnitude if positive else -magnitude, fmt)

    # -- canonical form -------------------------------------------------------

    def canonical(self) -> str:
        """The canonical string, as Quantity.String()."""
        value = self.amount
        if value == 0:
            return "0"
        fmt = self.format
        if fmt is BINARY_SI and (-1024 < value < 1024 or value.denominator != 1):
            fmt = DECIMAL_SI
        sign = "-" if value < 0 else ""
        if fmt is BINARY_SI:
            mantissa, power = abs(value.numerator), 0
            while mantissa >= 1024 and mantissa % 1024 == 0 and power < 6:
                mantissa //= 1024
                power += 1
            return f"{sign}{mantissa}{_BINARY_BY_POWER[power]}"
        mantissa, exponent = _decimal_parts(abs(value))
        if fmt is DECIMAL_SI and exponent in _DECIMAL_BY_EXPONENT:
            suffix = _DECIMAL_BY_EXPONENT[exponent]
        else:
            suffix = f"e{exponent}" if exponent else ""
        return f"{sign}{mantissa}{suffix}"

    def __str__(self) -> str:
        return self.canonical()

    def __repr__(self) -> str:
        return f"Quantity({self.canonical()!r})"

    # -- numbers --------------------------------------------------------------

    def value(self) -> int:
        """The value rounded away from zero to an integer (Value)."""
        return _away_from_zero(self.amount)

    def milli_value(self) -> int:
        """The value in thousandths, rounded away from zero (MilliValue)."""
        return _away_from_zero(self.amount * 1000)

    def scaled_value(self, exponent: int) -> int:
        """The value in units of 10^exponent, rounded away from zero (ScaledValue)."""
        return _away_from_zero(self.amount / Fraction(10) ** exponent)

    def is_zero(self) -> bool:
        return self.amount == 0

    def sign(self) -> int:
        return (self.amount > 0) - (self.amount < 0)

    def cmp(self, other: Quantity | int) -> int:
        theirs = _value_of(other)
        return (self.amount > theirs) - (self.amount < theirs)

    def __add__(self, other: Quantity | int) -> Quantity:
        fmt = _other_format(other) if self.is_zero() else self.format
        return Quantity(self.amount + _value_of(other), fmt)

    def __sub__(self, other: Quantity | int) -> Quantity:
        fmt = _other_format(other) if self.is_zero() else self.format
        return Quantity(self.amount - _value_of(other), fmt)

    def __neg__(self) -> Quantity:
        return Quantity(-self.amount, self.format)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self.amount == other.amount
        if isinstance(other, int) and not isinstance(other, bool):
            return self.amount == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.amount)

    def __lt__(self, other: Quantity | int) -> bool:
        return self.amount < _value_of(other)

    def __le__(self, other: Quantity | int) -> bool:
        return self.amount <= _value_of(other)

    def __gt__(self, other: Quantity | int) -> bool:
        return self.amount > _value_of(other)

    def __ge__(self, other: Quantity | int) -> bool:
        return self.amount >= _value_of(other)


def _decimal_parts(magnitude: Fraction) -> tuple[int, int]:
    """(mantissa, exponent) with exponent a multiple of 3 and no spare factor of 10."""
    exponent = -9
    scaled = magnitude * 10**9
    while scaled.denominator != 1:  # only for values finer than 1n (not from parse)
        scaled *= 10
        exponent -= 1
    mantissa = scaled.numerator
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    shift = exponent % 3
    return mantissa * 10**shift, exponent - shift


def _value_of(other: Any) -> Fraction:
    if isinstance(other, Quantity):
        return other.amount
    if isinstance(other, int) and not isinstance(other, bool):
        return Fraction(other)
    raise TypeError(f"cannot combine a Quantity with {type(other).__name__}")


def _other_format(other: Any) -> Format:
    return other.format if isinstance(other, Quantity) else DECIMAL_SI


def parse_quantity(text: str) -> Quantity:
    """``Quantity.parse``; ValueError with upstream's message on bad input."""
    return Quantity.parse(text)


def must_parse(text: str) -> Quantity:
    """Parse a literal known to be valid (MustParse); ValueError names the input."""
    try:
        return Quantity.parse(text)
    except ValueError as error:
        raise ValueError(f"cannot parse '{text}': {error}") from None


def to_quantity(value: Any) -> Quantity:
    """A Quantity from a Quantity, a quantity string or an int (attrs converter)."""
    if isinstance(value, Quantity):
        return value
    if isinstance(value, str):
        return Quantity.parse(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Quantity(value, DECIMAL_SI)
    raise TypeError(f"a quantity must be a string or an integer, not {type(value).__name__}")
