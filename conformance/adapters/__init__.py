"""Systems under test: one adapter module per kind, chosen by one string (``--sut``).

An adapter says what it can build (a store, an API server, cluster components)
and what it can do (its capabilities). A check that needs something the SUT
lacks is skipped with the reason, never passed silently: use ``require``.

Contract of ``resolve(sut)`` (the forms of ``SUT_FORMS``):
- ``reference`` -> ``ReferenceAdapter`` (the default);
- ``python:MODULE:ATTR`` -> ``adapters.python.PythonAdapter`` (a plug-in);
- ``etcd+http://HOST:PORT`` -> ``adapters.etcd.EtcdAdapter("http://HOST:PORT")``;
- ``kube+http://HOST:PORT``, ``kube+https://HOST:PORT`` ->
  ``adapters.kube.KubeAdapter("http(s)://HOST:PORT")``, and the path of an
  existing kubeconfig file -> ``KubeAdapter(path)``.
The adapters other than the reference are imported only when named. Anything
else is a ``ValueError`` naming the forms.
"""

from __future__ import annotations

import importlib
import os

from kubeprop.conformance.adapters.base import CAPABILITIES, Adapter, Unsupported
from kubeprop.conformance.adapters.reference import ReferenceAdapter

__all__ = ["Adapter", "CAPABILITIES", "Unsupported", "resolve", "SUT_FORMS"]

SUT_FORMS = (
    "reference",
    "python:MODULE:ATTR",
    "etcd+http://HOST:PORT",
    "kube+http(s)://HOST:PORT",
    "KUBECONFIG-PATH",
)


def _adapter_class(module: str, name: str, sut: str) -> type[Adapter]:
    try:
        return getattr(importlib.import_module(f"kubeprop.conformance.adapters.{module}"), name)
    except (ImportError, AttributeError) as error:
        raise ValueError(
            f"--sut {sut!r} needs kubeprop.conformance.adapters.{module}.{name}, "
            f"which cannot be loaded: {error}"
        ) from None


def resolve(sut: str) -> Adapter:
    """The adapter for a ``--sut`` string; ValueError says which forms exist."""
    if sut == "reference":
        return ReferenceAdapter()
    if sut.startswith("python:"):
        from kubeprop.conformance.adapters.python import PythonAdapter

        return PythonAdapter(sut)
    if sut.startswith("etcd+"):
        url = sut[len("etcd+") :]
        if not url.startswith("http://") or len(url) == len("http://"):
            raise ValueError(f"--sut {sut!r}: want etcd+http://HOST:PORT (etcd's client URL)")
        return _adapter_class("etcd", "EtcdAdapter", sut)(url)
    if sut.startswith("kube+"):
        url = sut[len("kube+") :]
        if not url.startswith(("http://", "https://")) or url.endswith("//"):
            raise ValueError(f"--sut {sut!r}: want kube+http://HOST:PORT or kube+https://HOST:PORT")
        return _adapter_class("kube", "KubeAdapter", sut)(url)
    path = os.path.expanduser(sut)
    if sut and os.path.isfile(path):
        return _adapter_class("kube", "KubeAdapter", sut)(path)
    raise ValueError(
        f"--sut {sut!r} is not supported: use one of {', '.join(SUT_FORMS)} "
        f"(a kubeconfig must be an existing file)"
    )
