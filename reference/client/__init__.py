"""The client machinery components use to talk to the API server (client-go, controller-runtime).

Contract: spec/client.md. Informers keep a list+watch cache of one resource,
listers read it, a work queue hands out keys with client-go's dedup and rate
limiting, and a Controller runs controller-runtime's reconcile loop over it,
all on the simulated event loop.
"""

from kubeprop.reference.client.connection import Connection, unreachable
from kubeprop.reference.client.events import NORMAL, WARNING, EventRecorder
from kubeprop.reference.client.informer import (
    Handlers,
    Informer,
    Informers,
    Lister,
    key_of,
    split_key,
)
from kubeprop.reference.client.reconcile import Controller, Result
from kubeprop.reference.client.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    QueueState,
    WorkQueue,
    default_controller_rate_limiter,
    exponential_backoff,
)

__all__ = [
    "NORMAL",
    "WARNING",
    "Connection",
    "EventRecorder",
    "unreachable",
    "BucketRateLimiter",
    "Controller",
    "Handlers",
    "Informer",
    "Informers",
    "ItemExponentialFailureRateLimiter",
    "Lister",
    "MaxOfRateLimiter",
    "QueueState",
    "Result",
    "WorkQueue",
    "default_controller_rate_limiter",
    "exponential_backoff",
    "key_of",
    "split_key",
]
