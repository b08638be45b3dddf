"""The discrete-event loop: order, time, cancellation, determinism."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.reference.loop import EventLoop


def test_callbacks_run_in_time_order_then_in_scheduling_order():
    loop, seen = EventLoop(), []
    loop.call_at(5, lambda: seen.append(("b", loop.now)))
    loop.call_at(1, lambda: seen.append(("a", loop.now)))
    loop.call_at(5, lambda: seen.append(("c", loop.now)))
    assert loop.run_until(10) == 3
    assert seen == [("a", 1), ("b", 5), ("c", 5)]
    assert loop.now == 10


def test_a_callback_may_schedule_work_at_the_current_instant():
    loop, seen = EventLoop(), []
    loop.call_at(2, lambda: loop.call_later(0, lambda: seen.append(loop.now)))
    loop.run_until(2)
    assert seen == [2]


def test_work_due_later_waits_for_a_later_run():
    loop, seen = EventLoop(), []
    loop.call_later(30, lambda: seen.append("late"))
    loop.run_for(29)
    assert seen == [] and loop.next_time() == 30
    loop.run_for(1)
    assert seen == ["late"]


def test_a_cancelled_callback_never_runs():
    loop, seen = EventLoop(), []
    handle = loop.call_later(1, lambda: seen.append("x"))
    loop.cancel(handle)
    loop.run_for(5)
    assert seen == [] and loop.next_time() is None


def test_time_never_goes_back():
    loop = EventLoop()
    loop.run_until(5)
    with pytest.raises(ValueError):
        loop.run_until(4)
    with pytest.raises(ValueError):
        loop.call_later(-1, lambda: None)


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3)), max_size=30))
def test_the_same_schedule_gives_the_same_run(schedule):
    def run():
        loop, seen = EventLoop(), []
        for number, (when, spawn) in enumerate(schedule):

            def step(number=number, spawn=spawn):
                seen.append((number, loop.now))
                if spawn:
                    loop.call_later(spawn, lambda: seen.append((number, "child", loop.now)))

            loop.call_at(when, step)
        loop.run_until(30)
        return seen

    first = run()
    assert first == run()
    times = [entry[-1] for entry in first]
    assert times == sorted(times)
