"""The API server over HTTP: Kubernetes REST paths and media types onto ``request``.

Contract (spec/apiserver.md, "Serving over HTTP"):
- ``make_app(backend)`` is a WSGI application (werkzeug does the HTTP) that
  maps the Kubernetes REST API onto ``backend.request(verb, resource,
  namespace=, name=, subresource=, body=, params=)`` (``contracts.ApiServer``),
  holding ``backend.lock`` (a ``threading.RLock``; one is made if the backend
  has none) around every call and every poll of a watch. Paths
  (https://kubernetes.io/docs/reference/using-api/api-concepts/):
  ``/api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]]`` and
  ``/apis/GROUP/VERSION/...`` alike; GET is get, list or (``watch=true``)
  watch, POST create, PUT update, PATCH patch (its Content-Type says which
  patch), DELETE delete or, without a name, deletecollection.
- Bodies are JSON or YAML (``application/yaml``), at most
  ``MAX_REQUEST_BODY_BYTES``. Answers are JSON (or YAML when asked), a
  ``meta.k8s.io/v1`` Table when the Accept header asks ``as=Table``, or
  PartialObjectMetadata(List) when it asks ``as=PartialObjectMetadata``.
- Every error is a ``Status`` with the HTTP code in its ``code``: 400 for a
  body that does not parse (the message names the problem), 404 for an
  unknown path, 405 for a method a path does not take, 406 for an Accept
  header it cannot answer, 413 for an oversized body, 415 for an unknown
  Content-Type, and whatever the backend says otherwise. A request the HTTP
  layer refuses never reaches the backend, so it changes nothing.
- A watch is a chunked stream of newline-delimited ``{"type", "object"}``
  JSON events; it ends after ``timeoutSeconds`` (default ``WATCH_TIMEOUT``),
  when the client goes away, when the backend stream stops, or when the
  server stops.
- Discovery (``/api``, ``/apis``, group versions), ``/version``, health
  checks and a minimal ``/openapi/v2`` and ``/openapi/v3`` are served from
  ``discovery``.

``Server.start(backend, port=0)`` runs the app with werkzeug's threaded
server on 127.0.0.1 in a thread; ``.url``, ``.port``, ``.stop()``.
"""

from __future__ import annotations

import datetime
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import attrs
import yaml
from werkzeug.http import parse_options_header
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from kubeprop.reference.apiserver import discovery, patch, table
from kubeprop.reference.apiserver import status as errors
from kubeprop.reference.apiserver.resources import Resource, lookup

Manifest = dict[str, Any]

# kube-apiserver's default MaxRequestBodyBytes: 3 MiB, twice etcd's 1.5 MiB request
# limit (k8s.io/apiserver/pkg/server/config.go, NewConfig).
MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024
# A watch without timeoutSeconds ends after this long (kube-apiserver picks 30-60 min
# from --min-request-timeout; a client reconnects either way).
WATCH_TIMEOUT = 1800.0
# How long a watch waits for the backend between polls when nothing wakes it.
WATCH_POLL_SECONDS = 0.1
# How often a quiet watch checks that its client is still there.
WATCH_LIVENESS_SECONDS = 0.5

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
PATCH_TYPES = (
    patch.MERGE_PATCH,
    patch.JSON_PATCH,
    patch.STRATEGIC_MERGE_PATCH,
    patch.APPLY_PATCH,
)
BODY_TYPES = (JSON, YAML)
# The query parameters the backend reads, passed through as strings.
PASSED_PARAMS = (
    "labelSelector",
    "fieldSelector",
    "limit",
    "continue",
    "resourceVersion",
    "resourceVersionMatch",
    "allowWatchBookmarks",
    "fieldManager",
    "fieldValidation",
    "gracePeriodSeconds",
    "force",
)
WATCH_VALUES = ("true", "1")
METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
# Paths every server answers that are not resources.
HEALTH_PATHS = ("/healthz", "/readyz", "/livez")


class HttpError(Exception):
    """A request the HTTP layer refuses before it reaches the backend."""

    def __init__(self, error: errors.StatusError):
        super().__init__(error.status["message"])
        self.status = error.status


def _refuse(code: int, reason: str, message: str) -> HttpError:
    return HttpError(errors.StatusError(errors.status(code, reason, message)))


# ---------------------------------------------------------------------- paths


@attrs.frozen
class Target:
    """What a resource path names."""

    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None
    plural: str  # as the path spells it ("bindings" is served apart from pods)


def parse_path(path: str) -> Target | None:
    """The resource a REST path names, or None if it names none (404).

    ``/api/v1/namespaces/NS`` is the namespace NS itself, and its ``status`` and
    ``finalize`` subresources; any other word after ``namespaces/NS/`` is a
    namespaced resource."""
    parts = [part for part in path.split("/") if part]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        if group == "" and rest[2] == discovery.BINDINGS:
            # POST /api/v1/namespaces/NS/bindings: a Binding naming its pod in the body.
            pods = lookup("pods")
            return Target(pods, rest[1], None, None, discovery.BINDINGS) if len(rest) == 3 else None
        candidate = _resource(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    res = _resource(group, version, rest[0])
    if res is None:
        return None
    return Target(res, namespace, _at(rest, 1), _at(rest, 2), res.plural)


def _at(parts: list[str], i: int) -> str | None:
    return parts[i] if len(parts) > i else None


def _resource(group: str, version: str, plural: str) -> Resource | None:
    res = lookup(plural)
    if res is None or res.group != group or res.version != version or "." in plural:
        return None
    return res


# ---------------------------------------------------------------------- media types


@attrs.frozen
class Accepted:
    """What the answer is written as: JSON or YAML, and which view of the objects."""

    media_type: str = JSON
    view: str = "object"  # object | table | metadata


def negotiate(header: str | None, *, resource_read: bool) -> Accepted:
    """The first entry of the Accept header this server can write (406 if none).

    Tables and PartialObjectMetadata are offered for reads of a resource
    (get, list, watch), as kube-apiserver does; aggregated discovery
    (``as=APIGroupDiscoveryList``) is not served, so a client falls back to
    the legacy documents it lists after it."""
    if not header or not header.strip():
        return Accepted()
    for entry in header.split(","):
        media_type, options = parse_options_header(entry.strip())
        media_type = media_type.lower()
        if media_type not in (JSON, YAML, "*/*", "application/*"):
            continue
        kind = options.get("as")
        if kind is None:
            return Accepted(YAML if media_type == YAML else JSON)
        if not resource_read or options.get("g") != "meta.k8s.io":
            continue
        if options.get("v") not in ("v1", "v1beta1"):
            continue
        if kind == "Table":
            return Accepted(JSON, "table")
        if kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return Accepted(JSON, "metadata")
    raise _refuse(
        406,
        "NotAcceptable",
        f"the server cannot answer in any of the media types requested ({header}); "
        f"it writes {JSON} (also as=Table and as=PartialObjectMetadata of meta.k8s.io/v1) "
        f"and {YAML}",
    )


class _Loader(yaml.SafeLoader):
    """SafeLoader keeping timestamps as strings (Kubernetes converts YAML to JSON)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def decode_body(data: bytes, content_type: str | None, verb: str) -> tuple[Any, str | None]:
    """The request body and, for a patch, its patch type; 400/415 when it cannot be read."""
    media_type = parse_options_header(content_type or "")[0].lower()
    if verb == "patch":
        if media_type not in PATCH_TYPES:
            raise HttpError(errors.unsupported_media_type(media_type or "<none>"))
    elif data and media_type not in BODY_TYPES and media_type != "":
        raise _refuse(
            415,
            "UnsupportedMediaType",
            f'the body of the request was in an unknown format "{media_type}" - '
            f"accepted media types include: {JSON}, {YAML}",
        )
    if not data.strip():
        return None, media_type if verb == "patch" else None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _refuse(400, "BadRequest", f"the body of the request is not UTF-8: {error}") from None
    if media_type in (YAML, patch.APPLY_PATCH):
        try:
            documents = list(yaml.load_all(text, Loader=_Loader))  # noqa: S506 - SafeLoader
        except yaml.YAMLError as error:
            raise _refuse(
                400, "BadRequest", f"the body of the request is not valid YAML: {error}"
            ) from None
        if len(documents) != 1:
            raise _refuse(
                400,
                "BadRequest",
                f"the body of the request must be one YAML document, not {len(documents)}",
            )
        body = documents[0]
        _check_json_compatible(body)
    else:
        try:
            body = json.loads(text, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as error:
            raise _refuse(
                400, "BadRequest", f"the body of the request is not valid JSON: {error}"
            ) from None
    return body, media_type if verb == "patch" else None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_json_compatible(value: Any, path: str = "") -> None:
    """YAML may say what JSON cannot (non-string keys, binary); Kubernetes refuses it."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _refuse(
                    400,
                    "BadRequest",
                    f"the body of the request is not valid YAML for the API: "
                    f"key {key!r} at {path or '<root>'} is not a string",
                )
            _check_json_compatible(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_compatible(item, f"{path}[{i}]")
    elif not (value is None or isinstance(value, (str, int, float, bool))):
        raise _refuse(
            400,
            "BadRequest",
            f"the body of the request is not valid YAML for the API: "
            f"{path or '<root>'} is a {type(value).__name__}",
        )


# ---------------------------------------------------------------------- the app


@attrs.define
class App:
    """The WSGI application; one per served backend."""

    backend: Any  # contracts.ApiServer, with a lock
    lock: Any  # threading.RLock held around every backend call
    stopping: threading.Event = attrs.Factory(threading.Event)  # set by Server.stop

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except HttpError as error:
            response = _status_response(error.status)
        except Exception as error:  # a bug of this layer: answered as Kubernetes does
            response = _status_response(errors.internal(f"{type(error).__name__}: {error}").status)
        return response(environ, start_response)

    # ------------------------------------------------------------------ routing

    def dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        document = discovery.document(path, self.backend)
        if document is not None:
            if request.method not in ("GET", "HEAD"):
                raise _method_not_allowed(request.method, path)
            accepted = negotiate(request.headers.get("Accept"), resource_read=False)
            return _json_response(200, document, accepted)
        if path in HEALTH_PATHS or path.startswith(tuple(p + "/" for p in HEALTH_PATHS)):
            return Response("ok", 200, mimetype="text/plain")
        target = parse_path(path)
        if target is None:
            raise HttpError(errors.resource_not_found())
        verb = self._verb(request, target)
        accepted = negotiate(
            request.headers.get("Accept"),
            resource_read=verb in ("get", "list", "watch") and target.subresource is None,
        )
        params = self._params(request, verb)
        # Query values only this layer reads, checked before the backend opens anything.
        timeout = _timeout(request.args.get("timeoutSeconds"))
        include = _include_object(request.args.get("includeObject"))
        body, patch_type = None, None
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if (request.content_length or 0) > MAX_REQUEST_BODY_BYTES:
                raise _too_large()
            body, patch_type = decode_body(
                _read_body(request), request.headers.get("Content-Type"), verb
            )
        if patch_type is not None:
            params["contentType"] = patch_type
        if verb in ("delete", "deletecollection"):
            body = _delete_options(body, request.args)
        elif verb in ("create", "update"):
            body = _with_type(body, target)
        resource = "bindings" if target.plural == discovery.BINDINGS else target.resource.plural
        with self.lock:
            answer = self.backend.request(
                verb,
                resource,
                namespace=target.namespace,
                name=target.name,
                subresource=target.subresource,
                body=body,
                params=params,
            )
            now = _now(self.backend)
        headers = [("Warning", f'299 - "{_quoted(w)}"') for w in answer.warnings]
        if verb == "watch" and answer.watch is not None:
            events = self._stream(request, answer.watch, target, accepted, timeout, include)
            response = Response(events, 200, mimetype=JSON, direct_passthrough=True)
            response.headers["Cache-Control"] = "no-cache, private"
            for header in headers:
                response.headers.add(*header)
            return response
        body = answer.body
        if answer.code < 300 and accepted.view != "object" and isinstance(body, dict):
            if accepted.view == "table":
                body = table.convert(target.resource, body, now, include)
            else:
                body = table.partial_metadata(body)
        response = _json_response(answer.code, body, accepted)
        for header in headers:
            response.headers.add(*header)
        return response

    def _verb(self, request: Request, target: Target) -> str:
        method = request.method
        if method in ("GET", "HEAD"):
            if target.name is not None:
                return "get"
            return "watch" if request.args.get("watch", "").lower() in WATCH_VALUES else "list"
        if method == "DELETE":
            if target.subresource is not None:
                raise _method_not_allowed(method, request.path)
            return "delete" if target.name is not None else "deletecollection"
        verb = METHOD_VERBS.get(method)
        if verb is None:
            raise _method_not_allowed(method, request.path)
        if verb == "create":
            if target.plural == discovery.BINDINGS:
                return verb
            if target.name is not None and target.subresource is None:
                raise _method_not_allowed(method, request.path)
        elif target.name is None:
            raise _method_not_allowed(method, request.path)
        return verb

    def _params(self, request: Request, verb: str) -> dict[str, Any]:
        args = request.args
        dry_run = args.getlist("dryRun")
        if any(dry_run):
            raise _refuse(
                400,
                "BadRequest",
                f"dryRun is not supported by this server (dryRun={','.join(dry_run)}); "
                "send the request without it",
            )
        return {key: args[key] for key in PASSED_PARAMS if key in args}

    # ------------------------------------------------------------------ watch

    def _stream(
        self,
        request: Request,
        stream: Any,
        target: Target,
        accepted: Accepted,
        timeout: float,
        include: str,
    ) -> Iterator[bytes]:
        """The watch events as newline-delimited JSON, until the watch ends."""
        wake = threading.Event()
        if hasattr(stream, "on_ready"):
            with self.lock:
                stream.on_ready(wake.set)
        connection = request.environ.get("werkzeug.socket")
        deadline = time.monotonic() + timeout

        def events() -> Iterator[bytes]:
            try:
                yield b""  # sends the headers: the client knows the watch is open
                last_check = time.monotonic()
                while not self.stopping.is_set():
                    wake.clear()
                    with self.lock:
                        polled = stream.poll()
                        stopped = bool(getattr(stream, "stopped", False))
                        now = _now(self.backend)
                    for event in polled:
                        shown = self._event(event, target, accepted, include, now)
                        if shown is not None:
                            yield json.dumps(shown, separators=(",", ":")).encode() + b"\n"
                    if stopped:
                        return
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    if time.monotonic() - last_check >= WATCH_LIVENESS_SECONDS:
                        if _client_gone(connection):
                            return
                        last_check = time.monotonic()
                    wake.wait(min(remaining, WATCH_POLL_SECONDS))
            finally:
                with self.lock:
                    stream.stop()

        return events()

    def _event(self, event: Manifest, target: Target, accepted, include, now) -> Manifest | None:
        kind, obj = event.get("type"), event.get("object")
        if accepted.view == "object" or kind == "ERROR" or not isinstance(obj, dict):
            return event
        if kind == "BOOKMARK":
            return None if accepted.view == "table" else event
        if accepted.view == "table":
            return {"type": kind, "object": table.convert(target.resource, obj, now, include)}
        return {"type": kind, "object": table.partial_metadata(obj)}


def _read_body(request: Request) -> bytes:
    """The request body (werkzeug undoes chunking), 413 once it passes the limit."""
    data = bytearray()
    while True:
        chunk = request.stream.read(65536)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > MAX_REQUEST_BODY_BYTES:
            raise _too_large()


def _client_gone(connection: Any) -> bool:
    """True when the client closed its end (readable with nothing to read)."""
    if connection is None:
        return False
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        if not readable:
            return False
        return connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _timeout(value: str | None) -> float:
    if value in (None, ""):
        return WATCH_TIMEOUT
    try:
        seconds = int(value)
        if seconds < 0:
            raise ValueError
    except ValueError:
        raise _refuse(
            400,
            "BadRequest",
            f'timeoutSeconds: Invalid value: "{value}": must be a non-negative integer',
        ) from None
    return float(seconds) if seconds else WATCH_TIMEOUT


def _include_object(value: str | None) -> str:
    if value in (None, ""):
        return "Metadata"  # kube-apiserver's default for Tables
    if value not in ("None", "Metadata", "Object"):
        raise _refuse(
            400,
            "BadRequest",
            f'includeObject: Unsupported value: "{value}": use None, Metadata or Object',
        )
    return value


def _with_type(body: Any, target: Target) -> Any:
    """The body with the apiVersion and kind the path implies where it has none, as
    kube-apiserver decodes a body into the endpoint's type (the Python client sends none
    unless its user sets them)."""
    if not isinstance(body, dict) or (body.get("kind") and body.get("apiVersion")):
        return body
    res = target.resource
    api_version, kind = res.api_version, res.kind
    if target.plural == discovery.BINDINGS or target.subresource == "binding":
        api_version, kind = "v1", "Binding"
    elif target.subresource == "scale":
        api_version, kind = "autoscaling/v1", "Scale"
    rest = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
    return {
        "apiVersion": body.get("apiVersion") or api_version,
        "kind": body.get("kind") or kind,
        **rest,
    }


def _delete_options(body: Any, args) -> Any:
    """DeleteOptions: the body, with ``propagationPolicy`` of the query if the body has
    none (gracePeriodSeconds of the query reaches the backend as a parameter)."""
    policy = args.get("propagationPolicy")
    if policy is None:
        return body
    if body is None:
        return {"propagationPolicy": policy}
    if isinstance(body, dict) and "propagationPolicy" not in body:
        return {**body, "propagationPolicy": policy}
    return body


def _now(backend: Any) -> float:
    """Now on the backend's clock (simulated seconds), or the wall clock's."""
    clock = getattr(backend, "clock", None)
    if clock is not None and hasattr(clock, "now"):
        return float(clock.now)
    from kubeprop.spec.api.times import EPOCH

    return (datetime.datetime.now(datetime.timezone.utc) - EPOCH).total_seconds()


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _too_large() -> HttpError:
    return _refuse(
        413,
        "RequestEntityTooLarge",
        f"Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}",
    )


def _method_not_allowed(method: str, path: str) -> HttpError:
    return _refuse(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource: {method} {path}",
    )


def _json_response(code: int, body: Any, accepted: Accepted = Accepted()) -> Response:
    if accepted.media_type == YAML:
        text = yaml.safe_dump(body, default_flow_style=False, sort_keys=False)
        return Response(text, code, mimetype=YAML)
    return Response(json.dumps(body, separators=(",", ":")), code, mimetype=JSON)


def _status_response(status: Manifest) -> Response:
    return _json_response(status["code"], status)


def make_app(backend: Any) -> App:
    """The WSGI application serving ``backend`` (see the module contract)."""
    lock = getattr(backend, "lock", None)
    return App(backend=backend, lock=lock if lock is not None else threading.RLock())


# ---------------------------------------------------------------------- the server


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its access log (``Server.start(log=True)`` keeps it)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if getattr(self.server, "access_log", False):
            super().log_request(code, size)


@attrs.define
class Server:
    """The app behind werkzeug's threaded HTTP server on 127.0.0.1, in a thread."""

    app: App
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, backend: Any, port: int = 0, *, log: bool = False) -> Server:
        app = make_app(backend)
        try:
            server = make_server(
                "127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler
            )
        except SystemExit:  # werkzeug has printed why (e.g. the port is taken)
            raise OSError(f"cannot listen on 127.0.0.1:{port}") from None
        server.access_log = log  # type: ignore[attr-defined]
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        thread.start()
        return cls(app=app, server=server, thread=thread)

    def stop(self) -> None:
        """Stop serving: open watches end, the listening socket closes."""
        self.app.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
