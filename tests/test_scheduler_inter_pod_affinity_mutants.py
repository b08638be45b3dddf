"""The InterPodAffinity suite proves its strength: it catches every deliberately broken plugin.

Two checks per mutant: the suite's machine, left to find a failing history on its
own, fails with an InvariantViolation naming the invariant the mutant breaks; and
a short, hand-picked placement trips exactly that invariant (and passes on the
reference).
"""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.scheduler_inter_pod_affinity import BREAKS, MUTANTS
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.suites.test_scheduler_inter_pod_affinity import (
    InterPodAffinitySUT,
    make_machine,
)
from kubeprop.spec import invariants
from kubeprop.spec.api.core import (
    Affinity,
    Container,
    Pod,
    PodAffinityTerm,
    PodAntiAffinity,
    PodSpec,
)
from kubeprop.spec.api.meta import ObjectMeta
from kubeprop.spec.api.selectors import LabelSelector, LabelSelectorRequirement

CAUGHT = mutant_hunt(200, shrink=False)

AWAY_FROM_WEB_IN_ZONE = PodAffinityTerm(
    label_selector=LabelSelector(
        match_expressions=(LabelSelectorRequirement(key="app", operator="In", values=("web",)),)
    ),
    topology_key="zone",
)


def web(name: str, anti: bool) -> Pod:
    affinity = (
        Affinity(
            pod_anti_affinity=PodAntiAffinity(
                required_during_scheduling_ignored_during_execution=(AWAY_FROM_WEB_IN_ZONE,)
            )
        )
        if anti
        else None
    )
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default", labels={"app": "web"}),
        spec=PodSpec(
            containers=(Container(name="c", image="registry.k8s.io/pause:3.10"),),
            affinity=affinity,
        ),
    )


def place(sut: InterPodAffinitySUT, *pods: Pod) -> list[str | None]:
    """Two nodes in zone "a"; the pods placed in order; where each went."""
    machine = make_machine(sut)()
    machine.add_nodes(zones=["a", "a"], regions=["r1", "r1", "r1", "r1"])
    return [machine.place(pod) for pod in pods]


# The first pod's anti-affinity must keep the second (without terms) out of zone "a".
EXISTING_FIRST = (web("first", anti=True), web("second", anti=False))
# The second pod's anti-affinity must keep it away from the first (without terms).
INCOMING_SECOND = (web("first", anti=False), web("second", anti=True))

CASES = {
    "ignores-existing-anti-affinity": EXISTING_FIRST,
    "ignores-incoming-anti-affinity": INCOMING_SECOND,
    "skips-pods-without-own-terms": EXISTING_FIRST,
}


def test_every_mutant_has_a_case_and_names_a_registered_invariant():
    assert set(CASES) == set(MUTANTS) == set(BREAKS)
    for invariant_id in BREAKS.values():
        invariants.get(invariant_id)


@pytest.mark.parametrize("pods", [EXISTING_FIRST, INCOMING_SECOND], ids=["existing", "incoming"])
def test_the_reference_leaves_the_second_pod_pending(pods):
    first, second = place(InterPodAffinitySUT(), *pods)
    assert first is not None and second is None


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_hand_picked_case_trips_exactly_the_broken_invariant(name):
    with pytest.raises(InvariantViolation) as caught:
        place(InterPodAffinitySUT(**MUTANTS[name]), *CASES[name])
    assert caught.value.invariant_id == BREAKS[name]


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_suite_finds_the_mutant_on_its_own(name):
    machine = make_machine(InterPodAffinitySUT(**MUTANTS[name]))
    with pytest.raises(InvariantViolation) as caught:
        run_state_machine_as_test(machine, settings=CAUGHT)
    assert caught.value.invariant_id == BREAKS[name]
