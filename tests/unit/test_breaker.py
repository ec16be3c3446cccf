"""The circuit breaker and the bulkhead on their own (a hand-driven clock), and in the Orthanc client."""

from __future__ import annotations

import threading
import time

import pytest

from gallery.orthanc.breaker import CLOSED, HALF_OPEN, OPEN, Bulkhead, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def opened(threshold: int = 3, cooldown: float = 5.0) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    breaker = CircuitBreaker(threshold, cooldown, clock)
    for _ in range(threshold):
        breaker.failure()
    assert breaker.state == OPEN
    return breaker, clock


def test_opens_after_threshold_consecutive_failures_only():
    breaker = CircuitBreaker(3, 5.0, Clock())
    breaker.failure()
    breaker.failure()
    breaker.success()  # not consecutive: counting starts again
    breaker.failure()
    breaker.failure()
    assert breaker.state == CLOSED and breaker.allow()
    breaker.failure()
    assert breaker.state == OPEN and not breaker.allow()


def test_open_refuses_until_the_cooldown_then_lets_one_trial_through():
    breaker, clock = opened(cooldown=5.0)
    clock.now += 4.9
    assert not breaker.allow() and breaker.retry_in() == pytest.approx(0.1)
    clock.now += 0.1
    assert breaker.allow() and breaker.state == HALF_OPEN  # the trial
    assert not breaker.allow()  # no second caller while the trial is out
    breaker.success()
    assert breaker.state == CLOSED and breaker.allow() and breaker.retry_in() == 0


def test_a_failed_trial_opens_it_for_another_cooldown():
    breaker, clock = opened(cooldown=5.0)
    clock.now += 5
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == OPEN and not breaker.allow()
    clock.now += 5
    assert breaker.allow()


def test_a_trial_that_never_reports_back_is_replaced_after_a_cooldown():
    breaker, clock = opened(cooldown=5.0)
    clock.now += 5
    assert breaker.allow()
    clock.now += 5
    assert breaker.allow() and breaker.state == HALF_OPEN


def test_callers_waiting_for_a_trial_go_ahead_when_it_succeeds():
    breaker, clock = opened(cooldown=5.0)
    clock.now += 5
    assert breaker.allow()  # the trial is out
    answers: list[bool] = []
    waiters = [threading.Thread(target=lambda: answers.append(breaker.allow(wait=5))) for _ in range(4)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.1)
    assert answers == []  # still waiting for the trial
    breaker.success()
    for waiter in waiters:
        waiter.join(timeout=5)
    assert answers == [True] * 4


def test_callers_waiting_for_a_trial_give_up_when_it_fails_or_after_their_wait():
    breaker, clock = opened(cooldown=5.0)
    clock.now += 5
    assert breaker.allow()
    started = time.monotonic()
    assert not breaker.allow(wait=0.2)
    assert 0.2 <= time.monotonic() - started < 2
    answers: list[bool] = []
    waiter = threading.Thread(target=lambda: answers.append(breaker.allow(wait=5)))
    waiter.start()
    time.sleep(0.1)
    breaker.failure()
    waiter.join(timeout=5)
    assert answers == [False]


def test_failures_from_many_threads_are_all_counted():
    breaker = CircuitBreaker(8 * 500, 5.0, Clock())

    def fail() -> None:
        for _ in range(500):
            breaker.failure()

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.failures == 4000 and breaker.state == OPEN


def test_bulkhead_caps_calls_in_flight_and_waits_only_so_long():
    bulkhead = Bulkhead(2, 0.1)
    assert bulkhead.enter(0.1) and bulkhead.enter(0.1)
    started = time.monotonic()
    assert not bulkhead.enter(0.1)
    assert time.monotonic() - started >= 0.1
    bulkhead.leave()
    assert bulkhead.enter(0.1)
    unlimited = Bulkhead(0, 0.1)
    assert all(unlimited.enter(0) for _ in range(100))
