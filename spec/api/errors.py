"""Field errors and manifest errors, printed exactly as Kubernetes prints them.

Contract:
- ``FieldError(type, field, bad_value, detail)`` mirrors apimachinery's
  ``field.Error``: ``str()`` is ``<field>: <type text>[: <bad value>][: <detail>]``;
  the bad value is shown for Invalid, Unsupported, Duplicate and Not found
  (strings quoted like Go's ``%q``, numbers and booleans bare, None as ``null``)
  and never for Required, Forbidden, Too long and Internal error.
- ``reason`` is the StatusCause reason Kubernetes puts in a Status' details.
- Three kubeprop additions without a field.Error counterpart keep upstream's
  messages: ``unknown_field`` prints ``unknown field "<path>"`` (strict decoding),
  ``not_registered`` prints ``no kind "Foo" is registered for version "v1"`` and
  ``malformed`` prints ``file:line:column: <parser's problem>``.
- ``ManifestError`` carries every problem found in a manifest (``.errors``), never
  only the first.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Any

import attrs


class ErrorType(enum.Enum):
    """(text printed, StatusCause reason) of each kind of field error."""

    NOT_FOUND = ("Not found", "FieldValueNotFound")
    REQUIRED = ("Required value", "FieldValueRequired")
    DUPLICATE = ("Duplicate value", "FieldValueDuplicate")
    INVALID = ("Invalid value", "FieldValueInvalid")
    NOT_SUPPORTED = ("Unsupported value", "FieldValueNotSupported")
    FORBIDDEN = ("Forbidden", "FieldValueForbidden")
    TOO_LONG = ("Too long", "FieldValueTooLong")
    TOO_MANY = ("Too many", "FieldValueTooMany")
    INTERNAL = ("Internal error", "InternalError")
    TYPE_INVALID = ("Invalid value", "FieldValueTypeInvalid")
    # kubeprop: strict decoding has no field.Error type; the reason is our own.
    UNKNOWN_FIELD = ("unknown field", "FieldValueUnknown")
    NOT_REGISTERED = ("not registered", "FieldValueNotSupported")
    MALFORMED = ("malformed", "FieldValueInvalid")  # unparsable YAML/JSON text

    @property
    def text(self) -> str:
        return self.value[0]

    @property
    def reason(self) -> str:
        return self.value[1]


_VALUE_HIDDEN = {ErrorType.REQUIRED, ErrorType.FORBIDDEN, ErrorType.TOO_LONG, ErrorType.INTERNAL}


def go_quote(text: str) -> str:
    """Go's ``%q`` of a string (strconv.Quote) for the characters that matter here."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def format_value(value: Any) -> str:
    """A bad value as field.Error prints it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, enum.Enum):
        return go_quote(str(value.value))
    text = getattr(type(value), "__str__", None)
    if (
        text is not None
        and text is not object.__str__
        and not isinstance(value, (dict, list, tuple))
    ):
        return str(value)
    return repr(value)


@attrs.frozen
class FieldError:
    """One problem with one field, as apimachinery's ``field.Error``."""

    type: ErrorType
    field: str  # the JSON path, e.g. "spec.containers[0].image"
    bad_value: Any = None
    detail: str = ""

    @property
    def reason(self) -> str:
        return self.type.reason

    def body(self) -> str:
        if self.type is ErrorType.UNKNOWN_FIELD:
            return f"unknown field {go_quote(self.field)}"
        if self.type in (ErrorType.NOT_REGISTERED, ErrorType.MALFORMED):
            return self.detail
        text = self.type.text
        if self.type not in _VALUE_HIDDEN:
            text += ": " + format_value(self.bad_value)
        if self.detail:
            text += ": " + self.detail
        return text

    def __str__(self) -> str:
        if self.type in (ErrorType.UNKNOWN_FIELD, ErrorType.NOT_REGISTERED, ErrorType.MALFORMED):
            return self.body()
        return f"{self.field}: {self.body()}" if self.field else self.body()


# Constructors named as in apimachinery's field package.


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(ErrorType.REQUIRED, field, None, detail)


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(ErrorType.INVALID, field, value, detail)


def type_invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(ErrorType.TYPE_INVALID, field, value, detail)


def not_supported(field: str, value: Any, supported: Iterable[str]) -> FieldError:
    quoted = ", ".join(go_quote(str(v)) for v in supported)
    return FieldError(ErrorType.NOT_SUPPORTED, field, value, f"supported values: {quoted}")


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(ErrorType.DUPLICATE, field, value, "")


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(ErrorType.FORBIDDEN, field, None, detail)


def too_long(field: str, value: Any, max_length: int) -> FieldError:
    unit = "byte" if max_length == 1 else "bytes"
    return FieldError(ErrorType.TOO_LONG, field, value, f"may not be more than {max_length} {unit}")


def not_found(field: str, value: Any) -> FieldError:
    return FieldError(ErrorType.NOT_FOUND, field, value, "")


def unknown_field(field: str) -> FieldError:
    return FieldError(ErrorType.UNKNOWN_FIELD, field, None, "")


def not_registered(kind: str, version: str) -> FieldError:
    detail = f"no kind {go_quote(kind)} is registered for version {go_quote(version)}"
    return FieldError(ErrorType.NOT_REGISTERED, "kind", kind, detail)


def malformed(where: str, problem: str) -> FieldError:
    """Text that is not YAML/JSON: ``where`` is ``file:line:column``."""
    return FieldError(ErrorType.MALFORMED, "", None, f"{where}: {problem}")


class ManifestError(Exception):
    """A manifest could not be read or decoded; ``errors`` lists every problem."""

    def __init__(self, errors: Sequence[FieldError], source: str = ""):
        self.errors: list[FieldError] = list(errors)
        self.source = source  # the file (and document) the manifest came from, if known
        lines = [str(e) for e in self.errors] or ["invalid manifest"]
        prefix = f"{source}: " if source else ""
        if len(lines) == 1:
            message = prefix + lines[0]
        else:
            message = prefix + "[" + ", ".join(lines) + "]"
        super().__init__(message)
