"""Cache reads and writes that survive an outage of the cache backend.

Flask-Caching raises whatever its backend raises, so with Redis restarting or
unreachable every page would fail. The cache only saves Orthanc calls: a failing
backend is skipped for RETRY_AFTER seconds (one warning), and pages come straight
from Orthanc meanwhile. So every cache read and write goes through here; no other
module touches `extensions.cache` (tests/unit/test_cache_backend.py checks).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app

from ..extensions import cache

log = logging.getLogger(__name__)

RETRY_AFTER = 10.0


def _outage() -> dict[str, float]:
    """This app's outage record (per app, so one app's broken Redis does not affect another)."""
    return current_app.extensions.setdefault("cache_outage", {"until": 0.0})


def _usable() -> bool:
    return time.monotonic() >= _outage()["until"]


def _failed(exc: Exception) -> None:
    _outage()["until"] = time.monotonic() + RETRY_AFTER
    log.warning("cache backend failed (%s: %s); going without it for %.0f s", type(exc).__name__, exc, RETRY_AFTER)


def cache_get(key: str) -> Any:
    """The cached value, or None when absent or when the cache cannot be reached."""
    if not _usable():
        return None
    try:
        return cache.get(key)
    except Exception as exc:  # any backend error: Redis' ConnectionError, TimeoutError, ...
        _failed(exc)
        return None


def cache_set(key: str, value: Any, timeout: int) -> bool:
    """Store a value; False when the cache cannot be reached (callers that hand out keys need to know)."""
    if not _usable():
        return False
    try:
        return cache.set(key, value, timeout=timeout) is not False
    except Exception as exc:
        _failed(exc)
        return False


def cache_delete_many(*keys: str) -> None:
    """Drop entries after a change. While the cache is down they cannot be dropped: they expire by TTL."""
    if not _usable():
        return
    try:
        cache.delete_many(*keys)
    except Exception as exc:
        _failed(exc)
