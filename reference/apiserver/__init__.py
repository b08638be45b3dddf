"""kubeprop.reference.apiserver: the reference Kubernetes API server over the MVCC store."""

from kubeprop.reference.apiserver.server import SYSTEM_NAMESPACES, ApiServer
from kubeprop.spec.contracts import Response

__all__ = ["ApiServer", "Response", "SYSTEM_NAMESPACES"]
