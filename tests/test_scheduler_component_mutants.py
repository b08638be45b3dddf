"""The scheduler component suite proves its strength: it catches every deliberately broken kube-scheduler.

Two checks per mutant (conformance/mutants/scheduler.py, COMPONENT_MUTANTS): the
component machine, left to find a failing history on its own, fails with an
InvariantViolation naming the invariant the mutant breaks; and a short,
hand-picked history trips exactly that invariant (and passes on the
reference). Together the hand-picked histories show every invariant of
spec/scheduler.md section 5 failing on some broken scheduler.
"""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance.mutants.scheduler import (
    BREAKS,
    COMPONENT_ALSO_BREAKS,
    COMPONENT_BREAKS,
    COMPONENT_MUTANTS,
    IgnoresTaints,
)
from kubeprop.conformance.profiles import mutant_hunt
from kubeprop.conformance.report import InvariantViolation
from kubeprop.conformance.suites.test_scheduler_component import make_component_machine
from kubeprop.reference.loop import EventLoop
from kubeprop.reference.scheduler import Scheduler
from kubeprop.spec import invariants

CAUGHT = mutant_hunt(100, shrink=False)

SMALL_NODE = dict(cpu="1", pods="10", taint="none", zone="a")

# name -> the steps of the history: (rule, keyword arguments); the machine's state
# invariants run after every step, and the liveness checks after settling at the end.
HISTORIES: dict[str, list[tuple[str, dict]]] = {
    "component-ignores-taints": [
        ("add_node", dict(cpu="2", pods="10", taint="dedicated", zone="a")),
        ("create_pods", dict(count=1, cpu="500m", toleration="none", zone=None)),
        ("advance", dict(seconds=0.5)),
    ],
    "component-no-assume-cache": [
        ("add_node", SMALL_NODE),
        ("create_pods", dict(count=2, cpu="1", toleration="none", zone=None)),
        ("advance", dict(seconds=0.5)),
    ],
    "component-queues-assigned-pods": [
        ("add_node", dict(cpu="2", pods="10", taint="none", zone="a")),
        ("create_pods", dict(count=1, cpu="500m", toleration="none", zone=None)),
        ("advance", dict(seconds=0.5)),
    ],
    "component-ignores-cluster-events": [
        ("add_node", SMALL_NODE),
        ("cordon", dict(index=0, unschedulable=True)),
        ("create_pods", dict(count=1, cpu="500m", toleration="none", zone=None)),
        ("advance", dict(seconds=1.0)),
        ("cordon", dict(index=0, unschedulable=False)),
    ],
    "component-silent-failures": [
        ("add_node", SMALL_NODE),
        ("cordon", dict(index=0, unschedulable=True)),
        ("create_pods", dict(count=1, cpu="500m", toleration="none", zone=None)),
    ],
}


def replay(factory, steps) -> None:
    machine = make_component_machine(factory)()
    try:
        for rule, arguments in steps:
            getattr(machine, rule)(**arguments)
            machine.no_node_is_overcommitted()
        machine.check_settled()
    finally:
        machine.scheduler.stop()


def test_every_component_mutant_has_a_history_and_names_a_registered_invariant():
    assert set(HISTORIES) == set(COMPONENT_MUTANTS) == set(COMPONENT_BREAKS)
    for invariant_id in COMPONENT_BREAKS.values():
        invariants.get(invariant_id)


def plugin_mutant_breaks() -> set[str]:
    """The invariants broken by the plugins' own mutants (conformance/mutants/scheduler_*.py)."""
    import importlib
    import pkgutil

    from kubeprop.conformance import mutants

    found: set[str] = set()
    for module in pkgutil.iter_modules(mutants.__path__):
        if module.name.startswith("scheduler_"):
            loaded = importlib.import_module(f"{mutants.__name__}.{module.name}")
            found |= set(getattr(loaded, "BREAKS", {}).values())
    return found


def test_every_scheduler_invariant_is_broken_by_a_cycle_a_component_or_a_plugin_mutant():
    ids = {inv.id for inv in invariants.catalogue("scheduler")}
    broken = set(BREAKS.values()) | set(COMPONENT_BREAKS.values()) | plugin_mutant_breaks()
    assert ids <= broken, f"never shown failing: {sorted(ids - broken)}"


def test_the_taint_ignoring_scheduler_is_the_reference_without_taint_toleration():
    scheduler = IgnoresTaints(connection=None, loop=EventLoop(), recorder=None)
    assert isinstance(scheduler, Scheduler)
    assert "TaintToleration" not in [plugin.name for plugin in scheduler.profile.plugins]


@pytest.mark.parametrize("name", sorted(COMPONENT_MUTANTS))
def test_the_hand_picked_history_trips_exactly_the_broken_invariant(name):
    with pytest.raises(InvariantViolation) as caught:
        replay(COMPONENT_MUTANTS[name], HISTORIES[name])
    assert caught.value.invariant_id == COMPONENT_BREAKS[name]


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_the_hand_picked_history_passes_on_the_reference(name):
    replay(Scheduler, HISTORIES[name])


@pytest.mark.parametrize("name", sorted(COMPONENT_MUTANTS))
def test_the_machine_finds_the_mutant_on_its_own(name):
    with pytest.raises(InvariantViolation) as caught:
        run_state_machine_as_test(make_component_machine(COMPONENT_MUTANTS[name]), settings=CAUGHT)
    assert caught.value.invariant_id in {
        COMPONENT_BREAKS[name],
        *COMPONENT_ALSO_BREAKS.get(name, ()),
    }
