"""kubeprop.reference.scheduler: the scheduling framework, its in-tree plugins and the scheduling queue.

Contract: ``schedule_one(profile, pod, snapshot, rng)`` is one scheduling cycle
(see ``framework``); ``default_profile()`` is kube-scheduler v1.35's default
profile restricted to the plugins modelled so far; ``SchedulingQueue`` orders
pending pods (see ``queue``). Everything but ``Scheduler`` is pure: time is an
argument and randomness a seeded ``random.Random``. ``Scheduler`` (see
``component``) is kube-scheduler as a component of the simulated cluster:
informers, the queue, the assume cache, binding and failure reporting on the
event loop. The chapter is spec/scheduler.md.
"""

from kubeprop.reference.scheduler.component import Decision, Scheduler
from kubeprop.reference.scheduler.framework import (
    Code,
    CycleState,
    Handle,
    InvalidInput,
    NodeInfo,
    Profile,
    Registry,
    ScheduleResult,
    Snapshot,
    Status,
    schedule_one,
    select_host,
)
from kubeprop.reference.scheduler.helper import MAX_NODE_SCORE, default_normalize_score
from kubeprop.reference.scheduler.plugins import REGISTRY, default_profile
from kubeprop.reference.scheduler.queue import QueuedPodInfo, SchedulingQueue

__all__ = [
    "MAX_NODE_SCORE",
    "REGISTRY",
    "Code",
    "CycleState",
    "Decision",
    "Handle",
    "InvalidInput",
    "NodeInfo",
    "Profile",
    "QueuedPodInfo",
    "Registry",
    "ScheduleResult",
    "Scheduler",
    "SchedulingQueue",
    "Snapshot",
    "Status",
    "default_normalize_score",
    "default_profile",
    "schedule_one",
    "select_host",
]
