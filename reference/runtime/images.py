"""Image references, the registries a node can pull from, and what each test image does.

Contract:
- ``parse_reference(text)`` normalises a reference as Docker and containerd do
  (``nginx`` -> ``docker.io/library/nginx:latest``; ``index.docker.io`` ->
  ``docker.io``; a digest is kept and no ``latest`` is added beside it) or
  raises ``InvalidReference`` with distribution's "invalid reference format" wording.
- ``pull_error(name)`` is the error a pull of ``name`` ends with (None: it
  succeeds): a registry host outside ``KNOWN_REGISTRIES`` gives containerd's
  "no such host"; a missing tag (``doesnotexist``, any tag starting
  ``missing-``) and a test image whose script does not parse give "not found".
- ``pull_seconds(name)``: a pull takes 1 s + 1 s per 100 MB of the image
  (``image_size_mb``); a failed pull ends after ``FAILED_PULL_SECONDS``.
- ``parse_script(name)`` is the behaviour of the image's containers
  (spec/runtime.md, "Image behaviours"): ordinary images run forever and are
  ready at once; the ``kubeprop.test/`` family is scripted by repository and tag.
All functions are pure; this module is the executable form of the image table.
"""

from __future__ import annotations

import hashlib
import re

import attrs

TEST_REGISTRY = "kubeprop.test"
DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
KNOWN_REGISTRIES = frozenset(
    {"docker.io", "registry.k8s.io", "quay.io", "gcr.io", "ghcr.io", TEST_REGISTRY}
)
MISSING_TAG = "doesnotexist"
MISSING_TAG_PREFIX = "missing-"
FAILED_PULL_SECONDS = 1.0

# Sizes (MB) of a few well-known images; any other image is DEFAULT_SIZE_MB, a test image 1 MB.
SIZES_MB = {
    "docker.io/library/busybox": 4,
    "docker.io/library/nginx": 70,
    "docker.io/library/redis": 40,
    "registry.k8s.io/pause": 1,
}
DEFAULT_SIZE_MB = 50
TEST_IMAGE_SIZE_MB = 1

_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_DOMAIN = re.compile(
    r"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
NAME_TOTAL_LENGTH_MAX = 255


class InvalidReference(ValueError):
    """A reference that Docker's parser rejects (kubelet: InvalidImageName)."""


class ScriptError(ValueError):
    """A ``kubeprop.test/`` reference that names no scripted behaviour."""


@attrs.frozen
class ImageName:
    """A normalised image reference."""

    domain: str  # registry host[:port], e.g. docker.io
    path: str  # repository path, e.g. library/nginx
    tag: str | None  # None only beside a digest
    digest: str | None

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def ref(self) -> str:
        text = self.repository
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def host(self) -> str:
        return self.domain.split(":", 1)[0]

    @property
    def image_id(self) -> str:
        """A deterministic image id (the config digest a registry would serve)."""
        return "sha256:" + hashlib.sha256(self.ref.encode()).hexdigest()


def parse_reference(text: object) -> ImageName:
    """Normalise ``text`` as Docker/containerd do; InvalidReference says why not."""
    if not isinstance(text, str) or not text:
        raise InvalidReference("invalid reference format: an image reference is a non-empty string")
    if text != text.strip() or any(c.isspace() for c in text):
        raise InvalidReference(f"invalid reference format: {text!r} contains whitespace")
    name, _, digest = text.partition("@")
    if "@" in text and not _DIGEST.match(digest):
        raise InvalidReference(f"invalid reference format: {text!r} has a malformed digest")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidReference(f"invalid reference format: {text!r} has a malformed tag")
    first, sep, rest = name.partition("/")
    if sep and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if not _DOMAIN.match(domain):
        raise InvalidReference(f"invalid reference format: {text!r} has a malformed registry host")
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if path != path.lower():
        raise InvalidReference(
            f"invalid reference format: repository name ({path}) must be lowercase"
        )
    if not path or not all(_PATH_COMPONENT.match(part) for part in path.split("/")):
        raise InvalidReference(f"invalid reference format: {text!r} has a malformed repository")
    if len(f"{domain}/{path}") > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"invalid reference format: repository name must not be more than "
            f"{NAME_TOTAL_LENGTH_MAX} characters"
        )
    if tag is None and not digest:
        tag = "latest"
    return ImageName(domain, path, tag, digest or None)


# ---- behaviours -------------------------------------------------------------------------


@attrs.frozen
class ImageScript:
    """What a container of an image does once started (times from its start, in seconds)."""

    exit_code: int | None = None  # None: runs until stopped
    exit_after: float | None = None  # when it exits on its own
    reason: str | None = None  # the reason it exits with (OOMKilled), else from the code
    ready_after: float = 0.0  # probes fail before this
    never_ready: bool = False  # the readiness probe always fails
    ignores_sigterm: bool = False  # only SIGKILL, at the stop timeout, ends it


ORDINARY = ImageScript()
_EXIT_TAG = re.compile(r"^(\d{1,3})(?:-after-(\d{1,6})s)?$")
_SECONDS_TAG = re.compile(r"^(\d{1,6})s$")
SCRIPTED_REPOSITORIES = ("crash", "exit", "ignore-sigterm", "oom", "slow-start", "unready")


def parse_script(name: ImageName) -> ImageScript:
    """The behaviour of ``name``'s containers; ScriptError for an unknown test image."""
    if name.domain != TEST_REGISTRY:
        return ORDINARY
    repository, tag = name.path, name.tag
    if repository in ("exit", "slow-start") and tag is None:
        raise ScriptError(f"{name.ref}: {repository} takes its parameter from the tag")
    if repository == "exit":
        match = _EXIT_TAG.match(tag)
        if not match or int(match.group(1)) > 255:
            raise ScriptError(
                f"{name.ref}: the tag of {TEST_REGISTRY}/exit must be <code> or "
                f"<code>-after-<n>s with 0 <= code <= 255, not {tag!r}"
            )
        after = float(match.group(2)) if match.group(2) else 1.0
        if after < 1:
            raise ScriptError(f"{name.ref}: the delay of {TEST_REGISTRY}/exit must be >= 1s")
        return ImageScript(exit_code=int(match.group(1)), exit_after=after)
    if repository == "slow-start":
        match = _SECONDS_TAG.match(tag)
        if not match:
            raise ScriptError(
                f"{name.ref}: the tag of {TEST_REGISTRY}/slow-start must be <n>s, not {tag!r}"
            )
        return ImageScript(ready_after=float(match.group(1)))
    if repository == "crash":
        return ImageScript(exit_code=1, exit_after=1.0)
    if repository == "oom":
        return ImageScript(exit_code=137, exit_after=1.0, reason="OOMKilled")
    if repository == "unready":
        return ImageScript(never_ready=True)
    if repository == "ignore-sigterm":
        return ImageScript(ignores_sigterm=True)
    raise ScriptError(
        f"{name.ref}: {TEST_REGISTRY} has no repository {repository!r} "
        f"(known: {', '.join(SCRIPTED_REPOSITORIES)})"
    )


# ---- pulls ------------------------------------------------------------------------------


def is_missing_tag(tag: str | None) -> bool:
    return tag is not None and (tag == MISSING_TAG or tag.startswith(MISSING_TAG_PREFIX))


def pull_error(name: ImageName) -> str | None:
    """containerd's error for a pull of ``name``, or None when the pull succeeds."""
    ref = name.ref
    prefix = f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}"'
    if name.domain not in KNOWN_REGISTRIES:
        version = name.digest or name.tag
        return (
            f'{prefix}: failed to do request: Head "https://{name.domain}/v2/{name.path}'
            f'/manifests/{version}": dial tcp: lookup {name.host}: no such host'
        )
    if is_missing_tag(name.tag):
        return f"{prefix}: {ref}: not found"
    try:
        parse_script(name)
    except ScriptError:
        return f"{prefix}: {ref}: not found"
    return None


def image_size_mb(name: ImageName) -> int:
    if name.domain == TEST_REGISTRY:
        return TEST_IMAGE_SIZE_MB
    return SIZES_MB.get(name.repository, DEFAULT_SIZE_MB)


def pull_seconds(name: ImageName) -> float:
    """How long a successful pull of ``name`` takes: 1 s + 1 s per 100 MB."""
    return 1.0 + image_size_mb(name) / 100
