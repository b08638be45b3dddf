"""Any Kubernetes API server over HTTP as a system under test: ``--sut kube+http://H:P``.

Contract:
- ``KubeApiServer(base_url, *, token=None, verify=True, cert=None)``
  satisfies ``contracts.ApiServer`` over the Kubernetes REST API with
  ``requests``: each ``request(verb, resource, ...)`` is one HTTP request
  (paths as https://kubernetes.io/docs/reference/using-api/api-concepts/
  names them; the group and version of ``resource`` come from the server's
  discovery documents), JSON in and out, ``params`` as the query string
  (``contentType`` is the patch's Content-Type, merge patch by default). It
  never raises: an answer that is not JSON becomes a Status with the HTTP
  code; a server that cannot be reached is a 503 ServiceUnavailable Status, a
  request that times out a 504 Timeout (its outcome is unknown). The
  ``Warning`` headers are the Response's warnings.
- ``watch`` opens a chunked watch stream and answers at once (after the
  headers), its ``Response.watch`` a ``KubeWatchStream``: a thread reads the
  newline-delimited events into a queue; ``poll()`` returns what arrived,
  after waiting until nothing new has come for ``settle`` seconds (an event
  on the wire when ``poll`` is called is delivered by it), at most
  ``max_wait``; ``stop()`` closes the connection.
- ``KubeApiServer.from_kubeconfig(path, context=None)`` reads a kubeconfig
  (server, certificate-authority(-data), insecure-skip-tls-verify, token,
  tokenFile, client-certificate(-data), client-key(-data)).
- ``KubeAdapter(url_or_kubeconfig)`` has the capabilities ``apiserver`` and
  ``real-time``: its ``apiserver_factory`` gives a client of the one server
  (a real API server cannot be made fresh and empty); it cannot advance the
  server's clock, compact its store or read its store's revision, so checks
  that need those are skipped.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import queue
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import requests
import yaml

from kubeprop.conformance.adapters.base import Adapter
from kubeprop.spec.contracts import Response

MERGE_PATCH = "application/merge-patch+json"
# Seconds a request may take before its outcome is called unknown (504).
REQUEST_TIMEOUT = 30.0
# poll(): wait until the stream has been quiet this long, and never longer than max_wait.
SETTLE_SECONDS = 0.05
MAX_WAIT_SECONDS = 1.0
METHODS = {
    "create": "POST",
    "get": "GET",
    "list": "GET",
    "watch": "GET",
    "update": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "deletecollection": "DELETE",
}


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _warnings(headers: Any) -> tuple[str, ...]:
    """The texts of ``Warning: 299 - "text"`` headers (RFC 7234 warn-text)."""
    found = []
    raw = getattr(headers, "get", lambda key, default=None: default)("Warning")
    for item in [raw] if raw else []:
        for part in item.split(", 299 "):
            text = part.split(" - ", 1)[-1].strip()
            if text.startswith('"') and text.endswith('"'):
                text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            found.append(text)
    return tuple(found)


@attrs.frozen
class Scope:
    """Where a resource lives: its group, version and whether it is namespaced."""

    group: str
    version: str
    namespaced: bool

    def base(self) -> str:
        return f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"


@attrs.define(eq=False)
class KubeWatchStream:
    """A watch over HTTP (see the module contract)."""

    response: requests.Response
    settle: float = SETTLE_SECONDS
    max_wait: float = MAX_WAIT_SECONDS
    events: queue.Queue = attrs.Factory(queue.Queue)  # decoded events, oldest first
    stopped: bool = False  # after stop(): later polls return nothing
    _reader: threading.Thread | None = None

    def __attrs_post_init__(self) -> None:
        self._reader = threading.Thread(target=self._read, name="kube-watch", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for line in self.response.iter_lines():
                if not line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    event = {
                        "type": "ERROR",
                        "object": _status(
                            500, "InternalError", f"not a watch event: {line[:200]!r}"
                        ),
                    }
                self.events.put(event)
        except Exception:  # noqa: BLE001 - the connection ended (stop() or the server)
            pass
        finally:
            self.events.put(None)  # the stream ended

    def poll(self) -> list[dict[str, Any]]:
        if self.stopped:
            return []
        delivered: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.max_wait
        while True:
            wait = min(self.settle, max(deadline - time.monotonic(), 0))
            try:
                event = self.events.get(timeout=wait) if wait > 0 else self.events.get_nowait()
            except queue.Empty:
                return delivered
            if event is None:
                self.events.put(None)  # stays ended for the next poll
                return delivered
            delivered.append(event)

    def stop(self) -> None:
        self.stopped = True
        sock = _socket_of(self.response)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self.response.close()
        if self._reader is not None:
            self._reader.join(timeout=2)


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket under a streamed response (to unblock its reader on stop)."""
    fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
    raw = getattr(fp, "raw", None)
    sock = getattr(raw, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


@attrs.define(eq=False)
class KubeApiServer:
    """``contracts.ApiServer`` over HTTP (see the module contract)."""

    base_url: str
    token: str | None = None
    verify: bool | str = True  # False: insecure-skip-tls-verify; a path: the CA bundle
    cert: tuple[str, str] | None = None  # client certificate and key files
    timeout: float = REQUEST_TIMEOUT
    settle: float = SETTLE_SECONDS  # of the watch streams it opens
    session: requests.Session = attrs.Factory(requests.Session)
    _scopes: dict[str, Scope] = attrs.Factory(dict)  # resource -> where it lives (discovery)
    _lock: threading.Lock = attrs.Factory(threading.Lock)  # guards _scopes

    def __attrs_post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.verify = self.verify
        if self.cert is not None:
            self.session.cert = self.cert
        if self.token:
            self.session.headers["Authorization"] = f"Bearer {self.token}"
        self.session.headers["Accept"] = "application/json"

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike, context: str | None = None) -> KubeApiServer:
        return cls(**kubeconfig_settings(path, context))

    # ------------------------------------------------------------------ discovery

    def _scope(self, resource: str) -> Scope | None:
        with self._lock:
            if not self._scopes:
                self._scopes.update(self._discover())
            return self._scopes.get(resource)

    def _discover(self) -> dict[str, Scope]:
        found: dict[str, Scope] = {}
        documents = [("", version) for version in self._get_json("/api").get("versions", [])]
        for group in self._get_json("/apis").get("groups", []):
            preferred = (group.get("preferredVersion") or {}).get("version")
            if preferred:
                documents.append((group["name"], preferred))
        for group, version in documents:
            base = Scope(group, version, False).base()
            for entry in self._get_json(base).get("resources", []):
                name = entry.get("name", "")
                if "/" in name:
                    continue
                scope = Scope(group, version, bool(entry.get("namespaced")))
                found.setdefault(name, scope)
                found.setdefault(f"{name}.{group}" if group else name, scope)
        return found

    def _get_json(self, path: str) -> dict[str, Any]:
        answer = self.session.get(self.base_url + path, timeout=self.timeout)
        answer.raise_for_status()
        return answer.json()

    # ------------------------------------------------------------------ requests

    def request(
        self,
        verb: str,
        resource: str,
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Response:
        try:
            return self._request(verb, resource, namespace, name, subresource, body, params or {})
        except requests.Timeout as error:
            return _failure(504, "Timeout", f"the request timed out (outcome unknown): {error}")
        except requests.RequestException as error:
            return _failure(503, "ServiceUnavailable", f"the API server cannot be reached: {error}")

    def _request(self, verb, resource, namespace, name, subresource, body, params) -> Response:
        method = METHODS.get(verb)
        if method is None:
            return _failure(405, "MethodNotAllowed", f"unknown verb {verb!r}")
        scope = self._scope(resource)
        if scope is None:
            return _failure(404, "NotFound", "the server could not find the requested resource")
        plural = resource.split(".", 1)[0]
        path = scope.base()
        if namespace and scope.namespaced:
            path += f"/namespaces/{namespace}"
        path += f"/{plural}"
        if (
            name
            and verb not in ("create", "list", "watch", "deletecollection")
            or (name and subresource)
        ):
            path += f"/{name}"
        if subresource:
            path += f"/{subresource}"
        query = {
            k: _query_value(v) for k, v in params.items() if k != "contentType" and v is not None
        }
        headers = {}
        data = None
        if verb == "watch":
            query["watch"] = "true"
        if body is not None or verb in ("create", "update", "patch"):
            content_type = "application/json"
            if verb == "patch":
                content_type = params.get("contentType") or MERGE_PATCH
            headers["Content-Type"] = content_type
            data = json.dumps(body).encode()
        if verb == "watch":
            answer = self.session.get(
                self.base_url + path, params=query, stream=True, timeout=(self.timeout, None)
            )
            if answer.status_code != 200:
                with contextlib.suppress(Exception):
                    return _answer(answer)
                return _failure(answer.status_code, "Unknown", answer.reason or "")
            stream = KubeWatchStream(answer, settle=self.settle)
            return Response(200, None, watch=stream, warnings=_warnings(answer.headers))
        answer = self.session.request(
            method,
            self.base_url + path,
            params=query,
            data=data,
            headers=headers,
            timeout=self.timeout,
        )
        return _answer(answer)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _failure(code: int, reason: str, message: str) -> Response:
    return Response(code, _status(code, reason, message))


def _answer(answer: requests.Response) -> Response:
    try:
        body = answer.json()
    except ValueError:
        text = answer.text[:500]
        if answer.status_code < 400:
            return _failure(500, "InternalError", f"the answer is not JSON: {text!r}")
        body = _status(answer.status_code, answer.reason or "Unknown", text)
    return Response(answer.status_code, body, warnings=_warnings(answer.headers))


# ---------------------------------------------------------------------- kubeconfig


def _data_file(data: str, suffix: str) -> str:
    """A private temp file holding base64 ``data`` (removed at exit)."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept after closing
        prefix="kubeprop-", suffix=suffix, delete=False
    )
    with handle:
        handle.write(base64.b64decode(data))
    atexit.register(lambda: Path(handle.name).unlink(missing_ok=True))
    return handle.name


def kubeconfig_settings(path: str | os.PathLike, context: str | None = None) -> dict[str, Any]:
    """KubeApiServer's arguments from a kubeconfig file; ValueError saying what is missing."""
    where = Path(path).expanduser()
    try:
        config = yaml.safe_load(where.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read kubeconfig {str(where)!r}: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"kubeconfig {str(where)!r} is not a mapping")

    def named(section: str, wanted: str | None) -> dict[str, Any]:
        for entry in config.get(section) or []:
            if isinstance(entry, dict) and entry.get("name") == wanted:
                return entry.get(section[:-1]) or {}
        raise ValueError(f"kubeconfig {str(where)!r}: no {section[:-1]} named {wanted!r}")

    context_name = context or config.get("current-context")
    if not context_name:
        raise ValueError(f"kubeconfig {str(where)!r} has no current-context; name one")
    chosen = named("contexts", context_name)
    cluster = named("clusters", chosen.get("cluster"))
    server = cluster.get("server")
    if not server:
        raise ValueError(
            f"kubeconfig {str(where)!r}: cluster {chosen.get('cluster')!r} has no server"
        )
    user = named("users", chosen.get("user")) if chosen.get("user") else {}
    base = where.parent

    def relative(file: str) -> str:
        return str((base / file).expanduser())

    verify: bool | str = True
    if cluster.get("insecure-skip-tls-verify"):
        verify = False
    elif cluster.get("certificate-authority-data"):
        verify = _data_file(cluster["certificate-authority-data"], ".crt")
    elif cluster.get("certificate-authority"):
        verify = relative(cluster["certificate-authority"])
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(relative(user["tokenFile"])).read_text().strip()
    cert = None
    crt = user.get("client-certificate") and relative(user["client-certificate"])
    key = user.get("client-key") and relative(user["client-key"])
    if user.get("client-certificate-data"):
        crt = _data_file(user["client-certificate-data"], ".crt")
    if user.get("client-key-data"):
        key = _data_file(user["client-key-data"], ".key")
    if crt and key:
        cert = (crt, key)
    return {"base_url": server, "token": token, "verify": verify, "cert": cert}


# ---------------------------------------------------------------------- the adapter


@attrs.define
class KubeAdapter(Adapter):
    """A Kubernetes API server named by URL or kubeconfig (``--sut kube+http://H:P``)."""

    target: str = ""
    name: str = ""
    capabilities: frozenset[str] = frozenset({"apiserver", "real-time"})

    def __init__(self, url_or_kubeconfig: str) -> None:
        target = url_or_kubeconfig.removeprefix("kube+")
        self.__attrs_init__(target=target, name=f"kube {target}")

    def client(self) -> KubeApiServer:
        if self.target.startswith(("http://", "https://")):
            return KubeApiServer(self.target)
        return KubeApiServer.from_kubeconfig(self.target)

    def apiserver_factory(self) -> Callable[[], object]:
        """A new client of the one server each call (it cannot be made fresh and empty)."""
        return self.client
