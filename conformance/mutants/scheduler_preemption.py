"""Deliberately broken DefaultPreemption plugins: each one realistic bug, which the preemption suite must catch.

Contract: ``MUTANTS`` maps a mutant's name to a zero-argument factory of the PostFilter
plugin (the ``plugin`` of the suite's ``PreemptionSUT``); ``BREAKS`` names the invariant
each one breaks. Each mutant is the reference DefaultPreemption with one method
overridden, so the bug is the only difference. ``COMPONENT_MUTANTS`` are schedulers
(the reference ``Scheduler`` with one method overridden) that evict other pods than the
plugin chose; ``COMPONENT_BREAKS`` names what catches them.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from kubeprop.reference.scheduler import Scheduler
from kubeprop.reference.scheduler.framework import SUCCESS, Plugin
from kubeprop.reference.scheduler.plugins.default_preemption import DefaultPreemption, priority


@attrs.frozen
class NoReprieve(DefaultPreemption):
    """Evicts every lower-priority pod of the node it picks: no victim is ever reprieved."""

    def select_victims_on_node(self, state, pod, node_info):
        victims, status = super().select_victims_on_node(state, pod, node_info)
        if not status.is_success():
            return victims, status
        return tuple(self.potential_victims(pod, node_info)), SUCCESS


@attrs.frozen
class EvictsEqualPriority(DefaultPreemption):
    """Compares priorities with <=: pods of the preemptor's own priority become victims."""

    def potential_victims(self, pod, node_info):
        return [p for p in node_info.pods if priority(p) <= priority(pod)]


MUTANTS: dict[str, Callable[[], Plugin]] = {
    "preemption-without-reprieve": NoReprieve,
    "preemption-evicts-equal-priority": EvictsEqualPriority,
}

BREAKS: dict[str, str] = {
    "preemption-without-reprieve": "SCHEDULER-PREEMPTION-MINIMAL",
    "preemption-evicts-equal-priority": "SCHEDULER-PREEMPTION-LOWER-PRIORITY",
}


# -- the scheduler component -----------------------------------------------------------------
#
# ``COMPONENT_MUTANTS`` maps a name to a Scheduler class (same constructor as the reference);
# the suite's ``run_component`` catches each by the invariant ``COMPONENT_BREAKS`` names.


@attrs.define(eq=False)
class EvictsEveryLowerPriorityPod(Scheduler):
    """Asked to evict a victim, evicts every pod of lower priority on its node."""

    def preempt(self, victim, preemptor, node_name: str) -> bool:
        doomed = [
            pod
            for pod in self.assigned.values()
            if pod.spec is not None
            and pod.spec.node_name == node_name
            and not (pod.metadata and pod.metadata.deletion_timestamp)
            and priority(pod) < priority(preemptor)
        ]
        return all(
            super(EvictsEveryLowerPriorityPod, self).preempt(pod, preemptor, node_name)
            for pod in doomed
        )


COMPONENT_MUTANTS: dict[str, type[Scheduler]] = {
    "component-evicts-every-lower-priority-pod": EvictsEveryLowerPriorityPod,
}

COMPONENT_BREAKS: dict[str, str] = {
    "component-evicts-every-lower-priority-pod": "SCHEDULER-PREEMPTION-MINIMAL",
}
