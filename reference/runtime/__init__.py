"""kubeprop.reference.runtime: the CRI-shaped container runtime of a simulated node.

Contract: ``Runtime`` (one per node, on the cluster's ``EventLoop``) is the
image service and runtime service the kubelet drives; ``images`` holds the
pure rules it follows (reference normalisation, registries, pull times, the
scripted behaviours of the ``kubeprop.test/`` images). spec/runtime.md states
the rules; spec/invariants/runtime.py checks them.
"""

from kubeprop.reference.runtime.images import (
    ImageName,
    ImageScript,
    InvalidReference,
    ScriptError,
    parse_reference,
    parse_script,
    pull_error,
    pull_seconds,
)
from kubeprop.reference.runtime.runtime import (
    SIGKILL_EXIT_CODE,
    SIGTERM_EXIT_CODE,
    ContainerEvent,
    ContainerEventType,
    ContainerState,
    ContainerStatus,
    CRIError,
    Image,
    PodSandbox,
    PullResult,
    Runtime,
    SandboxState,
    exit_reason,
)

__all__ = [
    "SIGKILL_EXIT_CODE",
    "SIGTERM_EXIT_CODE",
    "CRIError",
    "ContainerEvent",
    "ContainerEventType",
    "ContainerState",
    "ContainerStatus",
    "Image",
    "ImageName",
    "ImageScript",
    "InvalidReference",
    "PodSandbox",
    "PullResult",
    "Runtime",
    "SandboxState",
    "ScriptError",
    "exit_reason",
    "parse_reference",
    "parse_script",
    "pull_error",
    "pull_seconds",
]
