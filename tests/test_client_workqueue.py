"""The work queue and its rate limiters: client-go's semantics and exact default numbers."""

from __future__ import annotations

import pytest

from kubeprop.reference.client import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    WorkQueue,
    default_controller_rate_limiter,
    exponential_backoff,
)
from kubeprop.reference.loop import EventLoop

# client-go DefaultControllerRateLimiter: 5 ms * 2^failures, capped at 1000 s.
BACKOFF_TABLE = [
    ("the first failure waits the 5 ms base delay", 0, 0.005),
    ("the second failure waits twice as long", 1, 0.010),
    ("the third failure waits four times the base", 2, 0.020),
    ("ten failures wait 5.12 s", 10, 5.12),
    ("seventeen failures wait 655.36 s, the last delay under the cap", 17, 655.36),
    ("eighteen failures would wait 1310.72 s and are capped at 1000 s", 18, 1000.0),
    ("a huge number of failures is capped, not an overflow", 500, 1000.0),
]


@pytest.mark.parametrize(
    ("case", "failures", "delay"), BACKOFF_TABLE, ids=[c[0] for c in BACKOFF_TABLE]
)
def test_the_per_item_backoff_doubles_from_5_ms_up_to_1000_s(case, failures, delay) -> None:
    assert exponential_backoff(failures, 5_000_000, 1_000_000_000_000) == pytest.approx(delay)


def test_each_rate_limited_failure_of_a_key_doubles_its_delay_until_forgotten() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("a", 0.0) for _ in range(4)]
    assert delays == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert limiter.num_requeues("a") == 4
    assert limiter.when("b", 0.0) == pytest.approx(0.005)  # per item
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a", 0.0) == pytest.approx(0.005)


def test_the_overall_bucket_lets_a_burst_of_100_through_then_10_per_second() -> None:
    bucket = BucketRateLimiter()
    assert [bucket.when(i, 0.0) for i in range(100)] == [0.0] * 100
    assert bucket.when("x", 0.0) == pytest.approx(0.1)
    assert bucket.when("y", 0.0) == pytest.approx(0.2)
    assert bucket.when("z", 1.0) == pytest.approx(0.0)  # 10 tokens refilled, 3 owed


def test_the_default_limiter_waits_the_longer_of_backoff_and_bucket() -> None:
    limiter = default_controller_rate_limiter()
    for i in range(100):
        limiter.when(f"k{i}", 0.0)
    # The bucket is empty (0.1 s) and the key's first failure asks 5 ms: 0.1 s wins.
    assert limiter.when("a", 0.0) == pytest.approx(0.1)
    assert limiter.num_requeues("a") == 1


def test_a_key_waiting_in_the_queue_is_not_added_twice() -> None:
    queue = WorkQueue(EventLoop())
    queue.add("a")
    queue.add("b")
    queue.add("a")
    assert len(queue) == 2
    assert [queue.get(), queue.get(), queue.get()] == ["a", "b", None]


def test_a_key_added_while_processed_is_handed_out_again_only_after_done() -> None:
    queue = WorkQueue(EventLoop())
    queue.add("a")
    assert queue.get() == "a"
    queue.add("a")
    queue.add("a")
    assert queue.get() is None  # never handed out twice at once
    queue.done("a")
    assert queue.get() == "a"
    queue.done("a")
    assert queue.get() is None


def test_add_after_adds_the_key_once_the_delay_has_passed() -> None:
    loop = EventLoop()
    queue = WorkQueue(loop)
    queue.add_after("a", 1.0)
    queue.add_after("a", 0.5)  # the earlier instant wins
    queue.add_after("a", 2.0)
    loop.run_until(0.4)
    assert queue.get() is None
    loop.run_until(0.5)
    assert queue.get() == "a"
    queue.done("a")
    loop.run_until(3.0)
    assert queue.get() is None  # the later adds were merged into the first


def test_add_rate_limited_waits_the_limiters_delay() -> None:
    loop = EventLoop()
    queue = WorkQueue(loop)
    assert queue.add_rate_limited("a") == pytest.approx(0.005)
    assert queue.get() is None
    loop.run_until(0.005)
    assert queue.get() == "a"
    assert queue.num_requeues("a") == 1
    queue.forget("a")
    assert queue.num_requeues("a") == 0


def test_after_shutdown_nothing_is_added_and_what_waits_drains() -> None:
    loop = EventLoop()
    queue = WorkQueue(loop)
    queue.add("a")
    queue.add_after("b", 1.0)
    queue.shutdown()
    queue.add("c")
    loop.run_until(2.0)
    assert [queue.get(), queue.get()] == ["a", None]


def test_a_negative_failure_count_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="failures cannot be negative"):
        exponential_backoff(-1, 5_000_000, 1_000_000_000_000)
