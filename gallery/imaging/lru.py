"""A small thread-safe LRU for objects a process keeps in memory (volumes, built viewer stacks).

Bounded by a weight (bytes for volumes, a count otherwise), least recently used
first out, and one load per key at a time, so concurrent requests for the same
missing value wait for a single fetch instead of each fetching it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRU(Generic[V]):
    def __init__(self, limit: int, weigh: Callable[[V], int] = lambda value: 1) -> None:
        self.limit = limit
        self.weigh = weigh
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Hashable, threading.Lock] = {}

    @property
    def size(self) -> int:
        return sum(self.weigh(value) for value in self._items.values())

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The value for `key`, calling `load()` (once, whatever the concurrency) when it is missing."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            try:
                value = load()
            finally:
                with self._lock:
                    self._loading.pop(key, None)
            with self._lock:
                if self.weigh(value) <= self.limit:
                    self._items[key] = value
                    while self.size > self.limit:
                        self._items.popitem(last=False)
            return value
