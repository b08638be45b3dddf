"""The controller-runtime worker loop: four outcomes, one key at a time, level-triggered."""

from __future__ import annotations

import pytest

from kubeprop.reference.client import Controller, Result, WorkQueue
from kubeprop.reference.loop import EventLoop


def _controller(reconcile) -> tuple[EventLoop, WorkQueue, Controller]:
    loop = EventLoop()
    queue = WorkQueue(loop)
    return loop, queue, Controller("test", queue, reconcile, loop)


def _failing(key):
    raise RuntimeError("the API server said no")


OUTCOMES = [
    ("an error requeues the key rate-limited", _failing, "error", 0.005, 1),
    (
        "requeue requeues the key rate-limited",
        lambda key: Result(requeue=True),
        "requeue",
        0.005,
        1,
    ),
    (
        "requeue after forgets and adds after the delay",
        lambda key: Result(requeue_after=2.0),
        "requeue_after",
        2.0,
        0,
    ),
    ("success forgets the key and does not requeue it", lambda key: Result(), "success", None, 0),
    ("None counts as success", lambda key: None, "success", None, 0),
    (
        "a negative requeue after counts as success",
        lambda key: Result(requeue_after=-1.0),
        "success",
        None,
        0,
    ),
    ("an answer that is not a Result is an error", lambda key: "done", "error", 0.005, 1),
]


@pytest.mark.parametrize(
    ("case", "reconcile", "outcome", "requeued_after", "requeues"),
    OUTCOMES,
    ids=[c[0] for c in OUTCOMES],
)
def test_each_reconcile_outcome_does_what_controller_runtime_does(
    case, reconcile, outcome, requeued_after, requeues
) -> None:
    times: list[float] = []
    loop = EventLoop()

    def recorded(key):
        times.append(loop.now)
        return reconcile(key) if len(times) == 1 else Result()

    queue = WorkQueue(loop)
    controller = Controller("test", queue, recorded, loop)
    queue.add("ns/a")
    assert controller.process(queue.get()) == outcome
    assert queue.num_requeues("ns/a") == requeues
    loop.run_for(10.0)
    if requeued_after is None:
        assert times == [0.0]
    else:
        assert times == [0.0, pytest.approx(requeued_after)]


def test_errors_back_off_exponentially_and_success_resets_the_backoff() -> None:
    failing = {"on": True}
    times: list[float] = []
    loop = EventLoop()

    def reconcile(key):
        times.append(loop.now)
        if failing["on"]:
            raise RuntimeError("not yet")
        return Result()

    queue = WorkQueue(loop)
    controller = Controller("test", queue, reconcile, loop)
    queue.add("ns/a")
    loop.run_until(0.1)
    gaps = [round(b - a, 6) for a, b in zip(times, times[1:])]
    assert gaps[:4] == [0.005, 0.01, 0.02, 0.04]
    failing["on"] = False
    loop.run_until(1.0)
    assert queue.num_requeues("ns/a") == 0
    assert controller.errors[0] == ("ns/a", "RuntimeError: not yet")


def test_a_key_added_during_its_reconcile_is_reconciled_again_afterwards_not_concurrently() -> None:
    loop = EventLoop()
    queue = WorkQueue(loop)
    calls: list[str] = []

    def reconcile(key):
        calls.append(key)
        if len(calls) == 1:
            queue.add(key)  # an event for the same object arrives meanwhile
        return Result()

    Controller("test", queue, reconcile, loop)
    queue.add("ns/a")
    loop.run_for(0.0)
    assert calls == ["ns/a", "ns/a"]


def test_the_worker_runs_only_when_the_loop_runs() -> None:
    calls: list[str] = []
    loop, queue, _ = _controller(lambda key: calls.append(key))
    queue.add("ns/a")
    queue.add("ns/b")
    assert calls == []
    loop.run_for(0.0)
    assert calls == ["ns/a", "ns/b"]
