"""Kubernetes ``Status`` error objects: the only way the API server says no.

Each builder returns the Status manifest Kubernetes sends for that error
(reason, code, message and details as in k8s.io/apimachinery's errors
package); ``StatusError`` carries one through the server's layers until
``ApiServer.request`` turns it into a ``Response``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class StatusError(Exception):
    """An error answer; ``status`` is the Status manifest to send."""

    def __init__(self, status: dict[str, Any]):
        super().__init__(status["message"])
        self.status = status

    @property
    def code(self) -> int:
        return self.status["code"]


def status(
    code: int,
    reason: str,
    message: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def success(code: int = 200, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(name: str | None, resource: str, group: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = resource
    details.update(extra)
    return details


def not_found(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(
        status(
            404,
            "NotFound",
            f'{_qualified(resource, group)} "{name}" not found',
            _details(name, resource, group),
        )
    )


def resource_not_found() -> StatusError:
    return StatusError(status(404, "NotFound", "the server could not find the requested resource"))


def already_exists(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(
        status(
            409,
            "AlreadyExists",
            f'{_qualified(resource, group)} "{name}" already exists',
            _details(name, resource, group),
        )
    )


def conflict(resource: str, name: str, why: str, group: str = "") -> StatusError:
    return StatusError(
        status(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}',
            _details(name, resource, group),
        )
    )


MODIFIED = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def invalid(kind: str, name: str, errors: Iterable[Any], group: str = "") -> StatusError:
    """422 Invalid listing every field error (each has .field, .reason, .detail_message)."""
    errors = list(errors)
    texts = [str(error) for error in errors]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    qualified = f"{kind}.{group}" if group else kind
    causes = [
        {"reason": error.reason, "message": _cause_message(error), "field": error.field}
        for error in errors
    ]
    return StatusError(
        status(
            422,
            "Invalid",
            f'{qualified} "{name}" is invalid: {joined}',
            _details(name, kind, group, causes=causes),
        )
    )


def _cause_message(error: Any) -> str:
    text = str(error)
    prefix = f"{error.field}: "
    return text[len(prefix) :] if error.field and text.startswith(prefix) else text


def bad_request(message: str) -> StatusError:
    return StatusError(status(400, "BadRequest", message))


def forbidden(resource: str, name: str, why: str, group: str = "", causes=None) -> StatusError:
    details = _details(name, resource, group)
    if causes:
        details["causes"] = causes
    return StatusError(
        status(
            403, "Forbidden", f'{_qualified(resource, group)} "{name}" is forbidden: {why}', details
        )
    )


def expired(message: str) -> StatusError:
    """410 with reason Expired: a resourceVersion older than the compacted history."""
    return StatusError(status(410, "Expired", message))


def method_not_allowed(verb: str, resource: str) -> StatusError:
    return StatusError(
        status(
            405, "MethodNotAllowed", f"{verb} is not supported on resources of kind {resource!r}"
        )
    )


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(
        status(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json ({content_type!r} is not)",
        )
    )


def unprocessable(message: str, name: str, resource: str, group: str = "") -> StatusError:
    return StatusError(status(422, "Invalid", message, _details(name, resource, group)))


def timeout(message: str) -> StatusError:
    return StatusError(status(504, "Timeout", message))


def internal(message: str) -> StatusError:
    return StatusError(status(500, "InternalError", f"Internal error occurred: {message}"))


def apply_conflict(message: str, conflicts) -> StatusError:
    """409 Conflict of a server-side apply: one cause per field another manager owns
    (reason FieldManagerConflict), as k8s.io/apiserver's fieldmanager reports them."""
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {conflict.owner}",
            "field": conflict.field,
        }
        for conflict in conflicts
    ]
    return StatusError(status(409, "Conflict", message, {"causes": causes}))
