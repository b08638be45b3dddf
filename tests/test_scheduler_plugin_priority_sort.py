"""PrioritySort: the active queue's order, higher priority first, then earlier enqueue time
(upstream's TestLess cases), and the scheduling queue ordered by it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.conformance.strategies.scheduler import make_pod
from kubeprop.reference.scheduler import SchedulingQueue
from kubeprop.reference.scheduler.plugins import priority_sort
from kubeprop.reference.scheduler.queue import QueuedPodInfo

PLUGIN = priority_sort.new(None, None)
LOW, HIGH = 10, 100
T1, T2 = 0.0, 1.0


def info(priority, timestamp=0.0, name="pod"):
    return QueuedPodInfo(pod=make_pod(name, priority=priority), timestamp=timestamp)


# name -> (p1, p2, whether p1 goes first)
CASES = {
    "a pod of lower priority goes after one of higher priority": (
        info(LOW),
        info(HIGH),
        False,
    ),
    "a pod of higher priority goes before one of lower priority": (
        info(HIGH),
        info(LOW),
        True,
    ),
    "of equal priority, the pod added to the queue earlier goes first": (
        info(HIGH, T1),
        info(HIGH, T2),
        True,
    ),
    "of equal priority, the pod added to the queue later goes after": (
        info(HIGH, T2),
        info(HIGH, T1),
        False,
    ),
    "an unset priority counts as 0": (info(None, T2), info(0, T1), False),
    "a negative priority goes after an unset one": (info(-1, T1), info(None, T2), False),
    "priority outweighs the enqueue time": (info(HIGH, T2), info(LOW, T1), True),
    "a pod is not before itself": (info(HIGH, T1), info(HIGH, T1), False),
}


@pytest.mark.parametrize("name", list(CASES))
def test_less(name):
    p1, p2, expected = CASES[name]
    assert PLUGIN.less(p1, p2) is expected


@pytest.mark.parametrize("name", list(CASES))
def test_the_key_agrees_with_less(name):
    p1, p2, expected = CASES[name]
    assert (PLUGIN.key(p1) < PLUGIN.key(p2)) is expected


queued = st.builds(
    info,
    priority=st.sampled_from((None, -1, 0, 10, 100)),
    timestamp=st.sampled_from((0.0, 0.5, 1.0, 2.0)),
)


@given(a=queued, b=queued)
def test_the_key_agrees_with_less_on_any_two_pods(a, b):
    assert (PLUGIN.key(a) < PLUGIN.key(b)) == PLUGIN.less(a, b)


def test_the_plugin_is_named_priority_sort_and_takes_no_arguments():
    assert PLUGIN.name == "PrioritySort"
    assert priority_sort.new({}, None) == PLUGIN


def test_the_scheduling_queue_sorts_with_priority_sort_by_default():
    assert SchedulingQueue().queue_sort == PLUGIN


@given(
    pods=st.lists(
        st.tuples(st.sampled_from((None, 0, 10, 100)), st.sampled_from((0.0, 1.0, 2.0))),
        min_size=1,
        max_size=6,
    )
)
def test_the_queue_pops_no_pod_that_another_pending_pod_goes_before(pods):
    queue = SchedulingQueue()
    for i, (priority, timestamp) in enumerate(pods):
        queue.add(make_pod(f"p{i}", priority=priority), timestamp)
    while queue.active:
        rest = list(queue.active.values())
        popped = queue.pop(10.0)
        assert not any(PLUGIN.less(other, popped) for other in rest)


class ReversedPriority(priority_sort.PrioritySort):
    """A QueueSort plugin of the user's: lower priority first."""

    def less(self, a, b):
        return priority_sort.pod_priority(a.pod) < priority_sort.pod_priority(b.pod)

    def key(self, info):
        return priority_sort.pod_priority(info.pod)


def test_the_queue_orders_by_the_queue_sort_plugin_it_is_given():
    queue = SchedulingQueue(queue_sort=ReversedPriority())
    queue.add(make_pod("high", priority=HIGH), 0.0)
    queue.add(make_pod("low", priority=LOW), 1.0)
    assert [queue.pop(2.0).key, queue.pop(2.0).key] == ["default/low", "default/high"]
