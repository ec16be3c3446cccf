"""A circuit breaker and a bulkhead: a dead or slow Orthanc must not tie up every worker thread.

The breaker (one per Orthanc node, per process) counts consecutive "unavailable" failures.
At `threshold` it opens: for `cooldown` seconds calls are refused at once instead of each
waiting for a refused connection or a timeout. Then one trial call goes through (half-open);
its success closes the breaker, its failure opens it for another cooldown.

The bulkhead caps the calls in flight to Orthanc per process, so that with a slow Orthanc
the threads left over still serve pages that need no Orthanc (health, static files, sign-in).

Both are cheap when all is well: `allow()` on a closed breaker and `success()` after a
success read two attributes without taking the lock (see docs/operations.md "Reliability" for figures).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    """Closed → (threshold consecutive failures) → open → (cooldown) → half-open → closed or open."""

    def __init__(self, threshold: int = 5, cooldown: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self.clock = clock
        self.state = CLOSED
        self.failures = 0
        self.opened_at = 0.0  # when it opened, or when the half-open trial started
        self._changed = threading.Condition(threading.Lock())

    def allow(self, wait: float = 0.0) -> bool:
        """Whether a call may go to the node now.

        In half-open only one caller at a time gets True (the trial); the others wait up to
        `wait` seconds for its outcome, so that a recovered Orthanc (trials take milliseconds)
        serves a burst of calls, such as an upload's parallel files, without refusing most of it.
        When open, a caller whose `wait` outlasts the rest of the cooldown waits for it too.
        """
        if self.state == CLOSED:  # the hot path: no lock
            return True
        deadline = time.monotonic() + wait
        with self._changed:
            while True:
                if self.state == CLOSED:
                    return True
                now = self.clock()
                if now - self.opened_at >= self.cooldown:
                    # Cooldown over (or a trial that never reported back is that old): let one trial through.
                    self.state, self.opened_at = HALF_OPEN, now
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self.state == OPEN:
                    # A caller that may wait longer than the cooldown has left (an upload's file)
                    # waits for the trial rather than failing on a node that may be back by then.
                    until_trial = self.cooldown - (now - self.opened_at)
                    if until_trial > remaining:
                        return False
                    self._changed.wait(until_trial)
                    continue
                self._changed.wait(remaining)

    def success(self) -> None:
        if self.state == CLOSED and not self.failures:  # the hot path: no lock
            return
        with self._changed:
            self.state, self.failures = CLOSED, 0
            self._changed.notify_all()

    def failure(self) -> None:
        with self._changed:
            self.failures += 1
            if self.state == HALF_OPEN or self.failures >= self.threshold:
                self.state, self.opened_at = OPEN, self.clock()
                self._changed.notify_all()

    def retry_in(self) -> float:
        """Seconds until a trial call will be let through (0 when closed)."""
        if self.state == CLOSED:
            return 0.0
        return max(0.0, self.cooldown - (self.clock() - self.opened_at))


class Bulkhead:
    """At most `limit` calls at once (0 = no cap); `wait` is the default wait for a place.

    The places are tokens in a SimpleQueue (implemented in C): taking and giving back one
    costs ~0.5 µs, where a threading.BoundedSemaphore with a timeout costs ~4 µs.
    """

    def __init__(self, limit: int, wait: float) -> None:
        self.limit = limit
        self.wait = wait
        self._places: queue.SimpleQueue[None] | None = queue.SimpleQueue() if limit > 0 else None
        for _ in range(max(0, limit)):
            self._places.put(None)

    def enter(self, wait: float) -> bool:
        """Take a place; False when none freed up within `wait` seconds."""
        if self._places is None:
            return True
        try:
            self._places.get(timeout=wait) if wait > 0 else self._places.get_nowait()
        except queue.Empty:
            return False
        return True

    def leave(self) -> None:
        if self._places is not None:
            self._places.put(None)
