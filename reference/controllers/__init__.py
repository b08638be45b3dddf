"""kubeprop.reference.controllers: the controllers of kube-controller-manager, one module each.

Each controller is a component (see kubeprop.reference.cluster): built with a
client Connection, the EventLoop and an EventRecorder; ``start()`` starts its
informers and reconcile loop, ``stop()`` ends them. Contracts: one spec chapter
per controller (spec/replicaset.md, spec/deployment.md, spec/nodelifecycle.md,
spec/garbagecollector.md).
"""

# Node lifecycle, taint eviction, pod GC and the garbage collector (spec/nodelifecycle.md,
# spec/garbagecollector.md).
from kubeprop.reference.controllers.garbagecollector import (  # noqa: E402
    GarbageCollector as GarbageCollector,
)
from kubeprop.reference.controllers.nodelifecycle import (  # noqa: E402
    NodeLifecycleController as NodeLifecycleController,
)
from kubeprop.reference.controllers.nodelifecycle import (  # noqa: E402
    TaintEvictionController as TaintEvictionController,
)
from kubeprop.reference.controllers.podgc import PodGC as PodGC  # noqa: E402

# isort: split
# The ReplicaSet and Deployment controllers (spec/replicaset.md, spec/deployment.md).
from kubeprop.reference.controllers.deployment import (  # noqa: E402
    DeploymentController as DeploymentController,
)
from kubeprop.reference.controllers.replicaset import (  # noqa: E402
    ReplicaSetController as ReplicaSetController,
)
