"""ImageLocality: nodes holding the pod's images score higher, scaled by how widely the images spread
(upstream's TestImageLocalityPriority and TestNormalizedImageName cases, exact scores)."""

from __future__ import annotations

import attrs
import pytest

from kubeprop.conformance.strategies.scheduler import make_node
from kubeprop.reference.scheduler import Code, CycleState, Snapshot
from kubeprop.reference.scheduler.framework import score_with
from kubeprop.reference.scheduler.plugins import image_locality
from kubeprop.spec.api.core import Container, ContainerImage, Pod, PodSpec
from kubeprop.spec.api.meta import ObjectMeta

PLUGIN = image_locality.new(None, None)
MB = 1024 * 1024


def node_with_images(name: str, *images: tuple[tuple[str, ...], int]):
    """A node whose status lists ``images``: (names, size in MiB) each."""
    node = make_node(name)
    listed = tuple(ContainerImage(names=names, size_bytes=size * MB) for names, size in images)
    return attrs.evolve(node, status=attrs.evolve(node.status, images=listed))


def pod_with_images(*images: str, init: tuple[str, ...] = ()) -> Pod:
    return Pod(
        metadata=ObjectMeta(name="pod", namespace="default"),
        spec=PodSpec(
            containers=tuple(Container(name=f"c{i}", image=im) for i, im in enumerate(images)),
            init_containers=tuple(Container(name=f"i{i}", image=im) for i, im in enumerate(init)),
        ),
    )


# Upstream's node statuses.
NODE_40_300_2000 = (
    (("gcr.io/40:latest", "gcr.io/40:v1", "gcr.io/40:v1"), 40),
    (("gcr.io/300:latest", "gcr.io/300:v1"), 300),
    (("gcr.io/2000:latest",), 2000),
)
NODE_250_10 = ((("gcr.io/250:latest",), 250), (("gcr.io/10:latest", "gcr.io/10:v1"), 10))
NODE_600_40_900 = (
    (("gcr.io/600:latest",), 600),
    (("gcr.io/40:latest",), 40),
    (("gcr.io/900:latest",), 900),
)
NODE_300_600_900 = (
    (("gcr.io/300:latest",), 300),
    (("gcr.io/600:latest",), 600),
    (("gcr.io/900:latest",), 900),
)
NODE_4000_30 = ((("gcr.io/4000:latest",), 4000), (("gcr.io/30:latest",), 30))
NODE_20_30_40 = (
    (("gcr.io/20:latest",), 20),
    (("gcr.io/30:latest",), 30),
    (("gcr.io/40:latest",), 40),
)
NO_IMAGES = ()

# name -> (pod, node statuses in order, expected score per node in order)
CASES = {
    # node1: 40M * 1/2 < 23M gives 0; node2: 100 * (250M * 1/2 - 23M) / (1000M * 2 - 23M) = 5
    "two images spread on two nodes, prefer the larger image one": (
        pod_with_images("gcr.io/40", "gcr.io/250"),
        (NODE_40_300_2000, NODE_250_10),
        (0, 5),
    ),
    # node1: 100 * ((40M + 300M) * 1/2 - 23M) / (1000M * 2 - 23M) = 7
    "two images on one node, prefer this node": (
        pod_with_images("gcr.io/40", "gcr.io/300"),
        (NODE_40_300_2000, NODE_250_10),
        (7, 0),
    ),
    # node1: 4000M * 1/2 >= 1000M * 2, the max threshold; node2: 10M/2 < 23M
    "if the images exceed the limit, the limit is used": (
        pod_with_images("gcr.io/10", "gcr.io/4000"),
        (NODE_4000_30, NODE_250_10),
        (100, 0),
    ),
    # node1: 100 * (4000M * 1/3 - 23M) / (1000M * 2 - 23M) = 66
    "a node without images lowers the spread of the others": (
        pod_with_images("gcr.io/10", "gcr.io/4000"),
        (NODE_4000_30, NODE_250_10, NO_IMAGES),
        (66, 0, 0),
    ),
    # node1: 100 * (600M * 2/3 + 900M * 2/3 - 23M) / (1000M * 3 - 23M) = 32
    # node2: 100 * (300M * 1/3 + 600M * 2/3 + 900M * 2/3 - 23M) / (1000M * 3 - 23M) = 36
    "a pod with multiple large images prefers the node holding most of them": (
        pod_with_images("gcr.io/300", "gcr.io/600", "gcr.io/900"),
        (NODE_600_40_900, NODE_300_600_900, NO_IMAGES),
        (32, 36, 0),
    ),
    # node1: 100 * (30M + 40M * 1/2 - 23M) / (1000M * 2 - 23M) = 1; node2: 30M - 23M gives 0
    "a pod with multiple small images scores low": (
        pod_with_images("gcr.io/30", "gcr.io/40"),
        (NODE_20_30_40, NODE_4000_30),
        (1, 0),
    ),
    # node1: 100 * (300M * 1/2 - 23M) / (1000M * 2 - 23M) = 6; node2: 30M * 1/2 < 23M
    "init containers' images count: two images spread on two nodes": (
        pod_with_images("gcr.io/30", init=("gcr.io/300",)),
        (NODE_40_300_2000, NODE_20_30_40),
        (6, 0),
    ),
    # kubeprop's own: the name the pod uses must be the one the node reports
    "an image with a tag matches only that tag": (
        pod_with_images("gcr.io/300:v1", "gcr.io/2000:v2"),
        (NODE_40_300_2000, NO_IMAGES),
        # 300M * 1/2 = 150M: 100 * (150M - 23M) / (2000M - 23M) = 6
        (6, 0),
    ),
    "a pod whose images no node holds scores 0 everywhere": (
        pod_with_images("nginx"),
        (NODE_40_300_2000, NODE_250_10),
        (0, 0),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_score(name):
    pod, statuses, expected = CASES[name]
    nodes = [node_with_images(f"node{i + 1}", *images) for i, images in enumerate(statuses)]
    scores = score_with(PLUGIN, pod, Snapshot.of(nodes))
    assert [scores[f"node{i + 1}"] for i in range(len(nodes))] == list(expected)


@pytest.mark.parametrize(
    ("name", "given", "normalized"),
    [
        ("a name without a tag gets :latest", "root", "root:latest"),
        ("a registry port is not a tag", "gcr.io:5000/root", "gcr.io:5000/root:latest"),
        ("a tag is kept", "root:tag", "root:tag"),
        ("a digest is kept", "root@sha256:" + "ab" * 32, "root@sha256:" + "ab" * 32),
        ("no docker.io prefix is added", "nginx", "nginx:latest"),
    ],
)
def test_normalized_image_name(name, given, normalized):
    assert image_locality.normalized_image_name(given) == normalized


@pytest.mark.parametrize(
    ("name", "sum_mb", "containers", "score"),
    [
        ("a sum below 23 MiB scores 0", 22, 1, 0),
        ("a sum of exactly 23 MiB scores 0", 23, 1, 0),
        ("a sum of 1000 MiB per container scores 100", 2000, 2, 100),
        ("a sum above the maximum is clamped to it", 5000, 2, 100),
        ("the score truncates: 100 * 488 / 977 = 49.9 gives 49", 511, 1, 49),
    ],
)
def test_calculate_priority(name, sum_mb, containers, score):
    assert image_locality.calculate_priority(sum_mb * MB, containers) == score


def test_image_locality_has_no_normalize_score():
    assert PLUGIN.score_extensions() is None


def test_a_cycle_without_a_snapshot_is_an_error():
    node = Snapshot.of([node_with_images("n", *NODE_250_10)]).node_infos[0]
    score, status = PLUGIN.score(CycleState(), pod_with_images("gcr.io/250"), node)
    assert (score, status.code) == (0, Code.ERROR)


def test_a_node_missing_from_the_snapshot_is_an_error():
    snapshot = Snapshot.of([node_with_images("a", *NODE_250_10)])
    other = Snapshot.of([node_with_images("b", *NODE_250_10)]).node_infos[0]
    score, status = PLUGIN.score(CycleState(snapshot=snapshot), pod_with_images("x"), other)
    assert status.code is Code.ERROR
    assert status.reasons == (
        'getting node "b" from Snapshot: nodeinfo not found for node name "b"',
    )


def test_the_spread_counts_every_node_of_the_snapshot_not_only_the_feasible_ones():
    import random

    from kubeprop.reference.scheduler import REGISTRY, Profile, schedule_one

    registry = (
        REGISTRY
        if image_locality.NAME in REGISTRY.factories
        else REGISTRY.merge({image_locality.NAME: image_locality.new})
    )
    profile = Profile.build(registry, ["NodeUnschedulable", image_locality.NAME])
    cordoned = attrs.evolve(
        node_with_images("node3", (("gcr.io/900:latest",), 900)),
        spec=attrs.evolve(make_node("node3").spec, unschedulable=True),
    )
    nodes = [node_with_images("node1", (("gcr.io/900:latest",), 900)), make_node("node2"), cordoned]
    result = schedule_one(
        profile, pod_with_images("gcr.io/900"), Snapshot.of(nodes), random.Random(0)
    )
    # 900M * 2/3 = 600M: 100 * (600M - 23M) / (1000M - 23M) = 59 (not 43, as 1/2 would give)
    assert dict(result.scores["node1"]) == {"ImageLocality": 59}
    assert result.node_name == "node1"
