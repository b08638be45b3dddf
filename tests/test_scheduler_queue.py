"""The scheduling queue: order, backoff, parking and the cluster events that wake pods."""

from __future__ import annotations

import pytest

from kubeprop.conformance.strategies.scheduler import make_pod
from kubeprop.reference.scheduler import SchedulingQueue
from kubeprop.reference.scheduler.queue import NODE_ADD, backoff_duration

REJECTED = frozenset({"NodeResourcesFit"})


def queue_with(*pods, now=0.0):
    queue = SchedulingQueue()
    for pod in pods:
        queue.add(pod, now)
    return queue


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(0, 0.0), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (6, 10.0), (40, 10.0)],
)
def test_backoff_starts_at_one_second_and_doubles_up_to_ten(attempts, seconds):
    assert backoff_duration(attempts) == seconds


def test_a_higher_priority_pod_is_popped_first():
    queue = queue_with(make_pod("low", priority=0), make_pod("high", priority=100))
    assert queue.pop(0.0).key == "default/high"
    assert queue.pop(0.0).key == "default/low"


def test_pods_of_equal_priority_are_popped_in_the_order_they_were_added():
    queue = SchedulingQueue()
    queue.add(make_pod("second"), 2.0)
    queue.add(make_pod("first"), 1.0)
    assert [queue.pop(3.0).key, queue.pop(3.0).key] == ["default/first", "default/second"]


def test_an_empty_queue_pops_nothing():
    assert SchedulingQueue().pop(0.0) is None


def test_a_pod_that_failed_with_an_error_waits_out_its_backoff():
    queue = queue_with(make_pod("p"))
    info = queue.pop(0.0)
    queue.add_unschedulable(info, 10.0)  # no rejecting plugin: an error
    assert queue.pending()["backoffQ"] == ["default/p"]
    assert queue.pop(10.9) is None
    assert queue.pop(11.5) is None  # the backoff ends in the window [11, 12): still backing off
    assert queue.pop(12.0).attempts == 2


def test_the_second_failure_doubles_the_backoff():
    queue = queue_with(make_pod("p"))
    queue.add_unschedulable(queue.pop(0.0), 0.0)
    queue.add_unschedulable(queue.pop(2.0), 2.0)  # 2 s from 2.0: ends in the window [4, 5)
    assert queue.pop(4.9) is None
    assert queue.pop(5.0) is not None


def test_an_unschedulable_pod_is_parked_until_a_cluster_event():
    queue = queue_with(make_pod("p"))
    queue.add_unschedulable(queue.pop(0.0), 0.0, REJECTED)
    assert queue.pending()["unschedulablePods"] == ["default/p"]
    assert queue.pop(60.0) is None
    queue.move_all_to_active_or_backoff(NODE_ADD, 60.0)
    assert queue.pop(60.0).key == "default/p"


def test_an_event_during_backoff_moves_the_pod_to_backoff_not_active():
    queue = queue_with(make_pod("p"))
    queue.add_unschedulable(queue.pop(0.0), 0.0, REJECTED)
    queue.move_all_to_active_or_backoff(NODE_ADD, 0.5)
    assert queue.pending()["backoffQ"] == ["default/p"]
    queue.add(make_pod("ready"), 0.5)
    assert queue.pop(0.5).key == "default/ready"  # a ready pod goes first
    assert queue.pending()["backoffQ"] == ["default/p"]
    queue.flush(2.0)
    assert queue.pending()["activeQ"] == ["default/p"]


def test_with_nothing_ready_a_rejected_pod_is_popped_from_backoff_early():
    queue = queue_with(make_pod("p"))
    queue.add_unschedulable(queue.pop(0.0), 0.0, REJECTED)
    queue.move_all_to_active_or_backoff(NODE_ADD, 0.5)
    assert queue.pop(0.5).key == "default/p"  # SchedulerPopFromBackoffQ


def test_a_pod_that_failed_with_an_error_is_never_popped_early():
    queue = queue_with(make_pod("p"))
    queue.add_unschedulable(queue.pop(0.0), 0.0)
    assert queue.pop(0.5) is None


def test_early_pops_order_pods_of_one_backoff_window_as_the_active_queue_does():
    queue = queue_with(make_pod("low", priority=0), make_pod("high", priority=10))
    high, low = queue.pop(0.0), queue.pop(0.0)
    queue.add_unschedulable(low, 0.0, REJECTED)
    queue.add_unschedulable(high, 0.0, REJECTED)
    queue.move_all_to_active_or_backoff(NODE_ADD, 0.1)
    assert queue.pop(0.1).key == "default/high"


def test_a_parked_pod_is_retried_after_five_minutes_without_events():
    queue = queue_with(make_pod("p"))
    queue.add_unschedulable(queue.pop(0.0), 0.0, REJECTED)
    queue.flush(300.0)
    assert queue.pending()["unschedulablePods"] == ["default/p"]
    queue.flush(300.5)
    assert queue.pending()["activeQ"] == ["default/p"]


def test_an_event_while_a_pod_is_being_scheduled_sends_its_failure_to_backoff():
    queue = queue_with(make_pod("p"))
    info = queue.pop(0.0)
    queue.move_all_to_active_or_backoff(NODE_ADD, 0.1)  # a node came while p was in flight
    queue.add_unschedulable(info, 0.2, REJECTED)
    assert queue.pending()["backoffQ"] == ["default/p"]


def test_adding_a_queued_pod_again_updates_it_in_place():
    queue = queue_with(make_pod("p", priority=1))
    queue.add(make_pod("p", priority=5), 3.0)
    assert len(queue.active) == 1
    info = queue.pop(3.0)
    assert info.priority == 5 and info.timestamp == 0.0


def test_updating_a_parked_pod_retries_it():
    queue = queue_with(make_pod("p"))
    queue.add_unschedulable(queue.pop(0.0), 0.0, REJECTED)
    queue.add(make_pod("p", priority=2), 5.0)
    assert queue.pending()["activeQ"] == ["default/p"]


def test_a_deleted_pod_leaves_every_queue():
    queue = queue_with(make_pod("a"), make_pod("b"))
    queue.add_unschedulable(queue.pop(0.0), 0.0, REJECTED)
    queue.delete(make_pod("a"))
    queue.delete(make_pod("b"))
    assert "default/a" not in queue and "default/b" not in queue
    assert queue.pop(100.0) is None


def test_a_bound_pod_is_done():
    queue = queue_with(make_pod("p"))
    info = queue.pop(0.0)
    queue.done(info.key)
    assert info.key not in queue


def test_attempts_and_the_first_attempt_time_are_recorded():
    queue = queue_with(make_pod("p"))
    first = queue.pop(2.0)
    queue.add_unschedulable(first, 2.0)
    second = queue.pop(4.0)
    assert (second.attempts, second.initial_attempt_timestamp) == (2, 2.0)
