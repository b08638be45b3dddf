"""kubeprop.spec: what must hold.

The normative layer: Kubernetes object types (``kubeprop.spec.api``), the
invariant catalogue (``kubeprop.spec.invariants``), the etcd vocabulary shared
by every store (``kubeprop.spec.etcd``) and the protocols a third-party
implementation satisfies (``kubeprop.spec.contracts``). It imports nothing from
the layers above it.
"""

KUBERNETES_VERSION = "v1.35"
